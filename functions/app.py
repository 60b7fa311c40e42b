"""The Chalice app: registrations only. Step logic lives in functions/steps, the HTTP API's
routes in functions/api (one Blueprint per resource)."""

from __future__ import annotations

from typing import Any

from chalice import Chalice, Rate

from functions import steps
from functions.api import (
    contacts,
    deals,
    enrollments,
    events,
    flows,
    hooks,
    imports,
    keys,
    reports,
    segments,
    settings,
    tasks,
    test_emails,
)
from functions.store.tables import stream_arn, table_name

app = Chalice(app_name="crmflow")
app.register_blueprint(contacts.bp)
app.register_blueprint(deals.bp)
app.register_blueprint(tasks.bp)
app.register_blueprint(flows.bp)
app.register_blueprint(enrollments.bp)
app.register_blueprint(imports.bp)
app.register_blueprint(keys.bp)
app.register_blueprint(hooks.bp)
app.register_blueprint(events.bp)
app.register_blueprint(segments.bp)
app.register_blueprint(reports.bp)
app.register_blueprint(settings.bp)
app.register_blueprint(test_emails.bp)


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


# --- triggers: record changes and the scheduler ------------------------------------------


def _record_changes(event: Any) -> dict[str, Any]:
    from functions.triggers.records import handle_stream  # loaded by these Lambdas only

    return {"started": handle_stream(event.to_dict()["Records"])}


@app.on_dynamodb_record(stream_arn=stream_arn("contacts"), name="contact_changes")
def contact_changes(event: Any) -> dict[str, Any]:
    return _record_changes(event)


@app.on_dynamodb_record(stream_arn=stream_arn("deals"), name="deal_changes")
def deal_changes(event: Any) -> dict[str, Any]:
    return _record_changes(event)


@app.on_dynamodb_record(stream_arn=stream_arn("companies"), name="company_changes")
def company_changes(event: Any) -> dict[str, Any]:
    return _record_changes(event)


@app.on_sns_message(topic=table_name("email-feedback"), name="email_feedback")
def email_feedback(event: Any) -> dict[str, Any]:
    """SES's bounces and complaints, published by the stage's configuration set."""
    import json

    from functions.triggers.email_feedback import handle

    return {"handled": handle(json.loads(event.message))}


@app.schedule(Rate(5, unit=Rate.MINUTES), name="scheduler")
def scheduler(event: Any) -> dict[str, Any]:
    from functions.triggers.schedule import tick

    done = tick()
    return {"enrolled": len(done.enrolled), "runs": done.runs, "failed": done.failed}
