"""Text direction in emails: it follows the text, never the contact.

Two rules (docs/email.md):
- A document's direction is the template's own: declared (the step's `direction`, or a
  `dir` on the template's <html>/<body>), else read off the template's literal words,
  never off the data put into it. A template whose words are nearly all of one direction
  takes it; a mixed one (or one with no words of its own) is `auto`, which lets the
  reader's client take each block's direction from its first strong letter.
- Every interpolated value is a bidi isolate (Unicode UAX #9): `<bdi>` in HTML, FSI/PDI
  (U+2068/U+2069) in subjects and plain text. The value's own direction then stays
  inside it: a Persian name sits where it was written in an English sentence ("سارا, 3
  leaks", not "3 سارا, leaks"), an English product name in a Persian one likewise.

Rendering marks each value with two private-use characters (`OPEN`/`CLOSE`, removed from
the data itself); `finish_html` and `finish_text` turn the marks into isolates. In HTML a
value inside a tag (an attribute such as href) or in <title>/<style>/<script> gets no
<bdi>, which would break it there.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Direction = Literal["ltr", "rtl", "auto"]

OPEN, CLOSE = "\ue000", "\ue001"  # private use: never meaningful in contacts' data
FSI, PDI = "\u2068", "\u2069"
MARKS = str.maketrans("", "", OPEN + CLOSE)
# A template reads as one direction when this share of its strong letters is of it.
ONE_DIRECTION_SHARE = 0.8
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "ps", "sd", "yi", "ckb", "dv"})
# Letters Persian has and Arabic does not (پ چ ژ گ, and Persian's own kaf and yeh).
PERSIAN_LETTERS = frozenset("پچژگکی")

_TEMPLATE_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_ENTITY = re.compile(r"&#?\w+;")
_URL_OR_ADDRESS = re.compile(r"\b(?:https?://|mailto:|www\.)\S+|\S+@\S+")
_DECLARED = re.compile(r"<(?:html|body)\b[^>]*\bdir\s*=\s*[\"']?(ltr|rtl|auto)\b", re.IGNORECASE)
_RAW_TEXT = ("title", "style", "script", "textarea")
_HTML_PART = re.compile(r"(<[^>]*>)")


def mark(value: str) -> str:
    """A rendered value, marked for isolation; an empty one stays empty."""
    text = value.translate(MARKS)
    return f"{OPEN}{text}{CLOSE}" if text.strip() else text


def finish_text(rendered: str) -> str:
    """Plain text or a subject: each marked value as an FSI … PDI isolate."""
    return rendered.replace(OPEN, FSI).replace(CLOSE, PDI)


def finish_html(rendered: str) -> str:
    """HTML: each marked value in text as <bdi>…</bdi>; marks inside tags and raw-text
    elements dropped (a <bdi> in an href or a <title> would be taken literally)."""
    parts = _HTML_PART.split(rendered)
    raw_until: str | None = None  # inside <title> etc.: the closing tag we wait for
    for index, part in enumerate(parts):
        if index % 2:  # a tag
            parts[index] = part.translate(MARKS)
            name = _tag_name(part)
            if raw_until is None and name in _RAW_TEXT and not part.startswith("</"):
                raw_until = name
            elif raw_until is not None and part.startswith("</") and name == raw_until:
                raw_until = None
        elif raw_until is None:
            parts[index] = part.replace(OPEN, "<bdi>").replace(CLOSE, "</bdi>")
        else:
            parts[index] = part.translate(MARKS)
    return "".join(parts)


def strip(rendered: str) -> str:
    """The rendered text with the marks removed (where isolates do not belong)."""
    return rendered.translate(MARKS)


def of_template(*sources: str) -> Direction:
    """The direction the templates' own words are written in (see the module doc)."""
    for source in sources:
        declared = _DECLARED.search(source or "")
        if declared:
            return declared[1].lower()  # type: ignore[return-value]
    rtl = ltr = 0
    for source in sources:
        for char in _words_of(source or ""):
            kind = unicodedata.bidirectional(char)
            if kind in ("R", "AL"):
                rtl += 1
            elif kind == "L":
                ltr += 1
    if not rtl + ltr:
        return "auto"
    if rtl >= ONE_DIRECTION_SHARE * (rtl + ltr):
        return "rtl"
    if ltr >= ONE_DIRECTION_SHARE * (rtl + ltr):
        return "ltr"
    return "auto"


def language_of(direction: Direction, sources: tuple[str, ...], locale: str | None) -> str:
    """The language of a right-to-left template's own words ("fa" or "ar"), for the few
    words crmflow adds (the unsubscribe footer); "en" for any other. A contact's locale
    only breaks the tie between Persian and Arabic, never turns English into either."""
    if direction != "rtl":
        return "en"
    language = re.split(r"[-_]", (locale or "").strip().lower(), maxsplit=1)[0]
    if language in ("fa", "ar"):
        return language
    words = "".join(_words_of(s or "") for s in sources)
    return "fa" if PERSIAN_LETTERS & set(words) else "ar"


def _words_of(source: str) -> str:
    text = _TEMPLATE_CODE.sub(" ", source)
    text = _TAG.sub(" ", text)
    text = _ENTITY.sub(" ", text)
    return _URL_OR_ADDRESS.sub(" ", text)


def _tag_name(tag: str) -> str:
    found = re.match(r"</?\s*([a-zA-Z][a-zA-Z0-9-]*)", tag)
    return found[1].lower() if found else ""
