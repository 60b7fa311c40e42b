"""Trigger: one field changes, optionally from or to a value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from flows import summaries as say
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

    def describe(self, params: FieldChangedParams, labels: Mapping[str, str]) -> str:
        line = f"When {say.field_name(params.field)} changes"
        if params.from_value is not None:
            line += f" from {say.value(params.from_value)}"
        if params.to_value is not None:
            line += f" to {say.value(params.to_value)}"
        return line


KIND = FieldChanged()
