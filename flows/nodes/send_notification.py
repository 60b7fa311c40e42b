"""Action: tell a person or team inside the company (email or webhook such as Slack)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Literal

from pydantic import Field, model_validator

from flows import summaries as say
from flows.nodes.base import Cost, TaskKind
from flows.params import LongTemplate, Params, Template, Url


class SendNotificationParams(Params):
    to: Literal["owner", "user", "team"] = Field("owner", description="Who is told.")
    user_id: str | None = Field(None, description="When to = user.")
    team_id: str | None = Field(None, description="When to = team.")
    channel: Literal["email", "webhook"] = Field(
        "email", description="How: by email, or by posting to a webhook."
    )
    webhook_url: Url | None = Field(None, description="When channel = webhook (e.g. a Slack hook).")
    subject: Template = Field(
        min_length=1, max_length=300, description="Subject or headline; personalisation allowed."
    )
    message: LongTemplate = Field(
        min_length=1, max_length=20_000, description="What they are told; personalisation allowed."
    )

    @model_validator(mode="after")
    def _recipient(self) -> SendNotificationParams:
        if self.to == "user" and not self.user_id:
            raise ValueError("to = user needs 'user_id'")
        if self.to == "team" and not self.team_id:
            raise ValueError("to = team needs 'team_id'")
        if self.channel == "webhook" and not self.webhook_url:
            raise ValueError("channel = webhook needs 'webhook_url'")
        return self


class SendNotification(TaskKind):
    name = "send_notification"
    display_name = "Notify team"
    description = "Alerts the owner, a user or a team by email or webhook."
    icon = "🔔"
    Params = SendNotificationParams
    handler = "send_notification"
    cost = Cost(lambda_calls=1, ddb_reads=2, ddb_writes=1, emails=1)

    def cost_of(self, params: SendNotificationParams) -> Cost:
        return self.cost if params.channel == "email" else replace(self.cost, emails=0)

    def describe(self, params: SendNotificationParams, labels: Mapping[str, str]) -> str:
        who = {"owner": "the owner", "user": params.user_id, "team": f"team {params.team_id}"}
        head = "Post to webhook" if params.channel == "webhook" else f"Notify {who[params.to]}"
        return f"{head}: {say.text(params.subject)}"


KIND = SendNotification()
