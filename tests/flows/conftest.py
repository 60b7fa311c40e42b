"""Builders for flow documents as plain JSON data, as the editor would save them.

`flow()` is a valid minimal flow (webhook trigger `start` → end node `done`); pass
`nodes`, `edges` or `trigger` to change it. Given as fixtures so no test imports conftest.
"""

from __future__ import annotations

from typing import Any

import pytest

from flows.validate import validate

Doc = dict[str, Any]


def make_node(id: str, kind: str, **params: Any) -> Doc:
    doc: Doc = {"id": id, "kind": kind}
    if params:
        doc["params"] = params
    return doc


def make_edge(source: str, to: str, output: str | None = None) -> Doc:
    doc: Doc = {"from": source, "to": to}
    if output is not None:
        doc["output"] = output
    return doc


def make_flow(
    nodes: list[Doc] | None = None,
    edges: list[Doc] | None = None,
    trigger: Doc | None = None,
    **top: Any,
) -> Doc:
    return {
        "schema_version": "1.0",
        "id": "test-flow",
        "name": "Test flow",
        "trigger": trigger if trigger is not None else make_node("start", "webhook"),
        "nodes": nodes if nodes is not None else [make_node("done", "end")],
        "edges": edges if edges is not None else [make_edge("start", "done")],
        **top,
    }


def error_lines(source: Any) -> list[str]:
    return [str(e) for e in validate(source).errors]


def warning_lines(source: Any) -> list[str]:
    return [str(w) for w in validate(source).warnings]


@pytest.fixture
def node():
    return make_node


@pytest.fixture
def edge():
    return make_edge


@pytest.fixture
def flow():
    return make_flow


@pytest.fixture
def errors():
    """str() of every error of a document."""
    return error_lines


@pytest.fixture
def warnings():
    """str() of every warning of a document."""
    return warning_lines
