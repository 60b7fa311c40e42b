"""Trigger: a record gets an owner."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from flows import summaries as say
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

    def describe(self, params: OwnerAssignedParams, labels: Mapping[str, str]) -> str:
        record = say.record_phrase(params.record)
        if params.owner_id:
            return f"When {record} is assigned to {params.owner_id}"
        return f"When {record} gets an owner"


KIND = OwnerAssigned()
