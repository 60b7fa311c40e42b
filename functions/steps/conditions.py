"""Evaluating flows' Criteria against a fresh read of the contact (branch, goal, switch,
score rules, owner rules). The ops are declared in flows/conditions.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pynamodb.models import Model

from flows.conditions import Condition, Criteria
from functions.errors import RecordNotFound
from functions.store import records
from functions.store.contacts import now, timeline
from functions.store.models import Contact

ENGAGEMENT_KINDS = {"opened": "email_opened", "clicked": "email_clicked"}
_RECENT_ACTIVITIES = 200  # how far back opened/clicked conditions look


class Facts:
    """What conditions read: the contact's fields, its custom fields, the trigger data,
    and (lazily, at most one read each) its deal and company (the trigger's, else the
    contact's: records.deal_for / company_for) and its recent email engagement in this
    enrollment."""

    def __init__(self, contact: Contact, trigger: dict[str, Any], enrollment_id: str) -> None:
        self.contact, self.trigger, self.enrollment_id = contact, trigger, enrollment_id
        self._engaged: set[tuple[str, str]] | None = None
        self._records: dict[str, Model | None] = {}

    def value(self, ref: str) -> Any:
        scope, _, name = ref.partition(".") if "." in ref else ("contact", "", ref)
        if scope == "custom":
            return (self.contact.custom or {}).get(name)
        if scope == "trigger":
            return self.trigger.get(name)
        if scope in ("contact", "deal", "company"):
            record = self.contact if scope == "contact" else self.record(scope)
            return _field(record, name) if record is not None else None
        return None

    def record(self, scope: str) -> Model | None:
        """The deal or company this step is about, None when there is none."""
        if scope not in self._records:
            find = records.deal_for if scope == "deal" else records.company_for
            try:
                self._records[scope] = find(self.contact, self.trigger)
            except RecordNotFound:
                self._records[scope] = None
        return self._records[scope]

    def engaged(self, kind: str, node: str) -> bool:
        if self._engaged is None:
            items, _ = timeline(self.contact.contact_id, limit=_RECENT_ACTIVITIES)
            self._engaged = {
                (a.kind, a.data.get("node", ""))
                for a in items
                if a.data.get("enrollment") == self.enrollment_id
            }
        return (kind, node) in self._engaged


def _field(record: Model, name: str) -> Any:
    if name == "id":  # contact.id, deal.id, company.id: the record's key
        return getattr(record, record._hash_key_attribute().attr_name)
    if name in record.get_attributes():
        return getattr(record, name)
    # Declared fields without a column of their own (budget, renewal_date, emails_opened…)
    # live in the record's custom fields, where imports, webhooks and steps put them.
    return (getattr(record, "custom", None) or {}).get(name)


def matches(criteria: Criteria, facts: Facts) -> bool:
    results = (
        (all if group.match == "all" else any)(holds(c, facts) for c in group.conditions)
        for group in criteria.groups
    )
    return (all if criteria.match == "all" else any)(results)


def holds(cond: Condition, facts: Facts) -> bool:
    op = cond.op
    if op in ("opened", "not_opened", "clicked", "not_clicked"):
        kind = ENGAGEMENT_KINDS[op.removeprefix("not_")]
        return facts.engaged(kind, cond.node or "") != op.startswith("not_")
    value = facts.value(cond.field or "")
    return _OPS[op](value, cond.value)


def _text(value: Any) -> str:
    return str(value).casefold() if value is not None else ""


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _when(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def _contains(value: Any, wanted: Any) -> bool:
    if isinstance(value, set | list | tuple):
        return _text(wanted) in {_text(v) for v in value}
    return _text(wanted) in _text(value)


def equals(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, bool) or isinstance(value, bool):
        return value == wanted
    left, right = _number(value), _number(wanted)
    if left is not None and right is not None:
        return left == right
    return _text(value) == _text(wanted)


def _compare(test: Any) -> Any:
    def op(value: Any, wanted: Any) -> bool:
        left, right = _number(value), _number(wanted)
        return left is not None and right is not None and test(left, right)

    return op


def _days(test: Any) -> Any:
    def op(value: Any, days: Any) -> bool:
        moment = _when(value)
        return moment is not None and test(moment, now(), timedelta(days=float(days)))

    return op


_OPS = {
    "equals": equals,
    "not_equals": lambda v, w: not equals(v, w),
    "contains": _contains,
    "not_contains": lambda v, w: not _contains(v, w),
    "starts_with": lambda v, w: _text(v).startswith(_text(w)),
    "greater_than": _compare(lambda a, b: a > b),
    "at_least": _compare(lambda a, b: a >= b),
    "less_than": _compare(lambda a, b: a < b),
    "at_most": _compare(lambda a, b: a <= b),
    "is_one_of": lambda v, w: any(equals(v, x) for x in w),
    "is_none_of": lambda v, w: not any(equals(v, x) for x in w),
    "is_set": lambda v, _: v not in (None, "", set(), [], {}),
    "is_not_set": lambda v, _: v in (None, "", set(), [], {}),
    "within_last_days": _days(lambda m, now, d: now - d <= m <= now),
    "more_than_days_ago": _days(lambda m, now, d: m < now - d),
    "within_next_days": _days(lambda m, now, d: now <= m <= now + d),
}
