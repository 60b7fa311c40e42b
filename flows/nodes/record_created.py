"""Trigger: a record is created."""

from __future__ import annotations

from pydantic import Field

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


KIND = RecordCreated()
