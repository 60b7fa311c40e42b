"""Events contacts produce (`POST /events`, the open pixel, tracked clicks): each is put on
the contact's timeline, resumes the contact's waits for it, starts the flows it triggers
and ends enrollments whose goal the contact now meets.

Event names: email_opened, email_clicked, form_submitted, purchase, and custom events by
name (`custom` with `name`). An `event_id` makes a re-delivery a no-op that gets the first
answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, get_args

from flows.nodes.events import CUSTOM_EVENT_PATTERN, EventName, event_key
from functions import waits
from functions.enrollments import enroll
from functions.errors import BadRequest, ContactNotFound, CrmError
from functions.store.contacts import (
    add_activity,
    create_contact,
    find_by_email,
    get_contact,
    now,
    update_contact,
)
from functions.store.fields import contact_fields
from functions.store.models import Contact
from functions.triggers.deliveries import delivered, remember
from functions.triggers.goals import check_goals
from functions.triggers.index import enrollment_id, flows_for

EVENTS = get_args(EventName)
# Payload keys of a form submission that become contact fields when the form creates one.
FORM_FIELDS = ("first_name", "last_name", "phone", "company_name", "job_title", "country")


@dataclass
class Outcome:
    contact_id: str
    event: str
    resumed: list[str] = field(default_factory=list)  # enrollments a wait let go on
    started: list[str] = field(default_factory=list)  # enrollments the event started
    goals: list[str] = field(default_factory=list)  # enrollments that left by goal

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def record_event(
    event: str,
    *,
    contact_id: str | None = None,
    email: str | None = None,
    name: str | None = None,
    data: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> Outcome:
    """Handle one event for a contact given by id or email (a form submission from a new
    address creates the contact)."""
    if event not in EVENTS:
        raise BadRequest(f"unknown event '{event}'; events: {', '.join(EVENTS)}")
    if (event == "custom") != bool(name):
        raise BadRequest("a custom event needs a 'name'; other events take none")
    if name and not _valid_name(name):
        raise BadRequest(f"event name '{name}' must match {CUSTOM_EVENT_PATTERN}")
    data = dict(data or {})
    key = event_key(event, name)
    if event_id:
        seen = delivered(f"event#{event_id}")
        if seen is not None:
            return Outcome(**seen[1])
    contact = _contact(event, contact_id, email, data)
    data = _apply(contact, event, data)
    add_activity(contact.contact_id, _activity_kind(key), {"event": key, **data})
    outcome = Outcome(contact.contact_id, key)
    # Goals first: they judge what the event did, before any flow it resumes moves on and
    # changes the contact itself.
    outcome.goals = check_goals(contact.contact_id, because=key)
    outcome.resumed = waits.resume(contact.contact_id, key, data)
    outcome.started = _start_flows(contact.contact_id, key, data, event_id)
    if event_id:
        remember(f"event#{event_id}", 200, outcome.as_dict())
    return outcome


# --- helpers -----------------------------------------------------------------------------


def _valid_name(name: str) -> bool:
    return re.fullmatch(CUSTOM_EVENT_PATTERN, name) is not None


def _contact(event: str, contact_id: str | None, email: str | None, data: dict) -> Contact:
    if contact_id:
        return get_contact(contact_id)
    if not email:
        raise BadRequest("say whose event it is: 'contact_id' or 'email'")
    found = find_by_email(email)
    if found is not None:
        return found
    if event != "form_submitted":
        raise ContactNotFound(f"no contact has email {email}")
    values = {k: data[k] for k in FORM_FIELDS if data.get(k)}
    try:
        return create_contact(contact_fields({**values, "email": email, "source": "form"}))
    except CrmError as exc:
        raise BadRequest(str(exc)) from None


def _apply(contact: Contact, event: str, data: dict[str, Any]) -> dict[str, Any]:
    """Update the contact's engagement and purchase fields; the event data as recorded
    (a purchase learns whether it was the first)."""
    at = now().isoformat()
    if event in ("email_opened", "email_clicked"):
        verb = event.removeprefix("email_")

        def engaged(c: Contact) -> None:
            custom = dict(c.custom or {})
            custom[f"emails_{verb}"] = int(custom.get(f"emails_{verb}") or 0) + 1
            custom[f"last_email_{verb}_at"] = at
            c.custom = custom

        update_contact(contact.contact_id, engaged)
    elif event == "purchase":
        data = _purchase(contact, data, at)
    return data


def _purchase(contact: Contact, data: dict[str, Any], at: str) -> dict[str, Any]:
    try:
        amount = Decimal(str(data.get("amount") or 0))
    except ArithmeticError:
        raise BadRequest(f"'amount' is a number; got {data.get('amount')!r}") from None
    first = int((contact.custom or {}).get("purchases") or 0) == 0

    def bought(c: Contact) -> None:
        custom = dict(c.custom or {})
        custom["purchases"] = int(custom.get("purchases") or 0) + 1
        custom["total_spent"] = float(Decimal(str(custom.get("total_spent") or 0)) + amount)
        custom.setdefault("first_purchase_at", at)
        custom["last_purchase_at"] = at
        c.custom = custom
        if data.get("product"):
            c.products = set(c.products or ()) | {str(data["product"])}

    update_contact(contact.contact_id, bought)
    # Text, like every value `match` compares: {"first_purchase": "true"} in a trigger.
    return {**data, "first_purchase": "true" if first else "false"}


def _activity_kind(key: str) -> str:
    return "custom_event" if key.startswith("custom:") else key


def _start_flows(contact_id: str, key: str, data: dict[str, Any], event_id: str | None) -> list:
    started = []
    origin = event_id or now().isoformat()
    for row in flows_for(f"event#{key}"):
        wanted = (row.params or {}).get("match") or {}
        if any(str(data.get(k)) != str(v) for k, v in wanted.items()):
            continue
        run = enroll(
            row.flow_id,
            contact_id,
            trigger={"event": key, **data},
            enrollment_id=enrollment_id(row.flow_id, "event", origin, contact_id),
            source={"kind": "event", "event": key, **({"event_id": event_id} if event_id else {})},
        )
        if run.enrolled and not run.repeat:
            started.append(run.enrollment_id)
    return started
