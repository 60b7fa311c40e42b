"""Trigger: on a schedule, enroll the contacts that match."""

from __future__ import annotations

from pydantic import Field

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


KIND = ScheduleTrigger()
