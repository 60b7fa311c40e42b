"""What one contact costs along the paths of a compiled state machine.

Every state entered is one state transition (what Standard workflows bill). Error paths
into the recorded failure are left out: they are the exception, not the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from flows.nodes.base import Cost

FAILED_PREFIX = "crmflow.fail"
MAX_LISTED_PATHS = 50
METRICS = tuple(f.name for f in fields(Cost))


@dataclass(frozen=True)
class PathStats:
    states: int
    min_transitions: int
    max_transitions: int
    path_count: int
    paths: tuple[tuple[str, ...], ...]  # up to MAX_LISTED_PATHS, in discovery order
    min_use: dict[str, int] = field(default_factory=dict)  # per Cost metric, cheapest path
    max_use: dict[str, int] = field(default_factory=dict)  # per Cost metric, dearest path

    def to_dict(self) -> dict[str, Any]:
        return {
            "states": self.states,
            "transitions": {"min": self.min_transitions, "max": self.max_transitions},
            "path_count": self.path_count,
            "paths": [{"states": list(p), "transitions": len(p)} for p in self.paths],
            "per_contact": {m: {"min": self.min_use[m], "max": self.max_use[m]} for m in METRICS},
        }


def successors(state: dict[str, Any]) -> list[str]:
    nexts = [state["Next"]] if "Next" in state else []
    nexts += [c["Next"] for c in state.get("Choices", [])]
    if "Default" in state:
        nexts.append(state["Default"])
    nexts += [c["Next"] for c in state.get("Catch", [])]
    seen: list[str] = []
    for name in nexts:
        if not name.startswith(FAILED_PREFIX) and name not in seen:
            seen.append(name)
    return seen


def path_stats(definition: dict[str, Any], costs: dict[str, Cost]) -> PathStats:
    states = definition["States"]
    order = _post_order(states, definition["StartAt"])
    lo: dict[str, tuple[int, ...]] = {}
    hi: dict[str, tuple[int, ...]] = {}
    count: dict[str, int] = {}
    for name in order:  # successors first
        own = (1, *(getattr(costs.get(name, Cost()), m) for m in METRICS))
        nxt = successors(states[name])
        if not nxt:
            lo[name] = hi[name] = own
            count[name] = 1
            continue
        # Each metric's min and max taken on its own: a bound, exact for transitions.
        lo[name] = tuple(o + min(lo[n][i] for n in nxt) for i, o in enumerate(own))
        hi[name] = tuple(o + max(hi[n][i] for n in nxt) for i, o in enumerate(own))
        count[name] = sum(count[n] for n in nxt)
    start = definition["StartAt"]
    return PathStats(
        states=len(states),
        min_transitions=lo[start][0],
        max_transitions=hi[start][0],
        path_count=count[start],
        paths=tuple(_some_paths(states, start)),
        min_use=dict(zip(METRICS, lo[start][1:], strict=True)),
        max_use=dict(zip(METRICS, hi[start][1:], strict=True)),
    )


def _post_order(states: dict[str, Any], start: str) -> list[str]:
    order: list[str] = []
    seen = {start}
    stack = [(start, iter(successors(states[start])))]
    while stack:
        name, children = stack[-1]
        child = next(children, None)
        if child is None:
            order.append(name)
            stack.pop()
        elif child not in seen:
            seen.add(child)
            stack.append((child, iter(successors(states[child]))))
    return order


def _some_paths(states: dict[str, Any], start: str) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    stack = [(start,)]
    while stack and len(found) < MAX_LISTED_PATHS:
        path = stack.pop()
        nxt = successors(states[path[-1]])
        if not nxt:
            found.append(path)
        stack.extend((*path, n) for n in reversed(nxt))
    return found
