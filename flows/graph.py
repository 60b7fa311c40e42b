"""Graph facts about a flow: who follows whom, reachability, cycles. Pure functions on ids."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

Adjacency = dict[str, list[str]]


def adjacency(ids: Iterable[str], edges: Iterable[tuple[str, str]]) -> Adjacency:
    graph: Adjacency = {i: [] for i in ids}
    for source, target in edges:
        if source in graph and target in graph:
            graph[source].append(target)
    return graph


def reachable(graph: Adjacency, start: str) -> list[str]:
    """Ids reachable from start, in breadth-first order (start first)."""
    seen = {start}
    order = [start]
    queue = deque([start])
    while queue:
        for nxt in graph[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                order.append(nxt)
                queue.append(nxt)
    return order


def find_cycle(graph: Adjacency) -> list[str] | None:
    """One cycle as a list of ids (first id repeated at the end), or None. Iterative DFS."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    for root in graph:
        if root in state:
            continue
        stack = [(root, iter(graph[root]))]
        path = [root]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            nxt = next(children, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(graph[nxt])))
                path.append(nxt)
    return None


def topological(graph: Adjacency, start: str) -> list[str]:
    """Reachable ids of an acyclic graph, every id after all its predecessors."""
    nodes = reachable(graph, start)
    inside = set(nodes)
    indegree = dict.fromkeys(nodes, 0)
    for node in nodes:
        for nxt in graph[node]:
            if nxt in inside:
                indegree[nxt] += 1
    ready = deque(n for n in nodes if indegree[n] == 0)
    order = []
    while ready:
        node = ready.popleft()
        order.append(node)
        for nxt in graph[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    return order
