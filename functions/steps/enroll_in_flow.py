"""enroll_in_flow: start another flow for the contact. A contact already in it (or once in
it, when it allows no re-enrollment) is not an error: the result says so."""

from __future__ import annotations

import hashlib
from typing import Any

from functions.enrollments import enroll
from functions.steps.base import Step, once


def handle(step: Step) -> dict[str, Any]:
    return once(step, lambda: _enroll(step))


def _enroll(step: Step) -> dict[str, Any]:
    source = {
        "kind": "enroll_in_flow",
        "flow_id": step.enrollment.get("flow_id"),
        "node": step.node,
        "enrollment": step.enrollment.get("id"),
    }
    return enroll(
        step.params.flow_id,
        step.contact_id,
        trigger=step.trigger,
        enrollment_id=_enrollment_id(step),
        source=source,
    ).as_dict()


def _enrollment_id(step: Step) -> str:
    # From the execution and state: if this Lambda dies after starting the execution, the
    # retry names the same execution, which Step Functions refuses to start twice.
    return "enr_" + hashlib.sha256(step.effect_key.encode()).hexdigest()[:32]
