"""What the links in sent emails do: the open pixel and tracked clicks record events (and
so resume waits and start flows), the unsubscribe link takes the contact off marketing
email. Every token is signed (functions.email); a forged or damaged one records nothing.

Only links minted for a real send count. Emails shown inside crmflow (test runs,
previews, the outbox) carry none (functions.email.Links, flows.email_links.untracked); a
link that names a test run's made-up ids, minted before that was so, records nothing.

The unsubscribe page speaks the contact's language (English, Arabic, Persian) and reads
right to left where that language does. GET shows it; POST unsubscribes — RFC 8058
one-click (`List-Unsubscribe-Post`) mail clients POST directly, and link scanners that
only GET cannot unsubscribe anyone by following the link.
"""

from __future__ import annotations

import base64
import html
from typing import Any

from flows.email_links import PREVIEW
from functions import email as mail
from functions.errors import CrmError
from functions.sandbox import TEST_ID_PREFIX
from functions.store.contacts import add_activity, get_contact, now, update_contact
from functions.store.models import Contact, Enrollment, Suppression
from functions.triggers.events import record_event

# A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

PAGES = {
    "en": {
        "title": "Unsubscribe",
        "ask": "Stop marketing email to {email}?",
        "button": "Unsubscribe",
        "done": "{email} will get no more marketing email from us.",
        "invalid": "This link is not valid any more.",
        "preview": "In a sent email, this link lets the contact unsubscribe. "
        "This is a preview: nothing has changed.",
    },
    "ar": {
        "title": "إلغاء الاشتراك",
        "ask": "هل تريد إيقاف الرسائل التسويقية إلى {email}؟",
        "button": "إلغاء الاشتراك",
        "done": "لن يتلقى {email} أي رسائل تسويقية منا بعد الآن.",
        "invalid": "هذا الرابط لم يعد صالحًا.",
    },
    "fa": {
        "title": "لغو اشتراک",
        "ask": "ارسال ایمیل‌های تبلیغاتی به {email} متوقف شود؟",
        "button": "لغو اشتراک",
        "done": "از این پس ایمیل تبلیغاتی به {email} فرستاده نمی‌شود.",
        "invalid": "این پیوند دیگر معتبر نیست.",
    },
}
RTL = frozenset({"ar", "fa"})


def opened(token: str) -> bool:
    """Record the open a pixel token stands for; False when the token is not ours."""
    value = mail.verify(mail.OPEN, token)
    parts = value.split("|", 2) if value else []
    if len(parts) != 3:
        return False
    contact_id, enrollment_id, node = parts
    _record(contact_id, "email_opened", enrollment_id, node, {})
    return True


def clicked(token: str) -> str | None:
    """Record the click and return where the link goes; None for a token not ours."""
    found = mail.read_click(token)
    if found is None:
        return None
    contact_id, enrollment_id, node, url = found
    _record(contact_id, "email_clicked", enrollment_id, node, {"url": url})
    return url


def unsubscribe_page(token: str, *, confirmed: bool) -> tuple[int, str]:
    """(status, HTML): the question (GET) or the result (POST, which unsubscribes). A
    preview's link answers what it would do, GET or POST, and changes nothing."""
    if token == PREVIEW:
        text = PAGES["en"]
        return 200, _page("en", text["title"], f"<p>{text['preview']}</p>")
    contact_id, enrollment_id, node = mail.read_unsubscribe(token) or (None, "", "")
    contact = _contact(contact_id)
    language = _language(contact)
    text = PAGES[language]
    if contact is None:
        return 404, _page(language, text["title"], f"<p>{text['invalid']}</p>")
    email = html.escape(contact.email)
    if not confirmed:
        form = (
            f"<p>{text['ask'].format(email=email)}</p>"
            f'<form method="post"><button type="submit">{text["button"]}</button></form>'
        )
        return 200, _page(language, text["title"], form)
    unsubscribe(contact, enrollment_id=enrollment_id, node=node)
    return 200, _page(language, text["title"], f"<p>{text['done'].format(email=email)}</p>")


def unsubscribe(contact: Contact, *, enrollment_id: str = "", node: str = "") -> None:
    """Take the contact off marketing email: its status, the suppression list, the timeline
    (with the flow's email the link came from, when the link names one: reports count it)."""
    if contact.subscription_status != "unsubscribed":
        update_contact(
            contact.contact_id, lambda c: setattr(c, "subscription_status", "unsubscribed")
        )
        data: dict[str, Any] = {"via": "email link"}
        if node:
            data.update(_email_of(enrollment_id, node))
        add_activity(contact.contact_id, "unsubscribed", data)
    Suppression(contact.email, reason="unsubscribed", at=now()).save()


# --- helpers -----------------------------------------------------------------------------


def _record(
    contact_id: str, event: str, enrollment_id: str, node: str, data: dict[str, Any]
) -> None:
    if contact_id.startswith(TEST_ID_PREFIX) or enrollment_id.startswith(TEST_ID_PREFIX):
        return  # a test run's email: nobody was sent it
    details = {**data, **_email_of(enrollment_id, node)}
    try:
        # One open per email counts once, however often the pixel loads.
        event_id = (
            f"{event}:{contact_id}:{enrollment_id}:{node}" if event == "email_opened" else None
        )
        record_event(event, contact_id=contact_id, data=details, event_id=event_id)
    except CrmError:
        pass  # a deleted contact: the pixel still loads, the link still goes where it went


def _email_of(enrollment_id: str, node: str) -> dict[str, Any]:
    """Which flow email a link came from: its enrollment, node and (if known) flow."""
    try:
        flow_id = Enrollment.get(enrollment_id).flow_id if enrollment_id else None
    except Enrollment.DoesNotExist:
        flow_id = None
    return {"enrollment": enrollment_id, "node": node, **({"flow_id": flow_id} if flow_id else {})}


def _contact(contact_id: str | None) -> Contact | None:
    if not contact_id:
        return None
    try:
        return get_contact(contact_id)
    except CrmError:
        return None


def _language(contact: Contact | None) -> str:
    code = ((contact.locale if contact else None) or "en").replace("_", "-").split("-")[0].lower()
    return code if code in PAGES else "en"


def _page(language: str, title: str, body: str) -> str:
    direction = "rtl" if language in RTL else "ltr"
    return (
        f'<!DOCTYPE html><html lang="{language}" dir="{direction}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head>"
        f'<body style="font-family:sans-serif;max-width:32em;margin:3em auto">'
        f"<h1>{title}</h1>{body}</body></html>"
    )
