"""A stored record as plain JSON values: what the API answers and what a test run compares."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any


def plain(record: Any, *, leave_out: Iterable[str] = ()) -> dict[str, Any]:
    """A PynamoDB record's attributes: sets as sorted lists, times as ISO 8601, JSON as
    itself, nulls kept."""
    skip = set(leave_out)
    out: dict[str, Any] = {}
    for name in record.get_attributes():
        if name in skip:
            continue
        value = getattr(record, name)
        if isinstance(value, set | frozenset):
            value = sorted(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        out[name] = value
    return out
