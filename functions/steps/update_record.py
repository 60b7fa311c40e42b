"""update_record: set, clear, increment, tag and move stages on the contact."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute

from functions.errors import InvalidParams
from functions.render import contact_view, render
from functions.steps.base import Step, once
from functions.store.contacts import add_activity, update_contact
from functions.store.models import Contact
from functions.store.normalize import tag

_READ_ONLY = frozenset(
    {"contact_id", "email", "created_at", "updated_at", "version", "contact_shard"}
)


def handle(step: Step) -> dict[str, Any]:
    if step.params.record != "contact":
        # Deal and company updates arrive with the deal/company stores (issue 3, next step).
        raise InvalidParams(f"update_record on a {step.params.record} is not supported yet")
    return once(step, lambda: _apply(step))


def _apply(step: Step) -> dict[str, Any]:
    params = step.params
    changed: dict[str, Any] = {}

    def change(contact: Contact) -> None:
        changed.clear()
        context = {"contact": contact_view(contact), "trigger": step.trigger}
        for ref, value in params.set.items():
            shown = render(value, context) if isinstance(value, str) else value
            _set(contact, ref, shown)
            changed[ref] = shown
        for ref in params.clear:
            _set(contact, ref, None)
            changed[ref] = None
        for ref, amount in params.increment.items():
            _set(contact, ref, (_get(contact, ref) or 0) + amount)
            changed[ref] = _get(contact, ref)
        tags = set(contact.tags or ()) | {tag(t) for t in params.add_tags}
        contact.tags = tags - {tag(t) for t in params.remove_tags}
        if params.lifecycle_stage:
            changed["lifecycle_stage"] = (contact.lifecycle_stage, params.lifecycle_stage)
            contact.lifecycle_stage = params.lifecycle_stage
        if params.lead_status:
            contact.lead_status = params.lead_status

    contact = update_contact(step.contact_id, change)
    if "lifecycle_stage" in changed:
        before, after = changed["lifecycle_stage"]
        add_activity(
            contact.contact_id, "stage_changed", {"from": before, "to": after, "node": step.node}
        )
    return {"updated": sorted(changed), "version": contact.version}


def _get(contact: Contact, ref: str) -> Any:
    scope, _, name = ref.rpartition(".")
    if scope == "custom":
        return (contact.custom or {}).get(name)
    return getattr(contact, name, None)


def _set(contact: Contact, ref: str, value: Any) -> None:
    scope, _, name = ref.rpartition(".")
    if scope == "custom":
        custom = dict(contact.custom or {})
        if value is None:
            custom.pop(name, None)
        else:
            custom[name] = value
        contact.custom = custom
    elif name in _READ_ONLY or name not in contact.get_attributes():
        raise InvalidParams(f"field '{ref}' cannot be set by a flow")
    else:
        setattr(contact, name, _coerce(contact.get_attributes()[name], ref, value))


def _coerce(attribute: Any, ref: str, value: Any) -> Any:
    """Rendered templates are text: turn them into the field's type, or say why not."""
    if value is None or not isinstance(value, str):
        return value
    if isinstance(attribute, NumberAttribute):
        try:
            number = float(value)
        except ValueError:
            raise InvalidParams(f"field '{ref}' is a number; got {value!r}") from None
        return int(number) if number.is_integer() else number
    if isinstance(attribute, BooleanAttribute):
        return value.strip().lower() in ("true", "yes", "1")
    return value
