"""What the editor keeps between reruns (Streamlit's session state): the open document,
its undo and redo history, the selected node, the last test run. Pages read and change
the document only through here, so every change can be undone, and autosaved: a change
is kept by the API as the flow's working copy within seconds (a reload, a closed tab or
a crash loses nothing), and the open flow's id is in the page's address so a reload
reopens it."""

from __future__ import annotations

import contextlib
import copy
import json
import time
from datetime import datetime
from typing import Any

import streamlit as st

from editor.client import Api, ApiError

HISTORY = 50  # undo steps kept
AUTOSAVE_QUIET = 1.5  # seconds without a change before the working copy is kept


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
    st.session_state.unsaved = False
    st.session_state.restored = None
    st.query_params["flow"] = doc["id"]
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
        changed()
    return result


def record(before: str) -> None:
    """The document was changed in place (a form, the canvas): remember how it was."""
    if json.dumps(document(), sort_keys=True) != before:
        st.session_state.undo = [*st.session_state.get("undo", []), before][-HISTORY:]
        st.session_state.redo = []
        changed()


def snapshot() -> str:
    return json.dumps(document(), sort_keys=True)


def undo() -> None:
    if st.session_state.get("undo"):
        st.session_state.redo = [*st.session_state.get("redo", []), snapshot()]
        st.session_state.doc = json.loads(st.session_state.undo.pop())
        changed()
        refresh_forms()


def redo() -> None:
    if st.session_state.get("redo"):
        st.session_state.undo = [*st.session_state.get("undo", []), snapshot()]
        st.session_state.doc = json.loads(st.session_state.redo.pop())
        changed()
        refresh_forms()


def form_generation() -> int:
    return st.session_state.get("form_gen", 0)


def refresh_forms() -> None:
    """The document changed under its forms (undo, a token inserted into a field): draw
    every field afresh from it. Their widgets get new keys: a browser keeps what a widget
    of the same key showed, whatever value the page draws it with."""
    st.session_state.form_gen = form_generation() + 1


def touch() -> None:
    """The document changed outside the canvas: draw the canvas from it again."""
    st.session_state.canvas = None


def changed() -> None:
    """The document changed: redraw the canvas from it, and keep it soon."""
    st.session_state.unsaved = True
    st.session_state.changed_at = time.monotonic()
    touch()


def unsaved() -> bool:
    """Changes not yet kept anywhere: leaving the page now would lose them."""
    return bool(st.session_state.get("unsaved"))


def autosave(*, force: bool = False) -> str | None:
    """Keep the open document as its flow's working copy once the marketer has paused
    (AUTOSAVE_QUIET seconds), or now when `force`d; None, or what went wrong in words."""
    doc = document()
    if doc is None or not unsaved():
        return None
    quiet = time.monotonic() - st.session_state.get("changed_at", 0.0)
    if not force and quiet < AUTOSAVE_QUIET:
        return None
    try:
        kept = api().keep_working_copy(doc)
    except ApiError as exc:
        return f"Your changes are not saved yet: {exc.message}"
    st.session_state.unsaved = False
    st.session_state.autosaved_at = kept["saved_at"]
    return None


def saved_as_version() -> None:
    """A version now holds the document: the working copy is obsolete."""
    doc = document()
    if doc is None:
        return
    st.session_state.unsaved = False
    # If this fails, kept changes equal to a version are dropped when the flow next opens.
    with contextlib.suppress(ApiError):
        api().discard_working_copy(doc["id"])


def load_flow(flow_id: str) -> None:
    """Open a stored flow: its newest version, or the unsaved changes kept since, which
    win (they are newer); `restored` then says when they were kept. ApiError when the
    flow cannot be read."""
    shown = api().flow(flow_id)
    latest = shown["latest"]
    record = shown["flow"]
    status = record["status"]
    if latest and status == "published" and latest["version"] != record.get("published_version"):
        status = "draft"  # a newer draft than what is live
    kept = api().working_copy(flow_id)
    if kept and latest and kept["document"] == latest["document"]:
        api().discard_working_copy(flow_id)  # saved meanwhile: nothing unsaved
        kept = None
    if kept:
        open_document(
            kept["document"], version=latest["version"] if latest else None, status=status
        )
        st.session_state.restored = kept["saved_at"]
    elif latest:
        open_document(latest["document"], version=latest["version"], status=status)
    else:
        raise ApiError(404, "Crm.FlowNotFound", f"flow '{flow_id}' has nothing saved to open")


def restored_note() -> str | None:
    """What to tell the marketer about unsaved changes brought back, once."""
    at = st.session_state.get("restored")
    if not at:
        return None
    when = datetime.fromisoformat(at).astimezone().strftime("%H:%M")
    return f"Your unsaved changes from {when} were brought back."
