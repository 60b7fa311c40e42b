"""finish: every way out of a flow passes here (see docs/compiler.md), so the enrollment
record learns when and why the contact left: completed, ended, goal or failed."""

from __future__ import annotations

from typing import Any

from functions.enrollments import LEFT, leave
from functions.errors import InvalidParams
from functions.steps.base import Step


def handle(step: Step) -> dict[str, Any]:
    reason = step.event.get("reason")
    if reason not in LEFT:
        raise InvalidParams(f"finish needs a reason among {', '.join(LEFT)}; got {reason!r}")
    error = step.event.get("error") or None
    node = None if step.node.startswith("crmflow.") else step.node  # synthetic states: no node
    recorded = leave(step.enrollment["id"], reason, node=node, error=error)
    return {"left": reason, "recorded": recorded}
