"""The flow canvas: our own bidirectional Streamlit component (custom components v2) on
React Flow, replacing streamlit-flow-component, which reset the view on every rerun and
took the page's mouse wheel.

Python sends a *model* (nodes, edges, palette, focus, ...; the shape is documented in
frontend/src/types.ts) and gets back *events* (select, move, connect, insert, drop, ...),
each with an increasing ``seq``. The bundle in ``static/`` is built from ``frontend/``
by ``make canvas`` and checked in, so installing crmflow needs no Node.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import streamlit as st

STATIC = Path(__file__).resolve().parent / "static"
COMPONENT_NAME = "crmflow_flow_canvas"


@cache
def _component() -> Any:
    """Register once per process. The bundle is passed inline rather than through an
    ``asset_dir`` manifest: that route needs a ``[tool.streamlit.component]`` entry found
    by scanning installed distributions, which editable installs and plain checkouts
    don't reliably provide. Not style-isolated: React Flow's hit-testing, drag and drop and
    ``elementsFromPoint`` are simplest in the page's own DOM; our CSS is scoped instead."""
    return st.components.v2.component(
        COMPONENT_NAME,
        js=(STATIC / "flow_canvas.js").read_text(encoding="utf-8"),
        css=(STATIC / "flow_canvas.css").read_text(encoding="utf-8"),
        isolate_styles=False,
    )


def _seen_key(key: str) -> str:
    return f"_flow_canvas_seen_seq:{key}"


def flow_canvas(model: dict[str, Any], *, key: str, height: int = 640) -> dict[str, Any] | None:
    """Draw the canvas for `model` and return the newest browser event not returned
    before, or None.

    The browser keeps its last event as component state, which survives reruns; without
    remembering the last ``seq`` handed out, every later rerun (for any reason) would
    replay the same click. `key` must be stable: it names the component instance, so the
    browser keeps the same React tree (and the user's zoom and pan) across reruns.
    """
    payload = {"model": {**model, "height": model.get("height") or height}, "key": key}
    result = _component()(
        key=key,
        data=payload,
        height=payload["model"]["height"],
        # A callback makes Streamlit always report the "event" state key.
        on_event_change=lambda: None,
    )
    event = getattr(result, "event", None)
    if not isinstance(event, dict) or not isinstance(event.get("seq"), int | float):
        return None
    seen = st.session_state.get(_seen_key(key))
    if seen is not None and event["seq"] <= seen:
        return None
    st.session_state[_seen_key(key)] = event["seq"]
    return event
