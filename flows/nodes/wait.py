"""Control: wait a fixed time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from flows import summaries as say
from flows.model import DEFAULT_OUTPUT, Node
from flows.nodes.base import NodeKind, States
from flows.params import ONE_YEAR_SECONDS, Duration, Params


class WaitParams(Params):
    duration: Duration = Field(description="How long, e.g. 3 days.")

    @field_validator("duration")
    @classmethod
    def _in_range(cls, value: Duration) -> Duration:
        if value.seconds < 60:
            raise ValueError("wait at least 1 minute")
        if value.seconds > ONE_YEAR_SECONDS:
            raise ValueError(f"{value} is longer than Step Functions' limit of one year")
        return value


class Wait(NodeKind):
    name = "wait"
    display_name = "Wait"
    category = "control"
    description = "Pauses the contact for a fixed time (minutes to months)."
    icon = "⏳"
    Params = WaitParams

    def wait_seconds(self, params: WaitParams) -> int:
        return params.duration.seconds

    def emit(self, node: Node, params: WaitParams, ctx: Any) -> States:
        return {
            node.id: {
                "Type": "Wait",
                "Seconds": params.duration.seconds,
                "Next": ctx.target(node, DEFAULT_OUTPUT),
            }
        }

    def describe(self, params: WaitParams, labels: Mapping[str, str]) -> str:
        return f"Wait {say.duration(params.duration)}"


KIND = Wait()
