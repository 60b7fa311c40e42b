"""What changed between two versions of a flow document, by node id: steps added, removed,
changed (which params, kind or label) and connections made or undone. Plain data; the
editor and the API put it in words, naming steps by their labels.

Works on the JSON documents (dicts) as stored, valid or not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flows.model import DEFAULT_OUTPUT

Connection = tuple[str, str, str]  # (from, output, to)


@dataclass(frozen=True)
class Changed:
    """A step in both versions that is not the same."""

    node_id: str
    params: tuple[str, ...] = ()  # names of the params that differ
    kind: bool = False
    label: bool = False


@dataclass(frozen=True)
class FlowChanges:
    added: list[str] = field(default_factory=list)  # node ids, in the new version's order
    removed: list[str] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    connected: list[Connection] = field(default_factory=list)
    disconnected: list[Connection] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.added or self.removed or self.changed or self.connected or self.disconnected
        )

    @property
    def touched(self) -> list[str]:
        """Ids of the steps added, changed or removed."""
        return [*self.added, *(c.node_id for c in self.changed), *self.removed]


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> FlowChanges:
    old, new = _nodes(before), _nodes(after)
    result = FlowChanges(
        added=[i for i in new if i not in old],
        removed=[i for i in old if i not in new],
    )
    for node_id in (i for i in new if i in old):
        a, b = old[node_id], new[node_id]
        params_a, params_b = a.get("params") or {}, b.get("params") or {}
        differ = tuple(
            sorted(k for k in {*params_a, *params_b} if params_a.get(k) != params_b.get(k))
        )
        kind = a.get("kind") != b.get("kind")
        label = (a.get("label") or "") != (b.get("label") or "")
        if differ or kind or label:
            result.changed.append(Changed(node_id, differ, kind, label))
    was, now = _connections(before), _connections(after)
    result.connected.extend(sorted(now - was))
    result.disconnected.extend(sorted(was - now))
    return result


def _nodes(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    trigger = document.get("trigger")
    nodes = [trigger, *(document.get("nodes") or [])] if trigger else document.get("nodes") or []
    return {n["id"]: n for n in nodes if isinstance(n, Mapping) and "id" in n}


def _connections(document: Mapping[str, Any]) -> set[Connection]:
    return {
        (e["from"], e.get("output", DEFAULT_OUTPUT), e["to"])
        for e in document.get("edges") or []
        if isinstance(e, Mapping) and "from" in e and "to" in e
    }
