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
    copy_id = duplicate.text_input("Copy as (id)", value=f"{chosen}-copy", key="copy_id")
    if duplicate.button("Duplicate", key="duplicate_flow", width="stretch"):
        _duplicate(chosen, copy_id)
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


def _duplicate(flow_id: str, new_id: str) -> None:
    if not FLOW_ID.match(new_id):
        st.error("The id takes lowercase letters, digits and -, starting with a letter or digit.")
        return
    try:
        source = session.api().flow(flow_id)["latest"]["document"]
        copy = doc.from_template(source, new_id, f"{source['name']} (copy)")
        saved = session.api().save(copy, f"copy of {flow_id}")
    except ApiError as exc:
        st.error(exc.message)
        return
    session.open_document(copy, version=saved["version"])
    st.switch_page("pages/page_designer.py")


def _suggest_id() -> None:
    """An id from the name as it is typed (Latin letters and digits; edit it freely)."""
    name = st.session_state.get("new_name", "")
    st.session_state.new_id = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63]


def _create(flows: list[dict[str, Any]]) -> None:
    st.subheader("New flow")
    taken = {f["flow_id"] for f in flows}
    left, right = st.columns(2)
    name = left.text_input(
        "Name", key="new_name", placeholder="Spring webinar follow-up", on_change=_suggest_id
    )
    flow_id = right.text_input("Id", key="new_id", help="Lowercase letters, digits and -.")
    problem = None
    if flow_id and not FLOW_ID.match(flow_id):
        problem = "The id takes lowercase letters, digits and -, starting with a letter or digit."
    elif flow_id in taken:
        problem = f"A flow with id '{flow_id}' exists: choose another id."
    if problem:
        st.error(problem)
    ready = bool(name.strip() and flow_id and not problem)
    if st.button("Start blank", key="new_blank", disabled=not ready):
        session.open_document(doc.blank(flow_id, name.strip()))
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
        st.caption("Give the new flow a name (and an id) to use a template.")
