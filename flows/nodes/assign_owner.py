"""Action: give the contact an owner by round robin, rules or least load."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field, model_validator

from flows.conditions import Criteria
from flows.nodes.base import Cost, TaskKind
from flows.params import Params


class OwnerRule(Params):
    criteria: Criteria = Field(description="Contacts matching these…")
    user_id: str | None = Field(None, description="…go to this user…")
    team_id: str | None = Field(None, description="…or to this team by round robin.")

    @model_validator(mode="after")
    def _one_target(self) -> OwnerRule:
        if (self.user_id is None) == (self.team_id is None):
            raise ValueError("a rule needs exactly one of 'user_id' or 'team_id'")
        return self


class AssignOwnerParams(Params):
    strategy: Literal["round_robin", "rules", "least_loaded"] = Field(
        "round_robin",
        description="round_robin: take turns in the team; rules: first matching rule; "
        "least_loaded: the member with the fewest open tasks.",
    )
    team_id: str | None = Field(
        None, description="The team to pick from (round_robin, least_loaded, fallback)."
    )
    rules: list[OwnerRule] = Field(
        default_factory=list, description="First matching rule wins (territory, size…)."
    )
    only_if_unassigned: bool = Field(True, description="Keep an existing owner.")

    @model_validator(mode="after")
    def _complete(self) -> AssignOwnerParams:
        if self.strategy == "rules" and not self.rules:
            raise ValueError("strategy = rules needs at least one rule")
        if self.strategy != "rules" and not self.team_id:
            raise ValueError(f"strategy = {self.strategy} needs 'team_id'")
        return self


class AssignOwner(TaskKind):
    name = "assign_owner"
    display_name = "Assign owner"
    description = (
        "Assigns the contact to a sales rep: round robin, territory rules or least loaded."
    )
    icon = "🎯"
    Params = AssignOwnerParams
    handler = "assign_owner"
    cost = Cost(lambda_calls=1, ddb_reads=3, ddb_writes=3)

    def describe(self, params: AssignOwnerParams, labels: Mapping[str, str]) -> str:
        if params.strategy == "rules":
            count = len(params.rules)
            return f"Assign owner by {count} rule{'s' if count != 1 else ''}"
        how = "round robin" if params.strategy == "round_robin" else "least busy"
        return f"Assign owner: {how} in team {params.team_id}"


KIND = AssignOwner()
