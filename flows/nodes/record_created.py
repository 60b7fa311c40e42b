"""Trigger: a record is created."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from flows import summaries as say
from flows.conditions import Criteria
from flows.nodes.base import TriggerKind
from flows.nodes.triggers import RECORD, RecordType
from flows.params import Params


class RecordCreatedParams(Params):
    record: RecordType = RECORD
    criteria: Criteria | None = Field(
        None, description="Only records that match these (empty: every new record)."
    )


class RecordCreated(TriggerKind):
    name = "record_created"
    display_name = "Record created"
    description = (
        "Starts when a contact, deal or company is created (optionally only matching ones)."
    )
    icon = "➕"
    Params = RecordCreatedParams

    def describe(self, params: RecordCreatedParams, labels: Mapping[str, str]) -> str:
        return f"When {say.record_phrase(params.record)} is created" + say.qualifier(
            say.criteria(params.criteria, labels)
        )


KIND = RecordCreated()
