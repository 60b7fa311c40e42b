"""resolve_wait: when a wait_until node lets a contact continue, on moto's DynamoDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.errors import CrmError, InvalidRecord
from functions.steps import resolve_wait
from functions.steps.base import parse
from functions.store import contacts
from tests.functions.step_payloads import payload

SATURDAY_NOON = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Set the handler's clock: `now(datetime)`; starts at Saturday 2026-01-10 12:00 UTC."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(resolve_wait, "clock", lambda: moment)

    set_to(SATURDAY_NOON)
    return set_to


def person(time_zone: str | None = None, email: str = "ana@example.com", **custom: Any) -> str:
    fields: dict[str, Any] = {"email": email, "custom": custom}
    if time_zone:
        fields["time_zone"] = time_zone
    return contacts.create_contact(fields).contact_id


def until(params: dict[str, Any], contact_id: str, **extra: Any) -> str:
    event = payload("wait_until", params, contact_id, node="pause", bucket=3, **extra)
    result = resolve_wait.handle(parse(event, "resolve_wait"))
    assert set(result) == {"until"}
    return result["until"]


def test_date_field_with_offset_is_midnight_in_the_contacts_zone(store, now) -> None:
    cid = person("America/New_York", renewal_date="2026-06-15")
    params = {"field": "renewal_date", "offset": {"amount": 3, "unit": "days"}}
    assert until(params, cid) == "2026-06-12T04:00:00Z"  # 00:00 EDT


def test_datetime_field_with_offset_after(store, now) -> None:
    cid = person(None, trial_ends="2026-02-01T15:30:00Z")
    params = {
        "field": "custom.trial_ends",
        "offset": {"amount": 2, "unit": "hours"},
        "offset_direction": "after",
    }
    assert until(params, cid) == "2026-02-01T17:30:00Z"


def test_trigger_field(store, now) -> None:
    cid = person()
    assert (
        until({"field": "trigger.demo_at"}, cid, trigger={"demo_at": "2026-01-20T10:00:00+01:00"})
        == "2026-01-20T09:00:00Z"
    )


def test_a_date_in_the_past_means_now(store, now) -> None:
    cid = person("Europe/Berlin", renewal_date="2025-03-01")
    params = {"field": "renewal_date", "offset": {"amount": 1, "unit": "weeks"}}
    assert until(params, cid) == "2026-01-10T12:00:00Z"


def test_a_missing_or_bad_date_is_a_named_error(store, now) -> None:
    cid = person(renewal_date="soon")
    for field in ("renewal_date", "birthday"):
        with pytest.raises(CrmError) as caught:
            until({"field": field}, cid)
        assert type(caught.value).__name__ == "Crm.InvalidRecord"
        assert isinstance(caught.value, InvalidRecord) and field in str(caught.value)


def test_window_on_a_weekend_moves_to_monday_morning_in_the_zone(store, now) -> None:
    cid = person("Asia/Tokyo")
    window = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
    # Saturday 21:00 in Tokyo → Monday 09:00 JST = Monday 00:00 UTC.
    assert until({"window": window}, cid) == "2026-01-12T00:00:00Z"
    named = {**window, "time_zone": "America/Chicago"}  # Saturday 06:00 in Chicago
    assert until({"window": named}, cid) == "2026-01-12T15:00:00Z"


def test_inside_the_window_continues_at_once_and_after_it_waits(store, now) -> None:
    cid = person("Europe/London")
    window = {"days": ["sat"], "start": "09:00", "end": "17:00", "time_zone": "contact"}
    assert until({"window": window}, cid) == "2026-01-10T12:00:00Z"
    now(datetime(2026, 1, 10, 17, 0, tzinfo=UTC))  # the end is exclusive
    assert until({"window": window}, cid) == "2026-01-17T09:00:00Z"


def test_window_across_the_march_dst_change_in_berlin(store, now) -> None:
    cid = person("Europe/Berlin")
    window = {"start": "09:00", "end": "17:00"}  # mon–fri, the contact's zone
    now(datetime(2026, 3, 27, 7, 30, tzinfo=UTC))  # Friday 08:30 CET
    assert until({"window": window}, cid) == "2026-03-27T08:00:00Z"  # 09:00 CET = UTC+1
    now(datetime(2026, 3, 27, 16, 30, tzinfo=UTC))  # Friday 17:30 CET: closed
    assert until({"window": window}, cid) == "2026-03-30T07:00:00Z"  # Monday 09:00 CEST = UTC+2
    weekend = {"days": ["sun"], "start": "09:00", "end": "17:00"}
    now(datetime(2026, 3, 28, 20, 0, tzinfo=UTC))  # the night of the change
    assert until({"window": weekend}, cid) == "2026-03-29T07:00:00Z"


def test_day_offsets_keep_the_wall_clock_across_dst(store, now) -> None:
    # 09:00 CEST on 1 April; a week before is 09:00 CET on 25 March, not 10:00.
    cid = person("Europe/Berlin", meeting_at="2026-04-01T07:00:00Z")
    params = {"field": "custom.meeting_at", "offset": {"amount": 7, "unit": "days"}}
    assert until(params, cid) == "2026-03-25T08:00:00Z"
    params["offset"] = {"amount": 168, "unit": "hours"}  # elapsed time: 168 hours earlier
    assert until(params, cid) == "2026-03-25T07:00:00Z"


def test_preferred_hour_in_the_contacts_zone(store, now) -> None:
    cid = person("America/Los_Angeles", preferred_send_hour=14)
    now(datetime(2026, 1, 10, 23, 0, tzinfo=UTC))  # Saturday 15:00 PST: missed today's hour
    assert until({"preferred_hour": True}, cid) == "2026-01-11T22:00:00Z"
    now(datetime(2026, 1, 10, 22, 20, tzinfo=UTC))  # 14:20 PST: inside the hour
    assert until({"preferred_hour": True}, cid) == "2026-01-10T22:20:00Z"


def test_preferred_hour_inside_a_window_and_outside_it(store, now) -> None:
    early = person("Europe/Berlin", preferred_send_hour=10)
    late = person("Europe/Berlin", email="late@example.com", preferred_send_hour=20)
    window = {"start": "09:00", "end": "17:00"}  # mon–fri
    # Saturday → Monday 12 January at 10:00 CET; the 20:00 contact gets the window's start.
    assert until({"window": window, "preferred_hour": True}, early) == "2026-01-12T09:00:00Z"
    assert until({"window": window, "preferred_hour": True}, late) == "2026-01-12T08:00:00Z"


def test_no_preferred_hour_or_zone_falls_back(store, now) -> None:
    cid = person(None)
    assert until({"preferred_hour": True}, cid) == "2026-01-10T12:00:00Z"
    odd = person("Mars/Olympus_Mons", email="odd@example.com")  # unknown zone: UTC
    assert until({"window": {"days": ["mon"]}}, odd) == "2026-01-12T09:00:00Z"


def test_capped_below_the_one_year_execution_limit(store, now) -> None:
    cid = person(None, renewal_date="2028-01-01")
    cap = SATURDAY_NOON + timedelta(days=364)
    assert until({"field": "renewal_date"}, cid) == cap.strftime("%Y-%m-%dT%H:%M:%SZ")
    started = "2025-12-01T00:00:00Z"  # when the payload says when the execution began
    assert until({"field": "renewal_date"}, cid, execution_start=started) == "2026-11-30T00:00:00Z"
