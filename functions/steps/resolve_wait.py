"""resolve_wait: the moment a wait_until node lets the contact continue, as a UTC stamp.

The compiler follows this Task with a Wait on `$.last.result.until` (docs/compiler.md).
The moment is, in order: the fixed `at`, or the contact's date field shifted by `offset`
(or now); never earlier than now; then moved forward into the send window and/or to the
contact's preferred send hour; then capped at the execution's deadline.

Rules worth knowing:
- A date-only value (`2025-06-01`) means midnight in the contact's time zone; a datetime
  without an offset is UTC (how the store writes them).
- Offsets in days and weeks move the wall clock in the contact's zone (3 days before a
  09:00 renewal is 09:00, even across a DST change); minutes and hours are elapsed time.
- Window and preferred-hour times are wall-clock times in their zone, so 09:00
  Europe/Berlin is 08:00 UTC in winter and 07:00 UTC in summer. A window edge that falls
  in a DST gap (02:30 on the spring-forward night) resolves one hour late (03:30).
- A preferred hour means the hour from H:00 to H+1:00 in the contact's zone; with a
  window too, the first moment inside both (else the window alone). A contact without a
  preferred hour gets the window alone, or continues at the moment itself.
- The cap: a Standard execution lives at most 365 days from its start. The payload does
  not carry the start, so the cap is now + 364 days (a day's margin); when the payload
  has `execution_start` (from `$$.Execution.StartTime`) the cap is start + 364 days too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows.fields import split_ref
from flows.nodes.wait_until import SendWindow, WaitUntilParams
from functions.errors import InvalidParams, InvalidRecord
from functions.steps.base import Step
from functions.store.contacts import get_contact, now
from functions.store.models import Contact

log = logging.getLogger(__name__)

DEADLINE = timedelta(days=364)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = list(WEEKDAYS)
STAMP = "%Y-%m-%dT%H:%M:%SZ"


def clock() -> datetime:
    """Now, in UTC (a test run's own clock in a test run); tests patch it."""
    return now()


def handle(step: Step) -> dict[str, Any]:
    now = clock().astimezone(UTC)
    moment = resolve(step.params, _lazy(step.contact_id), step.trigger, now)
    moment = min(moment, _deadline(step, now))
    return {"until": moment.astimezone(UTC).strftime(STAMP)}


def resolve(
    params: WaitUntilParams,
    contact: Callable[[], Contact],
    trigger: dict[str, Any],
    now: datetime,
) -> datetime:
    """The moment to continue (not yet capped), given a way to read the contact."""
    home = _home_zone(contact) if (params.field or params.preferred_hour) else UTC
    if params.at:
        moment = params.at
    elif params.field:
        moment = _field_moment(params.field, contact, trigger, home)
        if params.offset:
            moment = _shift(
                moment,
                params.offset.amount,
                params.offset.unit,
                -1 if params.offset_direction == "before" else 1,
                home,
            )
    else:
        moment = now
    moment = max(moment, now)
    window = params.window
    window_zone = _window_zone(window, contact) if window else UTC
    if params.preferred_hour:
        hour = _preferred_hour(contact())
        if hour is not None:
            return _preferred(moment, hour, home, window, window_zone)
    if window:
        return _next_in_window(
            moment, window.days, _minutes(window.start), _minutes(window.end), window_zone
        )
    return moment


def _lazy(contact_id: str) -> Callable[[], Contact]:
    found: list[Contact] = []

    def read() -> Contact:
        if not found:
            found.append(get_contact(contact_id))
        return found[0]

    return read


def _deadline(step: Step, now: datetime) -> datetime:
    cap = now + DEADLINE
    start = step.event.get("execution_start")
    if isinstance(start, str):
        try:
            began = datetime.fromisoformat(start)
        except ValueError:
            began = None
        if began is not None:
            cap = min(cap, (began if began.tzinfo else began.replace(tzinfo=UTC)) + DEADLINE)
    return cap


def _zone(name: str | None) -> tzinfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r: using UTC", name)
        return UTC


def _home_zone(contact: Callable[[], Contact]) -> tzinfo:
    return _zone(contact().time_zone)


def _window_zone(window: SendWindow, contact: Callable[[], Contact]) -> tzinfo:
    return _home_zone(contact) if window.time_zone == "contact" else _zone(window.time_zone)


def _field_moment(
    ref: str, contact: Callable[[], Contact], trigger: dict[str, Any], home: tzinfo
) -> datetime:
    parts = split_ref(ref)
    if parts is None:
        raise InvalidParams(f"'{ref}' is not a field reference")
    scope, name = parts
    if scope == "trigger":
        value = trigger.get(name)
        owner = "the trigger data"
    elif scope in ("contact", "custom"):
        record = contact()
        custom = record.custom or {}
        if scope == "contact" and name in record.get_attributes():
            value = getattr(record, name)
        else:
            value = custom.get(name)
        owner = f"contact {record.contact_id}"
    else:
        raise InvalidParams(f"wait_until on a {scope} field is not supported yet")
    moment = _as_moment(value, home)
    if moment is None:
        shown = "no value" if value in (None, "") else f"{str(value)[:40]!r}, not a date"
        raise InvalidRecord(f"{owner} has {shown} in '{ref}': cannot tell when to continue")
    return moment


def _as_moment(value: Any, home: tzinfo) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=home)
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value  # epoch milliseconds or seconds
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            if len(text) == 10:
                return _as_moment(date.fromisoformat(text), home)
            return _as_moment(datetime.fromisoformat(text), home)
        except ValueError:
            return None
    return None


def _shift(moment: datetime, amount: int, unit: str, sign: int, home: tzinfo) -> datetime:
    if unit in ("minutes", "hours"):
        return moment + sign * timedelta(**{unit: amount})
    # Calendar days: move the wall clock in the contact's zone, not 24-hour blocks.
    local = moment.astimezone(home).replace(tzinfo=None)
    return (local + sign * timedelta(**{unit: amount})).replace(tzinfo=home).astimezone(UTC)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _wall(day: date, minutes: int, zone: tzinfo) -> datetime:
    """The instant the wall clock in `zone` shows `minutes` past midnight of `day`."""
    local = datetime.combine(day, time()) + timedelta(minutes=minutes)
    return local.replace(tzinfo=zone).astimezone(UTC)


def _next_in_window(
    moment: datetime, days: list[str], opens: int, closes: int, zone: tzinfo
) -> datetime:
    """The first instant at or after `moment` on one of `days` between opens and closes
    (minutes past midnight, wall clock in `zone`)."""
    today = moment.astimezone(zone).date()
    for ahead in range(8):
        day = today + timedelta(days=ahead)
        if WEEKDAYS[day.weekday()] not in days:
            continue
        start, end = _wall(day, opens, zone), _wall(day, closes, zone)
        if moment < start:
            return start
        if moment < end:
            return moment
    raise AssertionError("a send window has at least one day")  # SendWindow guarantees it


def _preferred_hour(contact: Contact) -> float | None:
    value = (contact.custom or {}).get("preferred_send_hour")
    if value is None:
        value = getattr(contact, "preferred_send_hour", None)
    try:
        hour = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return hour if 0 <= hour < 24 else None


def _preferred(
    moment: datetime, hour: float, home: tzinfo, window: SendWindow | None, window_zone: tzinfo
) -> datetime:
    opens = round(hour * 60)
    if window is None:
        return _next_in_window(moment, EVERY_DAY, opens, opens + 60, home)
    w_opens, w_closes = _minutes(window.start), _minutes(window.end)
    at = moment
    for _ in range(15):  # two weeks cover every weekday in both zones
        slot = _next_in_window(at, EVERY_DAY, opens, opens + 60, home)
        inside = _next_in_window(slot, window.days, w_opens, w_closes, window_zone)
        slot_end = _wall(slot.astimezone(home).date(), opens + 60, home)
        if inside < slot_end:
            return inside
        at = slot_end
    # The preferred hour never meets the window (e.g. 20:00 and a 09–17 window).
    return _next_in_window(moment, window.days, w_opens, w_closes, window_zone)
