"""remove_from_flow: stop the contact's run of another flow and record why it left."""

from __future__ import annotations

from typing import Any

from functions.enrollments import unenroll
from functions.steps.base import Step, once


def handle(step: Step) -> dict[str, Any]:
    return once(step, lambda: _remove(step))


def _remove(step: Step) -> dict[str, Any]:
    by = {"by_flow": step.enrollment.get("flow_id"), "by_node": step.node}
    removed = unenroll(step.params.flow_id, step.contact_id, by=by)
    return {"removed": removed, "flow_id": step.params.flow_id}
