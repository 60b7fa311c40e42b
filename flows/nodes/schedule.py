"""Trigger: on a schedule, enroll the contacts that match."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from flows import summaries as say
from flows.conditions import Criteria
from flows.nodes.base import TriggerKind
from flows.params import Params, Schedule
from flows.timezones import TimeZone


class ScheduleParams(Params):
    expression: Schedule = Field(
        description="cron(min hour day month weekday year) or rate(N unit), as in EventBridge."
    )
    time_zone: TimeZone = "UTC"
    criteria: Criteria = Field(description="Who is enrolled at each run.")


class ScheduleTrigger(TriggerKind):
    name = "schedule"
    display_name = "On a schedule"
    description = "Runs on a cron or rate schedule and enrolls the contacts that match."
    icon = "⏰"
    Params = ScheduleParams

    def describe(self, params: ScheduleParams, labels: Mapping[str, str]) -> str:
        return f"{say.schedule(params.expression)}, for contacts where " + say.criteria(
            params.criteria, labels
        )


KIND = ScheduleTrigger()
