"""`crmflow reports rebuild`: recount every report counter from the records, for data
written before the counters existed (or after a counter write failed and was logged).

It scans the contacts, deals, activities and marks tables: an admin command, never a
request path. Counts come from the same functions the live feed uses (feed.py), so a
rebuild of data the live feed counted gives the same numbers. A count-once fact that has
no mark yet (a lead from before the counters) gets one, dated as the live feed would date
a record stored that way: a contact's creation day, a closed deal's close date. Rows are
computed first and then written over the old ones (and old rows no longer counted are
deleted), so reports never read empty tables meanwhile. Counts written by the live feed
while it runs can be overwritten: run it when writes are quiet, or run it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from functions.reports import feed
from functions.reports.rollups import Count, Mark, claim, row_item
from functions.store.models import Activity, Contact, Deal, Rollup, RollupMark

Progress = Callable[[int], None]


@dataclass
class Rebuilt:
    contacts: int = 0
    deals: int = 0
    activities: int = 0
    marks: int = 0  # count-once facts counted (those kept, and those added now)
    rows: int = 0  # counter rows written

    def describe(self) -> str:
        return (
            f"counted {self.contacts:,} contacts, {self.deals:,} deals, "
            f"{self.activities:,} activities and {self.marks:,} first-time facts "
            f"into {self.rows:,} counter rows"
        )


def items_to_read() -> int:
    """About how many records rebuild reads (DynamoDB's item counts), for a progress bar."""
    return sum(int(m.describe_table().get("ItemCount", 0)) for m in (Contact, Deal, Activity))


def rebuild(progress: Progress = lambda n: None) -> Rebuilt:
    """Recount every counter; `progress(n)` after each n records read."""
    done = Rebuilt()
    sums: dict[tuple[str, str], list[Any]] = {}  # (key, slot) → [n, amount, has an amount]

    def count(record_id: str, counts: list[Count]) -> None:
        for c in counts:
            item = row_item(record_id, c)
            into = sums.setdefault((item.key, item.slot), [0, 0.0, False])
            into[0] += c.n
            if c.amount is not None:
                into[1], into[2] = into[1] + c.amount, True

    for contact in Contact.scan():
        count(contact.contact_id, feed.contact_counts(contact))
        for mark in feed.contact_marks(None, contact, None):
            claim(mark)  # kept when the live feed put it, with its own day
        done.contacts += 1
        progress(1)
    for deal in Deal.scan():
        count(deal.deal_id, feed.deal_counts(deal))
        for mark in feed.deal_marks(None, deal, None):
            claim(mark)
        done.deals += 1
        progress(1)
    firsts: dict[tuple[str, str], Mark] = {}  # the first open or click of each email
    for activity in Activity.scan():
        counts, mark = feed.activity_counts(activity)
        count(activity.contact_id, counts)
        if mark is not None:
            seen = firsts.get((mark.record_id, mark.name))
            if seen is None or mark.day < seen.day:
                firsts[mark.record_id, mark.name] = mark
        done.activities += 1
        progress(1)
    for mark in firsts.values():
        claim(mark)
    for item in RollupMark.scan():
        mark = Mark.of(item)
        count(mark.record_id, [mark.count])
        done.marks += 1
    done.rows = _replace(sums)
    return done


def _replace(sums: dict[tuple[str, str], list[Any]]) -> int:
    """Write the counted rows over the stored ones; delete stored rows no longer counted."""
    kept = {key: value for key, value in sums.items() if value[0] or value[1]}
    with Rollup.batch_write() as batch:
        for old in Rollup.scan(attributes_to_get=["key", "slot"]):
            if (old.key, old.slot) not in kept:
                batch.delete(old)
        for (key, slot), (n, amount, has_amount) in kept.items():
            batch.save(Rollup(key, slot, n=int(n), amount=amount if has_amount else None))
    return len(kept)
