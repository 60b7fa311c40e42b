"""What the links of a sent email look like, for both sides that meet them: the send step
that makes them (functions/email.py signs them) and whatever shows a sent email to a
person inside crmflow (the editor's outbox), which shows it with tracking off.

Looking at an email inside crmflow must never count as its contact opening it: `untracked`
takes the open pixel out, points every tracked link straight at its target, and points
the unsubscribe link at a page that changes nothing (`PREVIEW`).

A token is `<value>.<signature>`, both base64url. The value is readable without the key:
it holds no secret (a contact id, an enrollment id, a node, a link's target); the
signature, which only the API checks, is what makes it count.
"""

from __future__ import annotations

import base64
import binascii
import html
import re

OPEN_PATH, CLICK_PATH, UNSUBSCRIBE_PATH = "/t/o/", "/t/c/", "/u/"
# The token of an unsubscribe link in a test run or preview: its page says what the link
# would do, and does nothing.
PREVIEW = "preview"

_TOKEN = r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"
_BASE = r"https?://[^\s\"'<>]*?"
_PIXEL = re.compile(
    rf"<img\b[^>]*?\bsrc\s*=\s*([\"']){_BASE}{re.escape(OPEN_PATH)}{_TOKEN}\1[^>]*>",
    re.IGNORECASE,
)
_CLICK = re.compile(rf"{_BASE}{re.escape(CLICK_PATH)}({_TOKEN})")
_UNSUBSCRIBE = re.compile(rf"({_BASE}){re.escape(UNSUBSCRIBE_PATH)}{_TOKEN}")


def encode(data: bytes) -> str:
    """base64url without padding: safe in a URL path."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode(text: str) -> bytes:
    """The bytes of base64url text; ValueError when it is not."""
    if not text or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None


def token_value(token: str) -> str | None:
    """The value a token carries, unchecked (only the API can check the signature)."""
    try:
        return decode(token.partition(".")[0]).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def click_target(token: str) -> str | None:
    """Where a tracked link's token leads (`contact|enrollment|node|url`), unchecked."""
    parts = (token_value(token) or "").split("|", 3)
    return parts[3] if len(parts) == 4 and parts[3] else None


def untracked(body: str, *, is_html: bool) -> str:
    """`body` as it may be shown inside crmflow: no open pixel, tracked links pointing at
    their targets, the unsubscribe link at its preview page."""
    if is_html:
        body = _PIXEL.sub("", body)

    def target(found: re.Match[str]) -> str:
        url = click_target(found[1])
        if url is None:
            return found[0]
        return html.escape(url) if is_html else url

    body = _CLICK.sub(target, body)
    return _UNSUBSCRIBE.sub(lambda m: f"{m[1]}{UNSUBSCRIBE_PATH}{PREVIEW}", body)
