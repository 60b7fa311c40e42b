"""The flow document as the canvas draws it (streamlit-flow-component, React Flow), and
the canvas's answer turned back into edits of the document.

A node shows its kind's icon, its label, its problems and, on a published flow, its
counts; multi-output nodes label their edges (yes/no, variants, happened/timed out) and
error edges are red and dashed. A test run's path is highlighted: its nodes green, its
edges animated.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from streamlit_flow.elements import StreamlitFlowEdge, StreamlitFlowNode
from streamlit_flow.state import StreamlitFlowState

from editor import document as doc
from flows.model import DEFAULT_OUTPUT

PROBLEM_STYLE = {"border": "2px solid #d93025", "background": "#fdecea"}
WARNING_STYLE = {"border": "2px solid #f9ab00"}
PATH_STYLE = {"border": "2px solid #188038", "background": "#e6f4ea"}
ERROR_EDGE_STYLE = {"stroke": "#d93025", "strokeDasharray": "6 4"}
PATH_EDGE_STYLE = {"stroke": "#188038", "strokeWidth": 3}


@dataclass
class Overlay:
    """What the canvas shows over the document: problems, a test run's path, counts."""

    errors: dict[str, list[str]] = field(default_factory=dict)  # node id -> messages
    warnings: dict[str, list[str]] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)  # node ids, in order
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # node id -> counts


def state(
    document: dict[str, Any], overlay: Overlay, selected: str | None = None, after: int = 0
) -> StreamlitFlowState:
    """The canvas state for `document`. The component takes a state only when its stamp is
    newer than its own, so it is stamped now, and after `after` (the newest stamp the
    component sent: its clock and ours race)."""
    nodes = [
        _node(spec, document, overlay, spec.get("id") == selected)
        for spec in doc.all_nodes(document)
    ]
    edges = [_edge(edge, document, overlay) for edge in document.get("edges", [])]
    stamp = max(int(time.time() * 1000), after + 1)
    return StreamlitFlowState(nodes=nodes, edges=edges, selected_id=selected, timestamp=stamp)


def drawing(shown: StreamlitFlowState) -> Any:
    """What a state looks like on screen (not its stamp or selection), to compare two."""
    nodes = sorted(
        (
            n.id,
            json.dumps(n.data, sort_keys=True),
            json.dumps(n.style, sort_keys=True),
            n.type,
            round(n.position["x"]),
            round(n.position["y"]),
        )
        for n in shown.nodes
    )
    edges = sorted(
        (e.source, e.target, e.label, e.animated, json.dumps(e.style, sort_keys=True))
        for e in shown.edges
    )
    return nodes, edges


def label(spec: dict[str, Any], overlay: Overlay) -> str:
    """A node's text on the canvas (markdown)."""
    kind = doc.kind_of(spec)
    icon = kind.icon if kind else "❓"
    title = spec.get("label") or (kind.display_name if kind else spec.get("kind", "?"))
    lines = [f"{icon} **{title}**", f"`{spec.get('kind', '?')}` · {spec.get('id')}"]
    problems = overlay.errors.get(spec.get("id", ""), [])
    if problems:
        lines.append(f"⚠️ {len(problems)} problem{'s' if len(problems) > 1 else ''}")
    counts = overlay.counts.get(spec.get("id", ""))
    if counts:
        lines.append(
            " · ".join(
                f"{symbol} {counts.get(name, 0)}"
                for symbol, name in (
                    ("👥", "entered"),
                    ("⏳", "waiting"),
                    ("🏁", "goal"),
                    ("✖", "failed"),
                )
            )
        )
    return "  \n".join(lines)


def apply(document: dict[str, Any], answer: StreamlitFlowState) -> bool:
    """Bring the canvas's changes into `document`: moved nodes, nodes deleted from the
    node menu, new and deleted connections. True when the graph changed (not only
    positions), so the canvas must be drawn again with the labels that follow."""
    changed = False
    shown = {n.id: n for n in answer.nodes}
    for spec in doc.all_nodes(document):
        moved = shown.get(spec["id"])
        if moved is not None:
            spec["position"] = {"x": round(moved.position["x"]), "y": round(moved.position["y"])}
    for spec in list(document.get("nodes", [])):
        if spec["id"] not in shown:
            doc.delete_node(document, spec["id"])
            changed = True
    drawn = {(e.source, e.target) for e in answer.edges}
    for edge in list(document.get("edges", [])):
        if (edge["from"], edge["to"]) not in drawn:
            doc.disconnect(document, edge["from"], edge.get("output", DEFAULT_OUTPUT))
            changed = True
    known = {(e["from"], e["to"]) for e in document.get("edges", [])}
    for edge in answer.edges:
        if (edge.source, edge.target) in known or edge.source == edge.target:
            continue
        free = doc.free_outputs(document, edge.source)
        outputs = [o.name for o in doc.outputs(doc.node(document, edge.source) or {})]
        output = free[0] if free else (outputs[0] if outputs else None)
        if output is not None:  # an end node has no way out: the new edge is dropped
            doc.connect(document, edge.source, output, edge.target)
        changed = True
    return changed


def _node(
    spec: dict[str, Any], document: dict[str, Any], overlay: Overlay, selected: bool
) -> StreamlitFlowNode:
    node_id = spec["id"]
    kind = doc.kind_of(spec)
    if spec is document["trigger"]:
        node_type = "input"
    elif kind is not None and not kind.outputs(None) and kind.name != "ab_split":
        node_type = "output"
    else:
        node_type = "default"
    style: dict[str, Any] = {"width": 230, "fontSize": 12, "textAlign": "left"}
    if node_id in overlay.errors:
        style.update(PROBLEM_STYLE)
    elif node_id in overlay.warnings:
        style.update(WARNING_STYLE)
    if node_id in overlay.path:
        style.update(PATH_STYLE)
    position = spec.get("position") or {"x": 0, "y": 0}
    return StreamlitFlowNode(
        id=node_id,
        pos=(position.get("x", 0), position.get("y", 0)),
        data={"content": label(spec, overlay)},
        node_type=node_type,
        selected=selected,
        selectable=True,
        connectable=True,
        deletable=spec is not document["trigger"],
        style=style,
    )


def _edge(edge: dict[str, Any], document: dict[str, Any], overlay: Overlay) -> StreamlitFlowEdge:
    output = edge.get("output", DEFAULT_OUTPUT)
    source = doc.node(document, edge["from"]) or {}
    named = {o.name: o.label for o in doc.outputs(source)}
    several = len([n for n in named if n != "error"]) > 1
    text = named.get(output, output) if several or output == "error" else ""
    on_path = _consecutive(overlay.path, edge["from"], edge["to"])
    style = dict(ERROR_EDGE_STYLE if output == "error" else {})
    if on_path:
        style.update(PATH_EDGE_STYLE)
    return StreamlitFlowEdge(
        id=f"{edge['from']}|{output}|{edge['to']}",
        source=edge["from"],
        target=edge["to"],
        edge_type="smoothstep",
        marker_end={"type": "arrowclosed"},
        label=text,
        label_show_bg=bool(text),
        animated=on_path,
        deletable=True,
        style=style,
    )


def _consecutive(path: list[str], first: str, second: str) -> bool:
    return any(a == first and b == second for a, b in itertools.pairwise(path))
