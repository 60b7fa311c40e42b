"""What SES reports back about sent mail: bounces and complaints. On AWS, the emails go out
through the stage's SES configuration set, which publishes these events to an SNS topic;
the `email_feedback` Lambda hands each message here.

A permanent bounce or a complaint suppresses the address: no flow emails it again, not
even a receipt (functions/steps/send_email.skip_reason), and the contact's subscription
status says why. A transient bounce (a full mailbox) is only put on the timeline. SNS may
deliver a message twice: each recipient of each report is handled once.

The message format is SES's event publishing format (`eventType`); SES's older identity
notifications (`notificationType`) are read the same way.
"""

from __future__ import annotations

import logging
from typing import Any

from functions.errors import InvalidRecord
from functions.store import normalize
from functions.store.contacts import add_activity, find_by_email, now, update_contact
from functions.store.models import Suppression
from functions.triggers.deliveries import delivered, remember

log = logging.getLogger("crmflow.email_feedback")

# The contact's subscription status, strongest first: a later, weaker report never
# downgrades it (a complaint after a bounce stays a bounce, and so on).
STATUS_ORDER = ("bounced", "complained", "unsubscribed", "subscribed")


def handle(message: dict[str, Any]) -> list[dict[str, str]]:
    """Apply one SES report; what was done for each recipient it names."""
    kind = message.get("eventType") or message.get("notificationType") or ""
    mail = message.get("mail") or {}
    if kind == "Bounce":
        report = message.get("bounce") or {}
        permanent = report.get("bounceType") == "Permanent"
        recipients = report.get("bouncedRecipients") or []
        details = {"bounce_type": report.get("bounceType"), "subtype": report.get("bounceSubType")}
        reason = "bounced" if permanent else None
        activity = "email_bounced"
    elif kind == "Complaint":
        report = message.get("complaint") or {}
        recipients = report.get("complainedRecipients") or []
        details = {"feedback": report.get("complaintFeedbackType")}
        reason, activity = "complained", "email_complained"
    else:
        log.info("SES report of kind %r ignored: only bounces and complaints are read", kind)
        return []
    done = []
    for recipient in recipients:
        address = recipient.get("emailAddress") or ""
        done.append(_one(address, reason, activity, mail, details | _diagnostic(recipient)))
    return done


def _one(
    address: str,
    reason: str | None,
    activity: str,
    mail: dict[str, Any],
    details: dict[str, Any],
) -> dict[str, str]:
    try:
        email = normalize.email(address)
    except InvalidRecord:
        log.warning("SES reported an address that is not one: %r", address)
        return {"email": address, "outcome": "not an address"}
    key = f"ses#{mail.get('messageId', '')}#{activity}#{email}"
    seen = delivered(key)
    if seen is not None:
        return seen[1]
    if reason:
        _suppress(email, reason)
    contact = find_by_email(email)
    if contact is not None:
        if reason:
            update_contact(contact.contact_id, lambda c: _downgrade(c, reason))
        data = {"message_id": mail.get("messageId"), "suppressed": bool(reason)}
        add_activity(contact.contact_id, activity, data | {k: v for k, v in details.items() if v})
    outcome = {"email": email, "outcome": reason or "noted"}
    remember(key, 200, outcome)
    return outcome


def _suppress(email: str, reason: str) -> None:
    try:
        current = Suppression.get(email, consistent_read=True).reason
    except Suppression.DoesNotExist:
        current = "subscribed"
    if _rank(reason) < _rank(current):
        Suppression(email, reason=reason, at=now()).save()


def _downgrade(contact: Any, reason: str) -> None:
    if _rank(reason) < _rank(contact.subscription_status):
        contact.subscription_status = reason


def _rank(status: str | None) -> int:
    return STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)


def _diagnostic(recipient: dict[str, Any]) -> dict[str, Any]:
    # What the receiving server said ("550 5.1.1 user unknown"), to show on the timeline.
    return {"diagnostic": recipient.get("diagnosticCode")}
