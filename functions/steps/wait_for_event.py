"""wait_for_event: store the task token so that `POST /events` can resume the contact.

The Task waits for SendTaskSuccess (functions.waits.resume) or its TimeoutSeconds; what
this handler returns is ignored by Step Functions.
"""

from __future__ import annotations

from typing import Any

from functions.errors import InvalidParams
from functions.steps.base import Step
from functions.waits import start_wait


def handle(step: Step) -> dict[str, Any]:
    token = step.event.get("task_token")
    if not token:
        raise InvalidParams(f"the wait_for_event payload of {step.node} lacks task_token")
    start_wait(
        contact_id=step.contact_id,
        task_token=token,
        params=step.params,
        flow_id=step.enrollment.get("flow_id", ""),
        enrollment_id=step.enrollment.get("id", ""),
        state=step.state,
        node=step.node,
    )
    return {"waiting": True}
