"""Outgoing email: signed unsubscribe and open-tracking links, MIME building (UTF-8, real
headers such as List-Unsubscribe), and sending through SES.

Tokens are `<value>.<signature>`, both base64url (flows/email_links.py): the value is
readable (a contact id is no secret), the HMAC-SHA256 signature (key
CRMFLOW_UNSUBSCRIBE_SECRET, salted with the token's purpose so an open-pixel token cannot
unsubscribe anyone) makes it unforgeable. The API verifies them with `verify`.

Tokens are minted for real sends only: an email rendered in a test run or a preview gets
plain links (`Links.tracked` is False), so nobody looking at it inside crmflow can record
an open or a click for its contact.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from email.policy import default as read_policy
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from typing import Any

from flows.email_links import CLICK_PATH, OPEN_PATH, PREVIEW, UNSUBSCRIBE_PATH, decode, encode
from functions import direction, sandbox
from functions.aws import call, client
from functions.direction import Direction
from functions.errors import MissingSecret
from functions.render import contact_view

PUBLIC_URL_ENV = "CRMFLOW_PUBLIC_URL"
SECRET_ENV = "CRMFLOW_UNSUBSCRIBE_SECRET"
CONFIGURATION_SET_ENV = "CRMFLOW_SES_CONFIGURATION_SET"
UNSUBSCRIBE = "unsubscribe"
OPEN = "open"
CLICK = "click"
MAX_RECIPIENTS = 50  # SES's limit per message
# 7-bit clean on the wire: non-ASCII bodies go base64 or quoted-printable, never raw 8bit
# (which not every hop carries, and which parsers read back as \uXXXX escapes).
_POLICY = SMTP.clone(cte_type="7bit")


# --- signed links ------------------------------------------------------------------------


def sign(purpose: str, value: str) -> str:
    """A URL-safe token carrying `value`, signed for `purpose`."""
    return f"{encode(value.encode())}.{encode(_mac(purpose, value))}"


def verify(purpose: str, token: str) -> str | None:
    """The value a token signed for `purpose` carries; None if it is forged or malformed."""
    head, _, signature = (token or "").partition(".")
    try:
        value = decode(head).decode()
        given = decode(signature)
    except (UnicodeDecodeError, ValueError):
        return None
    return value if value and hmac.compare_digest(given, _mac(purpose, value)) else None


def unsubscribe_url(contact_id: str, enrollment_id: str = "", node: str = "") -> str:
    """One-click unsubscribe: GET shows a confirmation, POST (RFC 8058) unsubscribes. A
    flow's email names itself (enrollment and node), so reports count the unsubscribe
    against that email."""
    value = f"{contact_id}|{enrollment_id}|{node}" if node else contact_id
    return f"{public_url()}{UNSUBSCRIBE_PATH}{sign(UNSUBSCRIBE, value)}"


def read_unsubscribe(token: str) -> tuple[str, str, str] | None:
    """(contact id, enrollment id, node) of an unsubscribe token, the last two empty in
    tokens that name no email (links sent before they did); None if forged."""
    value = verify(UNSUBSCRIBE, token)
    if not value:
        return None
    contact_id, _, rest = value.partition("|")
    enrollment_id, _, node = rest.partition("|")
    return contact_id, enrollment_id, node


def open_pixel_url(contact_id: str, enrollment_id: str, node: str) -> str:
    return f"{public_url()}{OPEN_PATH}{sign(OPEN, f'{contact_id}|{enrollment_id}|{node}')}"


def click_url(contact_id: str, enrollment_id: str, node: str, url: str) -> str:
    """A tracked link: the API records the click, then redirects to `url`. The target is
    inside the signed token, so the redirect cannot be pointed anywhere else."""
    value = f"{contact_id}|{enrollment_id}|{node}|{url}"
    return f"{public_url()}{CLICK_PATH}{sign(CLICK, value)}"


def preview_unsubscribe_url() -> str:
    """The unsubscribe link of an email nobody will receive: its page changes nothing."""
    return f"{public_url()}{UNSUBSCRIBE_PATH}{PREVIEW}"


@dataclass(frozen=True)
class Links:
    """The links of one email: signed and tracked for a real send; plain for an email a
    person looks at inside crmflow (a test run, a preview), which must record nothing."""

    contact_id: str
    enrollment_id: str
    node: str
    tracked: bool

    @classmethod
    def for_send(cls, contact_id: str, enrollment_id: str, node: str) -> Links:
        """Tracked unless this is a test run (functions.sandbox)."""
        return cls(contact_id, enrollment_id, node, tracked=sandbox.active() is None)

    def unsubscribe(self) -> str:
        if not self.tracked:
            return preview_unsubscribe_url()
        return unsubscribe_url(self.contact_id, self.enrollment_id, self.node)

    def pixel(self) -> str | None:
        return open_pixel_url(*self._ids) if self.tracked else None

    def click(self, url: str) -> str:
        return click_url(*self._ids, url) if self.tracked else url

    @property
    def _ids(self) -> tuple[str, str, str]:
        return self.contact_id, self.enrollment_id, self.node


def read_click(token: str) -> tuple[str, str, str, str] | None:
    """(contact id, enrollment id, node, target URL) of a click token; None if forged."""
    value = verify(CLICK, token)
    parts = value.split("|", 3) if value else []
    return (parts[0], parts[1], parts[2], parts[3]) if len(parts) == 4 else None


_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"'>]+)\2""", re.IGNORECASE)
# A bare URL ends at a bidi control too: an interpolated URL is wrapped in FSI … PDI.
_TEXT_URL = re.compile(r"""https?://[^\s<>"')\]\u2066-\u2069]+""")


def track_links(body: str, tracked: Callable[[str], str], *, is_html: bool) -> str:
    """`body` with each web link replaced by `tracked(link)`: the href of every <a> in HTML,
    every bare http(s) URL in plain text. mailto:, tel: and anchors are left alone."""
    if is_html:
        return _HREF.sub(
            lambda m: m[1] + m[2] + html.escape(tracked(html.unescape(m[3]))) + m[2], body
        )
    return _TEXT_URL.sub(lambda m: tracked(m[0]), body)


def public_url() -> str:
    url = os.environ.get(PUBLIC_URL_ENV, "").rstrip("/")
    if not url:
        raise MissingSecret(f"{PUBLIC_URL_ENV} is not configured (the API's public base URL)")
    return url


def _mac(purpose: str, value: str) -> bytes:
    key = os.environ.get(SECRET_ENV)
    if not key:
        raise MissingSecret(f"{SECRET_ENV} is not configured")
    return hmac.new(key.encode(), f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()


# --- rendering ----------------------------------------------------------------------------


def view_of(contact: Any) -> dict[str, Any]:
    """contact_view with empty fields as "", so a template prints nothing (not "None")
    for them; fallbacks still fill them, `{% if contact.city %}` still tests false."""
    return {k: "" if v is None else v for k, v in contact_view(contact).items()}


# --- MIME --------------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]*>")
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)


def html_document(
    body: str,
    *,
    text_direction: Direction,
    preheader: str = "",
    unsubscribe: str | None = None,
    pixel: str | None = None,
    footer_text: str = "Unsubscribe",
) -> str:
    """The rendered (already escaped) body with preheader, direction, footer and pixel.

    A body that is a whole document keeps its own <html>/<head>; the additions go inside
    its <body>. Anything else is wrapped in a minimal UTF-8 document. `text_direction` is the
    template's own (functions.direction.of_template), never the contact's.
    """
    top = (
        f'<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">{preheader}</div>'
        if preheader
        else ""
    )
    bottom = ""
    if unsubscribe:
        bottom += (
            f'<p dir="{text_direction}" style="font-size:12px;color:#666">'
            f'<a href="{html.escape(unsubscribe)}">{html.escape(footer_text)}</a></p>'
        )
    if pixel:
        bottom += (
            f'<img src="{html.escape(pixel)}" width="1" height="1" alt="" style="display:none">'
        )
    opened, closed = _BODY_OPEN.search(body), _BODY_CLOSE.search(body)
    if opened and closed and opened.end() <= closed.start():
        inner = body[opened.end() : closed.start()]
        return (
            body[: opened.end()]
            + f'{top}<div dir="{text_direction}">{inner}</div>{bottom}'
            + body[closed.start() :]
        )
    return (
        f'<!DOCTYPE html><html dir="{text_direction}"><head><meta charset="utf-8"></head>'
        f'<body>{top}<div dir="{text_direction}">{body}</div>{bottom}</body></html>'
    )


def text_of(markup: str) -> str:
    """A plain-text alternative of an HTML body (the multipart text/plain part)."""
    text = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", "", markup)
    text = re.sub(r"(?i)<br\s*/?>|</(p|div|h[1-6]|li|tr)\s*>", "\n", text)
    text = re.sub(r"(?i)<bdi\b[^>]*>", direction.FSI, text)  # isolates stay isolates
    text = re.sub(r"(?i)</bdi\s*>", direction.PDI, text)
    text = html.unescape(_TAG.sub("", text))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def build_message(
    *,
    sender: str,
    to: list[str],
    subject: str,
    text: str,
    html_body: str | None = None,
    reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A UTF-8 MIME message (multipart/alternative when there is HTML), CRLF line ends."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    message["To"] = ", ".join(to)
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = one_line(subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=address_of(sender).rpartition("@")[2] or None)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text, charset="utf-8")
    if html_body is not None:
        message.add_alternative(html_body, subtype="html", charset="utf-8")
    return message.as_bytes()


def one_line(text: str) -> str:
    """Header text: newlines from a template or a contact's data would break the header."""
    return " ".join(text.split())


def address_of(mailbox: str) -> str:
    """The bare address of `Name <addr@x>` (SES's FromEmailAddress: no encoding issues)."""
    return parseaddr(mailbox)[1] or mailbox.strip()


def addresses(*mailboxes: str) -> list[str]:
    return [addr for _, addr in getaddresses(list(mailboxes)) if addr]


# --- SES ---------------------------------------------------------------------------------


def message_summary(raw: bytes) -> dict[str, Any]:
    """A built message as people read it: sender, recipients, subject, text and HTML."""
    message = message_from_bytes(raw, policy=read_policy)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    return {
        "from": str(message["From"] or ""),
        "to": addresses(str(message["To"] or ""), str(message["Cc"] or "")),
        "reply_to": str(message["Reply-To"] or "") or None,
        "subject": str(message["Subject"] or ""),
        "text": text.get_content() if text is not None else "",
        "html": html.get_content() if html is not None else None,
        "headers": {
            name: str(message[name])
            for name in ("List-Unsubscribe", "List-Unsubscribe-Post")
            if message[name]
        },
    }


def send_raw(sender: str, raw: bytes) -> str:
    """Send a built message through SES v2; its message id. Recipients come from the
    message's To/Cc headers: a Destination as well would list them twice (moto counts
    both). In a test run the message is recorded, not sent."""
    test_run = sandbox.active()
    if test_run is not None:
        test_run.record("email", **message_summary(raw))
        return test_run.fake_id("message")
    request: dict[str, Any] = {
        "FromEmailAddress": address_of(sender),
        "Content": {"Raw": {"Data": raw}},
    }
    configuration_set = os.environ.get(CONFIGURATION_SET_ENV)
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    return call(client("sesv2").send_email, **request)["MessageId"]
