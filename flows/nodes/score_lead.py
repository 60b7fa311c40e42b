"""Action: score the lead from rules, then classify it cold, warm or hot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field, model_validator

from flows.conditions import Criteria
from flows.nodes.base import Cost, TaskKind
from flows.params import Params

Temperature = Literal["cold", "warm", "hot"]


class ScoreRule(Params):
    criteria: Criteria = Field(description="When the contact matches…")
    points: int = Field(ge=-1000, le=1000, description="…add these points (negative subtracts).")
    label: str = Field("", max_length=100, description="Why, shown on the timeline.")


class Thresholds(Params):
    warm: int = Field(30, description="Score at which a lead is warm.")
    hot: int = Field(70, description="Score at which a lead is hot.")

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.hot <= self.warm:
            raise ValueError(f"hot ({self.hot}) must be above warm ({self.warm})")
        return self


class ScoreLeadParams(Params):
    rules: list[ScoreRule] = Field(
        min_length=1, max_length=100, description="Points for each rule the contact matches."
    )
    mode: Literal["replace", "add"] = Field(
        "replace",
        description="replace: score = sum of matching rules; add: add to the current score.",
    )
    thresholds: Thresholds = Field(
        default_factory=Thresholds, description="Scores at which a lead becomes warm and hot."
    )
    stage_for: dict[Temperature, str] = Field(
        default_factory=dict,
        description="Lifecycle stage to set per temperature, e.g. hot → sales_qualified.",
    )


class ScoreLead(TaskKind):
    name = "score_lead"
    display_name = "Score lead"
    description = "Adds up points from rules, sets the score and cold/warm/hot temperature."
    icon = "🌡️"
    Params = ScoreLeadParams
    handler = "score_lead"
    cost = Cost(lambda_calls=1, ddb_reads=2, ddb_writes=2)

    def describe(self, params: ScoreLeadParams, labels: Mapping[str, str]) -> str:
        count = len(params.rules)
        rules = f"{count} rule{'s' if count != 1 else ''}"
        return (
            f"Score lead: add points from {rules}"
            if params.mode == "add"
            else f"Score lead by {rules}"
        )


KIND = ScoreLead()
