"""The scheduler: one function called every few minutes (`tick`) enrolls contacts whose
date has come (date_relative triggers, from the due-date index) and runs schedule
triggers whose cron or rate expression is due. Every enrollment id derives from the flow,
the record and the date (or the scheduled run), so ticks that overlap or repeat start
nothing twice."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pynamodb.exceptions import UpdateError

from flows.conditions import Criteria
from functions.enrollments import enroll
from functions.errors import ContactNotFound, CrmError
from functions.store.contacts import cancelled_by_condition, get_contact
from functions.store.models import TriggerIndex
from functions.triggers import dates, segments
from functions.triggers.index import enrollment_id, flows_for

RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
# AWS cron numbers weekdays 1 (SUN) to 7 (SAT); croniter 0 (SUN) to 6 (SAT).
_AWS_WEEKDAY = re.compile(r"\b([1-7])\b")


@dataclass
class Tick:
    enrolled: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)  # "<flow>@<time>" of schedule runs done
    failed: dict[str, str] = field(default_factory=dict)


def tick(at: datetime | None = None) -> Tick:
    """Do what is due at `at` (now by default)."""
    at = at or datetime.now(UTC)
    done = Tick()
    for row in flows_for("date_relative"):
        _dates_due(row, at, done)
    for row in flows_for("schedule"):
        _schedule_due(row, at, done)
    return done


# --- date_relative -------------------------------------------------------------------------


def _dates_due(row: TriggerIndex, at: datetime, done: Tick) -> None:
    params = row.params or {}
    name = params["field"].rpartition(".")[2]
    days = int(params.get("days", 0))
    sign = 1 if params.get("direction", "before") == "before" else -1
    yearly = bool(params.get("yearly"))
    # A contact's local date is the UTC date, the day before or the day after.
    for local_day in (at.date() - timedelta(days=1), at.date(), at.date() + timedelta(days=1)):
        target = local_day + timedelta(days=sign * days)
        for due in dates.due(name, target, yearly=yearly):
            contact_id = due.contact_id or due.record_id
            try:
                if not _local_moment_reached(params, contact_id, local_day, at):
                    continue
                run = enroll(
                    row.flow_id,
                    contact_id,
                    trigger={"record_id": due.record_id, "field": name, "date": target.isoformat()},
                    enrollment_id=enrollment_id(
                        row.flow_id, "date", name, due.record_id, target.isoformat()
                    ),
                    source={"kind": "date_relative", "field": name, "date": target.isoformat()},
                )
            except ContactNotFound:
                continue
            except CrmError as exc:
                done.failed[contact_id] = f"{type(exc).__name__}: {exc}"
                continue
            if run.enrolled and not run.repeat:
                done.enrolled.append(run.enrollment_id)


def _local_moment_reached(params: dict[str, Any], contact_id: str, day: date, at: datetime) -> bool:
    """Is it `day` at or after `at_time` where the contact is (or in the flow's zone)?"""
    zone_name = params.get("time_zone", "contact")
    if zone_name == "contact":
        zone_name = get_contact(contact_id).time_zone or "UTC"
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")  # an unknown zone on a contact: UTC rather than never
    local = at.astimezone(zone)
    hour, minute = (int(p) for p in params.get("at_time", "09:00").split(":"))
    return local.date() == day and local.time() >= time(hour, minute)


# --- schedule ------------------------------------------------------------------------------


def _schedule_due(row: TriggerIndex, at: datetime, done: Tick) -> None:
    params = row.params or {}
    since = row.last_run_at or _published_at(row)
    due = next_run(params["expression"], since, params.get("time_zone", "UTC"))
    if due > at:
        return
    try:  # claim the run: of two overlapping ticks, one does it
        row.update(
            actions=[TriggerIndex.last_run_at.set(at)],
            condition=(TriggerIndex.last_run_at == row.last_run_at)
            if row.last_run_at
            else TriggerIndex.last_run_at.does_not_exist(),
        )
    except UpdateError as exc:
        if cancelled_by_condition(exc):
            return
        raise
    run_id = f"{row.flow_id}@{due.isoformat()}"
    result = segments.broadcast(row.flow_id, Criteria.model_validate(params["criteria"]), run_id)
    done.runs.append(run_id)
    done.enrolled += result.enrolled
    done.failed.update(result.failed)


def next_run(expression: str, since: datetime, zone: str = "UTC") -> datetime:
    """The first run of an EventBridge-style `cron(...)` or `rate(...)` after `since`."""
    rate = re.fullmatch(r"rate\((\d+) (\w+)\)", expression.strip())
    if rate:
        return since + timedelta(seconds=int(rate.group(1)) * RATE_UNITS[rate.group(2)])
    from croniter import croniter  # imported by the scheduler only: keeps cold starts light

    fields = expression.strip()[5:-1].split()
    minute, hour, day, month, weekday = fields[:5]
    year = fields[5] if len(fields) > 5 else "*"
    day = "*" if day == "?" else day
    weekday = "*" if weekday == "?" else _AWS_WEEKDAY.sub(lambda m: str(int(m[1]) - 1), weekday)
    local = since.astimezone(ZoneInfo(zone))
    found = croniter(f"{minute} {hour} {day} {month} {weekday}", local).get_next(datetime)
    for _ in range(100):  # a year field: skip runs in other years
        if year in ("*", "?") or str(found.year) in _years(year):
            break
        found = croniter(f"{minute} {hour} {day} {month} {weekday}", found).get_next(datetime)
    return found.astimezone(UTC)


def _years(field_text: str) -> set[str]:
    years: set[str] = set()
    for part in field_text.split(","):
        if "-" in part:
            start, end = (int(x) for x in part.split("-"))
            years |= {str(y) for y in range(start, end + 1)}
        else:
            years.add(part)
    return years


def _published_at(row: TriggerIndex) -> datetime:
    from functions.store.models import FlowVersion

    return FlowVersion.get(row.flow_id, int(row.version)).created_at
