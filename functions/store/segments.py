"""Saved segments: named filters over contacts. A segment trigger names one by id
(`segment_id`), and a broadcast of that flow enrolls the contacts it matches.

A segment is kept as it was saved: flows that name it broadcast to the same filter, and a
different filter is a new segment.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from pynamodb.exceptions import PutError

from flows.conditions import ENGAGEMENT_OPS, Criteria
from flows.issues import json_path, message_for
from functions.errors import InvalidRecord, RecordNotFound, SegmentExists
from functions.store.contacts import cancelled_by_condition, now
from functions.store.ids import new_id
from functions.store.models import Segment

# Chosen ids read like flow ids ("vip-customers"); generated ones look like "seg_018f…".
SEGMENT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def save_segment(
    name: str,
    criteria: Criteria | dict[str, Any],
    *,
    segment_id: str | None = None,
    by: str | None = None,
) -> Segment:
    """Store a filter as a new segment, under `segment_id` or a new id.

    InvalidRecord names what is wrong with the name, id or filter; FlowRejected (from
    triggers.segments.plan) says what to add when no index can find the filter's
    contacts; SegmentExists when the id is taken.
    """
    parsed = checked_criteria(criteria)
    if not name.strip():
        raise InvalidRecord("name: give the segment a name that says who is in it")
    if segment_id is not None and not SEGMENT_ID.match(segment_id):
        raise InvalidRecord(
            f"segment_id: {segment_id!r} is not an id: use lowercase letters, digits, - and _ "
            "(at most 63), e.g. vip-customers"
        )
    segment = Segment(
        segment_id or new_id("seg"),
        name=name.strip(),
        criteria=parsed.model_dump(mode="json", exclude_none=True),
        created_at=now(),
        created_by=by,
    )
    try:
        segment.save(condition=Segment.segment_id.does_not_exist())
    except PutError as exc:
        if cancelled_by_condition(exc):
            raise SegmentExists(
                f"a segment with id '{segment.segment_id}' already exists; "
                "pick another id, or leave it out for a new one"
            ) from None
        raise
    return segment


def get_segment(segment_id: str) -> Segment:
    try:
        return Segment.get(segment_id, consistent_read=True)
    except Segment.DoesNotExist:
        raise RecordNotFound(f"no segment has id '{segment_id}'") from None


def list_segments() -> list[Segment]:
    """Every saved segment, by name (a workspace keeps a few dozen: one Scan, paged)."""
    return sorted(Segment.scan(), key=lambda segment: (segment.name.casefold(), segment.segment_id))


def segment_criteria(segment: Segment) -> Criteria:
    return Criteria.model_validate(segment.criteria)


def checked_criteria(criteria: Criteria | dict[str, Any]) -> Criteria:
    """The filter, if a broadcast can use it: it parses, tests no flow's emails (a saved
    segment belongs to no flow), and an index can find its candidates (FlowRejected
    otherwise, naming what to add)."""
    from functions.triggers.segments import plan

    if not isinstance(criteria, Criteria):
        try:
            criteria = Criteria.model_validate(criteria)
        except ValidationError as exc:
            problems = [
                f"{json_path('criteria', err['loc'])}: {message_for(err)}"
                for err in exc.errors(include_url=False)
            ]
            raise InvalidRecord("; ".join(problems)) from None
    for g, group in enumerate(criteria.groups):
        for c, condition in enumerate(group.conditions):
            if condition.op in ENGAGEMENT_OPS:
                raise InvalidRecord(
                    f"criteria.groups[{g}].conditions[{c}]: '{condition.op}' tests an email "
                    "of one flow, and a saved segment belongs to no flow; put this condition "
                    "in the flow instead"
                )
    plan(criteria)
    return criteria
