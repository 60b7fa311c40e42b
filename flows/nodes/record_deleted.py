"""Trigger: a record is deleted."""

from __future__ import annotations

from flows.nodes.base import TriggerKind
from flows.nodes.triggers import RECORD, RecordType
from flows.params import Params


class RecordDeletedParams(Params):
    record: RecordType = RECORD


class RecordDeleted(TriggerKind):
    name = "record_deleted"
    display_name = "Record deleted"
    description = "Starts when a record is deleted (the flow sees its last values)."
    icon = "🗑️"
    Params = RecordDeletedParams


KIND = RecordDeleted()
