"""Graph facts about a flow: who follows whom, reachability, cycles. Pure functions on ids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

Adjacency = dict[str, list[str]]


def adjacency(ids: Iterable[str], edges: Iterable[tuple[str, str]]) -> Adjacency:
    graph: Adjacency = {i: [] for i in ids}
    for source, target in edges:
        if source in graph and target in graph:
            graph[source].append(target)
    return graph


@dataclass(frozen=True)
class Walk:
    """One depth-first walk from the start: what it reached, in order, and any loop."""

    order: list[str]  # reachable ids, each before all its successors (when there is no cycle)
    cycle: list[str] | None  # a loop as ids, the first repeated at the end


def walk(graph: Adjacency, start: str) -> Walk:
    """Iterative DFS: reverse post-order (a topological order) and the first cycle met."""
    on_stack = {start}
    done: set[str] = set()
    post: list[str] = []
    path = [start]
    stack = [iter(graph[start])]
    cycle = None
    while stack:
        nxt = next(stack[-1], None)
        if nxt is None:
            node = path.pop()
            on_stack.discard(node)
            done.add(node)
            post.append(node)
            stack.pop()
        elif nxt in on_stack:
            if cycle is None:
                cycle = [*path[path.index(nxt) :], nxt]
        elif nxt not in done:
            on_stack.add(nxt)
            path.append(nxt)
            stack.append(iter(graph[nxt]))
    post.reverse()
    return Walk(post, cycle)


def reverse(graph: Adjacency) -> Adjacency:
    back: Adjacency = {n: [] for n in graph}
    for source, targets in graph.items():
        for target in targets:
            back[target].append(source)
    return back
