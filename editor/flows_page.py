"""The flows page: every flow with its status, version and contacts in it; open, duplicate
or delete one; start a new one blank or from the template gallery."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from editor import document as doc
from editor import session
from editor.client import ApiError
from editor.thumbnail import dot

FLOW_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def main() -> None:
    st.title("Flows")
    api = session.api()
    try:
        flows = api.flows()
    except ApiError as exc:
        st.error(f"{exc.message}. Is the local stack running (`make run`)?", icon="⛔")
        return
    _listing(flows)
    st.divider()
    _create(flows)


def _listing(flows: list[dict[str, Any]]) -> None:
    if not flows:
        st.info("No flows yet: start one below, from a template or blank.")
        return
    st.dataframe(
        [
            {
                "flow": f["name"],
                "id": f["flow_id"],
                "status": f["status"],
                "published version": f.get("published_version"),
                "latest version": f.get("latest_version"),
                "contacts in flow": f.get("active", 0),
                "trigger": f.get("trigger_kind") or "",
            }
            for f in flows
        ],
        hide_index=True,
        width="stretch",
    )
    ids = [f["flow_id"] for f in flows]
    chosen = st.selectbox(
        "Flow", ids, key="flow_pick", format_func=lambda i: f"{_name(flows, i)} ({i})"
    )
    record = next(f for f in flows if f["flow_id"] == chosen)
    open_, duplicate, delete = st.columns(3)
    if open_.button("Open in designer", type="primary", key="open_flow", width="stretch"):
        _open(chosen)
    if duplicate.button(
        "Duplicate",
        key="duplicate_flow",
        width="stretch",
        help="A new draft named after this one, with '(copy)'.",
    ):
        _duplicate(chosen, {f["flow_id"] for f in flows})
    is_draft = record["status"] == "draft"
    if delete.button(
        "Delete draft",
        key="delete_flow",
        disabled=not is_draft,
        width="stretch",
        help="Only a flow that was never published can be deleted." if not is_draft else None,
    ):
        try:
            session.api().delete_draft(chosen)
        except ApiError as exc:
            st.error(exc.message)
        else:
            st.success(f"Deleted '{chosen}'.")
            st.rerun()


def _name(flows: list[dict[str, Any]], flow_id: str) -> str:
    return next(f["name"] for f in flows if f["flow_id"] == flow_id)


def _open(flow_id: str) -> None:
    try:
        session.load_flow(flow_id)
    except ApiError as exc:
        st.error(exc.message)
        return
    st.switch_page("pages/page_designer.py")


def _duplicate(flow_id: str, taken: set[str]) -> None:
    try:
        source = session.api().flow(flow_id)["latest"]["document"]
        name = f"{source['name']} (copy)"
        copy = doc.from_template(source, suggested_id(name, taken), name)
        saved = session.api().save(copy, f"copy of {flow_id}")
    except ApiError as exc:
        st.error(exc.message)
        return
    session.open_document(copy, version=saved["version"])
    st.switch_page("pages/page_designer.py")


def suggested_id(name: str, taken: set[str]) -> str:
    """A flow id from its name: Latin letters and digits joined by -, numbered when
    taken; a name with none of them (Persian, Arabic…) gets "flow", numbered too."""
    stem = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:56] or "flow"
    candidate, number = stem, 2
    while candidate in taken:
        candidate, number = f"{stem}-{number}", number + 1
    return candidate


def _create(flows: list[dict[str, Any]]) -> None:
    st.subheader("New flow")
    taken = {f["flow_id"] for f in flows}
    name = st.text_input("Name", key="new_name", placeholder="Spring webinar follow-up")
    # The id (the flow's address in URLs and the API) follows the name unless it is set
    # by hand under "Advanced"; a marketer never has to think of it.
    with st.expander("Advanced: the flow's id"):
        typed = st.text_input(
            "Id",
            key="new_id",
            placeholder=suggested_id(name, taken) if name.strip() else "from the name",
            help="Lowercase letters, digits and -. Empty: made from the name.",
        ).strip()
    flow_id = typed or (suggested_id(name, taken) if name.strip() else "")
    problem = None
    if typed and not FLOW_ID.match(typed):
        problem = "The id takes lowercase letters, digits and -, starting with a letter or digit."
    elif typed in taken:
        problem = f"A flow with id '{typed}' exists: choose another id."
    if problem:
        st.error(problem)
    ready = bool(name.strip() and flow_id and not problem)
    if st.button("Start blank", key="new_blank", disabled=not ready):
        blank = doc.blank(flow_id, name.strip())
        session.open_document(blank)
        st.session_state.selected = blank["trigger"]["id"]  # first: what starts it
        st.switch_page("pages/page_designer.py")
    st.markdown("**Or start from a template**")
    gallery = doc.templates()
    columns = st.columns(3)
    for number, template in enumerate(gallery):
        with columns[number % 3].container(border=True):
            st.markdown(f"**{template['name']}**")
            st.caption(template.get("description", "")[:220])
            st.graphviz_chart(dot(template), width="stretch")
            if st.button("Use this template", key=f"use-{template['id']}", disabled=not ready):
                session.open_document(doc.from_template(template, flow_id, name.strip()))
                st.switch_page("pages/page_designer.py")
    if not ready:
        st.caption("Give the new flow a name to start it, blank or from a template.")
