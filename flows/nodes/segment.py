"""Trigger: enroll everyone in a saved filter now (a broadcast)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field, model_validator

from flows import summaries as say
from flows.conditions import Criteria
from flows.nodes.base import TriggerKind
from flows.params import Params


class SegmentParams(Params):
    segment_id: str | None = Field(
        None,
        min_length=1,
        title="Saved segment",
        description="A saved filter's id.",
        json_schema_extra={"widget": "segment"},
    )
    criteria: Criteria | None = Field(None, description="Or the filter itself.")

    @model_validator(mode="after")
    def _one_source(self) -> SegmentParams:
        if (self.segment_id is None) == (self.criteria is None):
            raise ValueError("give exactly one of 'segment_id' (a saved filter) or 'criteria'")
        return self


class Segment(TriggerKind):
    name = "segment"
    display_name = "Segment (broadcast)"
    description = "Enrolls every contact matching a saved filter when the flow is started."
    icon = "📣"
    Params = SegmentParams

    def describe(self, params: SegmentParams, labels: Mapping[str, str]) -> str:
        if params.segment_id:
            return f"Everyone in segment {params.segment_id}"
        return "Everyone where " + say.criteria(params.criteria, labels)


KIND = Segment()
