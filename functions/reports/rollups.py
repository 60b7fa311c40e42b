"""Report counters in DynamoDB: how they are keyed, added to and read.

A Rollup row is one metric on one day under its dimensions: key `<metric>#<shard>`, slot
`<YYYY-MM-DD>#<dim>#<dim>…`, holding a count `n` and, for deals, an `amount`. The
dimensions sit after the day in the range key, not in the hash key, because a report wants
every source (owner, flow…) for a range of days, and these are open-ended: with the day
first, "everything from D1 to D2" is one key range. Undated rows (the open deals per stage,
used to discover stages) have an empty day: slot `#<dim>…`.

Each metric is spread over SHARDS hash keys by the id of the contact or deal counted
(crc32, as contacts.by_last_touch is): one item takes about 1,000 writes a second, and a
broadcast's emails all count on the same day, flow and node. A report reads the SHARDS keys
with one Query each and adds them up.

Counts only ever move by atomic ADD (no read-modify-write), so concurrent writers all land.
A RollupMark's conditional put decides whether a count-once fact (a contact's first day
as a lead, a deal's win, the first open of an email) was counted already.
"""

from __future__ import annotations

import functools
import random
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from functions.errors import Transient
from functions.store.models import Delivery, Rollup, RollupMark

SHARDS = 8
TRANSACTION_RETRIES = 6
_COUNTED = "ConditionalCheckFailed"  # the cancellation reason of a mark or marker that exists
DONE_FOR = 2 * 24 * 3600  # seconds a handled stream record is remembered: streams keep 24 h
_BUSY = frozenset(
    {
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
    }
)


@dataclass(frozen=True)
class Count:
    """n (and amount) to add to a metric on a day under its dimensions."""

    metric: str
    day: str  # YYYY-MM-DD; "" for an undated metric
    dims: tuple[str, ...] = ()
    n: int = 1
    amount: float | None = None

    @property
    def slot(self) -> str:
        return "#".join((self.day, *(_escape(d) for d in self.dims)))

    def negated(self) -> Count:
        return replace(self, n=-self.n, amount=None if self.amount is None else -self.amount)


@dataclass(frozen=True)
class Mark:
    """A count-once fact: counted (as `count`) only if no mark of this name exists."""

    record_id: str
    name: str
    metric: str
    day: str
    dims: tuple[str, ...] = ()
    amount: float | None = None

    @property
    def count(self) -> Count:
        return Count(self.metric, self.day, self.dims, 1, self.amount)

    def item(self) -> RollupMark:
        return RollupMark(
            self.record_id,
            self.name,
            metric=self.metric,
            day=self.day,
            dims=list(self.dims),
            amount=self.amount,
        )

    @staticmethod
    def of(item: RollupMark) -> Mark:
        amount = None if item.amount is None else float(item.amount)
        dims = tuple(item.dims or ())
        return Mark(item.record_id, item.mark, item.metric, item.day, dims, amount)


@dataclass(frozen=True)
class Row:
    """A counter as read back: its day, dimensions and totals."""

    day: str
    dims: tuple[str, ...]
    n: int
    amount: float


def shard_of(record_id: str) -> int:
    return zlib.crc32(record_id.encode()) % SHARDS


def merge(counts: Iterable[Count]) -> list[Count]:
    """One Count per metric and slot, zeros left out (an unchanged record adds nothing)."""
    totals: dict[tuple[str, str, tuple[str, ...]], list[Any]] = {}
    for c in counts:
        into = totals.setdefault((c.metric, c.day, c.dims), [0, None])
        into[0] += c.n
        if c.amount is not None:
            into[1] = (into[1] or 0) + c.amount
    return [
        Count(metric, day, dims, n, amount)
        for (metric, day, dims), (n, amount) in totals.items()
        if n or amount
    ]


def add(record_id: str, counts: Iterable[Count]) -> None:
    """ADD the counts (one UpdateItem per row), in the shard of `record_id`."""
    for c in merge(counts):
        _row(record_id, c).update(actions=_actions(c))


def claim(mark: Mark) -> bool:
    """Put the mark unless it exists; True when this call put it (so it counts now)."""
    try:
        mark.item().save(condition=RollupMark.record_id.does_not_exist())
    except PutError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def add_once(done_key: str, record_id: str, counts: list[Count], marks: list[Mark]) -> None:
    """Add `counts`, and the counts of the `marks` not claimed before, in one transaction
    with a marker `done_key`: a stream record delivered again (batches are retried whole
    on AWS) finds its marker and changes nothing. Conflicts and throttling are retried,
    then raised as Crm.Transient so the batch is delivered again."""
    marks = list(marks)
    for attempt in range(TRANSACTION_RETRIES):
        rows = merge([*counts, *(m.count for m in marks)])
        if not rows and not marks:
            return
        done = Delivery(
            done_key, status=200, at=datetime.now(UTC), expires=int(time.time()) + DONE_FOR
        )
        try:
            with TransactWrite(connection=_connection()) as tx:
                tx.save(done, condition=Delivery.key.does_not_exist())
                for mark in marks:
                    tx.save(mark.item(), condition=RollupMark.record_id.does_not_exist())
                for c in rows:
                    tx.update(_row(record_id, c), actions=_actions(c))
            return
        except TransactWriteError as exc:
            reasons = [r.code if r is not None else None for r in exc.cancellation_reasons or []]
            if reasons and reasons[0] == _COUNTED:
                return  # handled before
            taken = {i for i, code in enumerate(reasons[1 : 1 + len(marks)]) if code == _COUNTED}
            if taken:  # counted before: go on without them
                marks = [m for i, m in enumerate(marks) if i not in taken]
                continue
            if not (set(reasons) & _BUSY or exc.cause_response_code in _BUSY):
                raise
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
    raise Transient(f"report counters for {done_key} kept conflicting; deliver again")


def read(metric: str, first: date, last: date) -> Iterator[Row]:
    """Every row of `metric` from day `first` to `last` (inclusive), over all shards."""
    # "$" sorts right after "#", so "<last>$" bounds every slot of the last day.
    between = Rollup.slot.between(first.isoformat(), f"{last.isoformat()}$")
    for shard in range(SHARDS):
        for item in Rollup.query(f"{metric}#{shard}", between):
            yield _row_of(item)


def read_undated(metric: str) -> Iterator[Row]:
    for shard in range(SHARDS):
        for item in Rollup.query(f"{metric}#{shard}"):
            yield _row_of(item)


def row_item(record_id: str, count: Count) -> Rollup:
    """The Rollup item a count goes to, with the count as its value (rebuild writes these)."""
    item = _row(record_id, count)
    item.n, item.amount = count.n, count.amount
    return item


# --- helpers -----------------------------------------------------------------------------


@functools.cache
def _connection() -> Connection:
    return Connection(region=Rollup.Meta.region)


def _row(record_id: str, c: Count) -> Rollup:
    return Rollup(f"{c.metric}#{shard_of(record_id)}", c.slot)


def _actions(c: Count) -> list[Any]:
    actions = [Rollup.n.add(c.n)]
    if c.amount is not None:
        actions.append(Rollup.amount.add(c.amount))
    return actions


def _row_of(item: Rollup) -> Row:
    day, *dims = item.slot.split("#")
    return Row(day, tuple(_unescape(d) for d in dims), int(item.n or 0), float(item.amount or 0))


def _escape(text: str) -> str:
    # Dimensions are free text (sources, stages): keep "#" for the separator only.
    return text.replace("%", "%25").replace("#", "%23")


def _unescape(text: str) -> str:
    return text.replace("%23", "#").replace("%25", "%")
