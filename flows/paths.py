"""What one contact costs along the paths of a compiled state machine.

Every state entered is one state transition (what Standard workflows bill). Error paths
into the recorded failure are left out: they are the exception, not the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from operator import add
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
    succ = {name: successors(state) for name, state in states.items()}
    start = definition["StartAt"]
    lo: dict[str, list[int]] = {}
    hi: dict[str, list[int]] = {}
    count: dict[str, int] = {}
    for name in _post_order(succ, start):  # successors first
        cost = costs.get(name)
        own = [1, *(getattr(cost, m) for m in METRICS)] if cost else [1] + [0] * len(METRICS)
        nxt = succ[name]
        if not nxt:
            lo[name], hi[name], count[name] = own, own, 1
            continue
        # Each metric's min and max taken on its own: a bound, exact for transitions.
        if len(nxt) == 1:
            best_lo, best_hi = lo[nxt[0]], hi[nxt[0]]
        else:
            best_lo = list(map(min, *(lo[n] for n in nxt)))
            best_hi = list(map(max, *(hi[n] for n in nxt)))
        lo[name] = list(map(add, own, best_lo))
        hi[name] = list(map(add, own, best_hi))
        count[name] = sum(count[n] for n in nxt)
    return PathStats(
        states=len(states),
        min_transitions=lo[start][0],
        max_transitions=hi[start][0],
        path_count=count[start],
        paths=tuple(_some_paths(succ, start)),
        min_use=dict(zip(METRICS, lo[start][1:], strict=True)),
        max_use=dict(zip(METRICS, hi[start][1:], strict=True)),
    )


def _post_order(succ: dict[str, list[str]], start: str) -> list[str]:
    order: list[str] = []
    seen = {start}
    stack = [(start, iter(succ[start]))]
    while stack:
        name, children = stack[-1]
        child = next(children, None)
        if child is None:
            order.append(name)
            stack.pop()
        elif child not in seen:
            seen.add(child)
            stack.append((child, iter(succ[child])))
    return order


def _some_paths(succ: dict[str, list[str]], start: str) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    stack = [(start,)]
    while stack and len(found) < MAX_LISTED_PATHS:
        path = stack.pop()
        nxt = succ[path[-1]]
        if not nxt:
            found.append(path)
        stack.extend((*path, n) for n in reversed(nxt))
    return found
