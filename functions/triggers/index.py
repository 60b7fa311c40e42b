"""The trigger index: published flows by what starts them. Publishing a version writes its
row, unpublishing deletes it; triggers read it with one Query."""

from __future__ import annotations

import hashlib
from typing import Any

from flows.nodes.events import event_key
from functions.store.models import TriggerIndex

RECORD_KINDS = frozenset(
    {
        "record_created",
        "record_updated",
        "field_changed",
        "stage_changed",
        "owner_assigned",
        "record_deleted",
    }
)


def trigger_key(kind: str, params: dict[str, Any]) -> str:
    """The index key a trigger is found under: record changes by record type, events by
    their name, the rest by kind."""
    if kind in RECORD_KINDS:
        return f"record#{params.get('record', 'contact')}"
    if kind == "event":
        return f"event#{event_key(params['event'], params.get('custom_name'))}"
    return kind


def register(flow_id: str, version: int, trigger: dict[str, Any], previous_key: str | None) -> str:
    """Index the published version's trigger (dropping the previous version's row when its
    key differs); returns the key."""
    key = trigger_key(trigger["kind"], trigger.get("params") or {})
    if previous_key and previous_key != key:
        TriggerIndex(previous_key, flow_id).delete()
    TriggerIndex(
        key, flow_id, version=version, kind=trigger["kind"], params=trigger.get("params") or {}
    ).save()
    return key


def unregister(flow_id: str, key: str | None) -> None:
    if key:
        TriggerIndex(key, flow_id).delete()


def flows_for(key: str) -> list[TriggerIndex]:
    """The published flows started by `key`."""
    return list(TriggerIndex.query(key, consistent_read=True))


def enrollment_id(*parts: str) -> str:
    """A deterministic enrollment id from what started it (flow, delivery or record event,
    contact): the same start twice names the same execution, which starts once."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"enr_{digest}"
