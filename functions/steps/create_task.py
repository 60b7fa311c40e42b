"""create_task: a task for the contact's owner, a user or a team's next turn, due after
the step's delay, on the assignee's open tasks and the contact's timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from functions.errors import NoAssignee
from functions.render import ONE_LINE, contact_view, related_views, render
from functions.steps import assignment
from functions.steps.base import Step, once
from functions.store import records
from functions.store.contacts import add_activity, get_contact, now
from functions.store.models import Contact


def handle(step: Step) -> dict[str, Any]:
    return once(step, lambda: _create(step))


def _create(step: Step) -> dict[str, Any]:
    params = step.params
    contact = get_contact(step.contact_id)
    assignee = assignee_for(contact, params.assignee)
    context = {
        "contact": contact_view(contact),
        "trigger": step.trigger,
        **related_views(contact, step.trigger, params.title, params.description or ""),
    }
    task = records.create_task(
        {
            "title": render(params.title, context, what="the task title", max_chars=ONE_LINE),
            "description": render(params.description, context) if params.description else None,
            "task_type": params.task_type,
            "priority": params.priority,
            "assignee_id": assignee,
            "contact_id": contact.contact_id,
        },
        due_at=now() + timedelta(seconds=params.due_in.seconds),
    )
    due = task.due_at.isoformat()
    add_activity(
        contact.contact_id,
        "task_created",
        {
            "task_id": task.task_id,
            "title": task.title,
            "assignee_id": assignee,
            "due_at": due,
            "node": step.node,
            "enrollment": step.enrollment.get("id"),
        },
    )
    return {"task_id": task.task_id, "assignee_id": assignee, "due_at": due}


def assignee_for(contact: Contact, rule: Any) -> str:
    if rule.rule == "user":
        return assignment.user(rule.user_id)
    if rule.rule == "team_round_robin":
        return assignment.round_robin(rule.team_id)
    if not contact.owner_id:
        raise NoAssignee(f"contact '{contact.contact_id}' has no owner to give the task to")
    return contact.owner_id
