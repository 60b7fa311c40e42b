"""Trigger: a record is updated, optionally only when given fields change."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from flows import summaries as say
from flows.conditions import Criteria
from flows.nodes.base import TriggerKind
from flows.nodes.triggers import RECORD, RecordType
from flows.params import FieldRef, Params


class RecordUpdatedParams(Params):
    record: RecordType = RECORD
    fields: list[FieldRef] = Field(
        default_factory=list, description="Only when one of these fields changes (empty: any)."
    )
    criteria: Criteria | None = Field(None, description="And the record then matches these.")


class RecordUpdated(TriggerKind):
    name = "record_updated"
    display_name = "Record updated"
    description = "Starts when a record changes and then matches the conditions."
    icon = "✏️"
    Params = RecordUpdatedParams

    def describe(self, params: RecordUpdatedParams, labels: Mapping[str, str]) -> str:
        record = say.record_phrase(params.record)
        if params.fields:
            changed = ", ".join(say.field_name(f) for f in params.fields)
            head = f"When {record}'s {changed} changes"
        else:
            head = f"When {record} is updated"
        return head + say.qualifier(say.criteria(params.criteria, labels))


KIND = RecordUpdated()
