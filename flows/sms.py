"""SMS length rules: GSM-7 text fits 160 characters a part, anything else (Arabic,
Persian, emoji) is sent as UCS-2 at 70 a part; multi-part messages lose a few to headers."""

from __future__ import annotations

import re

_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)
# In GSM-7's extension table: each takes two of a part's 160 characters.
_GSM7_EXTENDED = frozenset("^{}\\[~]|€")


def segments(text: str) -> int:
    """How many SMS parts `text` needs (template tags counted as written)."""
    text = re.sub(r"\{\{.*?\}\}", "x" * 10, text)  # a personalised value, roughly
    if all(ch in _GSM7 for ch in text):
        single, multi = 160, 153
        length = len(text) + sum(ch in _GSM7_EXTENDED for ch in text)  # escape + char
    else:
        single, multi = 70, 67
        length = len(text.encode("utf-16-le")) // 2  # an emoji is two UCS-2 units
    return 1 if length <= single else -(-length // multi)
