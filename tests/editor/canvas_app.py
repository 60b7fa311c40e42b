"""A page with only the flow canvas, for tests/editor/test_flow_canvas.py and
bench/canvas_bench.py: `streamlit run tests/editor/canvas_app.py [-- MODEL.json]`.

Query parameters: ``nodes=N`` draws a built-in chain of N nodes (default 6);
``layout=narrow`` lays the page out as the designer at a ~1000 px window (a sidebar, the
canvas in a column ~520 px wide, a side panel beside it). Every event
the canvas returns is listed in the container keyed ``canvas-events`` (CSS class
``st-key-canvas-events``; one ``st.code`` of JSON each, oldest first); the page's run
count is in the one keyed ``canvas-runs``.
Events move no nodes: the model stays as built, so the tests can compare views.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import streamlit as st

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `streamlit run` puts only this folder on the path
    sys.path.insert(0, str(ROOT))

from editor.flow_canvas import flow_canvas  # noqa: E402

PALETTE = [
    {"kind": "send_email", "icon": "✉️", "name": "Send email", "category": "action",
     "description": "Send an email to the contact"},
    {"kind": "add_tag", "icon": "🏷️", "name": "Add tag", "category": "action",
     "description": "Tag the contact"},
    {"kind": "wait", "icon": "⏱️", "name": "Wait", "category": "control",
     "description": "Wait for a while"},
    {"kind": "branch", "icon": "🔀", "name": "If / else", "category": "control",
     "description": "Take one of two paths"},
]  # fmt: skip


def sample(count: int) -> dict[str, Any]:
    """A chain: a trigger, steps (the second a Yes/No branch whose No goes to the end),
    an end; laid out top to bottom, 150 px apart."""
    count = max(count, 3)
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    for i in range(count):
        role = "trigger" if i == 0 else "end" if i == count - 1 else "step"
        branch = i == 2 and count > 4
        outputs = (
            [{"name": "yes", "label": "Yes", "error": False},
             {"name": "no", "label": "No", "error": False}]
            if branch
            else [] if role == "end" else [{"name": "next", "label": "Next", "error": False}]
        )  # fmt: skip
        label = "ارسال ایمیل خوش‌آمد" if i == 1 else f"Step {i}"
        nodes.append(
            {
                "id": f"n{i}",
                "label": label,
                "summary": "Subject: welcome aboard" if role == "step" else "",
                "icon": "⚡" if role == "trigger" else "✉️",
                "kind": "webhook"
                if role == "trigger"
                else "end"
                if role == "end"
                else "send_email",
                "role": role,
                "problems": 1 if i == 3 else 0,
                "warning": i == 4,
                "on_path": i < 2,
                "selected": False,
                "counts": {"entered": 10, "waiting": 2, "goal": 1, "failed": 0} if i == 1 else None,
                "position": {"x": 0, "y": i * 150},
                "outputs": outputs,
            }
        )
        if i > 0:
            source = nodes[i - 1]
            output = source["outputs"][0]["name"]
            edges.append(
                {"id": f"e{i - 1}-{i}", "source": source["id"], "output": output,
                 "target": f"n{i}", "label": "Yes" if output == "yes" else "",
                 "error": False, "on_path": i < 2}
            )  # fmt: skip
    if count > 4:
        edges.append(
            {"id": "e2-end", "source": "n2", "output": "no", "target": f"n{count - 1}",
             "label": "No", "error": False, "on_path": False}
        )  # fmt: skip
        nodes[2]["position"] = {"x": 0, "y": 300}
        nodes[count - 1]["position"] = {"x": 320, "y": (count - 1) * 150}
    return {
        "nodes": nodes,
        "edges": edges,
        "palette": PALETTE,
        "focus": None,
        "focus_seq": 0,
        "dirty": False,
        "height": 560,
    }


def load_model() -> dict[str, Any]:
    """The JSON file named after `--` on the command line, else the built-in sample."""
    if len(sys.argv) > 1:
        return json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    return sample(int(st.query_params.get("nodes", "6")))


st.set_page_config(page_title="flow canvas", layout="wide")
st.session_state["runs"] = st.session_state.get("runs", 0) + 1
st.session_state.setdefault("events", [])
with st.container(key="canvas-runs"):
    st.text(f"runs: {st.session_state['runs']}")

# As a problem clicked in the editor does: centre the view on a node (the last one).
st.session_state.setdefault("focus_seq", 0)
if st.button("Focus the last node", key="focus-last"):
    st.session_state["focus_seq"] += 1
model = load_model()
model["dirty"] = st.query_params.get("dirty") == "1"  # unsaved changes: leaving warns
if st.session_state["focus_seq"]:
    model["focus"] = model["nodes"][-1]["id"]
    model["focus_seq"] = st.session_state["focus_seq"]
if st.query_params.get("layout") == "narrow":
    with st.sidebar:
        st.write("Flows")
    # Gaps included, this gives the canvas column ~520 px at a 1280 x 800 window: as
    # narrow as the designer's at a ~1000 px one.
    canvas_column, panel = st.columns([0.64, 0.36])
    with panel:
        st.write("Side panel")
    with canvas_column:
        event = flow_canvas(model, key="canvas", height=560)
else:
    event = flow_canvas(model, key="canvas", height=560)
if event is not None:
    st.session_state["events"].append(event)

with st.container(key="canvas-events"):
    for seen in st.session_state["events"]:
        st.code(json.dumps(seen, sort_keys=True), language="json")
# Room below the canvas, so a wheel over it has a page to scroll.
st.markdown("<div style='height: 1600px'></div>", unsafe_allow_html=True)
