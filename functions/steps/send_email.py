"""send_email: a personalised email to the contact through SES, once per execution step.

Suppressed and unsubscribed contacts are skipped, not failed: the skip goes on the
timeline and the flow carries on. Marketing email carries a signed unsubscribe link and
the one-click List-Unsubscribe headers (RFC 8058) that Gmail and Yahoo require of bulk
senders.
"""

from __future__ import annotations

import logging
from typing import Any

from functions import email as mail
from functions.direction import language_of, of_template
from functions.errors import TemplateError
from functions.render import LONG_TEXT, ONE_LINE, owner_view, related_views, render
from functions.steps.base import Step, once
from functions.store.contacts import add_activity, get_contact, now, update_contact
from functions.store.models import Contact, Suppression, User

log = logging.getLogger(__name__)

# Addresses that must not get even a receipt: mail to them bounces or is reported.
UNDELIVERABLE = frozenset({"bounced", "complained"})
UNSUBSCRIBE_TEXT = {"fa": "لغو اشتراک", "ar": "إلغاء الاشتراك", "en": "Unsubscribe"}


def handle(step: Step) -> dict[str, Any]:
    return once(step, lambda: _send(step))


def _send(step: Step) -> dict[str, Any]:
    params = step.params
    contact = get_contact(step.contact_id)
    reason = skip_reason(contact, params.purpose)
    if reason:
        add_activity(contact.contact_id, "email_skipped", {**_about(step), "reason": reason})
        return {"sent": False, "skipped": reason}

    marketing = params.purpose == "marketing"
    links = mail.Links.for_send(contact.contact_id, step.enrollment.get("id", ""), step.node)
    unsubscribe = links.unsubscribe() if marketing else None
    context = _context(step, contact, unsubscribe)
    fallbacks = params.fallbacks
    is_html = params.body_format == "html"

    def text(source: str, what: str, max_chars: int, *, as_html: bool = False) -> str:
        return render(
            source,
            context,
            fallbacks=fallbacks,
            html=as_html,
            isolate=True,
            what=what,
            max_chars=max_chars,
        )

    def address(source: str, what: str) -> str:
        return render(source, context, fallbacks=fallbacks, what=what, max_chars=ONE_LINE)

    subject = mail.one_line(text(params.subject, "the subject", ONE_LINE))
    if not subject:
        raise TemplateError("the subject rendered empty; give its fields a fallback")
    sender = address(params.from_email, "the sender")
    reply_to = address(params.reply_to, "the reply-to address") if params.reply_to else None
    body = text(params.body, "the body", LONG_TEXT, as_html=is_html)
    if not body.strip():
        raise TemplateError("the body rendered empty; give its fields a fallback")
    preheader = (
        text(params.preheader, "the preheader", ONE_LINE, as_html=is_html)
        if params.preheader
        else ""
    )
    if params.track_clicks:
        body = mail.track_links(body, links.click, is_html=is_html)
    sources = (params.subject, params.body, params.preheader or "")
    writing = params.direction if params.direction != "auto" else of_template(*sources)
    footer = UNSUBSCRIBE_TEXT[language_of(writing, sources, contact.locale)]
    link = unsubscribe if unsubscribe and unsubscribe not in body else None  # not twice

    headers: dict[str, str] = {}
    if unsubscribe:
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if is_html:
        document = mail.html_document(
            body,
            text_direction=writing,
            preheader=preheader,
            unsubscribe=link,
            pixel=links.pixel() if params.track_opens else None,
            footer_text=footer,
        )
        plain = mail.text_of(document)
    else:
        document = None
        plain = body + (f"\n\n--\n{footer}: {link}" if link else "")
    raw = mail.build_message(
        sender=sender,
        to=[contact.email],
        subject=subject,
        text=plain,
        html_body=document,
        reply_to=reply_to,
        headers=headers,
    )
    message_id = mail.send_raw(sender, raw)
    _record(step, contact, message_id, subject)
    return {"sent": True, "message_id": message_id}


def skip_reason(contact: Contact, purpose: str) -> str | None:
    """Why this contact must not get this email, or None. Transactional email ignores
    unsubscribes (a receipt is still owed) but never goes to bounced or complaining
    addresses."""
    try:
        suppressed: str | None = Suppression.get(contact.email, consistent_read=True).reason
    except Suppression.DoesNotExist:
        suppressed = None
    status = contact.subscription_status
    for reason in (suppressed, status):
        if reason in UNDELIVERABLE:
            return reason
    if purpose == "marketing" and "unsubscribed" in (suppressed, status):
        return "unsubscribed"
    return None


def _context(step: Step, contact: Contact, unsubscribe: str | None) -> dict[str, Any]:
    params = step.params
    sources = (
        params.subject,
        params.body,
        params.preheader or "",
        params.from_email,
        params.reply_to or "",  # "{{ owner.email }}": replies reach the contact's owner
    )
    return {
        "contact": mail.view_of(contact),
        "trigger": step.trigger,
        "owner": _owner(contact) if any("owner" in s for s in sources) else {},
        "flow": {
            "id": step.enrollment.get("flow_id"),
            "version": step.enrollment.get("flow_version"),
        },
        "unsubscribe_url": unsubscribe or "",
        **related_views(contact, step.trigger, *sources),
    }


def _owner(contact: Contact) -> dict[str, Any]:
    if not contact.owner_id:
        return {}
    try:
        user = User.get(contact.owner_id)
    except User.DoesNotExist:
        return {}
    return owner_view(user)


def _about(step: Step) -> dict[str, Any]:
    return {
        "node": step.node,
        "enrollment": step.enrollment.get("id"),
        "flow_id": step.enrollment.get("flow_id"),
        "purpose": step.params.purpose,
    }


def _record(step: Step, contact: Contact, message_id: str, subject: str) -> None:
    """Timeline and counters. The email has left: a failure here is logged, not raised,
    since raising would make the retry send it a second time."""
    try:
        add_activity(
            contact.contact_id,
            "email_sent",
            {**_about(step), "message_id": message_id, "subject": subject},
        )

        def touch(fresh: Contact) -> None:
            fresh.last_contacted_at = now()
            custom = dict(fresh.custom or {})
            custom["emails_sent"] = int(custom.get("emails_sent") or 0) + 1
            fresh.custom = custom

        update_contact(contact.contact_id, touch, changed_by=step.enrollment.get("id"))
    except Exception:
        log.exception("email %s sent to %s but not recorded", message_id, contact.contact_id)
