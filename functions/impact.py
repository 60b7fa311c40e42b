"""What publishing a flow document would do, told before it is done: who its trigger
matches now and how many it enrolls at once, how many contacts are mid-flow (they stay
on the version they entered), which steps changed since the published version, and the
emails and SMS of the first week.

Counts come from the store's indexes (the segment and due-date indexes, the sparse
active-membership index): no Scan. A filter no index answers, or one over 2,000
candidates, gives an estimate or none, and says so.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flows.diff import changes
from flows.impact import WEEK_SECONDS, first_sends
from flows.model import Flow
from functions.errors import CrmError, FlowNotFound

PREVIEW_READS = 2000  # contacts read at most to count a filter's matches
FIRST_DAYS = 7  # the window of "enrolled at once" for date triggers and of sends


def publish_impact(document: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """The impact preview of publishing `document` (valid: the caller checked it)."""
    from functions.catalog import get_flow, get_version
    from functions.enrollments import active_count

    flow = Flow.model_validate(document)
    try:
        record = get_flow(flow.id)
    except FlowNotFound:
        record = None
    live = int(record.published_version or 0) if record and record.status == "published" else 0
    before = get_version(flow.id, live).document if live else None
    trigger = _trigger_reach(flow, now or datetime.now(UTC))
    sends = first_sends(flow, WEEK_SECONDS)
    at_once = trigger["enrolled_at_once"] or 0
    found = changes(before, document) if before else None
    return {
        "trigger": trigger,
        "in_flight": active_count(flow.id) if record else 0,
        "live_version": live or None,
        "changed_steps": found.touched if found else [node.id for node in flow.nodes],
        "first_week": {
            "emails_per_contact": list(sends.emails),
            "sms_per_contact": list(sends.sms),
            "emails_at_once": [n * at_once for n in sends.emails],
            "sms_at_once": [n * at_once for n in sends.sms],
        },
    }


def _trigger_reach(flow: Flow, now: datetime) -> dict[str, Any]:
    """{"matching_now", "enrolled_at_once", "exact", "note"} for the flow's trigger."""
    kind, params = flow.trigger.kind, flow.trigger.params
    if kind == "segment":
        count = _segment_count(params)
        if count is None:
            return _reach(None, None, False, "no index can count this filter's contacts", True)
        note = "as soon as it is published"
        return _reach(count["count"], count["count"], count["exact"], note, True)
    if kind == "date_relative":
        due = _due_in_days(params, now.date(), FIRST_DAYS)
        return _reach(due, due, True, f"their dates fall in the next {FIRST_DAYS} days", True)
    criteria = params.get("criteria")
    note = "contacts enter as they trigger it"
    if criteria and kind in ("record_created", "record_updated", "field_changed"):
        count = _criteria_count(criteria)
        if count is not None:
            return _reach(count["count"], 0, count["exact"], note)
    return _reach(None, 0, True, note)


def _reach(
    matching: int | None, at_once: int | None, exact: bool, note: str, batch: bool = False
) -> dict[str, Any]:
    return {
        "matching_now": matching,
        "enrolled_at_once": at_once,
        "exact": exact,
        "note": note,
        "batch": batch,
    }


def _segment_count(params: dict[str, Any]) -> dict[str, Any] | None:
    from functions.store.segments import get_segment

    if params.get("segment_id"):
        try:
            criteria = get_segment(params["segment_id"]).criteria
        except CrmError:
            return None
    else:
        criteria = params.get("criteria")
    return _criteria_count(criteria)


def _criteria_count(criteria: Any) -> dict[str, Any] | None:
    """The segment preview's count of `criteria`; None when no index answers it."""
    from functions.store.segments import checked_criteria
    from functions.triggers.segments import preview

    try:
        return preview(checked_criteria(criteria), PREVIEW_READS, 0)
    except CrmError:
        return None  # no indexed condition, or engagement with this flow's emails


def _due_in_days(params: dict[str, Any], today: Any, days: int) -> int:
    """Records whose date makes the trigger fire on one of the next `days` days."""
    from functions.triggers.dates import due

    name = str(params.get("field", "")).rpartition(".")[2]
    offset = int(params.get("days", 0)) * (
        1 if params.get("direction", "before") == "before" else -1
    )
    yearly = bool(params.get("yearly"))
    return sum(
        len(due(name, today + timedelta(days=day + offset), yearly=yearly)) for day in range(days)
    )
