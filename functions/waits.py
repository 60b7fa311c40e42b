"""Contacts waiting for an event (wait_for_event): the task token stored when the wait
starts, and resuming every matching wait when the event arrives.

Waits are keyed by contact, then `<event key>#<enrollment>#<state>`: an event for a contact
finds its waits with one Query on the key prefix, never a scan. A wait whose timeout
passed (Step Functions has already taken the timed-out path), or whose execution was
stopped, answers SendTaskSuccess with an error; such a wait is dropped quietly.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flows.nodes.events import event_key
from functions import aws
from functions.store.contacts import now
from functions.store.models import EventWait

GRACE = timedelta(days=1)  # rows outlive their timeout a little, then DynamoDB's TTL drops them
# What SendTaskSuccess answers for a token nobody waits on any more.
_GONE = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken")


def start_wait(
    *,
    contact_id: str,
    task_token: str,
    params: Any,
    flow_id: str,
    enrollment_id: str,
    state: str,
    node: str,
) -> EventWait:
    """Remember the token; a retried start overwrites the row with its newer token."""
    at = now()
    key = event_key(params.event, params.custom_name)
    wait = EventWait(
        contact_id,
        f"{key}#{enrollment_id}#{state}",
        task_token=task_token,
        flow_id=flow_id,
        enrollment_id=enrollment_id,
        node=node,
        email_node=params.email_node,
        created_at=at,
        expires=int((at + timedelta(seconds=params.timeout.seconds) + GRACE).timestamp()),
    )
    wait.save()
    return wait


def resume(contact_id: str, key: str, data: dict[str, Any] | None = None) -> list[str]:
    """Resume the contact's waits for event `key` (`email_opened`, `custom:<name>` …).
    Email events resume only waits for the email they came from when the wait names one
    (`data` then carries the sending `flow_id` and `node`). Returns the resumed enrollments."""
    data = data or {}
    resumed = []
    for wait in EventWait.query(contact_id, EventWait.wait_key.startswith(f"{key}#")):
        if wait.email_node and (data.get("flow_id"), data.get("node")) != (
            wait.flow_id,
            wait.email_node,
        ):
            continue
        if _send_success(wait.task_token, {"event": key, "data": data}):
            resumed.append(wait.enrollment_id)
        wait.delete()
    return resumed


def _send_success(token: str, output: dict[str, Any]) -> bool:
    from botocore.exceptions import ClientError

    sfn = aws.client("stepfunctions")
    try:
        aws.call(
            sfn.send_task_success,
            taskToken=token,
            output=json.dumps(output, ensure_ascii=False, separators=(",", ":")),
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _GONE:
            return False  # timed out or stopped already: nothing is waiting on it
        raise
    return True
