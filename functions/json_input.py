"""JSON from outside (API bodies, webhook deliveries), read so that what is accepted can be
stored and sent on: a request that breaks a rule below gets a 400 naming it, at the door,
rather than a 500 now or a failed enrollment later.

- Nesting at most MAX_DEPTH levels: DynamoDB refuses deeper maps (32), and Python's
  parser would otherwise overflow its stack near 1,000.
- Integers within ±(2^53 - 1): JavaScript, DynamoDB streams read by other tools, and most
  JSON readers keep no more digits. Longer ones are refused before Python converts them
  (a 5,000-digit number is a ValueError in CPython, a 400-digit one an OverflowError in
  a step). Send identifiers of that size as strings.
- Finite numbers only: `NaN` and `Infinity` are not JSON (RFC 8259), and `1e400` would
  be stored as infinity, which DynamoDB refuses and JSON cannot carry back. Nor may a
  number be outside what DynamoDB stores: magnitudes from 1e-130 to below 1e126.
- Text that is UTF-8: a lone surrogate (`"\\ud800"`) cannot be stored or sent on.
"""

from __future__ import annotations

import json
import math
from typing import Any

from functions.errors import BadRequest

MAX_DEPTH = 32
SAFE_INTEGER = 2**53 - 1
SMALLEST, LARGEST = 1e-130, 1e126  # DynamoDB's number magnitudes (zero aside)
_DIGITS = len(str(SAFE_INTEGER))


class _Refused(ValueError):
    """A number the parser met that we do not accept (raised from json's hooks)."""


def loads(raw: bytes | str, where: str = "body") -> Any:
    """The JSON value in `raw`; BadRequest naming the problem, with its path in `where`."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the {where} is not UTF-8 text (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except _Refused as exc:
        raise BadRequest(f"the {where} has {exc}") from None
    except RecursionError:
        raise BadRequest(f"the {where} is nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"the {where} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    _check(value, where)
    return value


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > _DIGITS or abs(number := int(text)) > SAFE_INTEGER:
        shown = text if len(text) <= 24 else f"{text[:12]}…({len(text.lstrip('-')):,} digits)"
        raise _Refused(
            f"the number {shown}, outside ±{SAFE_INTEGER:,}: send it as a string "
            "if it is an identifier"
        )
    return number


def _float(text: str) -> float:
    number = float(text)
    shown = text if len(text) <= 24 else f"{text[:24]}…"
    if not math.isfinite(number) or abs(number) >= LARGEST:
        raise _Refused(f"the number {shown}, too large to store (below 1e126)")
    if (number and abs(number) < SMALLEST) or (not number and _nonzero(text)):
        raise _Refused(f"the number {shown}, too small to store (at least 1e-130, or 0)")
    return number


def _nonzero(text: str) -> bool:
    # 1e-400 reads as 0.0: its digits say whether it was meant as zero.
    return any(c in "123456789" for c in text.lower().split("e", 1)[0])


def _constant(name: str) -> float:
    raise _Refused(f"{name}, which is not a JSON number: send a number or null")


def _check(value: Any, where: str) -> None:
    """Depth and text, walked without recursion (a deep value must not overflow us)."""
    stack: list[tuple[Any, str, int]] = [(value, where, 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict | list) and depth > MAX_DEPTH:
            raise BadRequest(f"{path} is nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            for key, inner in item.items():
                _text(key, f"{path} (a key)")
                stack.append((inner, f"{path}.{key}", depth + 1))
        elif isinstance(item, list):
            stack.extend((inner, f"{path}[{i}]", depth + 1) for i, inner in enumerate(item))
        elif isinstance(item, str):
            _text(item, path)


def _text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest(
            f"{path} holds an unpaired surrogate (\\u{ord(text[exc.start]):04x} at character "
            f"{exc.start}), which is not text"
        ) from None
