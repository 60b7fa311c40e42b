"""score_lead: points from the rules the contact matches, then cold, warm or hot."""

from __future__ import annotations

from typing import Any

from functions.steps.base import Step, once
from functions.steps.conditions import Facts, matches
from functions.store.contacts import add_activity, update_contact
from functions.store.models import Contact


def handle(step: Step) -> dict[str, Any]:
    return once(step, lambda: _score(step))


def temperature(score: float, thresholds: Any) -> str:
    if score >= thresholds.hot:
        return "hot"
    return "warm" if score >= thresholds.warm else "cold"


def _score(step: Step) -> dict[str, Any]:
    params = step.params
    seen: dict[str, Any] = {}

    def change(contact: Contact) -> None:
        # Re-run on every optimistic-locking retry: rules see the contact as it is saved.
        facts = Facts(contact, step.trigger, step.enrollment.get("id", ""))
        hits = [(n, r) for n, r in enumerate(params.rules) if matches(r.criteria, facts)]
        points = sum(rule.points for _, rule in hits)
        before = contact.score or 0
        after = points if params.mode == "replace" else before + points
        heat = temperature(after, params.thresholds)
        seen.update(
            before=before,
            after=after,
            heat=heat,
            was=contact.temperature,
            stage=contact.lifecycle_stage,
            rules=[r.label or f"rule {n}" for n, r in hits],
        )
        contact.score, contact.temperature = after, heat
        if heat in params.stage_for:
            contact.lifecycle_stage = params.stage_for[heat]

    contact = update_contact(step.contact_id, change, changed_by=step.enrollment.get("id"))
    common = {"node": step.node, "enrollment": step.enrollment.get("id")}
    add_activity(
        contact.contact_id,
        "score_changed",
        {
            "before": seen["before"],
            "after": seen["after"],
            "temperature": seen["heat"],
            "previous_temperature": seen["was"],
            "rules": seen["rules"],
            **common,
        },
    )
    if contact.lifecycle_stage != seen["stage"]:
        add_activity(
            contact.contact_id,
            "stage_changed",
            {"from": seen["stage"], "to": contact.lifecycle_stage, **common},
        )
    return {"score": seen["after"], "temperature": seen["heat"]}
