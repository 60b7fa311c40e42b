"""Control: wait until the contact does something, or give up after a time limit."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import Field, field_validator, model_validator

from flows import summaries as say
from flows.model import Flow, Node
from flows.nodes.base import (
    Cost,
    Finding,
    NextStep,
    NodeKind,
    Output,
    Placement,
    States,
    task_state,
)
from flows.nodes.checks import email_node_finding
from flows.nodes.events import (
    CUSTOM_EVENT_PATTERN,
    EMAIL_EVENTS,
    FOR_CUSTOM_EVENTS,
    FOR_EMAIL_EVENTS,
    EventName,
    custom_name_problem,
)
from flows.params import ONE_YEAR_SECONDS, Duration, Params

HAPPENED = "happened"
TIMED_OUT = "timed_out"
SEND_EMAIL = "send_email"
# How long a wait for an email's open starts out giving the contact: a common choice,
# shown in the form and changed there.
ENGAGEMENT_TIMEOUT = {"amount": 2, "unit": "days"}


def engagement_wait(email_node: str) -> dict[str, Any]:
    """The params of a wait for the open of email step `email_node`."""
    return {"event": "email_opened", "email_node": email_node, "timeout": dict(ENGAGEMENT_TIMEOUT)}


def waited_on(flow: Mapping[str, Any], email_node: str) -> bool:
    """Whether a wait for an open or click of `email_node` follows it directly."""
    nodes = {n["id"]: n for n in flow.get("nodes", [])}
    return any(
        nodes.get(e["to"], {}).get("kind") == "wait_for_event"
        and (nodes[e["to"]].get("params") or {}).get("email_node") == email_node
        for e in flow.get("edges", [])
        if e["from"] == email_node
    )


class WaitForEventParams(Params):
    event: EventName = Field(description="The event to wait for.")
    custom_name: str | None = Field(
        None,
        pattern=CUSTOM_EVENT_PATTERN,
        description="For custom events: the event's name.",
        json_schema_extra=FOR_CUSTOM_EVENTS,
    )
    email_node: str | None = Field(
        None,
        title="Email",
        description="For email events: only opens/clicks of the email sent by this node.",
        json_schema_extra={"widget": "email_step", **FOR_EMAIL_EVENTS},
    )
    timeout: Duration = Field(description="Give up after this long (then follow 'timed out').")

    @field_validator("timeout")
    @classmethod
    def _in_range(cls, value: Duration) -> Duration:
        # A field validator, so the error points at params.timeout (as wait's does).
        if value.seconds < 60:
            raise ValueError("the timeout must be at least 1 minute")
        if value.seconds > ONE_YEAR_SECONDS:
            raise ValueError(f"timeout {value} is longer than Step Functions' limit of one year")
        return value

    @model_validator(mode="after")
    def _shape(self) -> WaitForEventParams:
        problem = custom_name_problem(self.event, self.custom_name)
        if problem:
            raise ValueError(problem)
        if self.email_node and self.event not in EMAIL_EVENTS:
            raise ValueError("'email_node' applies to email_opened and email_clicked only")
        return self


class WaitForEvent(NodeKind):
    name = "wait_for_event"
    display_name = "Wait for event"
    category = "control"
    description = (
        "Waits until the contact opens, clicks, submits or buys — or the time limit passes."
    )
    icon = "👂"
    Params = WaitForEventParams
    cost = Cost(lambda_calls=1, ddb_reads=1, ddb_writes=2)

    def outputs(self, params: Any) -> list[Output]:
        return [Output(HAPPENED, "Happened"), Output(TIMED_OUT, "Timed out")]

    def wait_seconds(self, params: WaitForEventParams) -> int:
        return params.timeout.seconds

    def handlers(self, params: Any) -> tuple[str, ...]:
        return ("wait_for_event",)

    def emit(self, node: Node, params: WaitForEventParams, ctx: Any) -> States:
        # The handler stores the task token; POST /events resumes it with SendTaskSuccess.
        payload = {
            "kind": self.name,
            "params": node.params,
            "task_token.$": "$$.Task.Token",
        }
        state = task_state(node.id, "wait_for_event", payload)
        state["Resource"] += ".waitForTaskToken"
        # A callback task's result is what SendTaskSuccess sent (the event), not a Lambda reply.
        state["ResultSelector"] = {"result.$": "$"}
        state["TimeoutSeconds"] = params.timeout.seconds
        state["Catch"] = [
            {
                "ErrorEquals": ["States.Timeout"],
                "ResultPath": None,
                "Next": ctx.target(node, TIMED_OUT),
            },
            *ctx.catch(node),
        ]
        state["Next"] = ctx.target(node, HAPPENED)
        return {node.id: state}

    def check(self, node: Node, params: WaitForEventParams, flow: Flow) -> Iterator[Finding]:
        if params.email_node:
            yield from email_node_finding(flow, params.email_node, "params.email_node")

    def starting_params(self, placement: Placement) -> dict[str, Any]:
        """Placed after an email (or below one), it waits for that email's open."""
        email = placement.nearest_before(SEND_EMAIL)
        return engagement_wait(email["id"]) if email else {}

    def next_steps(
        self, node_id: str, params: WaitForEventParams, flow: Mapping[str, Any]
    ) -> list[NextStep]:
        """For a wait on an email: an email to those who did it, and the same email again
        (a new subject to write) to those who did not."""
        if params.event not in EMAIL_EVENTS or not params.email_node:
            return []
        nodes = {n["id"]: n for n in flow.get("nodes", [])}
        email = nodes.get(params.email_node)
        used = {e.get("output") for e in flow.get("edges", []) if e["from"] == node_id}
        did = "open" if params.event == "email_opened" else "click"
        steps = []
        if HAPPENED not in used:
            steps.append(NextStep(f"Email those who {did}ed it", SEND_EMAIL, HAPPENED))
        if TIMED_OUT not in used and email is not None and email.get("kind") == SEND_EMAIL:
            again = {k: v for k, v in (email.get("params") or {}).items() if k != "subject"}
            steps.append(
                NextStep(f"Resend it to those who did not {did} it", SEND_EMAIL, TIMED_OUT, again)
            )
        return steps

    def describe(self, params: WaitForEventParams, labels: Mapping[str, str]) -> str:
        what = {
            "email_opened": "an open",
            "email_clicked": "a click",
            "form_submitted": "a form submission",
            "purchase": "a purchase",
        }.get(params.event) or f"event {params.custom_name}"
        if params.email_node:
            what += f" of '{labels.get(params.email_node, params.email_node)}'"
        return f"Wait up to {say.duration(params.timeout)} for {what}"


KIND = WaitForEvent()
