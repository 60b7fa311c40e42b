"""Decisions on fresh contact data: which output a branch, switch or goal takes."""

from __future__ import annotations

from typing import Any

from functions.steps.base import Step
from functions.steps.conditions import Facts, equals, matches
from functions.store.contacts import get_contact


def handle(step: Step) -> dict[str, Any]:
    facts = Facts(get_contact(step.contact_id), step.trigger, step.enrollment.get("id", ""))
    params = step.params
    if step.kind == "branch":
        output = "yes" if matches(params.criteria, facts) else "no"
    elif step.kind == "goal":
        output = "met" if matches(params.criteria, facts) else "next"
    elif step.kind == "switch":
        value = facts.value(params.field)
        output = next(
            (case.name for case in params.cases if any(equals(value, v) for v in case.values)),
            "default",
        )
    else:
        raise ValueError(f"evaluate cannot decide a {step.kind} node")
    return {"output": output}
