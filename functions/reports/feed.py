"""What each change to the CRM adds to the report counters (functions/reports/rollups.py).

Two feeds, chosen by where the data changes:

* **Contacts and deals: their tables' streams.** Record changes already reach the
  `contact_changes` / `deal_changes` Lambdas (functions/triggers/records.py), with the old
  and new images, so a stage move is seen as a move whoever made it (API, flow step,
  import). Each record counts the difference between what its new and old images
  contribute, plus the count-once marks it reaches (first day as a lead or a customer, a
  deal's win or loss). On AWS a batch that fails is delivered again whole, so the counts
  of one stream record go in one transaction with a marker named after its eventID: a
  re-delivered record finds the marker and adds nothing.
* **Activities: a synchronous ADD in `add_activity`,** the single timeline writer, for
  the few kinds reports count (email_sent, email_opened, email_clicked, unsubscribed,
  purchase, form_submitted, custom visit events). The alternative, a stream on the
  activities table, would deliver every activity (flow_entered, notes, each step's
  entry…) to a Lambda that ignores most of them, and would make email counts wait for
  batches. The ADD costs one UpdateItem (1 write unit, a few ms) on the steps and events
  that write these kinds, and nothing on the others. Hot keys are avoided by sharding (a
  broadcast's emails share one day, flow and node). Opens and clicks count once per email
  and contact, through a mark. A counter write that fails is logged, not raised: the
  email has left, the event happened, and `crmflow reports rebuild` recounts.

Metrics (the Rollup key's first part) and their dimensions:

| metric | day | dims | counts |
|---|---|---|---|
| contacts.new | contact created | source | contacts (a deleted one is taken off) |
| contacts.leads | contact created | source | of those, contacts now lead or later |
| conversion.leads | first day lead or later | – | mark `lead` |
| conversion.customers | first day customer or later | – | mark `customer` |
| conversion.visits, .purchases, .forms | the event | – | custom `visit`/`page_view`, purchase, form_submitted |
| deals.won, deals.lost | first move to a won / lost stage | pipeline, owner, currency | marks `won` / `lost`, with the amount |
| deals.open | – (undated) | pipeline, stage | open deals now: which stages hold deals |
| email.sent, email.unsubscribed | the activity | flow, node | activities |
| email.opened, email.clicked | the first open / click | flow, node | marks `opened#<enr>#<node>` |
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from functions.errors import Transient
from functions.reports.rollups import Count, Mark, add, add_once, claim, merge
from functions.reports.stages import is_customer, is_lead, outcome
from functions.store.models import UNKNOWN_CLOSE_DATE, Activity, Contact, Deal

LOG = logging.getLogger(__name__)

CONTACTS_NEW = "contacts.new"
CONTACTS_LEADS = "contacts.leads"
LEADS = "conversion.leads"
CUSTOMERS = "conversion.customers"
VISITS = "conversion.visits"
PURCHASES = "conversion.purchases"
FORMS = "conversion.forms"
WON = "deals.won"
LOST = "deals.lost"
OPEN_DEALS = "deals.open"
SENT = "email.sent"
OPENED = "email.opened"
CLICKED = "email.clicked"
UNSUBSCRIBED = "email.unsubscribed"
# What counts as a visit: custom events an integration posts for a page view.
VISIT_EVENTS = frozenset({"custom:visit", "custom:page_view"})


def count_change(change: Any) -> None:
    """Count one stream record (a functions.triggers.records.Change) of a contact or deal.
    Crm.Transient when DynamoDB stays busy (the batch is delivered again); other failures
    are logged, so reports never hold up the flows a change starts."""
    old, new = change.old, change.new
    record = new if new is not None else old
    if isinstance(record, Contact):
        state, reached, record_id = contact_counts, contact_marks, record.contact_id
    elif isinstance(record, Deal):
        state, reached, record_id = deal_counts, deal_marks, record.deal_id
    else:
        return
    counts = [*state(new), *(c.negated() for c in state(old))]
    on = None if change.event == "INSERT" else day_of(change.at)
    marks = reached(old, new, on) if new is not None else []
    if not merge(counts) and not marks:
        return
    try:
        add_once(f"rollup#{change.event_id}", record_id, counts, marks)
    except Transient:
        raise
    except Exception:
        LOG.exception("change %s: report counters not updated", change.event_id)


def count_activity(activity: Activity) -> None:
    """Count a timeline activity just saved, when it is of a kind reports count."""
    counts, mark = activity_counts(activity)
    if not counts and mark is None:
        return
    try:
        if mark is not None and claim(mark):
            counts.append(mark.count)
        add(activity.contact_id, counts)
    except Exception:  # the activity is saved; `crmflow reports rebuild` recounts
        LOG.exception("activity %s: report counters not updated", activity.sort_key)


# --- what a record or an activity counts (the live feed and rebuild share these) ----------


def contact_counts(contact: Contact | None) -> list[Count]:
    if contact is None:
        return []
    day, source = day_of(contact.created_at), contact.source or ""
    counts = [Count(CONTACTS_NEW, day, (source,))]
    if is_lead(contact.lifecycle_stage):
        counts.append(Count(CONTACTS_LEADS, day, (source,)))
    return counts


def contact_marks(old: Contact | None, new: Contact, day: str | None) -> list[Mark]:
    """The milestones `new` reaches that `old` had not; on `day`, else its creation day."""
    on = day or day_of(new.created_at)
    stage, before = new.lifecycle_stage, old.lifecycle_stage if old is not None else None
    marks = []
    if is_lead(stage) and not is_lead(before):
        marks.append(Mark(new.contact_id, "lead", LEADS, on))
    if is_customer(stage) and not is_customer(before):
        marks.append(Mark(new.contact_id, "customer", CUSTOMERS, on))
    return marks


def deal_counts(deal: Deal | None) -> list[Count]:
    if deal is None or outcome(deal.stage) is not None:
        return []
    return [Count(OPEN_DEALS, "", (deal.pipeline, deal.stage))]


def deal_marks(old: Deal | None, new: Deal, day: str | None) -> list[Mark]:
    """A win or loss `new` reaches; on `day`, else (a deal stored already closed) its
    close date when known and not later than its creation, else its creation day."""
    result = outcome(new.stage)
    if result is None or (old is not None and outcome(old.stage) == result):
        return []
    if day is None:
        day = day_of(new.created_at)
        if new.close_date and new.close_date != UNKNOWN_CLOSE_DATE:
            day = min(day, new.close_date)
    dims = (new.pipeline, new.owner_id or "", new.currency or "USD")
    metric = WON if result == "won" else LOST
    return [Mark(new.deal_id, result, metric, day, dims, float(new.amount or 0))]


def activity_counts(activity: Activity) -> tuple[list[Count], Mark | None]:
    """The counts of an activity, and the mark it counts once under (opens, clicks)."""
    kind, data, day = activity.kind, activity.data or {}, day_of(activity.at)
    email = (str(data.get("flow_id") or ""), str(data.get("node") or ""))
    if kind == "email_sent":
        return [Count(SENT, day, email)], None
    if kind in ("email_opened", "email_clicked") and data.get("node"):
        verb = kind.removeprefix("email_")
        name = f"{verb}#{data.get('enrollment') or ''}#{data['node']}"
        metric = OPENED if verb == "opened" else CLICKED
        return [], Mark(activity.contact_id, name, metric, day, email)
    if kind == "unsubscribed" and data.get("node"):  # from a flow's email link
        return [Count(UNSUBSCRIBED, day, email)], None
    if kind == "purchase":
        return [Count(PURCHASES, day)], None
    if kind == "form_submitted":
        return [Count(FORMS, day)], None
    if kind == "custom_event" and data.get("event") in VISIT_EVENTS:
        return [Count(VISITS, day)], None
    return [], None


def day_of(at: datetime | date | None) -> str:
    """The UTC day of a time (today when unknown), as YYYY-MM-DD."""
    if at is None:
        at = datetime.now(UTC)
    if isinstance(at, datetime):
        at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).date()
    return at.isoformat()
