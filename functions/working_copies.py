"""A flow's working copy: what the editor autosaves while a marketer edits, so that a
reload, a closed tab or a crashed laptop loses nothing.

It is kept apart from the numbered versions (saving a version per keystroke would bury
the versions a marketer chose to save) in the same table, as version 0, a number no saved
version takes. It may be invalid, as work in progress is; saving or publishing a version
makes it obsolete, and the editor then discards it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError

from functions.errors import FlowNotFound
from functions.store.contacts import cancelled_by_condition, now
from functions.store.models import FlowRecord, FlowVersion

WORKING_COPY = 0  # the version number that holds the working copy (saved ones start at 1)
NOTE = "working copy (autosaved)"


def keep(document: dict[str, Any], *, by: str | None = None) -> datetime:
    """Store `document` as its flow's working copy, replacing the previous one; when it was
    stored. A flow never saved gets its record here, as a draft with no version yet, so it
    is listed and can be reopened."""
    flow_id = document["id"]
    name = document.get("name") if isinstance(document.get("name"), str) else flow_id
    at = now()
    FlowRecord(flow_id).update(
        actions=[
            FlowRecord.name.set(FlowRecord.name | (name or flow_id)),
            FlowRecord.status.set(FlowRecord.status | "draft"),
            FlowRecord.latest_version.set(FlowRecord.latest_version | 0),
            FlowRecord.updated_at.set(at),
        ]
    )
    FlowVersion(
        flow_id,
        WORKING_COPY,
        document=json.loads(json.dumps(document)),
        note=NOTE,
        created_by=by,
        created_at=at,
    ).save()
    return at


def get(flow_id: str) -> FlowVersion:
    """The flow's working copy; FlowNotFound when it has none."""
    try:
        return FlowVersion.get(flow_id, WORKING_COPY, consistent_read=True)
    except FlowVersion.DoesNotExist:
        raise FlowNotFound(f"flow '{flow_id}' has no unsaved changes kept") from None


def discard(flow_id: str) -> bool:
    """Forget the working copy (saved as a version, or thrown away); whether there was one."""
    try:
        FlowVersion(flow_id, WORKING_COPY).delete(condition=FlowVersion.version.exists())
    except DeleteError as exc:
        if cancelled_by_condition(exc):
            return False
        raise
    return True
