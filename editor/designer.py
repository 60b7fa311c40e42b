"""The designer page: the canvas, the palette, the selected node's form, problems, the
compiled preview, test runs, versions and analytics of the open flow."""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit_flow import streamlit_flow

from editor import canvas, forms, session
from editor import document as doc
from editor.panels import analytics, preview, test_run, versions
from flows.validate import validate

CANVAS_HEIGHT = 640
MIN_ZOOM = 0.15  # fit_view shows a whole 20-step flow only below React Flow's default 0.5


def main() -> None:
    document = session.document()
    if document is None:
        st.info("Open a flow first: pick one, or start from a template, on the Flows page.")
        st.page_link("pages/page_flows.py", label="Go to Flows", icon="🗂️")
        return
    report = validate(document).to_dict()
    st.session_state.report = report
    _header(document, report)
    _sidebar(document)
    overlay = _overlay(report)
    _canvas(document, overlay)
    tabs = st.tabs(["Node", "Problems", "Preview", "Test run", "Save & publish", "Analytics"])
    with tabs[0]:
        _node_panel(document, report)
    with tabs[1]:
        _problems(report)
    with tabs[2]:
        preview.render(document, report)
    with tabs[3]:
        test_run.render(document, report)
    with tabs[4]:
        versions.render(document, report)
    with tabs[5]:
        analytics.render(document)


def _header(document: dict[str, Any], report: dict[str, Any]) -> None:
    status = st.session_state.get("doc_status", "draft")
    version = st.session_state.get("doc_version")
    title, badge = st.columns([4, 2])
    title.subheader(f"{document.get('name', '')}")
    shown = f"{status}" + (f" · v{version}" if version else " · not saved")
    problems = len(report["errors"])
    badge.markdown(
        f"`{document.get('id')}` · {shown} · "
        + (f":red[{problems} error{'s' if problems > 1 else ''}]" if problems else ":green[valid]")
    )


def _sidebar(document: dict[str, Any]) -> None:
    selected = st.session_state.get("selected")
    with st.sidebar:
        st.markdown("### Add a step")
        groups = doc.palette()
        category = st.radio(
            "Category",
            ["action", "control"],
            horizontal=True,
            key="palette_category",
            format_func={"action": "Actions", "control": "Control"}.get,
        )
        kinds = groups[category]
        choice = st.selectbox(
            "Step",
            [k.name for k in kinds],
            format_func=lambda name: next(
                f"{k.icon} {k.display_name}" for k in kinds if k.name == name
            ),
            key="palette_kind",
        )
        described = next(k for k in kinds if k.name == choice)
        st.caption(described.description)
        after = selected if selected and doc.node(document, selected) else None
        label = f"Add after '{after}'" if after else "Add"
        if st.button(label, key="add_node", type="primary", width="stretch"):
            new = session.change(doc.add_node, choice, after)
            st.session_state.selected = new
            st.rerun()
        st.markdown("### Edit")
        left, right = st.columns(2)
        if left.button(
            "↶ Undo", disabled=not st.session_state.get("undo"), width="stretch", key="undo_button"
        ):
            session.undo()
            st.rerun()
        if right.button(
            "↷ Redo", disabled=not st.session_state.get("redo"), width="stretch", key="redo_button"
        ):
            session.redo()
            st.rerun()
        if st.button("Auto-layout", width="stretch", key="auto_layout"):
            session.change(doc.auto_layout)
            st.rerun()
        is_step = bool(after) and after != document["trigger"]["id"]
        left, right = st.columns(2)
        if left.button("Copy node", disabled=not is_step, width="stretch", key="copy_node"):
            st.session_state.selected = session.change(doc.copy_node, after)
            st.rerun()
        if right.button("Delete node", disabled=not is_step, width="stretch", key="delete_node"):
            session.change(doc.delete_node, after)
            st.session_state.selected = None
            st.rerun()
        st.checkbox(
            "Show counts on the canvas",
            key="show_counts",
            help="Contacts that entered, wait, met a goal or failed at each step (published flows).",
        )


def _overlay(report: dict[str, Any]) -> canvas.Overlay:
    overlay = canvas.Overlay()
    for issue in report["errors"]:
        if issue.get("node_id"):
            overlay.errors.setdefault(issue["node_id"], []).append(issue["message"])
    for issue in report["warnings"]:
        if issue.get("node_id"):
            overlay.warnings.setdefault(issue["node_id"], []).append(issue["message"])
    run = st.session_state.get("test_run")
    if run:
        overlay.path = [session.document()["trigger"]["id"], *run["nodes"]]
    if st.session_state.get("show_counts"):
        overlay.counts = st.session_state.get("counts") or {}
    return overlay


def _canvas(document: dict[str, Any], overlay: canvas.Overlay) -> None:
    """Draw the canvas and take the marketer's edits from it.

    Streamlit hands back the component's last value on every rerun, and the component
    answers each new state it is given with a value of its own: only a value stamped after
    the state drawn is news, and only moves, connections, deletions and clicks in it are
    edits. When what the canvas shows differs from what the document and its problems
    say, a new state goes out, stamped after everything the component has sent."""
    seen = st.session_state.get("canvas_seen", 0)
    selected = st.session_state.get("selected")
    fresh = canvas.state(document, overlay, selected, after=seen)
    shown = st.session_state.get("canvas")
    if shown is None or canvas.drawing(shown) != canvas.drawing(fresh):
        shown = fresh
    answer = streamlit_flow(
        "flow_canvas",
        shown,
        height=CANVAS_HEIGHT,
        fit_view=True,
        min_zoom=MIN_ZOOM,
        show_controls=True,
        show_minimap=True,
        allow_new_edges=True,
        get_node_on_click=True,
        enable_node_menu=True,
        enable_edge_menu=True,
        hide_watermark=True,
    )
    if answer.timestamp <= shown.timestamp:
        st.session_state.canvas = shown
        return
    st.session_state.canvas_seen = answer.timestamp
    before = session.snapshot()
    structural = canvas.apply(document, answer)
    session.record(before)
    # A click selects; the canvas answering a redraw carries no selection, which must not
    # unselect the node whose form is open.
    clicked = answer.selected_id
    if clicked and clicked != selected and doc.node(document, clicked):
        st.session_state.selected = clicked
        structural = True
    redraw = canvas.state(
        document, overlay, st.session_state.get("selected"), after=answer.timestamp
    )
    if structural or canvas.drawing(answer) != canvas.drawing(redraw):
        st.session_state.canvas = redraw
        st.rerun()
    st.session_state.canvas = answer  # only moved: keep the canvas as the marketer left it


def _node_panel(document: dict[str, Any], report: dict[str, Any]) -> None:
    selected = st.session_state.get("selected")
    spec = doc.node(document, selected) if selected else None
    if spec is None:
        st.info("Select a step on the canvas (click it) to edit it.")
        return
    kind = doc.kind_of(spec)
    if kind is None:
        st.error(
            f"Unknown step kind '{spec.get('kind')}': delete this step or change its kind in the JSON."
        )
        return
    issues = [i for i in report["errors"] + report["warnings"] if i.get("node_id") == spec["id"]]
    st.markdown(f"#### {kind.icon} {kind.display_name}")
    st.caption(kind.description)
    before = session.snapshot()
    if spec is document["trigger"]:
        _trigger_kind(spec)
    label = st.text_input(
        "Label",
        value=spec.get("label", ""),
        key=f"label:{spec['id']}",
        help="What this step is called on the canvas and in reports.",
    )
    spec["label"] = label
    for issue in issues:
        if ".params." not in issue["path"]:
            (st.error if issue["severity"] == "error" else st.warning)(issue["message"], icon="⚠️")
    if kind.name == "send_email":
        with st.expander("Personalisation tokens"):
            st.code("\n".join(forms.personalisation_tokens()), language="jinja2")
    schema = kind.Params.model_json_schema()
    spec["params"] = forms.params_form(spec["id"], schema, spec.get("params") or {}, issues)
    _outputs(document, spec)
    session.record(before)
    if session.snapshot() != before:
        # Validation ran before this form: run again so that problems, the canvas and the
        # field messages all show the document as it is now.
        st.rerun()
    if kind.name == "send_email":
        test_run.email_preview(document, spec)


def _trigger_kind(spec: dict[str, Any]) -> None:
    """What starts the flow: changing it starts the trigger's params afresh."""
    triggers = doc.palette()["trigger"]
    names = [k.name for k in triggers]
    chosen = st.selectbox(
        "What starts this flow",
        names,
        index=names.index(spec["kind"]) if spec["kind"] in names else 0,
        format_func=lambda n: next(f"{k.icon} {k.display_name}" for k in triggers if k.name == n),
        key=f"trigger_kind:{spec['id']}",
    )
    if chosen != spec["kind"]:
        spec["kind"], spec["params"] = chosen, {}
        st.session_state.pop(f"trigger_kind:{spec['id']}", None)


def _outputs(document: dict[str, Any], spec: dict[str, Any]) -> None:
    """Where each of the node's outputs leads: the canvas draws one handle, so which output
    a connection is (yes or no, a variant, happened or timed out) is chosen here."""
    outputs = doc.outputs(spec)
    if not outputs:
        return
    st.markdown("**Outputs**")
    targets = [n["id"] for n in document.get("nodes", []) if n["id"] != spec["id"]]
    leads = {
        e.get("output", "next"): e["to"]
        for e in document.get("edges", [])
        if e["from"] == spec["id"]
    }
    for output in outputs:
        current = leads.get(output.name)
        options = ["(not connected)", *targets]
        chosen = st.selectbox(
            output.label,
            options,
            index=options.index(current) if current in options else 0,
            key=f"output:{spec['id']}:{output.name}",
        )
        if chosen != (current or "(not connected)"):
            if chosen == "(not connected)":
                doc.disconnect(document, spec["id"], output.name)
            else:
                doc.connect(document, spec["id"], output.name, chosen)


def _problems(report: dict[str, Any]) -> None:
    if not report["errors"] and not report["warnings"]:
        st.success("No problems: the flow can be published.")
        return
    for issue in report["errors"]:
        where = f"**{issue['node_id']}** · " if issue.get("node_id") else ""
        st.error(f"{where}{issue['message']}  \n`{issue['path']}`", icon="⛔")
    for issue in report["warnings"]:
        where = f"**{issue['node_id']}** · " if issue.get("node_id") else ""
        st.warning(f"{where}{issue['message']}  \n`{issue['path']}`", icon="⚠️")
