"""update_record: set, clear, increment, tag and move stages on the contact, its deal or its
company. Which deal or company: records.deal_for / records.company_for."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute
from pynamodb.models import Model

from flows.fields import KNOWN_SCOPES, split_ref
from functions.errors import InvalidParams
from functions.render import contact_view, record_view, render
from functions.steps.base import Step, once
from functions.steps.create_record import iso_date
from functions.store import records
from functions.store.contacts import add_activity, get_contact, update_contact
from functions.store.models import Company, Contact, Deal
from functions.store.normalize import tag

_READ_ONLY: dict[type[Model], frozenset[str]] = {
    Contact: frozenset(
        {"contact_id", "email", "created_at", "updated_at", "version", "contact_shard"}
    ),
    # pipeline_stage follows pipeline and stage (records.update_deal).
    Deal: frozenset({"deal_id", "created_at", "version", "pipeline_stage"}),
    Company: frozenset({"company_id", "created_at", "version"}),
}


def handle(step: Step) -> dict[str, Any]:
    _check(step.params)  # before claiming the step: a bad payload changes nothing
    apply = {"contact": _update_contact, "deal": _update_deal, "company": _update_company}
    return once(step, lambda: apply[step.params.record](step))


def _check(params: Any) -> None:
    """Refuse what the record cannot take: tags on a deal or company, another record's field."""
    record = params.record
    if record != "contact" and (params.add_tags or params.remove_tags):
        raise InvalidParams(
            f"a {record} has no tags: add_tags and remove_tags apply to the contact only"
        )
    for ref in [*params.set, *params.clear, *params.increment]:
        scope, name = _name(ref)
        if scope in (record, "custom"):
            continue
        own = "<field>" if record == "contact" else f"{record}.<field>"
        message = (
            f"field '{ref}' is not a {record} field: a {record} update changes "
            f"{own} and custom.<field>"
        )
        if scope in ("deal", "company"):
            message += f"; to change the {scope}, use record = {scope}"
        elif record != "contact" and name in KNOWN_SCOPES[record]:
            message += f"; did you mean '{record}.{name}'?"
        raise InvalidParams(message)


def _update_contact(step: Step) -> dict[str, Any]:
    params = step.params
    changed: dict[str, Any] = {}

    def change(contact: Contact) -> None:
        changed.clear()
        context = {"contact": contact_view(contact), "trigger": step.trigger}
        _apply_fields(contact, params, context, changed)
        tags = set(contact.tags or ()) | {tag(t) for t in params.add_tags}
        contact.tags = tags - {tag(t) for t in params.remove_tags}
        if params.lifecycle_stage:
            changed["lifecycle_stage"] = (contact.lifecycle_stage, params.lifecycle_stage)
            contact.lifecycle_stage = params.lifecycle_stage
        if params.lead_status:
            contact.lead_status = params.lead_status

    contact = update_contact(step.contact_id, change, changed_by=step.enrollment.get("id"))
    if "lifecycle_stage" in changed:
        before, after = changed["lifecycle_stage"]
        add_activity(
            contact.contact_id, "stage_changed", {"from": before, "to": after, "node": step.node}
        )
    return {"updated": sorted(changed), "version": contact.version}


def _update_deal(step: Step) -> dict[str, Any]:
    params = step.params
    contact = _contact_if_templated(step)
    changed: dict[str, Any] = {}
    stages: list[str] = []

    def change(deal: Deal) -> None:
        changed.clear()
        before = deal.stage
        context = _context(step, contact, deal=record_view(deal))
        _apply_fields(deal, params, context, changed)
        if params.deal_stage:
            deal.stage = params.deal_stage
            changed["deal.stage"] = deal.stage
        stages[:] = [before, deal.stage]

    deal_id = records.deal_for(contact, step.trigger).deal_id
    deal = records.update_deal(deal_id, change)
    before, after = stages
    if before != after:
        add_activity(
            step.contact_id,
            "deal_stage_changed",
            {"deal_id": deal.deal_id, "from": before, "to": after, "node": step.node},
        )
    return {
        "record": "deal",
        "id": deal.deal_id,
        "updated": sorted(changed),
        "version": deal.version,
    }


def _update_company(step: Step) -> dict[str, Any]:
    params = step.params
    contact = _contact_if_templated(step)
    changed: dict[str, Any] = {}

    def change(company: Company) -> None:
        changed.clear()
        _apply_fields(
            company, params, _context(step, contact, company=record_view(company)), changed
        )

    company_id = records.company_for(contact, step.trigger).company_id
    company = records.update_company(company_id, change)
    return {
        "record": "company",
        "id": company.company_id,
        "updated": sorted(changed),
        "version": company.version,
    }


def _contact_if_templated(step: Step) -> Contact | str:
    """The contact when a value is a template (it may read it), else only its id: no read."""
    templated = any(isinstance(v, str) and "{" in v for v in step.params.set.values())
    return get_contact(step.contact_id) if templated else step.contact_id


def _context(step: Step, contact: Contact | str, **record: dict[str, Any]) -> dict[str, Any]:
    shown = contact_view(contact) if isinstance(contact, Contact) else {}
    return {"contact": shown, "trigger": step.trigger, **record}


def _apply_fields(
    record: Model, params: Any, context: dict[str, Any], changed: dict[str, Any]
) -> None:
    for ref, value in params.set.items():
        shown = render(value, context) if isinstance(value, str) else value
        _set(record, ref, shown)
        changed[ref] = shown
    for ref in params.clear:
        _set(record, ref, None)
        changed[ref] = None
    for ref, amount in params.increment.items():
        _set(record, ref, _plus(_get(record, ref), amount, ref))
        changed[ref] = _get(record, ref)


def _name(ref: str) -> tuple[str, str]:
    scope, name = split_ref(ref) or ("", ref)
    return scope, name


def _stored_in_custom(record: Model, scope: str, name: str) -> bool:
    # Fields flows/fields.py declares (budget, renewal_date…) that have no column of their
    # own are kept in the record's custom fields, as imports and webhooks keep them.
    if scope == "custom":
        return True
    kind = {Contact: "contact", Deal: "deal", Company: "company"}[type(record)]
    return name != "id" and name not in record.get_attributes() and name in KNOWN_SCOPES[kind]


def _get(record: Model, ref: str) -> Any:
    scope, name = _name(ref)
    if _stored_in_custom(record, scope, name):
        return (record.custom or {}).get(name)
    return getattr(record, name, None)


def _set(record: Model, ref: str, value: Any) -> None:
    scope, name = _name(ref)
    if _stored_in_custom(record, scope, name):
        custom = dict(record.custom or {})
        if value is None:
            custom.pop(name, None)
        else:
            custom[name] = value
        record.custom = custom
        return
    attributes = record.get_attributes()
    if name in _READ_ONLY[type(record)] or name not in attributes:
        raise InvalidParams(f"field '{ref}' cannot be set by a flow")
    attribute = attributes[name]
    value = _coerce(record, attribute, ref, value)
    if value is None and not attribute.null:
        # A field the record cannot be without: back to its default, if it has one.
        if attribute.default is None:
            raise InvalidParams(f"field '{ref}' is required and cannot be cleared")
        value = attribute.default() if callable(attribute.default) else attribute.default
    setattr(record, name, value)


def _plus(current: Any, amount: float, ref: str) -> int | float:
    """`current` + `amount`; an empty field counts as 0, a custom field may hold "3"."""
    try:
        if isinstance(current, bool):
            raise ValueError
        total = float(current or 0) + amount
    except (TypeError, ValueError):
        raise InvalidParams(f"field '{ref}' holds {current!r}, not a number to increment") from None
    return int(total) if total.is_integer() else total


def _coerce(record: Model, attribute: Any, ref: str, value: Any) -> Any:
    """Rendered templates are text: turn them into the field's type, or say why not."""
    if value is None or not isinstance(value, str):
        return value
    if isinstance(record, Deal) and attribute.attr_name == "close_date":
        return iso_date(value) if value.strip() else None
    if isinstance(attribute, NumberAttribute):
        try:
            number = float(value)
        except ValueError:
            raise InvalidParams(f"field '{ref}' is a number; got {value!r}") from None
        return int(number) if number.is_integer() else number
    if isinstance(attribute, BooleanAttribute):
        return value.strip().lower() in ("true", "yes", "1")
    return value
