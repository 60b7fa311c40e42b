"""Validation issues in the user's words: steps by their labels, outputs by their labels,
no ids or JSON paths in the text (the path stays on the Problem, for developers)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from editor import document as doc

_PATH = re.compile(r"\$(?:\.[A-Za-z_][\w-]*|\[\d+\])+")
_NODE_INDEX = re.compile(r"^\$\.nodes\[(\d+)\]")


@dataclass(frozen=True)
class Problem:
    """One problem as the designer shows it."""

    text: str
    node_id: str | None
    path: str
    severity: str


class _Names:
    """Labels of the document's steps and of their outputs."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        try:
            self.labels = doc.display_labels(document)
        except (KeyError, TypeError, AttributeError):  # a document too broken to name steps
            self.labels = {}

    def step(self, node_id: str) -> str:
        return f"'{self.labels.get(node_id, node_id)}'"

    def output(self, node_id: str, name: str) -> str:
        spec = doc.node(self.document, node_id)
        found = next((o.label for o in doc.outputs(spec) if o.name == name), None) if spec else None
        return f"'{found or name.replace('_', ' ').capitalize()}'"

    def outputs(self, node_id: str) -> str:
        spec = doc.node(self.document, node_id)
        return ", ".join(f"'{o.label}'" for o in doc.outputs(spec)) if spec else ""

    def kind(self, name: str) -> str:
        spec = {"kind": name}
        kind = doc.kind_of(spec)
        return kind.display_name if kind else name

    def ids(self, text: str) -> str:
        """Every quoted id of a step in `text`, as the step's label."""
        return re.sub(
            r"'([^']+)'",
            lambda m: self.step(m.group(1)) if m.group(1) in self.labels else m.group(0),
            text,
        )


Rule = tuple[re.Pattern[str], Callable[[re.Match[str], _Names], str]]

_RULES: list[Rule] = [
    (
        re.compile(r"^output '(?P<out>[^']+)' of '(?P<node>[^']+)' is not connected"),
        lambda m, n: (
            f"{n.step(m['node'])} has no step for {n.output(m['node'], m['out'])} — "
            "connect one or end the flow"
        ),
    ),
    (
        re.compile(r"^output '(?P<out>[^']+)' of '(?P<node>[^']+)' is already connected"),
        lambda m, n: (
            f"{n.step(m['node'])} has two connections from {n.output(m['node'], m['out'])}; "
            "an output leads to one step — remove one of them"
        ),
    ),
    (
        re.compile(r"^the trigger is not connected to a first step"),
        lambda m, n: (
            f"{n.step(n.document['trigger']['id'])} starts the flow but leads nowhere — "
            "connect it to a first step"
        ),
    ),
    (
        re.compile(r"^'(?P<node>[^']+)' cannot be reached from the trigger"),
        lambda m, n: f"Nothing leads to {n.step(m['node'])} — connect a step to it or delete it",
    ),
    (
        re.compile(r"^this flow loops: (?P<cycle>.+?); flows cannot loop — (?P<fix>.+)$"),
        lambda m, n: (
            "This flow goes round in a circle: "
            + " → ".join(n.step(part) for part in m["cycle"].split(" → "))
            + f". Flows cannot loop — {m['fix']}"
        ),
    ),
    (
        re.compile(r"^no edge may enter the trigger"),
        lambda m, n: (
            "A connection leads back to the trigger; a flow cannot return to its start — "
            "connect it to another step"
        ),
    ),
    (
        re.compile(r"^edge (?P<dir>from|to) '(?P<node>[^']+)', which is not a node"),
        lambda m, n: (
            f"A connection {'starts at' if m['dir'] == 'from' else 'leads to'} a step that is "
            "not in this flow any more — delete the connection"
        ),
    ),
    (
        re.compile(r"^'(?P<node>[^']+)' is an? (?P<kind>\w+) node and has no outputs"),
        lambda m, n: (
            f"{n.step(m['node'])} ends the flow, so nothing can follow it — "
            "remove the connection leaving it"
        ),
    ),
    (
        re.compile(r"^(?P<kind>\w+) node '(?P<node>[^']+)' has several outputs"),
        lambda m, n: (
            f"{n.step(m['node'])} has several outputs ({n.outputs(m['node'])}) — "
            "choose which one this connection leaves by"
        ),
    ),
    (
        re.compile(r"^'(?P<out>[^']+)' is not an output of (?P<kind>\w+) node '(?P<node>[^']+)'"),
        lambda m, n: (
            f"{n.step(m['node'])} has no output '{m['out']}' — "
            f"connect from one of its outputs: {n.outputs(m['node'])}"
        ),
    ),
    (
        re.compile(r"^id '(?P<node>[^']+)' is already used"),
        lambda m, n: (
            f"Two steps share the same id ({n.step(m['node'])}) — "
            "give one of them another id in the JSON"
        ),
    ),
    (
        re.compile(r"^a flow has exactly one trigger: '(?P<node>[^']+)' is a second one"),
        lambda m, n: (
            f"{n.step(m['node'])} is a second trigger; a flow has exactly one — "
            "delete it or make it the flow's trigger"
        ),
    ),
    (
        re.compile(r"^node '(?P<node>[^']+)' is an? (?P<kind>\w+), not a send_email node"),
        lambda m, n: (
            f"the email to wait for is {n.step(m['node'])}, a {n.kind(m['kind'])} step — "
            "pick a Send email step"
        ),
    ),
    (
        re.compile(r"^there is no node '(?P<node>[^']+)' in this flow"),
        lambda m, n: "the email step this refers to is not in this flow any more — pick another",
    ),
]


def _node_of(issue: dict[str, Any], document: dict[str, Any]) -> str | None:
    if issue.get("node_id"):
        return issue["node_id"]
    path = issue.get("path") or ""
    if path.startswith("$.trigger"):
        return document.get("trigger", {}).get("id")
    match = _NODE_INDEX.match(path)
    nodes = document.get("nodes") or []
    if match and int(match[1]) < len(nodes) and isinstance(nodes[int(match[1])], dict):
        return nodes[int(match[1])].get("id")
    return None


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def describe(issue: dict[str, Any], document: dict[str, Any], names: Any = None) -> Problem:
    """One issue of `flows.validate` (as its dict) in the user's words."""
    names = names if isinstance(names, _Names) else _Names(document)
    message = issue.get("message", "")
    node_id = _node_of(issue, document)
    for pattern, write in _RULES:
        match = pattern.search(message)
        if match:
            text = write(match, names)
            break
    else:
        text = names.ids(message)
    # Say which step the problem is at, unless the sentence already names it.
    if node_id is not None and names.step(node_id) not in text:
        text = f"{names.step(node_id)}: {text[:1].lower()}{text[1:]}"
    return Problem(
        _sentence(_PATH.sub("another connection", text)),
        node_id,
        issue.get("path", ""),
        issue.get("severity", "error"),
    )


def describe_all(report: dict[str, Any], document: dict[str, Any]) -> list[Problem]:
    """Every error, then every warning, of a report dict (`validate(...).to_dict()`)."""
    names = _Names(document)
    return [
        describe(issue, document, names)
        for issue in [*report.get("errors", []), *report.get("warnings", [])]
    ]
