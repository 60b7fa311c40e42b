"""Goals met at any time: after an event or a record change, every flow the contact is in
checks its goal nodes against the fresh contact; a flow whose goal is met stops the
contact's execution and records it as left by goal (HubSpot-style goal criteria: the
contact leaves wherever it is, not only when it reaches the goal node)."""

from __future__ import annotations

from typing import Any

from flows.conditions import Criteria
from functions.enrollments import ACTIVE, end_early, enrollments_of
from functions.steps.conditions import Facts, matches
from functions.store.contacts import get_contact
from functions.store.models import Contact, FlowVersion


def check_goals(
    contact_id: str,
    *,
    because: str,
    skip: str | None = None,
    as_of: Contact | None = None,
) -> list[str]:
    """Stop the contact's enrollments whose flow goal it meets; their ids. `skip` is the
    enrollment whose own step made the change: a flow's own writes do not end it — its
    goal nodes, where the flow's author put them, decide that. `as_of` is the contact as
    that change left it (a stream record's image): a change judged by later writes would
    be blamed for them, a flow's own among them."""
    running = [
        e
        for e in enrollments_of(contact_id, limit=100)
        if e.status in ACTIVE and e.enrollment_id != skip
    ]
    if not running:
        return []
    contact = as_of if as_of is not None else get_contact(contact_id)
    stopped = []
    for enrollment in running:
        for node_id, criteria in goals_of(enrollment.flow_id, int(enrollment.flow_version)):
            facts = Facts(contact, {}, enrollment.enrollment_id)
            if matches(criteria, facts):
                detail = {"goal": node_id, "because": because}
                if end_early(enrollment.enrollment_id, "goal", node=node_id, detail=detail):
                    stopped.append(enrollment.enrollment_id)
                break
    return stopped


def goals_of(flow_id: str, version: int) -> tuple[tuple[str, Criteria], ...]:
    """The goal nodes of a flow version and their criteria."""
    document: dict[str, Any] = FlowVersion.get(flow_id, version).document
    return tuple(
        (node["id"], Criteria.model_validate(node["params"]["criteria"]))
        for node in document.get("nodes", [])
        if node.get("kind") == "goal"
    )
