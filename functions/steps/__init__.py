"""The step handlers, one module per action kind, and the one entry point Lambda calls.

A handler's module is imported on its first call: each deployed Lambda runs one handler,
so its cold start pays for that module's imports only, not for every step's.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from functions.steps.base import parse

HANDLERS: tuple[str, ...] = (
    "evaluate",
    "update_record",
    "create_record",
    "create_task",
    "assign_owner",
    "score_lead",
    "send_email",
    "send_sms",
    "send_notification",
    "http_request",
    "resolve_wait",
    "enroll_in_flow",
    "remove_from_flow",
    "wait_for_event",
    "finish",
)


def run(handler: str, event: Any) -> dict[str, Any]:
    """Validate the Task payload, then run the handler; named errors reach Step Functions."""
    if handler not in HANDLERS:
        raise ValueError(f"no step handler named {handler!r}")
    step = parse(event, handler)
    return import_module(f"functions.steps.{handler}").handle(step)
