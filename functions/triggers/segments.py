"""Enrolling everyone a filter matches (segment broadcasts and scheduled runs).

Candidates come from the store's indexes, never a scan: the filter must contain, in each
of its OR groups, a condition an index answers (see `plan`); every candidate is then read
and checked against the whole filter.

Step Functions allows each account a StartExecution bucket of 1,300 that refills at 300
per second. A broadcast starts at most `RATE` executions per second (default 250, under
the refill rate, so it can run forever without draining the bucket that hooks and events
share), and a throttled start is retried after a pause rather than dropped. On AWS one
Lambda runs at most 15 minutes, about 200,000 enrollments at that rate: `broadcast`
stops at its time budget and returns where to go on, and enrollment ids derived from the
run make a repeated chunk start nothing twice.

`broadcast_flow` broadcasts a published segment flow to its trigger's filter (its own
`criteria`, or the saved segment its `segment_id` names): what `POST
/flows/{flow_id}/broadcast` and `crmflow broadcast` run, a chunk at a time.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flows.conditions import Condition, ConditionGroup, Criteria
from functions.enrollments import enroll, published
from functions.errors import CrmError, FlowRejected, Transient, WrongTrigger
from functions.steps.conditions import Facts, matches
from functions.store.contacts import (
    contact_ids_by_product,
    contact_ids_by_tag,
    contact_ids_not_contacted_since,
    contacts_by_owner,
    contacts_by_stage,
    get_contact,
    get_contacts,
)
from functions.triggers.index import enrollment_id

RATE_ENV = "CRMFLOW_BROADCAST_RATE"
DEFAULT_RATE = 250.0  # StartExecution per second: under Step Functions' refill of 300/s
THROTTLE_RETRIES = 8
PAGE = 10_000_000  # index queries page through everything; the helpers take a limit
INDEXED = (
    "tags contains X",
    "products contains X",
    "lifecycle_stage equals / is one of",
    "owner_id equals",
    "last_contacted_at more than N days ago",
)


@dataclass
class Broadcast:
    """How a broadcast went: candidates looked at, contacts enrolled, and where to go on."""

    candidates: int = 0
    matched: int = 0
    enrolled: list[str] = field(default_factory=list)
    skipped: int = 0  # matched, but already in the flow (or once in it)
    repeated: int = 0  # enrolled by an earlier try of this same run
    failed: dict[str, str] = field(default_factory=dict)  # contact id → why
    next_after: str | None = None  # set when the time budget ran out: the last id handled
    run_id: str | None = None  # the run: pass it again with next_after to go on


def plan(criteria: Criteria) -> list[Callable[[], Iterator[str]]]:
    """One candidate query per OR group; FlowRejected naming what is missing when a group
    has no indexed condition."""
    groups = criteria.groups if criteria.match == "any" else [_narrowest(criteria)]
    queries = []
    for number, group in enumerate(groups, start=1):
        query = _group_query(group)
        if query is None:
            raise FlowRejected(
                f"group {number} of the filter has no condition the store can look up; "
                f"add one of: {', '.join(INDEXED)}"
            )
        queries.append(query)
    return queries


def candidates(criteria: Criteria) -> list[str]:
    """Contact ids that may match, each once, in id order: a broadcast goes on after the
    last id it handled, which holds however the indexes change between two calls."""
    seen: set[str] = set()
    for query in plan(criteria):
        seen.update(query())
    return sorted(seen)


def preview(criteria: Criteria, reads: int, sample: int) -> dict[str, Any]:
    """{"count", "exact", "sample"}: how many contacts `criteria` matches now, from the
    indexes' candidates; past `reads` candidates the count is estimated from those read.
    The first `sample` matches are named ({"contact_id", "name"})."""
    ids = candidates(criteria)
    read = ids[:reads]
    matched = 0
    named: list[dict[str, str]] = []
    for start in range(0, len(read), 100):  # BatchGetItem reads at most 100 keys
        for contact in get_contacts(read[start : start + 100]):
            if not matches(criteria, Facts(contact, {}, "")):
                continue
            matched += 1
            if len(named) < sample:
                name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
                named.append({"contact_id": contact.contact_id, "name": name or contact.email})
    exact = len(read) == len(ids) and not _tests_trigger_data(criteria)
    count = matched if len(read) == len(ids) else round(matched * len(ids) / len(read))
    return {"count": count, "exact": exact, "sample": named}


def _tests_trigger_data(criteria: Criteria) -> bool:
    """A filter on trigger data cannot be answered ahead of a trigger."""
    return any(
        (condition.field or "").startswith("trigger.")
        for group in criteria.groups
        for condition in group.conditions
    )


def broadcast(
    flow_id: str,
    criteria: Criteria,
    run_id: str,
    *,
    after: str | None = None,
    budget_seconds: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Broadcast:
    """Enroll every contact matching `criteria` in `flow_id`. `run_id` names this
    broadcast: the same run repeated enrolls nobody twice.

    With `budget_seconds`, it stops once that long has passed since the call (listing the
    candidates included) and sets `next_after`, the last contact id it handled; the next
    call passes it as `after`. Each call handles at least one candidate, so calling again
    until `next_after` is None ends.
    """
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    ids = candidates(criteria)
    result = Broadcast(candidates=len(ids), run_id=run_id)
    limiter = RateLimiter(float(os.environ.get(RATE_ENV) or DEFAULT_RATE))
    start = bisect.bisect_right(ids, after) if after else 0
    for position in range(start, len(ids)):
        if deadline is not None and position > start and time.monotonic() > deadline:
            result.next_after = ids[position - 1]
            break
        contact_id = ids[position]
        try:
            contact = get_contact(contact_id)
            if matches(criteria, Facts(contact, {}, "")):
                result.matched += 1
                limiter.wait()
                _enroll(flow_id, contact_id, run_id, result)
        except CrmError as exc:
            result.failed[contact_id] = f"{type(exc).__name__}: {exc}"
        if progress:
            progress(position + 1, len(ids))
    return result


def broadcast_flow(
    flow_id: str,
    *,
    run_id: str | None = None,
    after: str | None = None,
    budget_seconds: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Broadcast:
    """Broadcast the published version of a segment flow: enroll who its trigger's filter
    (or the saved segment it names) matches. FlowNotFound when the flow is not published,
    WrongTrigger when another trigger starts it, RecordNotFound when its segment is gone.

    `run_id` names the broadcast (default: the flow, its version and the time, to the
    second); the answer carries it, and `next_after` when the time budget ran out: call
    again with both to go on.
    """
    version = _segment_flow_version(flow_id)
    criteria = trigger_criteria(flow_id, version)
    run_id = run_id or _run_id(flow_id, version)
    return broadcast(
        flow_id,
        criteria,
        run_id,
        after=after,
        budget_seconds=budget_seconds,
        progress=progress,
    )


def new_run_id(flow_id: str) -> str:
    """A name for a new broadcast of the flow: its id, published version and the time.
    The same errors as broadcast_flow when the flow cannot be broadcast."""
    return _run_id(flow_id, _segment_flow_version(flow_id))


def _segment_flow_version(flow_id: str) -> int:
    """The published version of a flow with a segment trigger."""
    flow = published(flow_id)
    if flow.trigger_kind != "segment":
        raise WrongTrigger(
            f"flow '{flow_id}' is started by a {flow.trigger_kind} trigger; only flows with a "
            "segment trigger are broadcast"
        )
    return int(flow.published_version)


def _run_id(flow_id: str, version: int) -> str:
    return f"{flow_id}-v{version}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"


def trigger_criteria(flow_id: str, version: int) -> Criteria:
    """The filter of a segment flow version's trigger: its own, or its saved segment's."""
    from functions.store.models import FlowVersion
    from functions.store.segments import get_segment, segment_criteria

    document = FlowVersion.get(flow_id, version, consistent_read=True).document
    params = document["trigger"].get("params") or {}
    if params.get("segment_id"):
        return segment_criteria(get_segment(params["segment_id"]))
    return Criteria.model_validate(params["criteria"])


class RateLimiter:
    """At most `rate` calls per second, evenly spaced (a token bucket of one)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            pause = self._next - now
            self._next = max(now, self._next) + self.interval
        if pause > 0:
            time.sleep(pause)


# --- helpers -----------------------------------------------------------------------------


def _enroll(flow_id: str, contact_id: str, run_id: str, result: Broadcast) -> None:
    for attempt in range(THROTTLE_RETRIES):
        try:
            run = enroll(
                flow_id,
                contact_id,
                enrollment_id=enrollment_id(flow_id, "broadcast", run_id, contact_id),
                source={"kind": "broadcast", "run": run_id},
            )
        except Transient:  # throttled: the bucket is empty, wait for it to refill
            time.sleep(min(5.0, 0.2 * 2**attempt))
            continue
        if run.repeat:
            result.repeated += 1
        elif run.enrolled:
            result.enrolled.append(run.enrollment_id)
        else:
            result.skipped += 1
        return
    result.failed[contact_id] = "Step Functions kept throttling StartExecution"


def _narrowest(criteria: Criteria) -> ConditionGroup:
    # match "all" over groups: one group's candidates suffice (the rest is checked after).
    for group in criteria.groups:
        if _group_query(group) is not None:
            return group
    return criteria.groups[0]


def _group_query(group: ConditionGroup) -> Callable[[], Iterator[str]] | None:
    if group.match == "all":
        for condition in group.conditions:
            query = _condition_query(condition)
            if query is not None:
                return query
        return None
    queries = [_condition_query(c) for c in group.conditions]
    if any(q is None for q in queries):
        return None
    return lambda: (cid for q in queries for cid in q())  # type: ignore[misc]


def _condition_query(cond: Condition) -> Callable[[], Iterator[str]] | None:
    name = (cond.field or "").removeprefix("contact.")
    value = cond.value
    if name == "tags" and cond.op == "contains" and value:
        return lambda: contact_ids_by_tag(str(value))
    if name == "products" and cond.op == "contains" and value:
        return lambda: contact_ids_by_product(str(value))
    if name == "lifecycle_stage" and cond.op in ("equals", "is_one_of") and value:
        stages = value if isinstance(value, list) else [value]
        return lambda: (c.contact_id for s in stages for c in contacts_by_stage(str(s), limit=PAGE))
    if name == "owner_id" and cond.op == "equals" and value:
        return lambda: (c.contact_id for c in contacts_by_owner(str(value), limit=PAGE))
    if name == "last_contacted_at" and cond.op == "more_than_days_ago" and value is not None:
        return lambda: contact_ids_not_contacted_since(int(value))
    return None
