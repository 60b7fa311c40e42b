"""The step handlers, one module per action kind, and the one entry point Lambda calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.steps import evaluate, update_record
from functions.steps.base import Step, parse

HANDLERS: dict[str, Callable[[Step], dict[str, Any]]] = {
    "evaluate": evaluate.handle,
    "update_record": update_record.handle,
}


def run(handler: str, event: Any) -> dict[str, Any]:
    """Validate the Task payload, then run the handler; named errors reach Step Functions."""
    step = parse(event, handler)
    return HANDLERS[handler](step)
