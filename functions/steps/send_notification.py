"""send_notification: tell the contact's owner, a user or a team, by email (one SES
message to every recipient) or by POSTing JSON to a webhook, once per execution step.

Webhook URLs are user input: functions.net refuses private, loopback and link-local
targets unless CRMFLOW_HTTP_ALLOW lists them, and connects only to the address it checked.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from functions import email as mail
from functions import net
from functions.errors import (
    HttpBadStatus,
    HttpRetryable,
    MissingSecret,
    NoAssignee,
    RecordNotFound,
    TemplateError,
)
from functions.render import ONE_LINE, owner_view, related_views, render
from functions.steps.base import Step, once
from functions.store.contacts import add_activity, get_contact
from functions.store.models import Contact, Team, User

log = logging.getLogger(__name__)

SENDER_ENV = "CRMFLOW_NOTIFY_FROM"  # e.g. "crmflow <notifications@acme.com>", SES-verified
WEBHOOK_TIMEOUT = 10.0
MAX_RESPONSE = 4096


def handle(step: Step) -> dict[str, Any]:
    return once(step, lambda: _notify(step))


def _notify(step: Step) -> dict[str, Any]:
    params = step.params
    contact = get_contact(step.contact_id)
    owner = _user(contact.owner_id) if contact.owner_id else None
    context = {
        "contact": mail.view_of(contact),
        "trigger": step.trigger,
        "owner": owner_view(owner) if owner else {},
        "flow": {
            "id": step.enrollment.get("flow_id"),
            "version": step.enrollment.get("flow_version"),
        },
        **related_views(
            contact, step.trigger, params.subject, params.message, params.webhook_url or ""
        ),
    }
    # Bidi isolates for people reading an email; a webhook's consumer may be a program.
    isolate = params.channel != "webhook"
    subject = mail.one_line(
        render(params.subject, context, isolate=isolate, what="the subject", max_chars=ONE_LINE)
    )
    message = render(params.message, context, isolate=isolate, what="the message")
    if not subject or not message.strip():
        raise TemplateError("the notification's subject or message rendered empty")
    if params.channel == "webhook":
        result = _post(step, contact, context, subject, message)
    else:
        result = _email(step, contact, owner, subject, message)
    try:
        add_activity(contact.contact_id, "notification_sent", {"node": step.node, **result})
    except Exception:
        log.exception("notification for %s sent but not recorded", contact.contact_id)
    return result


def recipients(step: Step, contact: Contact, owner: User | None) -> list[User]:
    """Who is told: active users only; Crm.NoAssignee when nobody is left."""
    params = step.params
    if params.to == "owner":
        if owner is None:
            raise NoAssignee(f"contact '{contact.contact_id}' has no owner to notify")
        users = [owner]
    elif params.to == "user":
        users = [_user(params.user_id, required=True)]
    else:
        try:
            team = Team.get(params.team_id)
        except Team.DoesNotExist:
            raise RecordNotFound(f"no team has id '{params.team_id}'") from None
        ids = list(dict.fromkeys(team.members or ()))  # each member once
        users = [u for u in (_user(i) for i in ids) if u is not None]
    users = [u for u in users if u.active and u.email]
    if not users:
        raise NoAssignee(f"nobody to notify ({params.to}): no active user with an email")
    return users


def _email(
    step: Step, contact: Contact, owner: User | None, subject: str, message: str
) -> dict[str, Any]:
    sender = os.environ.get(SENDER_ENV)
    if not sender:
        raise MissingSecret(f"{SENDER_ENV} is not configured (the notifications' sender)")
    users = recipients(step, contact, owner)
    addresses = list(dict.fromkeys(u.email for u in users))
    message_ids = []
    for start in range(0, len(addresses), mail.MAX_RECIPIENTS):
        raw = mail.build_message(
            sender=sender,
            to=addresses[start : start + mail.MAX_RECIPIENTS],
            subject=subject,
            text=message,
        )
        message_ids.append(mail.send_raw(sender, raw))
    return {
        "sent": True,
        "channel": "email",
        "to": [u.user_id for u in users],
        "message_ids": message_ids,
    }


def _post(
    step: Step, contact: Contact, context: dict[str, Any], subject: str, message: str
) -> dict[str, Any]:
    url = render(step.params.webhook_url, context).strip()
    body = {
        "subject": subject,
        "message": message,
        "text": f"*{subject}*\n{message}",  # what Slack and Teams incoming webhooks show
        "contact_id": contact.contact_id,
        "flow": {
            "id": step.enrollment.get("flow_id"),
            "version": step.enrollment.get("flow_version"),
            "node": step.node,
            "enrollment": step.enrollment.get("id"),
        },
    }
    response = net.request(
        "POST",
        url,
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "crmflow"},
        body=json.dumps(body, ensure_ascii=False).encode(),
        timeout=WEBHOOK_TIMEOUT,
        max_body=MAX_RESPONSE,
    )
    if response.status == 429 or response.status >= 500:
        raise HttpRetryable(f"the webhook answered {response.status}")
    if not 200 <= response.status < 300:
        raise HttpBadStatus(f"the webhook answered {response.status}")
    return {"sent": True, "channel": "webhook", "status": response.status}


def _user(user_id: str | None, *, required: bool = False) -> User | None:
    try:
        return User.get(user_id)
    except User.DoesNotExist:
        if required:
            raise RecordNotFound(f"no user has id '{user_id}'") from None
        return None
