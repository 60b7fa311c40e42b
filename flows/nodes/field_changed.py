"""Trigger: one field changes, optionally from or to a value."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from flows.nodes.base import TriggerKind
from flows.nodes.triggers import RECORD, RecordType
from flows.params import FieldRef, Params


class FieldChangedParams(Params):
    record: RecordType = RECORD
    field: FieldRef = Field(description="The field to watch.")
    from_value: Any = Field(None, description="Only when it had this value before.")
    to_value: Any = Field(None, description="Only when it gets this value.")


class FieldChanged(TriggerKind):
    name = "field_changed"
    display_name = "Field changed"
    description = "Starts when a field's value changes (optionally from or to a value)."
    icon = "🔁"
    Params = FieldChangedParams


KIND = FieldChanged()
