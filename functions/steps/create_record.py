"""create_record: a deal, a company or a note for the contact, fields from templates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from functions.errors import InvalidParams
from functions.render import contact_view, render
from functions.steps.base import Step, once
from functions.store import records
from functions.store.contacts import add_activity, get_contact, update_contact
from functions.store.models import Contact

_NUMBERS = frozenset({"amount", "size"})


def handle(step: Step) -> dict[str, Any]:
    return once(step, lambda: _create(step))


def _create(step: Step) -> dict[str, Any]:
    params = step.params
    contact = get_contact(step.contact_id)
    context = {"contact": contact_view(contact), "trigger": step.trigger}
    fields = _fields(params.values, context)
    if params.record == "deal":
        return _deal(step, contact, fields)
    if params.record == "company":
        return _company(step, contact, fields)
    note = add_activity(
        contact.contact_id,
        "note",
        {"body": fields["body"], "node": step.node, "enrollment": step.enrollment.get("id")},
    )
    return {"record": "note", "id": note.sort_key}


def _deal(step: Step, contact: Contact, fields: dict[str, Any]) -> dict[str, Any]:
    fields.setdefault("owner_id", contact.owner_id)
    if step.params.link_to_contact:
        fields["contact_id"] = contact.contact_id
        fields.setdefault("company_id", contact.company_id)
    deal = records.create_deal(fields)
    if step.params.link_to_contact:
        add_activity(
            contact.contact_id,
            "deal_created",
            {
                "deal_id": deal.deal_id,
                "name": deal.name,
                "pipeline_stage": deal.pipeline_stage,
                "amount": deal.amount,
                "node": step.node,
                "enrollment": step.enrollment.get("id"),
            },
        )
    return {"record": "deal", "id": deal.deal_id}


def _company(step: Step, contact: Contact, fields: dict[str, Any]) -> dict[str, Any]:
    company = records.create_company(fields)
    if step.params.link_to_contact:

        def link(fresh: Contact) -> None:
            fresh.company_id, fresh.company_name = company.company_id, company.name

        update_contact(contact.contact_id, link, changed_by=step.enrollment.get("id"))
    return {"record": "company", "id": company.company_id}


def _fields(values: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Rendered values in the record's types; custom.<name> gathered under custom."""
    fields: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, value in values.items():
        shown = render(value, context) if isinstance(value, str) else value
        if isinstance(shown, str):
            shown = shown.strip()
        if name.startswith("custom."):
            custom[name.removeprefix("custom.")] = shown
            continue
        if shown in (None, ""):
            continue  # an empty template leaves the field at its default
        if name in _NUMBERS:
            shown = _number(name, shown)
        elif name == "close_date":
            shown = iso_date(shown)
        fields[name] = shown
    for name in ("name", "pipeline", "stage", "body"):
        if name in values and not fields.get(name):
            raise InvalidParams(f"'{name}' rendered empty: {values[name]!r}")
    if custom:
        fields["custom"] = custom
    return fields


def _number(name: str, value: Any) -> int | float:
    if isinstance(value, bool):
        raise InvalidParams(f"'{name}' is a number; got {value!r}")
    try:
        number = float(str(value).replace(",", "")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise InvalidParams(f"'{name}' is a number; got {value!r}") from None
    return int(number) if number.is_integer() else number


def iso_date(value: Any) -> str:
    """An ISO date (YYYY-MM-DD) from a date, or an ISO date or date-time string."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        raise InvalidParams(f"'close_date' is a date (YYYY-MM-DD); got {value!r}") from None
