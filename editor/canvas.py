"""The flow document as the canvas draws it (our React Flow component, editor/flow_canvas),
and the canvas's events turned into edits of the document.

A node card shows its kind's icon, its label (typed by the marketer, or said from its
settings), a one-line summary of its settings, its problems and, on a published flow,
its counts. Every output is a handle of its own, so a connection says which output it
is; error outputs and their edges are red. A test run's path is highlighted.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from editor import document as doc
from editor import session
from flows.model import DEFAULT_OUTPUT

ERROR_OUTPUT = "error"


@dataclass
class Overlay:
    """What the canvas shows over the document: problems, a test run's path, counts."""

    errors: dict[str, list[str]] = field(default_factory=dict)  # node id -> messages
    warnings: dict[str, list[str]] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)  # node ids, in order
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # node id -> counts
    emails: dict[str, dict[str, int]] = field(default_factory=dict)  # email node -> sent…


def model(
    document: dict[str, Any],
    overlay: Overlay,
    selected: str | None = None,
    *,
    focus: str | None = None,
    focus_seq: int = 0,
    dirty: bool = False,
    height: int = 640,
) -> dict[str, Any]:
    """What the component draws (the protocol in editor/flow_canvas)."""
    labels = doc.display_labels(document)
    return {
        "nodes": [
            _node(n, document, overlay, labels, n["id"] == selected)
            for n in doc.all_nodes(document)
        ],
        "edges": [_edge(e, document, overlay) for e in document.get("edges", [])],
        "palette": palette(),
        "focus": focus,
        "focus_seq": focus_seq,
        "dirty": dirty,
        "height": height,
    }


def palette() -> list[dict[str, Any]]:
    """The steps a marketer can add, as the canvas's palette lists them."""
    groups = doc.palette()
    return [
        {
            "kind": kind.name,
            "icon": kind.icon,
            "name": kind.display_name,
            "category": category,
            "description": kind.description,
        }
        for category in ("action", "control")
        for kind in groups[category]
    ]


def handle(event: dict[str, Any]) -> bool:
    """Apply one canvas event to the open document (undoably) and to the selection; True
    when the page must be drawn again."""
    document = session.document()
    if document is None:
        return False
    kind = event.get("type")
    if kind == "select":
        chosen = event.get("node")
        chosen = chosen if chosen and doc.node(document, chosen) else None
        if chosen == _selected():
            return False
        _select(chosen)
        return True
    if kind == "move":
        session.change(doc.move_nodes, event.get("positions") or {})
        return False  # the canvas already shows them where they are
    if kind == "connect":
        source, target = event.get("source"), event.get("target")
        if not (doc.node(document, source) and doc.node(document, target)) or source == target:
            return False
        session.change(doc.connect, source, event.get("output") or DEFAULT_OUTPUT, target)
        return True
    if kind == "delete_nodes":
        trigger = document["trigger"]["id"]
        for node_id in event.get("nodes") or []:
            if node_id != trigger and doc.node(document, node_id):
                session.change(doc.delete_node, node_id)
        if _selected() and not doc.node(document, _selected()):
            _select(None)
        return True
    if kind == "delete_edge":
        session.change(doc.disconnect, event.get("source"), event.get("output") or DEFAULT_OUTPUT)
        return True
    if kind == "insert":
        new = session.change(
            doc.insert_between,
            event["kind"],
            event["source"],
            event.get("output") or DEFAULT_OUTPUT,
            event["target"],
        )
        show(new)
        return True
    if kind == "drop":
        position = event.get("position") or {"x": 0, "y": 0}
        new = session.change(doc.drop_node, event["kind"], position, event.get("after"))
        show(new)
        return True
    return False


def show(node_id: str) -> None:
    """Select a step and have the canvas bring it into view (a new step, a problem's)."""
    _select(node_id)
    st.session_state.focus = node_id
    st.session_state.focus_seq = st.session_state.get("focus_seq", 0) + 1


def _selected() -> str | None:
    return st.session_state.get("selected")


def _select(node_id: str | None) -> None:
    st.session_state.selected = node_id


def _node(
    spec: dict[str, Any],
    document: dict[str, Any],
    overlay: Overlay,
    labels: dict[str, str],
    selected: bool,
) -> dict[str, Any]:
    node_id = spec["id"]
    kind = doc.kind_of(spec)
    outputs = doc.outputs(spec)
    if spec is document["trigger"]:
        role = "trigger"
    elif kind is not None and not outputs:
        role = "end"
    else:
        role = "step"
    title = labels[node_id]
    summary = doc.summary(spec, labels)
    position = spec.get("position") or {"x": 0, "y": 0}
    return {
        "id": node_id,
        "label": title,
        "summary": "" if summary == title else summary,
        "icon": kind.icon if kind else "❓",
        "kind": spec.get("kind", "?"),
        "role": role,
        "problems": len(overlay.errors.get(node_id, [])),
        "warning": node_id in overlay.warnings,
        "on_path": node_id in overlay.path,
        "selected": selected,
        "counts": overlay.counts.get(node_id),
        "email": email_rates(overlay.emails.get(node_id)),
        "position": {"x": position.get("x", 0), "y": position.get("y", 0)},
        "outputs": [
            {"name": o.name, "label": o.label, "error": o.name == ERROR_OUTPUT} for o in outputs
        ],
    }


def email_rates(counted: dict[str, int] | None) -> dict[str, Any] | None:
    """{"sent", "opened", "clicked", "unsubscribed"} as the card shows them: the count sent
    and each rate as a whole percentage of it; None before anything was sent."""
    if not counted or not counted.get("sent"):
        return None
    sent = counted["sent"]
    rates = {
        name: round(100 * counted.get(name, 0) / sent)
        for name in ("opened", "clicked", "unsubscribed")
    }
    return {"sent": sent, **rates}


def _edge(edge: dict[str, Any], document: dict[str, Any], overlay: Overlay) -> dict[str, Any]:
    output = edge.get("output", DEFAULT_OUTPUT)
    source = doc.node(document, edge["from"]) or {}
    named = {o.name: o.label for o in doc.outputs(source)}
    several = len([n for n in named if n != ERROR_OUTPUT]) > 1
    return {
        "id": f"{edge['from']}|{output}|{edge['to']}",
        "source": edge["from"],
        "output": output,
        "target": edge["to"],
        "label": named.get(output, output) if several or output == ERROR_OUTPUT else "",
        "error": output == ERROR_OUTPUT,
        "on_path": _consecutive(overlay.path, edge["from"], edge["to"]),
    }


def _consecutive(path: list[str], first: str, second: str) -> bool:
    return any(a == first and b == second for a, b in itertools.pairwise(path))
