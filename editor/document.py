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
from flows.nodes.base import ERROR, NextStep, NodeKind, Output, Placement

TEMPLATES = Path(__file__).resolve().parents[1] / "flows" / "templates"
ROW, COLUMN = 150, 280  # pixels between layers and between nodes of one layer
CARD_WIDTH, CARD_HEIGHT = 240, 100  # a canvas card's box (230 wide), with a small margin
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


def _params(spec: dict[str, Any], kind: NodeKind) -> Any:
    try:
        return kind.Params.model_validate(spec.get("params") or {})
    except ValidationError:
        return None


def auto_label(
    spec: dict[str, Any], document: dict[str, Any], labels: dict[str, str] | None = None
) -> str:
    """What the node is called when the user has not named it: its kind's summary of its
    settings ("Wait 2 days"), other nodes named by their labels."""
    kind = kind_of(spec)
    if kind is None:
        return spec.get("kind") or "?"
    if labels is None:
        labels = node_labels(document)
    return kind.summary(_params(spec, kind), labels)


def node_labels(document: dict[str, Any]) -> dict[str, str]:
    """Every node's label for other nodes' summaries (one level: typed label or summary)."""
    names = {}
    for spec in all_nodes(document):
        kind = kind_of(spec)
        typed = (spec.get("label") or "").strip()
        if typed or kind is None:
            names[spec["id"]] = typed or spec["id"]
        else:
            names[spec["id"]] = kind.summary(_params(spec, kind))
    return names


def is_user_label(
    spec: dict[str, Any], document: dict[str, Any], labels: dict[str, str] | None = None
) -> bool:
    """A label counts as typed by the user unless it is empty, the kind's display name or
    the node's auto label (what an editor that stored auto labels wrote). Labels that
    shipped with templates are typed labels."""
    label = (spec.get("label") or "").strip()
    if not label:
        return False
    kind = kind_of(spec)
    if kind is not None and label == kind.display_name:
        return False
    return label != auto_label(spec, document, labels)


def display_label(
    spec: dict[str, Any], document: dict[str, Any], labels: dict[str, str] | None = None
) -> str:
    """The name the canvas, the forms and the problem list use for a node (pass
    `node_labels(document)` as `labels` when naming many nodes)."""
    if labels is None:
        labels = node_labels(document)
    if is_user_label(spec, document, labels):
        return spec["label"].strip()
    return auto_label(spec, document, labels)


def display_labels(document: dict[str, Any]) -> dict[str, str]:
    """display_label of every node, by id."""
    labels = node_labels(document)
    return {spec["id"]: display_label(spec, document, labels) for spec in all_nodes(document)}


def summary(spec: dict[str, Any], labels: dict[str, str] | None = None) -> str:
    """The node's kind's summary of its settings, other nodes named by `labels`."""
    kind = kind_of(spec)
    if kind is None:
        return spec.get("kind") or "?"
    return kind.summary(_params(spec, kind), labels or {})


def param_title(spec: dict[str, Any], name: str) -> str:
    """What the node's form calls its param `name` ("From email" for from_email)."""
    kind = kind_of(spec)
    field = kind.Params.model_fields.get(name) if kind else None
    return (field.title if field and field.title else None) or name.replace("_", " ").capitalize()


def move_nodes(document: dict[str, Any], positions: dict[str, dict[str, float]]) -> None:
    """Put nodes where the canvas dragged them: id → {x, y}; unknown ids are ignored."""
    for spec in all_nodes(document):
        where = positions.get(spec["id"])
        if isinstance(where, dict) and {"x", "y"} <= where.keys():
            spec["position"] = {"x": where["x"], "y": where["y"]}


def set_label(document: dict[str, Any], node_id: str, text: str) -> None:
    """Keep what the user typed; an empty text, the display name or the auto label leaves
    the node unnamed, so its label follows its settings again."""
    spec = node(document, node_id)
    if spec is None or (not text.strip() and not is_user_label(spec, document)):
        return  # already named from its settings: leave the document as it is
    spec["label"] = text.strip()
    if not is_user_label(spec, document):
        spec.pop("label", None)


def set_params(document: dict[str, Any], node_id: str, params: dict[str, Any]) -> None:
    """Replace a node's params; a label that was the auto label of the old settings is
    dropped, so "Wait 3 days" becomes "Wait 2 days" rather than going stale."""
    spec = node(document, node_id)
    if spec is None or params == (spec.get("params") or {}):
        return  # looking at a step's form changes nothing, its label included
    if not is_user_label(spec, document):
        spec.pop("label", None)
    spec["params"] = params


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


def add_node(
    document: dict[str, Any],
    kind_name: str,
    after: str | None = None,
    output: str | None = None,
    params: dict[str, Any] | None = None,
) -> str:
    """Add a node of `kind_name`; when `after` is given, wired from its `output` (default:
    its main output, the first free non-error one). When that output already leads
    somewhere, the new node is inserted before what it led to. The node starts with its
    kind's starting params for this place, `params` over them. Returns the new node's id."""
    anchor = node(document, after) if after else None
    if anchor is not None and output is None:
        output = main_output(document, anchor["id"])
    if anchor is not None and output is not None:
        target = _target(document, anchor["id"], output)
        if target is not None:
            return insert_between(document, kind_name, anchor["id"], output, target, params)
    x, y = _below(document, anchor, output)
    node_id = _new_node(
        document, kind_name, _free_spot(document, x, y), Placement(document, after, output), params
    )
    if anchor is not None and output is not None:
        connect(document, anchor["id"], output, node_id)
    return node_id


def insert_between(
    document: dict[str, Any],
    kind_name: str,
    source: str,
    output: str,
    target: str,
    params: dict[str, Any] | None = None,
) -> str:
    """Put a new node on the edge `source`.`output` → `target`: source → new → target
    (through the new node's main output). The new node takes the target's place and the
    target with everything below it that would overlap moves down one ROW."""
    old = node(document, target)
    if old is None or node(document, source) is None:
        raise ValueError(f"no edge from '{source}' to '{target}'")
    position = dict(old.get("position") or {"x": 0, "y": 0})
    _push_down(document, target, keep={source})
    node_id = _new_node(
        document,
        kind_name,
        (position["x"], position["y"]),
        Placement(document, source, output),
        params,
    )
    connect(document, source, output, node_id)
    out = main_output(document, node_id)
    if out is not None:
        connect(document, node_id, out, target)
    return node_id


def drop_node(
    document: dict[str, Any],
    kind_name: str,
    position: dict[str, float],
    after: str | None = None,
) -> str:
    """A node dropped on the canvas: onto a card (`after`), it is added after that card
    as add_node adds it (below it, wired from its main output); onto the empty canvas, it
    goes where it was dropped (the nearest free spot) and is not wired."""
    if after and node(document, after) is not None:
        return add_node(document, kind_name, after)
    at = _free_spot(document, position["x"], position["y"])
    return _new_node(document, kind_name, at, Placement(document))


def next_steps(document: dict[str, Any], node_id: str) -> list[NextStep]:
    """The one-click steps the node's kind offers after it (none while it is invalid)."""
    spec = node(document, node_id)
    kind = kind_of(spec) if spec else None
    params = _params(spec, kind) if spec and kind else None
    if params is None:
        return []
    return kind.next_steps(node_id, params, document)  # type: ignore[union-attr]


def add_next_step(document: dict[str, Any], node_id: str, step: NextStep) -> str:
    """Add what `step` offers after `node_id`; the new node's id."""
    return add_node(document, step.kind, node_id, step.output, dict(step.params))


def main_output(document: dict[str, Any], node_id: str, exclude: str | None = None) -> str | None:
    """Where a step added after `node_id` attaches: its first free output that is not an
    error output, else its first non-error output; None when it has none (an end)."""
    spec = node(document, node_id)
    if spec is None:
        return None
    names = [o.name for o in outputs(spec) if o.name != ERROR.name]
    used = {
        e.get("output", DEFAULT_OUTPUT)
        for e in document.get("edges", [])
        if e["from"] == node_id and e["to"] != exclude
    }
    free = [name for name in names if name not in used]
    return (free or names or [None])[0]


def _target(document: dict[str, Any], source: str, output: str) -> str | None:
    return next(
        (
            e["to"]
            for e in document.get("edges", [])
            if e["from"] == source and e.get("output", DEFAULT_OUTPUT) == output
        ),
        None,
    )


def _new_node(
    document: dict[str, Any],
    kind_name: str,
    at: tuple[float, float],
    placement: Placement,
    params: dict[str, Any] | None = None,
) -> str:
    kind = get_kind(kind_name)
    if kind.category == "trigger":
        raise ValueError("a flow has one trigger: change its kind in the trigger's form")
    node_id = new_id(document, kind.name)
    # No label: until the user types one, the canvas shows the kind's summary. The params
    # start from what the kind suggests here; the form shows what is still required.
    document.setdefault("nodes", []).append(
        {
            "id": node_id,
            "kind": kind.name,
            "params": {**kind.starting_params(placement), **copy.deepcopy(params or {})},
            "position": {"x": at[0], "y": at[1]},
        }
    )
    return node_id


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return abs(a["x"] - b["x"]) < CARD_WIDTH and abs(a["y"] - b["y"]) < CARD_HEIGHT


def _free_spot(document: dict[str, Any], x: float, y: float) -> tuple[float, float]:
    """(x, y) or, when a card is there, the nearest free column of that row to the right,
    then the left; rows below when the row is full."""
    taken = [n.get("position") or {"x": 0, "y": 0} for n in all_nodes(document)]
    for row in range(50):
        for step in (0, 1, -1, 2, -2, 3, -3):
            spot = {"x": x + step * COLUMN, "y": y + row * ROW}
            if not any(_overlap(spot, other) for other in taken):
                return spot["x"], spot["y"]
    return x, y + 50 * ROW


def _push_down(document: dict[str, Any], start: str, keep: set[str]) -> None:
    """Move `start` and everything downstream of it one ROW down; then any other card the
    moved ones now cover moves too (with its own downstream), until nothing overlaps.
    `keep` (the insertion's source) never moves, so the edge into the new node stays."""
    children: dict[str, list[str]] = {}
    for edge in document.get("edges", []):
        children.setdefault(edge["from"], []).append(edge["to"])
    specs = {n["id"]: n for n in all_nodes(document)}

    def downstream(root: str) -> set[str]:
        seen, queue = set(), deque([root])
        while queue:
            current = queue.popleft()
            if current in seen or current in keep or current not in specs:
                continue
            seen.add(current)
            queue.extend(children.get(current, []))
        return seen

    moved: set[str] = set()
    pending = downstream(start)
    while pending:
        for node_id in pending:
            position = specs[node_id].setdefault("position", {"x": 0, "y": 0})
            position["y"] = position.get("y", 0) + ROW
        moved |= pending
        pending = set()
        for other_id, other in specs.items():
            if other_id in moved or other_id in keep:
                continue
            spot = other.get("position") or {"x": 0, "y": 0}
            if any(_overlap(spot, specs[m]["position"]) for m in moved):
                pending |= downstream(other_id) - moved


def copy_node(document: dict[str, Any], node_id: str) -> str:
    original = node(document, node_id)
    if original is None or original is document["trigger"]:
        raise ValueError("pick a step to copy (the trigger cannot be copied)")
    twin = copy.deepcopy(original)
    twin["id"] = new_id(document, original["id"])
    if is_user_label(original, document):
        twin["label"] = f"{original['label']} (copy)"
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


def _below(
    document: dict[str, Any], anchor: dict[str, Any] | None, output: str | None = None
) -> tuple[float, float]:
    """Under `anchor`; a branch's outputs spread left to right in their order."""
    if anchor is not None:
        position = anchor.get("position") or {"x": 0, "y": 0}
        names = [o.name for o in outputs(anchor) if o.name != ERROR.name]
        offset = 0.0
        if output in names and len(names) > 1:
            offset = (names.index(output) - (len(names) - 1) / 2) * COLUMN
        return position["x"] + offset, position["y"] + ROW
    lowest = max((n.get("position", {}).get("y", 0) for n in all_nodes(document)), default=0)
    return 0, lowest + ROW
