"""send_sms: a personalised text to the contact's E.164 phone through SNS, once per
execution step; contacts who opted out of SMS are skipped and the skip is recorded."""

from __future__ import annotations

import logging
import re
from typing import Any

from functions import aws
from functions import email as mail
from functions.errors import InvalidRecord, NoPhone, TemplateError
from functions.render import related_views, render
from functions.steps.base import Step, once
from functions.store import normalize
from functions.store.contacts import add_activity, get_contact, now, update_contact
from functions.store.models import Contact

log = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def handle(step: Step) -> dict[str, Any]:
    return once(step, lambda: _send(step))


def _send(step: Step) -> dict[str, Any]:
    contact = get_contact(step.contact_id)
    about = {
        "node": step.node,
        "enrollment": step.enrollment.get("id"),
        "flow_id": step.enrollment.get("flow_id"),
    }
    if contact.sms_opt_out:
        add_activity(contact.contact_id, "sms_skipped", {**about, "reason": "opted_out"})
        return {"sent": False, "skipped": "opted_out"}
    phone = e164(contact)
    context = {
        "contact": mail.view_of(contact),
        "trigger": step.trigger,
        **related_views(contact, step.trigger, step.params.message),
    }
    message = render(step.params.message, context, what="the SMS text").strip()
    if not message:
        raise TemplateError("the SMS text rendered empty")
    request: dict[str, Any] = {"PhoneNumber": phone, "Message": message}
    if step.params.sender_id:
        request["MessageAttributes"] = {
            "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": step.params.sender_id}
        }
    message_id = aws.call(aws.client("sns").publish, **request)["MessageId"]
    try:  # the text has left: a failure here must not make a retry send it again
        add_activity(
            contact.contact_id, "sms_sent", {**about, "message_id": message_id, "to": phone}
        )
        update_contact(contact.contact_id, _touch, changed_by=step.enrollment.get("id"))
    except Exception:
        log.exception("sms %s sent to %s but not recorded", message_id, contact.contact_id)
    return {"sent": True, "message_id": message_id}


def e164(contact: Contact) -> str:
    """The contact's phone in E.164 (stored so; older records are normalised here, any
    script's digits); Crm.NoPhone when there is none or it is not a valid number."""
    stored = (contact.phone or "").strip()
    if not stored:
        raise NoPhone(f"contact '{contact.contact_id}' has no phone number")
    if E164.match(stored):
        return stored
    try:
        return normalize.phone(stored, contact.country)
    except InvalidRecord as exc:
        raise NoPhone(f"contact '{contact.contact_id}': {exc}") from None


def _touch(contact: Contact) -> None:
    contact.last_contacted_at = now()
