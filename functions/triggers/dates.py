"""The due-date index behind date_relative triggers: one row per record and date field
value (and one per month-day, for yearly triggers such as birthdays), kept in step with
the records by the stream handler, read by the scheduler with one Query per day and field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flows.fields import CONTACT_FIELDS, DEAL_FIELDS
from functions.store.models import Contact, Deal, DueDate

# Fields whose dates start flows: the date fields, and sign-up (created_at). Fields that
# change all the time (updated_at, last_*) are left out: their rows would churn.
CONTACT_DATES = (
    *(name for name, info in CONTACT_FIELDS.items() if info.type == "date"),
    "created_at",
)
DEAL_DATES = tuple(name for name, info in DEAL_FIELDS.items() if info.type == "date")


def due_key(field: str, day: date, *, yearly: bool = False) -> str:
    return f"{field}#--{day:%m-%d}" if yearly else f"{field}#{day.isoformat()}"


def dates_of(record: Contact | Deal | None) -> dict[str, date]:
    """The record's indexed date fields that hold a date."""
    if record is None:
        return {}
    names = CONTACT_DATES if isinstance(record, Contact) else DEAL_DATES
    found = {}
    for name in names:
        value = _value(record, name)
        if value is not None:
            found[name] = value
    return found


def sync(old: Contact | Deal | None, new: Contact | Deal | None) -> None:
    """Bring the index in step with a record change."""
    record = new if new is not None else old
    if record is None:
        return
    record_id = record.contact_id if isinstance(record, Contact) else record.deal_id
    contact_id = getattr(record, "contact_id", None)
    before, after = dates_of(old), dates_of(new)
    for name, day in before.items():
        if after.get(name) != day:
            for yearly in (False, True):
                DueDate(due_key(name, day, yearly=yearly), record_id).delete()
    for name, day in after.items():
        if before.get(name) != day:
            for yearly in (False, True):
                DueDate(due_key(name, day, yearly=yearly), record_id, contact_id=contact_id).save()


def due(field: str, day: date, *, yearly: bool = False) -> list[DueDate]:
    return list(DueDate.query(due_key(field, day, yearly=yearly)))


def _value(record: Any, name: str) -> date | None:
    if name in record.get_attributes():
        value = getattr(record, name)
    else:
        value = (getattr(record, "custom", None) or {}).get(name)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value and value != "9999-12-31":
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None  # not a date: nothing to index (validation is the writer's job)
    return None
