"""Per-node results that depend only on a node's kind and params, remembered across calls.

The editor re-validates the whole flow on every click, but a click changes one node: the
other nodes' params need not be validated again. Keys are the kind and `repr(params)`
(params come from JSON: dicts, lists, str, numbers, bools, None), so equal params written
in another key order are merely a miss, never a wrong hit. Cached values are never mutated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from flows.nodes.base import NodeKind

MAX_ENTRIES = 20_000
_params: dict[tuple[str, str], tuple[Any, ValidationError | None]] = {}
_strings: dict[str, tuple[tuple[str, str], ...]] = {}
_emitted: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def params(kind: NodeKind, raw: Any) -> tuple[Any, ValidationError | None]:
    """(validated params, None) or (None, the error), for these raw params of this kind."""
    key = (kind.name, repr(raw))
    hit = _params.get(key)
    if hit is None:
        try:
            hit = (kind.Params.model_validate(raw), None)
        except ValidationError as exc:
            hit = (None, exc)
        _remember(_params, key, hit)
    return hit


def template_strings(raw: Any) -> tuple[tuple[str, str], ...]:
    """(relative path, text) of every string in params that may hold a template."""
    key = repr(raw)
    hit = _strings.get(key)
    if hit is None:
        hit = tuple(_walk(raw, ""))
        _remember(_strings, key, hit)
    return hit


def emitted(
    key: tuple[Any, ...], emit: Callable[..., tuple[Any, ...]], *args: Any
) -> tuple[Any, ...]:
    """A node's compiled states, keyed by its kind, id, params and where its outputs lead."""
    hit = _emitted.get(key)
    if hit is None:
        hit = emit(*args)
        _remember(_emitted, key, hit)
    return hit


def clear() -> None:
    _params.clear()
    _strings.clear()
    _emitted.clear()


def _remember(cache: dict, key: Any, value: Any) -> None:
    if len(cache) >= MAX_ENTRIES:
        cache.clear()  # crude but bounded; a full editor session stays far below this
    cache[key] = value


def _walk(value: Any, path: str) -> list[tuple[str, str]]:
    """Strings with a '{' in document order (only those can hold a template tag)."""
    if isinstance(value, str):
        return [(path, value)] if "{" in value else []
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _walk(item, f"{path}[{i}]")
    return found
