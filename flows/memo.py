"""Results that depend only on part of a flow, remembered across calls.

The editor re-validates and recompiles the whole flow on every click, but a click changes
one node, or one edge: the rest need not be checked again. Each space holds one kind of
result; keys are built from the parts the result depends on, with params keyed by
`repr(params)` (params come from JSON: dicts, lists, str, numbers, bools, None), so equal
params written in another key order are merely a miss, never a wrong hit. Cached values
are shared: callers never mutate them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

MAX_ENTRIES = 20_000  # per space; a long editor session stays far below this
_spaces: dict[str, dict[Hashable, Any]] = {}


def cached(space: str, key: Hashable, compute: Callable[..., Any], *args: Any) -> Any:
    """`compute(*args)`, remembered under `key` in `space`."""
    table = _spaces.setdefault(space, {})
    try:
        return table[key]
    except KeyError:
        pass
    value = compute(*args)
    if len(table) >= MAX_ENTRIES:
        table.clear()  # crude but bounded
    table[key] = value
    return value


def clear() -> None:
    _spaces.clear()
