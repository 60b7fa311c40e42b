"""The designer page: the canvas with the selected step's settings beside it, problems,
test runs and publishing in the same side panel, and below them the compiled preview and
analytics of the open flow. Changes are autosaved as the flow's working copy."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from editor import canvas, conditions, email_author, forms, problems, session
from editor import document as doc
from editor.client import ApiError
from editor.flow_canvas import flow_canvas
from editor.panels import analytics, preview, test_run, versions
from flows.model import Settings
from flows.validate import validate

CANVAS_HEIGHT = 560
# The side panel scrolls inside a box as tall as the toolbar and canvas beside it, so a
# long form never scrolls the canvas out of view (at 1280 x 800 both fit the window).
PANEL_HEIGHT = CANVAS_HEIGHT + 8


def main() -> None:
    document = _open_document()
    if document is None:
        st.info("Open a flow first: pick one, or start from a template, on the Flows page.")
        st.page_link("pages/page_flows.py", label="Go to Flows", icon="🗂️")
        return
    report = validate(document).to_dict()
    st.session_state.report = report
    described = [
        problems.describe(issue, document) for issue in report["errors"] + report["warnings"]
    ]
    _header(document, report)
    left, right = st.columns([7, 4], gap="small")
    with left:
        _toolbar(document)
        _canvas(document, _overlay(report))
    with right:
        count = len(report["errors"])
        tabs = st.tabs(
            ["Step", f"Problems ({count})" if count else "Problems", "Test run", "Publish"]
        )
        with tabs[0], _panel("step"):
            _node_panel(document, report)
        with tabs[1], _panel("problems"):
            _problems(described)
        with tabs[2], _panel("test-run"):
            test_run.render(document, report)
        with tabs[3], _panel("publish"):
            versions.render(document, report)
    below = st.tabs(["Analytics", "How it runs"])
    with below[0]:
        analytics.render(document)
    with below[1]:
        preview.render(document, report)


def _panel(name: str) -> Any:
    return st.container(height=PANEL_HEIGHT, border=False, key=f"panel-{name}")


def _open_document() -> dict[str, Any] | None:
    """The open flow; after a reload, the one the page's address names, with its unsaved
    changes brought back."""
    document = session.document()
    wanted = st.query_params.get("flow")
    if document is None and wanted:
        try:
            session.load_flow(wanted)
        except ApiError as exc:
            st.error(f"Could not reopen flow '{wanted}': {exc.message}")
            return None
        document = session.document()
    elif document is not None and wanted != document["id"]:
        st.query_params["flow"] = document["id"]
    return document


def _header(document: dict[str, Any], report: dict[str, Any]) -> None:
    status = st.session_state.get("doc_status", "draft")
    version = st.session_state.get("doc_version")
    title, badge = st.columns([3, 2])
    title.subheader(f"{document.get('name', '')}")
    shown = status + (f" · v{version}" if version else " · no version saved yet")
    errors = len(report["errors"])
    badge.markdown(
        shown
        + " · "
        + (
            f":red[{errors} problem{'s' if errors > 1 else ''}]"
            if errors
            else ":green[ready to publish]"
        )
    )
    with badge:
        _autosave_status()
    note = session.restored_note()
    if note:
        st.info(note, icon="↩️")
        st.session_state.restored = None


@st.fragment(run_every="2s")
def _autosave_status() -> None:
    """Keep the working copy once the marketer pauses, and say so."""
    was_unsaved = session.unsaved()
    problem = session.autosave()
    if was_unsaved and not session.unsaved():
        st.rerun(scope="app")  # the canvas stops warning before leaving: all is kept
    if problem:
        st.caption(f":red[{problem}]")
    elif session.unsaved():
        st.caption("Saving…")
    elif st.session_state.get("autosaved_at"):
        st.caption("All changes kept ✓")


def _toolbar(document: dict[str, Any]) -> None:
    """Edit tools in one row over the canvas (adding a step is on the canvas itself: drag
    from its palette, or ＋ on an arrow; "Add after" is here for keyboard users)."""
    selected = st.session_state.get("selected")
    after = selected if selected and doc.node(document, selected) else None
    is_step = bool(after) and after != document["trigger"]["id"]
    bar = st.container(horizontal=True, gap="small", vertical_alignment="center")
    with bar.popover("Add", icon="➕", help="Add a step after the selected one."):
        _add_after(document, after)
    if bar.button(
        "Undo",
        icon=":material/undo:",
        disabled=not st.session_state.get("undo"),
        key="undo_button",
    ):
        session.undo()
        st.rerun()
    if bar.button(
        "Redo",
        icon=":material/redo:",
        disabled=not st.session_state.get("redo"),
        key="redo_button",
    ):
        session.redo()
        st.rerun()
    if bar.button(
        "Tidy up",
        key="auto_layout",
        help="Lay the steps out again, top to bottom.",
    ):
        session.change(doc.auto_layout)
        st.rerun()
    if bar.button(
        "Copy",
        disabled=not is_step,
        key="copy_node",
        help="Copy the selected step.",
    ):
        canvas.show(session.change(doc.copy_node, after))
        st.rerun()
    if bar.button(
        "Delete",
        disabled=not is_step,
        key="delete_node",
        help="Delete the selected step.",
    ):
        session.change(doc.delete_node, after)
        st.session_state.selected = None
        st.rerun()
    bar.toggle(
        "Counts",
        key="show_counts",
        help="Contacts that entered, wait, met a goal or failed at each step (published flows).",
    )


def _add_after(document: dict[str, Any], after: str | None) -> None:
    groups = doc.palette()
    kinds = groups["action"] + groups["control"]
    choice = st.selectbox(
        "Step",
        [k.name for k in kinds],
        format_func=lambda name: next(
            f"{k.icon} {k.display_name}" for k in kinds if k.name == name
        ),
        key="palette_kind",
    )
    st.caption(next(k for k in kinds if k.name == choice).description)
    where = f"after '{doc.display_labels(document)[after]}'" if after else "at the end"
    if st.button(f"Add {where}", key="add_node", type="primary", width="stretch"):
        canvas.show(session.change(doc.add_node, choice, after))
        st.rerun()


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
        overlay.emails = st.session_state.get("email_counts") or {}
    return overlay


def _canvas(document: dict[str, Any], overlay: canvas.Overlay) -> None:
    """Draw the canvas and apply what the marketer did on it. The component keeps its own
    view (zoom, pan) across reruns; each event it sends is applied once."""
    drawn = canvas.model(
        document,
        overlay,
        st.session_state.get("selected"),
        focus=st.session_state.get("focus"),
        focus_seq=st.session_state.get("focus_seq", 0),
        dirty=session.unsaved(),
        height=CANVAS_HEIGHT,
    )
    event = flow_canvas(drawn, key="flow_canvas", height=CANVAS_HEIGHT)
    if event and canvas.handle(event):
        st.rerun()


def _node_panel(document: dict[str, Any], report: dict[str, Any]) -> None:
    selected = st.session_state.get("selected")
    spec = doc.node(document, selected) if selected else None
    if spec is None:
        _flow_settings(document)
        return
    kind = doc.kind_of(spec)
    if kind is None:
        st.error(f"Unknown step kind '{spec.get('kind')}': delete this step.")
        return
    issues = [i for i in report["errors"] + report["warnings"] if i.get("node_id") == spec["id"]]
    st.markdown(f"#### {kind.icon} {doc.display_label(spec, document)}")
    st.caption(kind.description)
    before = session.snapshot()
    if spec is document["trigger"]:
        _trigger_kind(spec)
    labels = doc.display_labels(document)
    typed = st.text_input(
        "Name",
        value=spec.get("label", "") if doc.is_user_label(spec, document) else "",
        key=f"label:{spec['id']}@{session.form_generation()}",
        placeholder=doc.summary(spec, labels),
        help="What this step is called on the canvas and in reports. "
        "Left empty, it says what the step does.",
    )
    doc.set_label(document, spec["id"], typed)
    for issue in issues:
        if ".params." not in issue["path"]:
            shown = problems.describe(issue, document)
            (st.error if issue["severity"] == "error" else st.warning)(shown.text, icon="⚠️")
    schema = kind.Params.model_json_schema()
    params = forms.params_form(
        spec["id"], schema, spec.get("params") or {}, issues, **_form_context(document, spec)
    )
    doc.set_params(document, spec["id"], params)  # an automatic name follows the settings
    _outputs(document, spec)
    session.record(before)
    if session.snapshot() != before:
        # Validation ran before this form: run again so that problems, the canvas and the
        # field messages all show the document as it is now.
        st.rerun()
    _next_steps(document, spec["id"])
    if forms.has_email_body(schema):
        _email_tools(document, spec)


def _flow_settings(document: dict[str, Any]) -> None:
    """With no step selected: the flow's own name, description and settings (drawn from
    flows.model.Settings, as a step's form is drawn from its kind)."""
    st.markdown("#### Flow settings")
    st.caption("Click a step on the canvas to change its settings instead.")
    before = session.snapshot()
    generation = session.form_generation()  # undo redraws these from the document
    name = st.text_input("Flow name", value=document.get("name", ""), key=f"flow_name@{generation}")
    if name.strip() and name.strip() != document.get("name"):
        document["name"] = name.strip()
    about = st.text_area(
        "Description",
        value=document.get("description", ""),
        key=f"flow_description@{generation}",
        placeholder="What this flow is for, for your team",
    )
    if about != document.get("description", ""):
        document["description"] = about
    schema = Settings.model_json_schema()
    current = document.get("settings") or {}
    chosen = forms.params_form("flow-settings", schema, current, [])
    if chosen != current:
        document["settings"] = chosen
    session.record(before)
    if session.snapshot() != before:
        st.rerun()


def _form_context(document: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """What a form's pickers offer: this flow's emails by name and, for what starts the
    flow, a live count of the contacts its criteria match."""
    context: dict[str, Any] = {"emails": conditions.email_steps(document)}
    if spec is document["trigger"]:
        context["preview"] = session.api().preview_segment
        context["segments"] = _saved_segments
    return context


SEGMENTS_FRESH = 60.0  # seconds a listing of saved segments is reused across reruns


def _saved_segments() -> list[dict[str, Any]]:
    """The saved segments, read at most once a minute (not on every rerun)."""
    kept = st.session_state.get("saved_segments")
    if kept is None or time.monotonic() - kept[0] > SEGMENTS_FRESH:
        kept = (time.monotonic(), session.api().segments())
        st.session_state.saved_segments = kept
    return kept[1]


def _email_tools(document: dict[str, Any], spec: dict[str, Any]) -> None:
    """Personalisation, a preview that stays, and a test sent to yourself."""
    with st.expander("Personalise: insert a field", expanded=False):
        email_author.token_picker(f"tokens:{spec['id']}", on_insert=_inserter(spec["id"]))
    st.markdown("**Preview**")
    email_author.preview(document, spec, f"preview:{spec['id']}")
    email_author.send_test(document, spec, f"send_test:{spec['id']}")


def _inserter(node_id: str) -> Any:
    def insert(chosen: email_author.Insert) -> None:
        document = session.document()
        spec = doc.node(document, node_id) if document else None
        if spec is None:
            return
        if chosen.target == "body" and email_author.add_token(
            forms.field_key(node_id, "body"), chosen.token
        ):
            return  # the blocks editor takes it into the body on this run
        before = session.snapshot()
        params = spec.setdefault("params", {})
        field = "subject" if chosen.target == "subject" else "body"
        params[field] = f"{(params.get(field) or '').rstrip()} {chosen.token}".lstrip()
        session.record(before)
        session.refresh_forms()  # the field shows the document's value, not its own

    return insert


def _trigger_kind(spec: dict[str, Any]) -> None:
    """What starts the flow, one click among all triggers: changing it starts the
    trigger's params afresh."""
    triggers = {k.name: k for k in doc.palette()["trigger"]}
    key = f"trigger_kind:{spec['id']}"
    if st.session_state.get(key) not in triggers:
        st.session_state[key] = spec["kind"] if spec["kind"] in triggers else None
    chosen = st.pills(
        "What starts this flow",
        list(triggers),
        format_func=lambda n: f"{triggers[n].icon} {triggers[n].display_name}",
        key=key,
    )
    if chosen is None:  # clicking the chosen pill again unselects it: keep the trigger
        st.session_state.pop(key, None)
        st.rerun()
    if chosen != spec["kind"]:
        spec["kind"], spec["params"] = chosen, {}


def _outputs(document: dict[str, Any], spec: dict[str, Any]) -> None:
    """Where each of the step's outputs leads, chosen by the next step's name (the canvas
    can do the same by dragging from the output's handle)."""
    outputs = doc.outputs(spec)
    if not outputs:
        return
    st.markdown("**Then**")
    labels = doc.display_labels(document)
    targets = [n["id"] for n in document.get("nodes", []) if n["id"] != spec["id"]]
    leads = {
        e.get("output", "next"): e["to"]
        for e in document.get("edges", [])
        if e["from"] == spec["id"]
    }
    for output in outputs:
        current = leads.get(output.name)
        options = [None, *targets]
        chosen = st.selectbox(
            output.label,
            options,
            index=options.index(current) if current in options else 0,
            format_func=lambda n: (
                "(nothing: the flow ends here)" if n is None else labels.get(n, n)
            ),
            key=f"output:{spec['id']}:{output.name}",
        )
        if chosen != current:
            if chosen is None:
                doc.disconnect(document, spec["id"], output.name)
            else:
                doc.connect(document, spec["id"], output.name, chosen)


def _next_steps(document: dict[str, Any], node_id: str) -> None:
    """One click for what usually comes next (a wait for this email's open, a resend to
    those who did not open it…), as the step's kind offers it."""
    offered = doc.next_steps(document, node_id)
    for number, step in enumerate(offered):
        if st.button(step.label, key=f"next:{node_id}:{number}", icon=":material/add:"):
            canvas.show(session.change(doc.add_next_step, node_id, step))
            st.rerun()


def _problems(described: list[problems.Problem]) -> None:
    if not described:
        st.success("No problems: the flow can be published.")
        return
    for number, problem in enumerate(described):
        box = st.container(border=True)
        (box.error if problem.severity == "error" else box.warning)(
            problem.text, icon="⛔" if problem.severity == "error" else "⚠️"
        )
        show, details = box.columns([1, 2])
        if problem.node_id and show.button("Show on canvas", key=f"problem:{number}"):
            canvas.show(problem.node_id)
            st.rerun()
        with details.expander("Details for developers"):
            st.code(problem.path, language=None)
