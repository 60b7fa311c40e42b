"""assign_owner: give the contact an owner by round robin, territory rules or least load."""

from __future__ import annotations

from typing import Any

from functions.steps import assignment
from functions.steps.base import Step, once
from functions.steps.conditions import Facts, matches
from functions.store.contacts import add_activity, get_contact, update_contact
from functions.store.models import Contact


def handle(step: Step) -> dict[str, Any]:
    return once(step, lambda: _assign(step))


def _assign(step: Step) -> dict[str, Any]:
    params = step.params
    contact = get_contact(step.contact_id)
    if params.only_if_unassigned and contact.owner_id:
        # Checked before picking, so a kept owner does not use up a team's turn.
        return {"assigned": contact.owner_id, "changed": False}
    owner, how = pick(step, contact)
    if owner is None:
        return {"assigned": None, "changed": False, **how}
    before: list[str | None] = [None]

    def change(fresh: Contact) -> None:
        before[0] = fresh.owner_id
        if not (params.only_if_unassigned and fresh.owner_id):
            fresh.owner_id = owner

    saved = update_contact(contact.contact_id, change, changed_by=step.enrollment.get("id"))
    if saved.owner_id != owner:  # another writer assigned it between our read and write
        return {"assigned": saved.owner_id, "changed": False}
    add_activity(
        contact.contact_id,
        "owner_assigned",
        {
            "from": before[0],
            "to": owner,
            "strategy": params.strategy,
            **how,
            "node": step.node,
            "enrollment": step.enrollment.get("id"),
        },
    )
    return {"assigned": owner, "changed": before[0] != owner, **how}


def pick(step: Step, contact: Contact) -> tuple[str | None, dict[str, Any]]:
    """(user id, how it was chosen); None when no rule matched and there is no fallback."""
    params = step.params
    if params.strategy == "least_loaded":
        return assignment.least_loaded(params.team_id), {"team_id": params.team_id}
    if params.strategy == "round_robin":
        return _turn(params.team_id, {})
    facts = Facts(contact, step.trigger, step.enrollment.get("id", ""))
    for number, rule in enumerate(params.rules):
        if matches(rule.criteria, facts):
            if rule.user_id:
                return assignment.user(rule.user_id), {"rule": number}
            return _turn(rule.team_id, {"rule": number})
    if params.team_id:
        return _turn(params.team_id, {"rule": "fallback"})
    return None, {"rule": None}


def _turn(team_id: str, how: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    user, turn = assignment.take_turn(team_id)
    return user, {**how, "team_id": team_id, "turn": turn}
