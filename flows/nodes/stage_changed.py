"""Trigger: a contact's lifecycle stage or a deal's pipeline stage changes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from flows.nodes.base import TriggerKind
from flows.params import Params


class StageChangedParams(Params):
    record: Literal["contact", "deal"] = Field(
        "deal", description="contact: lifecycle stage; deal: pipeline stage."
    )
    pipeline: str | None = Field(None, description="Deals only: the pipeline (empty: any).")
    from_stage: str | None = Field(None, description="Only when leaving this stage.")
    to_stage: str | None = Field(None, description="Only when entering this stage.")


class StageChanged(TriggerKind):
    name = "stage_changed"
    display_name = "Stage changed"
    description = "Starts when a deal moves stage or a contact's lifecycle stage changes."
    icon = "📶"
    Params = StageChangedParams

    def describe(self, params: StageChangedParams, labels: Mapping[str, str]) -> str:
        noun = "deal stage" if params.record == "deal" else "lifecycle stage"
        line = f"When the {noun} changes"
        if params.from_stage:
            line += f" from {params.from_stage}"
        if params.to_stage:
            line += f" to {params.to_stage}"
        if params.pipeline:
            line += f" in {params.pipeline}"
        return line


KIND = StageChanged()
