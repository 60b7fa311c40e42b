"""What the editor keeps between reruns (Streamlit's session state): the open document,
its undo and redo history, the selected node, the last test run. Pages read and change
the document only through here, so every change can be undone."""

from __future__ import annotations

import copy
import json
from typing import Any

import streamlit as st

from editor.client import Api

HISTORY = 50  # undo steps kept


def api() -> Api:
    if "api" not in st.session_state:
        st.session_state.api = Api()
    return st.session_state.api


def document() -> dict[str, Any] | None:
    return st.session_state.get("doc")


def open_document(
    doc: dict[str, Any], *, version: int | None = None, status: str = "draft"
) -> None:
    """Open `doc` in the designer, with a fresh history."""
    st.session_state.doc = copy.deepcopy(doc)
    st.session_state.undo, st.session_state.redo = [], []
    st.session_state.doc_version = version
    st.session_state.doc_status = status
    st.session_state.selected = None
    st.session_state.test_run = None
    st.session_state.version_outcome = None
    touch()


def change(edit: Any, *args: Any) -> Any:
    """Apply `edit(doc, *args)` so that it can be undone; its return value."""
    doc = document()
    assert doc is not None, "no flow is open"
    before = json.dumps(doc, sort_keys=True)
    result = edit(doc, *args)
    if json.dumps(doc, sort_keys=True) != before:
        st.session_state.undo = [*st.session_state.get("undo", []), before][-HISTORY:]
        st.session_state.redo = []
        touch()
    return result


def record(before: str) -> None:
    """The document was changed in place (a form, the canvas): remember how it was."""
    if json.dumps(document(), sort_keys=True) != before:
        st.session_state.undo = [*st.session_state.get("undo", []), before][-HISTORY:]
        st.session_state.redo = []
        touch()


def snapshot() -> str:
    return json.dumps(document(), sort_keys=True)


def undo() -> None:
    if st.session_state.get("undo"):
        st.session_state.redo = [*st.session_state.get("redo", []), snapshot()]
        st.session_state.doc = json.loads(st.session_state.undo.pop())
        touch()


def redo() -> None:
    if st.session_state.get("redo"):
        st.session_state.undo = [*st.session_state.get("undo", []), snapshot()]
        st.session_state.doc = json.loads(st.session_state.redo.pop())
        touch()


def touch() -> None:
    """The document changed outside the canvas: draw the canvas from it again."""
    st.session_state.canvas = None
