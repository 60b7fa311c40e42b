"""Who gets work: the contact's owner, a user, or a team by round robin."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from flows.params import Params


class Assignee(Params):
    rule: Literal["owner", "user", "team_round_robin"] = Field(
        "owner",
        description="owner: the contact's owner; user: one person; team_round_robin: take turns.",
    )
    user_id: str | None = None
    team_id: str | None = None

    @model_validator(mode="after")
    def _target(self) -> Assignee:
        if self.rule == "user" and not self.user_id:
            raise ValueError("rule = user needs 'user_id'")
        if self.rule == "team_round_robin" and not self.team_id:
            raise ValueError("rule = team_round_robin needs 'team_id'")
        return self
