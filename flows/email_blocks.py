"""Simple email blocks → email-safe HTML, and back.

A marketer builds the body of a send_email step from a few blocks (heading, paragraph,
button, image, divider) instead of writing HTML. `blocks_to_html` makes the HTML mail
clients render alike: one centred table, inline styles only, `dir="auto"` on every text
block so a Persian or Arabic paragraph reads right to left and an English one left to
right, whatever the email's own direction.

Text is the marketer's words, escaped: `<b>` in a paragraph shows as `<b>`, it does not
become markup. Jinja tokens (`{{ contact.first_name | default('there', true) }}`,
`{% if … %}`) are kept as they are: the send step renders them, autoescaping the values.

The block list rides along in an HTML comment at the top (base64 JSON: Jinja never reads
it, and `--` cannot occur in it), so `html_to_blocks` gives the blocks back for further
editing, but only while the HTML is still exactly what the blocks make: HTML edited by
hand is answered None, and stays raw HTML.

Pure: imports nothing outside the standard library.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from typing import Any

BLOCK_TYPES = ("heading", "paragraph", "button", "image", "divider")
# What each type carries besides `type`, all text.
FIELDS: dict[str, tuple[str, ...]] = {
    "heading": ("text",),
    "paragraph": ("text",),
    "button": ("text", "url"),
    "image": ("url", "alt"),
    "divider": (),
}
MARKER = "crmflow:blocks v1"
_COMMENT = re.compile(rf"\A<!-- {re.escape(MARKER)} ([A-Za-z0-9+/=]*) -->\n")
# Jinja's own syntax, kept unescaped inside text and URLs.
_TOKEN = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_SAFE_URL = re.compile(r"(?i)^(https?://|mailto:|tel:|#)")
FONT = "font-family:Arial,Helvetica,sans-serif"
# What a new email's body starts as: a greeting with a fallback, to write on from, in the
# language the flow is written in (see `starter`).
GREETINGS = {
    "en": "Hi {{ contact.first_name | default('there', true) }},",
    "fa": "سلام {{ contact.first_name | default('دوست عزیز', true) }}،",
    "ar": "مرحبًا {{ contact.first_name | default('عزيزي', true) }}،",
}
STARTER = ({"type": "paragraph", "text": GREETINGS["en"]},)
# Letters Persian writes and Arabic does not (پ چ ژ گ, and Persian's own ک and ی).
_PERSIAN = re.compile("[\u067e\u0686\u0698\u06af\u06a9\u06cc]")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")
_LATIN = re.compile("[A-Za-z]")
_MARKUP = re.compile(r"<!--.*?-->|<[^>]*>", re.DOTALL)


def starter(sample: str) -> list[dict[str, Any]]:
    """A new email's blocks: a greeting in the language of `sample` (the flow's own
    words: its name, its other emails), Persian or Arabic when their letters outnumber
    Latin ones, English otherwise. Jinja tokens, HTML tags and comments in `sample` are
    not counted."""
    words = _MARKUP.sub(" ", _TOKEN.sub(" ", sample))
    arabic_script = len(_ARABIC_SCRIPT.findall(words))
    if arabic_script <= len(_LATIN.findall(words)):
        return [dict(STARTER[0])]
    language = "fa" if _PERSIAN.search(words) else "ar"
    return [{"type": "paragraph", "text": GREETINGS[language]}]


def blocks_to_html(blocks: list[dict[str, Any]]) -> str:
    """Email-safe HTML for `blocks` (see the module's docstring); ValueError naming the
    block when one is not a known type."""
    clean = normalise(blocks)
    rows = "".join(_row(block) for block in clean)
    data = base64.b64encode(json.dumps(clean, ensure_ascii=False).encode()).decode()
    return (
        f"<!-- {MARKER} {data} -->\n"
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="max-width:600px;margin:0 auto;border-collapse:collapse;{FONT}">\n'
        f"{rows}</table>\n"
    )


def html_to_blocks(source: str) -> list[dict[str, Any]] | None:
    """The blocks `source` was made from, or None when it was not made by
    `blocks_to_html` or has been edited by hand since."""
    found = _COMMENT.match(source.strip() + "\n") if source else None
    if found is None:
        return None
    try:
        blocks = json.loads(base64.b64decode(found[1], validate=True).decode())
        if blocks_to_html(blocks).strip() != source.strip():
            return None
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, AttributeError):
        return None
    return normalise(blocks)


def normalise(blocks: Any) -> list[dict[str, Any]]:
    """`blocks` with only the keys each type has, as text; ValueError naming the first
    block that is not a dict of a known type."""
    if not isinstance(blocks, list):
        raise ValueError("blocks must be a list")
    clean = []
    for number, block in enumerate(blocks, 1):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in FIELDS:
            raise ValueError(
                f"block {number} is {kind!r}; a block is one of {', '.join(BLOCK_TYPES)}"
            )
        clean.append({"type": kind, **{name: str(block.get(name) or "") for name in FIELDS[kind]}})
    return clean


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a button's or image's link, or None. A URL that is (or starts
    with) a Jinja token is accepted: it is only known once rendered."""
    url = url.strip()
    if not url:
        return "give it a URL (https://…)"
    if url.startswith("{{") or _SAFE_URL.match(url):
        return None
    return f"'{url[:60]}' is not a web link; start it with https://"


def block_problems(blocks: list[dict[str, Any]]) -> list[str]:
    """What a marketer should fix before sending, one message per problem."""
    problems = []
    for number, block in enumerate(normalise(blocks), 1):
        kind = block["type"]
        if kind in ("heading", "paragraph", "button") and not block["text"].strip():
            problems.append(f"block {number} ({kind}) has no text")
        if kind in ("button", "image"):
            problem = url_problem(block["url"])
            if problem:
                problems.append(f"block {number} ({kind}): {problem}")
    return problems


def escape_text(text: str) -> str:
    """`text` as HTML, Jinja tokens kept as they are: the rest is escaped."""
    parts, last = [], 0
    for token in _TOKEN.finditer(text):
        parts.append(html.escape(text[last : token.start()]))
        parts.append(token[0])
        last = token.end()
    parts.append(html.escape(text[last:]))
    return "".join(parts)


def _href(url: str) -> str:
    url = url.strip()
    return escape_text(url) if url_problem(url) is None else "#"


def _lines(text: str) -> str:
    return "<br>".join(escape_text(line) for line in text.strip().splitlines())


def _row(block: dict[str, Any]) -> str:
    kind = block["type"]
    cell = '<tr><td dir="auto" style="padding:{pad};{style}">{inner}</td></tr>\n'
    if kind == "heading":
        return cell.format(
            pad="16px 24px 8px",
            style=f"font-size:24px;line-height:1.3;font-weight:bold;color:#111111;{FONT}",
            inner=_lines(block["text"]),
        )
    if kind == "paragraph":
        return cell.format(
            pad="8px 24px",
            style=f"font-size:16px;line-height:1.5;color:#333333;{FONT}",
            inner=_lines(block["text"]),
        )
    if kind == "button":
        link = (
            f'<a href="{_href(block["url"])}" target="_blank" style="display:inline-block;'
            "padding:12px 24px;background:#2563eb;color:#ffffff;text-decoration:none;"
            f'border-radius:4px;font-size:16px;font-weight:bold;{FONT}">'
            f"{_lines(block['text'])}</a>"
        )
        return f'<tr><td dir="auto" align="center" style="padding:16px 24px">{link}</td></tr>\n'
    if kind == "image":
        image = (
            f'<img src="{_href(block["url"])}" alt="{escape_text(block["alt"])}" width="552" '
            'style="display:block;width:100%;max-width:552px;height:auto;border:0">'
        )
        return f'<tr><td align="center" style="padding:8px 24px">{image}</td></tr>\n'
    return (  # divider
        '<tr><td style="padding:16px 24px"><hr style="border:0;border-top:1px solid #dddddd;'
        'margin:0"></td></tr>\n'
    )
