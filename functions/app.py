"""The Chalice app: Lambda registrations only; the logic lives in functions/steps."""

from __future__ import annotations

from typing import Any

from chalice import Chalice

from functions import steps

app = Chalice(app_name="crmflow")


@app.lambda_function(name="evaluate")
def evaluate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run("evaluate", event)


@app.lambda_function(name="update_record")
def update_record(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run("update_record", event)


@app.lambda_function(name="create_record")
def create_record(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run("create_record", event)


@app.lambda_function(name="create_task")
def create_task(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run("create_task", event)


@app.lambda_function(name="assign_owner")
def assign_owner(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run("assign_owner", event)


@app.lambda_function(name="score_lead")
def score_lead(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run("score_lead", event)


@app.lambda_function(name="send_email")
def send_email(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run("send_email", event)


@app.lambda_function(name="send_sms")
def send_sms(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run("send_sms", event)


@app.lambda_function(name="send_notification")
def send_notification(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run("send_notification", event)


@app.lambda_function(name="http_request")
def http_request(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run("http_request", event)


@app.lambda_function(name="resolve_wait")
def resolve_wait(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run("resolve_wait", event)


@app.lambda_function(name="enroll_in_flow")
def enroll_in_flow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run("enroll_in_flow", event)


@app.lambda_function(name="remove_from_flow")
def remove_from_flow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run("remove_from_flow", event)


@app.lambda_function(name="wait_for_event")
def wait_for_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run("wait_for_event", event)


@app.lambda_function(name="finish")
def finish(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run("finish", event)
