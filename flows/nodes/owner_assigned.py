"""Trigger: a record gets an owner."""

from __future__ import annotations

from pydantic import Field

from flows.nodes.base import TriggerKind
from flows.nodes.triggers import RECORD, RecordType
from flows.params import Params


class OwnerAssignedParams(Params):
    record: RecordType = RECORD
    owner_id: str | None = Field(
        None, description="Only when assigned to this user (empty: anyone)."
    )


class OwnerAssigned(TriggerKind):
    name = "owner_assigned"
    display_name = "Owner assigned"
    description = "Starts when a record is assigned to someone."
    icon = "👤"
    Params = OwnerAssignedParams


KIND = OwnerAssigned()
