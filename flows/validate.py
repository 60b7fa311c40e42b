"""Validate a flow document: every error at once, each with a JSON path and the node at fault.

Stages: parse → envelope (flows.model) → each node's params (its kind's model) → graph
(ids, edges, outputs, reachability, cycles, one-year waits) → kind checks → warnings.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from typing import Any

from pydantic import ValidationError

from flows import graph, memo
from flows.issues import Issue, Report, issues_from
from flows.model import Flow, Node
from flows.nodes import REGISTRY, kinds_in
from flows.nodes.base import NodeKind, Output
from flows.params import ONE_YEAR_SECONDS
from flows.perf import gc_paused
from flows.warnings import warn

MAX_BYTES = 1_000_000


def validate(source: Any) -> Report:
    """Validate a flow given as JSON text, bytes, or already-parsed JSON. Never raises."""
    with gc_paused():
        return _validate(source)


def _validate(source: Any) -> Report:
    report = Report()
    flow = _envelope(source, report)
    if flow is None:
        return report
    report.flow = flow
    slots = _indexed(flow)
    _check_kinds_and_params(slots, report)
    _check_graph(flow, slots, report)
    graph_ok = report.ok
    # Kind checks and template findings need only the node itself: report them with the
    # rest. The consent warning walks the graph, so it waits for a sound one.
    _check_kinds(slots, flow, report)
    warn(flow, report, consent=graph_ok)
    return report


def _envelope(source: Any, report: Report) -> Flow | None:
    """The document as a Flow, or None with the errors reported."""
    if isinstance(source, str | bytes | bytearray):
        size = len(source.encode()) if isinstance(source, str) else len(source)
        if size > MAX_BYTES:
            report.add(Issue("$", f"the flow is {size:,} bytes; the limit is {MAX_BYTES:,}"))
            return None
        try:  # the fast path: pydantic parses and validates in one pass
            return Flow.model_validate_json(source)
        except (ValueError, RecursionError):  # ValidationError is a ValueError
            pass  # report from the parsed document below, with the node ids at hand
    doc = _parse(source, report)
    if doc is None:
        return None
    try:
        return Flow.model_validate(doc)
    except ValidationError as exc:
        for issue in issues_from(exc, "$", None, list(Flow.model_fields)):
            report.add(_with_node(issue, doc))
        _check_raw_params(doc, report)
        return None


def _parse(source: Any, report: Report) -> dict[str, Any] | None:
    if isinstance(source, str | bytes | bytearray):
        try:
            source = json.loads(source)
        except (ValueError, RecursionError) as exc:
            detail = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
            report.add(Issue("$", f"not valid JSON: {detail}"))
            return None
    if not isinstance(source, dict):
        report.add(Issue("$", f"a flow is a JSON object, got {_json_type(source)}"))
        return None
    return source


def _json_type(value: Any) -> str:
    """What the value is called in JSON (the document's language, not Python's)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


Slots = list[tuple[str, Node]]


def _indexed(flow: Flow) -> Slots:
    """(JSON path, node) for the trigger and every node, in document order."""
    return [("$.trigger", flow.trigger)] + [(f"$.nodes[{i}]", n) for i, n in enumerate(flow.nodes)]


def _unknown_kind(kind: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(kind, allowed, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"use one of {', '.join(allowed)}"
    return f"unknown node kind '{kind}'; {hint}"


def _check_params(
    kind: NodeKind, raw: Any, path: str, node_id: str | None, report: Report, key: str | None = None
) -> Any:
    params, error = memo.cached("params", (kind.name, key or repr(raw)), _params_of, kind, raw)
    if error is not None:
        for issue in issues_from(error, f"{path}.params", node_id, list(kind.Params.model_fields)):
            report.add(issue)
    return params


def _params_of(kind: NodeKind, raw: Any) -> tuple[Any, ValidationError | None]:
    try:
        return kind.Params.model_validate(raw), None
    except ValidationError as exc:
        return None, exc


def _check_kinds_and_params(slots: Slots, report: Report) -> None:
    triggers = [k.name for k in kinds_in("trigger")]
    steps = [k for k in REGISTRY if k not in triggers]
    for path, node in slots:
        is_trigger_slot = path == "$.trigger"
        kind = REGISTRY.get(node.kind)
        if kind is None:
            allowed = triggers if is_trigger_slot else steps
            report.add(Issue(f"{path}.kind", _unknown_kind(node.kind, allowed), node.id))
            continue
        if is_trigger_slot and kind.category != "trigger":
            report.add(
                Issue(
                    f"{path}.kind",
                    f"'{node.kind}' is not a trigger; the trigger is one of {', '.join(triggers)}",
                    node.id,
                )
            )
            continue
        if not is_trigger_slot and kind.category == "trigger":
            report.add(
                Issue(
                    f"{path}.kind",
                    f"a flow has exactly one trigger: '{node.id}' is a second one ({node.kind}); "
                    "delete it or make it the flow's trigger",
                    node.id,
                )
            )
            continue
        params = _check_params(kind, node.params, path, node.id, report, node.params_key)
        if params is not None:
            report.params[node.id] = params


def _check_raw_params(doc: dict[str, Any], report: Report) -> None:
    """When the envelope is broken, still report params errors of nodes that look whole."""
    slots = [("$.trigger", doc.get("trigger"))]
    nodes = doc.get("nodes")
    if isinstance(nodes, list):
        slots += [(f"$.nodes[{i}]", n) for i, n in enumerate(nodes)]
    for path, raw in slots:
        if isinstance(raw, dict) and isinstance(raw.get("params", {}), dict):
            name = raw.get("kind")
            kind = REGISTRY.get(name) if isinstance(name, str) else None  # may be any JSON
            node_id = raw.get("id") if isinstance(raw.get("id"), str) else None
            if kind is not None:
                _check_params(kind, raw.get("params", {}), path, node_id, report)


def _with_node(issue: Issue, doc: dict[str, Any]) -> Issue:
    """Attach the node id to envelope errors under $.nodes[i] or $.trigger."""
    raw = None
    if issue.path.startswith("$.trigger"):
        raw = doc.get("trigger")
    elif issue.path.startswith("$.nodes["):
        index = issue.path[len("$.nodes[") :].split("]", 1)[0]
        nodes = doc.get("nodes")
        if index.isdigit() and isinstance(nodes, list) and int(index) < len(nodes):
            raw = nodes[int(index)]
    node_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    return Issue(issue.path, issue.message, node_id, issue.severity)


# Kinds whose outputs come from their params (cases, variants).
_PARAM_OUTPUTS = frozenset({"switch", "ab_split"})
_STATIC_OUTPUTS = {
    name: kind.outputs(None) for name, kind in REGISTRY.items() if name not in _PARAM_OUTPUTS
}


# Kinds that hold contacts for a while (they override NodeKind.wait_seconds).
_WAIT_KINDS = frozenset(
    name for name, kind in REGISTRY.items() if type(kind).wait_seconds is not NodeKind.wait_seconds
)


def _params(node: Node, params: dict[str, Any]) -> Any:
    """The node's parsed params; None when they failed, or when a duplicate id holds
    another node's params under the same key."""
    kind = REGISTRY.get(node.kind)
    found = params.get(node.id)
    return found if kind is not None and isinstance(found, kind.Params) else None


def _outputs(node: Node, report: Report, slot_is_trigger: bool) -> list[Output] | None:
    """A node's outputs; None when unknown (bad or misplaced kind, or failed params that
    decide them)."""
    kind = REGISTRY.get(node.kind)
    if kind is None or (kind.category == "trigger") != slot_is_trigger:
        return None  # already an error; its outputs would only add noise
    static = _STATIC_OUTPUTS.get(node.kind)
    if static is not None:
        return static
    params = _params(node, report.params)
    if params is None:
        return None
    return kind.outputs(params)


def _check_graph(flow: Flow, slots: Slots, report: Report) -> None:
    """Structure checks, remembered by structure: editing a form field changes no edge."""
    key = (
        tuple((n.id, n.kind, n.params_key if n.kind in _PARAM_OUTPUTS else None) for _, n in slots),
        tuple((e.source, e.to, e.output) for e in flow.edges),
    )
    issues, adj, walk = memo.cached("graph", key, _graph_facts, flow, slots, report.params)
    for issue in issues:
        report.add(issue)
    report.adjacency, report.order = adj, walk.order
    if walk.cycle is None:  # the longest wait is only defined on an acyclic flow
        paths = {node.id: path for path, node in reversed(slots)}
        _check_wait_budget(flow, adj, walk.order, paths, report)


def _graph_facts(
    flow: Flow, slots: Slots, params: dict[str, Any]
) -> tuple[list[Issue], graph.Adjacency, graph.Walk]:
    scratch = Report(params=params)
    paths = {node.id: path for path, node in reversed(slots)}
    outputs = {node.id: _outputs(node, scratch, path == "$.trigger") for path, node in slots}
    _check_unique_ids(slots, scratch)
    connected = _check_edges(flow, outputs, scratch)
    _check_outputs(flow, slots, outputs, connected, scratch)
    # Edges into the trigger are already errors; followed, each would also read as a loop.
    trigger = flow.trigger.id
    adj = graph.adjacency(paths, ((e.source, e.to) for e in flow.edges if e.to != trigger))
    walk = graph.walk(adj, flow.trigger.id)
    if walk.cycle:
        culprit = walk.cycle[-2]
        scratch.add(
            Issue(
                paths[culprit],
                f"this flow loops: {' → '.join(walk.cycle)}; flows cannot loop — use wait_for_event "
                "with a timeout, or enroll_in_flow to start another flow",
                culprit,
            )
        )
    else:
        reached = set(walk.order)
        for node in flow.nodes:
            if node.id not in reached:
                scratch.add(
                    Issue(
                        paths[node.id],
                        f"'{node.id}' cannot be reached from the trigger; connect it or delete it",
                        node.id,
                    )
                )
    return scratch.errors, adj, walk


def _check_unique_ids(slots: Slots, report: Report) -> None:
    first: dict[str, str] = {}
    for path, node in slots:
        if node.id in first:
            report.add(
                Issue(
                    f"{path}.id",
                    f"id '{node.id}' is already used by {first[node.id]}; ids must be unique",
                    node.id,
                )
            )
        else:
            first[node.id] = path


def _check_edges(
    flow: Flow, outputs: dict[str, list[Output] | None], report: Report
) -> dict[tuple[str, str], int]:
    """Check every edge; return (node id, output) → index of the edge that connects it."""
    trigger = flow.trigger.id
    by_list: dict[int, frozenset[str]] = {}  # static kinds share one outputs list
    name_sets = {
        node_id: by_list.setdefault(id(outs), frozenset(o.name for o in outs))
        for node_id, outs in outputs.items()
        if outs is not None
    }
    connected: dict[tuple[str, str], int] = {}
    for i, edge in enumerate(flow.edges):
        source_ok, target_ok = edge.source in outputs, edge.to in outputs
        path = f"$.edges[{i}]"
        if not (source_ok and target_ok):
            if not source_ok:
                report.add(
                    Issue(
                        f"{path}.from",
                        f"edge from '{edge.source}', which is not a node of this flow",
                    )
                )
            if not target_ok:
                report.add(
                    Issue(
                        f"{path}.to",
                        f"edge to '{edge.to}', which is not a node of this flow",
                        edge.source if source_ok else None,
                    )
                )
            continue
        if edge.to == trigger:
            report.add(Issue(f"{path}.to", "no edge may enter the trigger", edge.source))
            continue
        names = name_sets.get(edge.source)
        if names is not None and edge.output not in names:
            report.add(
                Issue(
                    f"{path}.output",
                    _bad_output(flow, edge.source, edge.output, outputs[edge.source] or []),
                    edge.source,
                )
            )
            continue
        key = (edge.source, edge.output)
        if key in connected:
            report.add(
                Issue(
                    path,
                    f"output '{edge.output}' of '{edge.source}' is already connected by "
                    f"$.edges[{connected[key]}]; an output leads to one node",
                    edge.source,
                )
            )
            continue
        connected[key] = i
    return connected


def _bad_output(flow: Flow, node_id: str, output: str, outputs: list[Output]) -> str:
    node = next(n for n in flow.all_nodes() if n.id == node_id)
    names = [o.name for o in outputs]
    if not names:
        return f"'{node.id}' is an {node.kind} node and has no outputs; remove this edge"
    if output == "next" and len(names) > 1:
        return (
            f"{node.kind} node '{node.id}' has several outputs; say which one this edge "
            f"leaves by: {', '.join(names)}"
        )
    return f"'{output}' is not an output of {node.kind} node '{node.id}'; use {', '.join(names)}"


def _check_outputs(
    flow: Flow,
    slots: Slots,
    outputs: dict[str, list[Output] | None],
    connected: dict[tuple[str, str], int],
    report: Report,
) -> None:
    seen = Counter(node.id for _, node in slots)
    for path, node in slots:
        if seen[node.id] > 1:
            continue  # outputs are keyed by id: which node's they are is unknown until renamed
        for output in outputs[node.id] or ():
            if output.required and (node.id, output.name) not in connected:
                if node is flow.trigger:
                    message = "the trigger is not connected to a first step"
                else:
                    message = (
                        f"output '{output.name}' of '{node.id}' is not connected; connect it "
                        "to a step or to an end node"
                    )
                report.add(Issue(path, message, node.id))


def _check_wait_budget(
    flow: Flow, adj: graph.Adjacency, order: list[str], paths: dict[str, str], report: Report
) -> None:
    """The longest total wait along any path must fit in one execution (one year)."""
    waits: dict[str, int] = {}
    for node in flow.all_nodes():
        if node.kind not in _WAIT_KINDS:
            continue
        params = _params(node, report.params)
        if params is not None:
            waits[node.id] = max(waits.get(node.id, 0), REGISTRY[node.kind].wait_seconds(params))
    if sum(waits.values()) <= ONE_YEAR_SECONDS:
        return  # even a path through every wait fits
    longest: dict[str, tuple[int, str | None]] = {}
    for node_id in reversed(order):  # successors first
        own = waits.get(node_id, 0)
        best_total, best_culprit = max(
            (longest[n] for n in adj[node_id]), default=(0, None), key=lambda t: t[0]
        )
        # Point at the first wait along the longest path.
        longest[node_id] = (own + best_total, node_id if own else best_culprit)
    total, culprit = longest[flow.trigger.id]
    if total > ONE_YEAR_SECONDS:
        report.add(
            Issue(
                paths[culprit or flow.trigger.id],
                f"contacts can wait {total // 86400} days in this flow in all; Step Functions "
                "runs an execution for at most 365 days — shorten the waits or split the flow",
                culprit,
            )
        )


def _check_kinds(slots: Slots, flow: Flow, report: Report) -> None:
    for path, node in slots:
        params = _params(node, report.params)
        if params is None:
            continue  # unknown kind or params already reported
        for finding in REGISTRY[node.kind].check(node, params, flow):
            report.add(Issue(f"{path}.{finding.path}", finding.message, node.id, finding.severity))
