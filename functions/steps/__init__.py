"""The step handlers, one module per action kind, and the one entry point Lambda calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.steps import (
    assign_owner,
    create_record,
    create_task,
    evaluate,
    http_request,
    resolve_wait,
    score_lead,
    send_email,
    send_notification,
    send_sms,
    update_record,
)
from functions.steps.base import Step, parse

HANDLERS: dict[str, Callable[[Step], dict[str, Any]]] = {
    "evaluate": evaluate.handle,
    "update_record": update_record.handle,
    "create_record": create_record.handle,
    "create_task": create_task.handle,
    "assign_owner": assign_owner.handle,
    "score_lead": score_lead.handle,
    "send_email": send_email.handle,
    "send_sms": send_sms.handle,
    "send_notification": send_notification.handle,
    "http_request": http_request.handle,
    "resolve_wait": resolve_wait.handle,
}


def run(handler: str, event: Any) -> dict[str, Any]:
    """Validate the Task payload, then run the handler; named errors reach Step Functions."""
    step = parse(event, handler)
    return HANDLERS[handler](step)
