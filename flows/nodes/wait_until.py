"""Control: wait until a date (fixed or from a field), optionally only inside a send window."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any, Literal

from pydantic import AwareDatetime, Field, model_validator

from flows import summaries as say
from flows.model import DEFAULT_OUTPUT, Node
from flows.nodes.base import Cost, NodeKind, States, task_state
from flows.params import ONE_YEAR_SECONDS, DateFieldRef, Duration, Params
from flows.timezones import TimeOfDay, TimeZone

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class SendWindow(Params):
    days: list[Weekday] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], min_length=1
    )
    start: TimeOfDay = "09:00"
    end: TimeOfDay = "17:00"
    time_zone: TimeZone = "contact"

    @model_validator(mode="after")
    def _ordered(self) -> SendWindow:
        if self.end <= self.start:
            raise ValueError(f"the window ends ({self.end}) before it starts ({self.start})")
        return self


class WaitUntilParams(Params):
    at: AwareDatetime | None = Field(None, description="A fixed moment, with its UTC offset.")
    field: DateFieldRef | None = Field(None, description="Or a date field, e.g. renewal_date.")
    offset: Duration | None = Field(None, description="Shift from the field's date…")
    offset_direction: Literal["before", "after"] = Field(
        "before", description="…this long before or after it."
    )
    window: SendWindow | None = Field(None, description="Then continue only inside this window.")
    preferred_hour: bool = Field(
        False, description="Then continue at the hour the contact usually opens email."
    )

    @model_validator(mode="after")
    def _one_target(self) -> WaitUntilParams:
        if self.at and self.field:
            raise ValueError("give 'at' or 'field', not both")
        if not (self.at or self.field or self.window or self.preferred_hour):
            raise ValueError("say what to wait for: 'at', 'field', 'window' or 'preferred_hour'")
        if self.offset and not self.field:
            raise ValueError("'offset' shifts a field's date; give 'field' too")
        if self.offset and self.offset.seconds > ONE_YEAR_SECONDS:
            raise ValueError(f"offset {self.offset} is longer than one year")
        return self

    @property
    def needs_lookup(self) -> bool:
        return bool(self.field or self.window or self.preferred_hour)


class WaitUntil(NodeKind):
    name = "wait_until"
    display_name = "Wait until"
    category = "control"
    description = (
        "Waits until a date or date field, and/or the next send window in the contact's time zone."
    )
    icon = "🗓️"
    Params = WaitUntilParams
    cost = Cost(lambda_calls=1, ddb_reads=1)

    def wait_seconds(self, params: WaitUntilParams) -> int:
        # Dates are only known at run time (the resolve_wait handler caps them at the
        # execution's one-year deadline); a send window adds at most a week.
        return 7 * 86400 if params.window or params.preferred_hour else 0

    def cost_of(self, params: WaitUntilParams) -> Cost:
        # A fixed `at` is a plain Wait state: no Lambda call, no read.
        return self.cost if params.needs_lookup else Cost()

    def handlers(self, params: WaitUntilParams) -> tuple[str, ...]:
        return ("resolve_wait",) if params.needs_lookup else ()

    def emit(self, node: Node, params: WaitUntilParams, ctx: Any) -> States:
        after = ctx.target(node, DEFAULT_OUTPUT)
        if not params.needs_lookup:
            stamp = params.at.astimezone(UTC)  # type: ignore[union-attr]
            return {
                node.id: {
                    "Type": "Wait",
                    "Timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "Next": after,
                }
            }
        # The contact's date and time zone live in DynamoDB: a Lambda turns them into a timestamp.
        wait = f"{node.id}.wait"
        payload = {"kind": self.name, "params": node.params}
        return {
            node.id: task_state(node.id, "resolve_wait", payload, Catch=ctx.catch(node), Next=wait),
            wait: {"Type": "Wait", "TimestampPath": "$.last.result.until", "Next": after},
        }

    def describe(self, params: WaitUntilParams, labels: Mapping[str, str]) -> str:
        parts = []
        if params.at:
            parts.append(params.at.strftime("%d %b %Y %H:%M"))
        if params.field:
            field = say.field_name(params.field)
            if params.offset:
                field = f"{say.duration(params.offset)} {params.offset_direction} {field}"
            parts.append(field)
        if params.window:
            window = params.window
            parts.append(
                f"{window.days[0].capitalize()}–{window.days[-1].capitalize()} "
                f"{window.start}–{window.end}"
            )
        if params.preferred_hour:
            parts.append("their usual opening hour")
        return "Wait until " + ", then ".join(parts)


KIND = WaitUntil()
