"""Saved segments over HTTP: save a filter under a name, read it back. A segment trigger
names it by id (`"params": {"segment_id": "vip-customers"}`), and `POST
/flows/{flow_id}/broadcast` enrolls who it matches.

Service modules are imported inside the views: every Lambda of the app imports this
module at cold start, and only API calls need them.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from functions.api.routing import Call, json_response, record_json, route

bp = Blueprint(__name__)


@route(
    bp,
    "/segments",
    method="POST",
    permission="flows:write",
    body="NewSegment",
    status=201,
    errors=(400, 409, 422),
    answer="Segment",
)
def segments_create(call: Call) -> Any:
    """Save a filter over contacts as a segment.

    Each OR group of the filter needs a condition an index answers; a filter without one
    is refused (422) naming what to add. A taken `segment_id` is a 409.
    """
    from functions.store.segments import save_segment

    body = call.body
    segment = save_segment(
        body.name, body.criteria, segment_id=body.segment_id, by=call.principal.actor
    )
    answer = json_response(record_json(segment), 201)
    answer.headers["Location"] = f"/segments/{segment.segment_id}"
    return answer


@route(bp, "/segments", permission="flows:read", answer="Segments")
def segments_list(call: Call) -> Any:
    """List the saved segments, by name (what a segment trigger can name)."""
    from functions.store.segments import list_segments

    return {"segments": [record_json(segment) for segment in list_segments()]}


@route(bp, "/segments/{segment_id}", permission="flows:read", errors=(404,), answer="Segment")
def segments_show(call: Call, segment_id: str) -> Any:
    """Read a saved segment: its name and filter."""
    from functions.store.segments import get_segment

    return record_json(get_segment(segment_id))


PREVIEW_READS = 2000  # candidates read at most; past that the count is an estimate
PREVIEW_SAMPLE = 5


@route(
    bp,
    "/segments/preview",
    method="POST",
    permission="flows:read",
    body="SegmentPreview",
    errors=(400, 422),
    answer="SegmentPreview",
)
def segments_preview(call: Call) -> Any:
    """Count the contacts a filter matches now, with the first few of them.

    Candidates come from the store's indexes, as for a broadcast: each OR group of the
    filter needs a condition an index answers, else a 422 names what to add. Past
    2,000 candidates the count is estimated from the first ones read (`exact` false).
    """
    from functions.store.segments import checked_criteria
    from functions.triggers.segments import preview

    return preview(checked_criteria(call.body.criteria), PREVIEW_READS, PREVIEW_SAMPLE)
