"""Trigger: a record is deleted."""

from __future__ import annotations

from collections.abc import Mapping

from flows import summaries as say
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

    def describe(self, params: RecordDeletedParams, labels: Mapping[str, str]) -> str:
        return f"When {say.record_phrase(params.record)} is deleted"


KIND = RecordDeleted()
