"""A flow's graph as a small Graphviz drawing, for the template gallery."""

from __future__ import annotations

from typing import Any

from editor import document as doc


def dot(document: dict[str, Any]) -> str:
    """DOT text of the flow: one box per step with its kind's icon, an arrow per edge."""
    lines = [
        "digraph flow {",
        "  graph [rankdir=TB, nodesep=0.15, ranksep=0.2, bgcolor=transparent];",
        '  node [shape=box, style="rounded,filled", fillcolor="#eef3fd", fontsize=9, height=0.2];',
        "  edge [arrowsize=0.4];",
    ]
    for spec in doc.all_nodes(document):
        kind = doc.kind_of(spec)
        icon = kind.icon if kind else "?"
        lines.append(f'  "{spec["id"]}" [label="{icon}"];')
    for edge in document.get("edges", []):
        lines.append(f'  "{edge["from"]}" -> "{edge["to"]}";')
    lines.append("}")
    return "\n".join(lines)
