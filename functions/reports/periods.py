"""Report periods: a date range cut into ISO weeks (Monday to Sunday) or calendar months.
Days are UTC days, as the counters are.

With no range given, a report covers the last 12 periods, the current one included: the
12 weeks from the Monday 11 weeks before this week's, or the 12 months from the first of
the month 11 months ago, up to today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from functions.errors import BadRequest

Kind = Literal["week", "month"]
DEFAULT_PERIODS = 12
MAX_DAYS = 731  # two years of days: a report reads each day's rows, so keep it bounded
# Days a report may name: room for any CRM's history and plans, and far from the ends of
# Python's calendar (year 1 and 9999), where a period's first or last day cannot exist.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)


@dataclass(frozen=True)
class Period:
    label: str  # "2027-W09" or "2027-03"
    first: date  # the period's days inside the range
    last: date


def today() -> date:
    return datetime.now(UTC).date()


def resolve(kind: Kind, start: date | None, end: date | None) -> tuple[date, date]:
    """The range asked for, with the defaults filled in; BadRequest naming what is wrong."""
    for name, day in (("start", start), ("end", end)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise BadRequest(
                f"{name} ({day}) is outside the days reports cover, {FIRST_DAY} to {LAST_DAY}"
            )
    end = end or today()
    start = start or _periods_back(kind, end, DEFAULT_PERIODS - 1)
    if end < start:
        raise BadRequest(f"end ({end}) is before start ({start})")
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise BadRequest(
            f"the range from {start} to {end} is {days} days; a report covers at most "
            f"{MAX_DAYS} (two years): move start or end closer"
        )
    return start, end


def periods(kind: Kind, start: date, end: date) -> list[Period]:
    """The periods that cover start..end, each cut to the range."""
    found: list[Period] = []
    day = start
    while day <= end:
        last = min(_period_end(kind, day), end)
        found.append(Period(label(kind, day), day, last))
        day = last + timedelta(days=1)
    return found


def label(kind: Kind, day: date) -> str:
    if kind == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


# --- helpers -----------------------------------------------------------------------------


def _period_start(kind: Kind, day: date) -> date:
    return day - timedelta(days=day.weekday()) if kind == "week" else day.replace(day=1)


def _period_end(kind: Kind, day: date) -> date:
    if kind == "week":
        return _period_start(kind, day) + timedelta(days=6)
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def _periods_back(kind: Kind, day: date, count: int) -> date:
    first = _period_start(kind, day)
    if kind == "week":
        return first - timedelta(weeks=count)
    months = first.year * 12 + first.month - 1 - count
    return date(months // 12, months % 12 + 1, 1)
