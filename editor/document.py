"""Edits of a flow document, as plain functions on its JSON (no Streamlit here): add, copy
and delete nodes, connect outputs, lay the graph out, and read what the canvas shows.
Everything a kind contributes (its outputs, its defaults) comes from its declaration in
flows/nodes/, so no node kind is named in the editor."""

from __future__ import annotations

import copy
import json
import re
from collections import deque
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flows.errors import UnknownNodeKind
from flows.model import DEFAULT_OUTPUT
from flows.nodes import get_kind, registry
from flows.nodes.base import NodeKind, Output

TEMPLATES = Path(__file__).resolve().parents[1] / "flows" / "templates"
ROW, COLUMN = 150, 280  # pixels between layers and between nodes of one layer
_ID_UNSAFE = re.compile(r"[^a-z0-9_]+")


def blank(flow_id: str, name: str) -> dict[str, Any]:
    """A new flow: a webhook trigger and nothing else yet."""
    return {
        "schema_version": "1.0",
        "id": flow_id,
        "name": name,
        "description": "",
        "trigger": {
            "id": "start",
            "kind": "webhook",
            "label": "Start",
            "params": {},
            "position": {"x": 0, "y": 0},
        },
        "nodes": [],
        "edges": [],
    }


def templates() -> list[dict[str, Any]]:
    """The template gallery: every shipped template's document, by name."""
    found = [json.loads(p.read_text(encoding="utf-8")) for p in TEMPLATES.glob("*.flow.json")]
    return sorted(found, key=lambda d: d["name"])


def from_template(template: dict[str, Any], flow_id: str, name: str) -> dict[str, Any]:
    document = copy.deepcopy(template)
    document.update(id=flow_id, name=name)
    return document


def all_nodes(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [document["trigger"], *document.get("nodes", [])]


def node(document: dict[str, Any], node_id: str) -> dict[str, Any] | None:
    return next((n for n in all_nodes(document) if n.get("id") == node_id), None)


def kind_of(spec: dict[str, Any]) -> NodeKind | None:
    try:
        return get_kind(spec.get("kind", ""))
    except UnknownNodeKind:
        return None


def outputs(spec: dict[str, Any]) -> list[Output]:
    """The node's outputs, from its kind (a split's variants, a switch's cases…)."""
    kind = kind_of(spec)
    if kind is None:
        return []
    try:
        params = kind.Params.model_validate(spec.get("params") or {})
    except ValidationError:
        params = None  # not valid yet: the outputs that need no params (a split's: none)
    return kind.outputs(params)


def palette() -> dict[str, list[NodeKind]]:
    """Kinds by category, as the palette groups them."""
    groups: dict[str, list[NodeKind]] = {"trigger": [], "action": [], "control": []}
    for kind in registry().values():
        groups[kind.category].append(kind)
    return groups


def new_id(document: dict[str, Any], base: str) -> str:
    stem = _ID_UNSAFE.sub("_", base.lower()).strip("_") or "step"
    taken = {n["id"] for n in all_nodes(document)}
    if stem not in taken:
        return stem
    number = 2
    while f"{stem}_{number}" in taken:
        number += 1
    return f"{stem}_{number}"


def add_node(document: dict[str, Any], kind_name: str, after: str | None = None) -> str:
    """Add a node of `kind_name`; below `after` and connected from its first free output
    when given. Returns the new node's id."""
    kind = get_kind(kind_name)
    if kind.category == "trigger":
        raise ValueError("a flow has one trigger: change its kind in the trigger's form")
    node_id = new_id(document, kind.name)
    anchor = node(document, after) if after else None
    x, y = _below(document, anchor)
    document.setdefault("nodes", []).append(
        {
            "id": node_id,
            "kind": kind.name,
            "label": kind.display_name,
            "params": {},  # the form shows what is required, with the kind's defaults
            "position": {"x": x, "y": y},
        }
    )
    if anchor is not None:
        free = free_outputs(document, anchor["id"])
        if free:
            connect(document, anchor["id"], free[0], node_id)
    return node_id


def copy_node(document: dict[str, Any], node_id: str) -> str:
    original = node(document, node_id)
    if original is None or original is document["trigger"]:
        raise ValueError("pick a step to copy (the trigger cannot be copied)")
    twin = copy.deepcopy(original)
    twin["id"] = new_id(document, original["id"])
    twin["label"] = f"{original.get('label') or original['kind']} (copy)"
    position = original.get("position") or {"x": 0, "y": 0}
    twin["position"] = {"x": position["x"] + 40, "y": position["y"] + 40}
    document["nodes"].append(twin)
    return twin["id"]


def delete_node(document: dict[str, Any], node_id: str) -> None:
    if node_id == document["trigger"]["id"]:
        raise ValueError("the trigger cannot be deleted: change its kind instead")
    document["nodes"] = [n for n in document.get("nodes", []) if n["id"] != node_id]
    document["edges"] = [
        e for e in document.get("edges", []) if node_id not in (e["from"], e["to"])
    ]


def connect(document: dict[str, Any], source: str, output: str, target: str) -> None:
    """Connect `source`'s `output` to `target`, replacing what that output led to."""
    edges = [
        e
        for e in document.get("edges", [])
        if not (e["from"] == source and e.get("output", DEFAULT_OUTPUT) == output)
    ]
    edges.append({"from": source, "to": target, "output": output})
    document["edges"] = edges


def disconnect(document: dict[str, Any], source: str, output: str) -> None:
    document["edges"] = [
        e
        for e in document.get("edges", [])
        if not (e["from"] == source and e.get("output", DEFAULT_OUTPUT) == output)
    ]


def free_outputs(document: dict[str, Any], node_id: str) -> list[str]:
    spec = node(document, node_id)
    if spec is None:
        return []
    used = {
        e.get("output", DEFAULT_OUTPUT) for e in document.get("edges", []) if e["from"] == node_id
    }
    return [o.name for o in outputs(spec) if o.name not in used]


def auto_layout(document: dict[str, Any]) -> None:
    """Layers by distance from the trigger, top to bottom; nodes of a layer side by side
    in the order their parents' outputs list them. Unreachable nodes go in a last row."""
    children: dict[str, list[str]] = {}
    for edge in document.get("edges", []):
        children.setdefault(edge["from"], []).append(edge["to"])
    depth = {document["trigger"]["id"]: 0}
    queue = deque([document["trigger"]["id"]])
    while queue:
        current = queue.popleft()
        for child in children.get(current, []):
            if child not in depth:
                depth[child] = depth[current] + 1
                queue.append(child)
    last = max(depth.values(), default=0) + 1
    layers: dict[int, list[dict[str, Any]]] = {}
    for spec in all_nodes(document):
        layers.setdefault(depth.get(spec["id"], last), []).append(spec)
    for row, specs in layers.items():
        width = (len(specs) - 1) * COLUMN
        for column, spec in enumerate(specs):
            spec["position"] = {"x": column * COLUMN - width / 2, "y": row * ROW}


def _below(document: dict[str, Any], anchor: dict[str, Any] | None) -> tuple[float, float]:
    if anchor is not None:
        position = anchor.get("position") or {"x": 0, "y": 0}
        return position["x"], position["y"] + ROW
    lowest = max((n.get("position", {}).get("y", 0) for n in all_nodes(document)), default=0)
    return 0, lowest + ROW
