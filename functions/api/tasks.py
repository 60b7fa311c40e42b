"""Tasks over HTTP: a user's open tasks by due date, new tasks, and marking one done.

Keys limited to their own records (sales_rep) see and change only tasks assigned to them
(`assignee_id`): their list is their own, their new tasks are theirs, and they link tasks
only to contacts and deals they own.

Service modules are imported inside the views: every Lambda of the app imports this
module at cold start, and only API calls need them.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from functions.api.routing import (
    Call,
    decode_cursor,
    encode_cursor,
    field_error,
    json_response,
    record_json,
    route,
)
from functions.errors import ContactNotFound, RecordNotFound

bp = Blueprint(__name__)

HIDDEN = ("assignee_open",)  # the open_by_assignee index key: set while the task is open


@route(bp, "/tasks", permission="tasks:read", query="TaskList", errors=(400,), answer="TaskPage")
def tasks_list(call: Call) -> Any:
    """A user's open tasks, soonest due first.

    `assignee` defaults to the key's user; a sales_rep's list is always their own. Paged
    with `limit` and the `next` cursor of the previous page.
    """
    from functions.store.records import open_tasks

    q = call.query
    principal = call.principal
    assignee = principal.user_id if principal.own_records_only else q.assignee
    if assignee is None:
        assignee = principal.user_id
    if assignee is None:
        raise field_error("assignee", "is required: this key belongs to no user")
    cursor = decode_cursor(q.cursor, {"task_id": None, "assignee_open": assignee, "due_at": None})
    result = open_tasks(assignee, q.limit, cursor)
    found = list(result)
    return {
        "filter": {"assignee": assignee},
        "tasks": [task_json(t) for t in found],
        "next": encode_cursor(result.last_evaluated_key),
    }


@route(
    bp,
    "/tasks",
    method="POST",
    permission="tasks:write",
    body="NewTask",
    status=201,
    errors=(400,),
    answer="Task",
)
def tasks_create(call: Call) -> Any:
    """Create a task, open, on its assignee's list.

    The assignee defaults to the key's user; a sales_rep's tasks are their own. The
    contact and deal named must exist.
    """
    from functions.store.records import create_task

    body = call.body
    fields = body.model_dump(exclude={"due_at"}, exclude_none=True)
    fields.setdefault("assignee_id", call.principal.user_id)
    if fields["assignee_id"] is None:
        raise field_error("assignee_id", "is required: this key belongs to no user")
    call.require("tasks:write", owner_id=fields["assignee_id"])
    _check_links(call, fields)
    task = create_task(fields, due_at=body.due_at)
    answer = json_response(task_json(task), 201)
    answer.headers["Location"] = f"/tasks/{task.task_id}"
    return answer


@route(
    bp,
    "/tasks/{task_id}/done",
    method="POST",
    permission="tasks:write",
    errors=(404,),
    answer="Task",
)
def tasks_done(call: Call, task_id: str) -> Any:
    """Mark a task done: it leaves its assignee's open tasks.

    Marking it done again changes nothing.
    """
    from functions.store.records import close_task, get_task

    task = get_task(task_id)
    call.require("tasks:write", owner_id=task.assignee_id)
    if task.status == "done":
        return task_json(task)
    return task_json(close_task(task_id))


# --- helpers -----------------------------------------------------------------------------


def task_json(task: Any) -> dict[str, Any]:
    return record_json(task, leave_out=HIDDEN)


def _check_links(call: Call, fields: dict[str, Any]) -> None:
    """The contact and deal a task names exist (400 naming the field otherwise); a
    sales_rep links only its own."""
    from functions.store.contacts import get_contact
    from functions.store.records import get_deal

    if fields.get("contact_id") is not None:
        try:
            contact = get_contact(fields["contact_id"])
        except ContactNotFound as exc:
            raise field_error("contact_id", str(exc)) from None
        call.require("contacts:read", owner_id=contact.owner_id)
    if fields.get("deal_id") is not None:
        try:
            deal = get_deal(fields["deal_id"])
        except RecordNotFound as exc:
            raise field_error("deal_id", str(exc)) from None
        call.require("deals:read", owner_id=deal.owner_id)
