"""Save and publish with a note, the list of versions, and a diff between two of them."""

from __future__ import annotations

import difflib
import json
from typing import Any

import streamlit as st

from editor import session
from editor.client import ApiError


def render(document: dict[str, Any], report: dict[str, Any]) -> None:
    api = session.api()
    note = st.text_input(
        "Version note", key="version_note", placeholder="What changed, e.g. shorter subject"
    )
    save, publish = st.columns(2)
    # Callbacks, not `if st.button(...)`: they run before the next rerun starts, so a
    # rerun the canvas asks for meanwhile cannot cut a publish off half-way.
    save.button(
        "Save draft",
        key="save_draft",
        width="stretch",
        on_click=_act,
        args=(lambda: api.save(document, note), "Saved as version {version} (a draft).", None),
    )
    errors = len(report["errors"])
    publish.button(
        "Publish",
        key="publish",
        type="primary",
        disabled=bool(errors),
        width="stretch",
        help=f"Fix the {errors} error(s) first (see Problems)."
        if errors
        else "New contacts enter this version.",
        on_click=_act,
        args=(
            lambda: api.publish(document, note),
            "Published version {version}: new contacts enter it now.",
            "published",
        ),
    )
    outcome = st.session_state.get("version_outcome")
    if outcome:
        (st.success if outcome[0] == "ok" else st.error)(outcome[1])
    if errors:
        st.caption(f"Publishing is refused while {errors} error(s) remain.")
    _history(document["id"])


def _act(call: Any, success: str, status: str | None) -> None:
    """Save or publish; the outcome stays shown, and the header follows."""
    try:
        answer = call()
    except ApiError as exc:
        st.session_state.version_outcome = ("error", exc.message)
        return
    st.session_state.doc_version = answer["version"]
    session.saved_as_version()
    if status:
        st.session_state.doc_status = status
    st.session_state.version_outcome = ("ok", success.format(version=answer["version"]))


def _history(flow_id: str) -> None:
    api = session.api()
    try:
        listed = api.versions(flow_id)
    except ApiError as exc:
        if exc.status == 404:
            st.caption("Not saved yet: no versions.")
            return
        st.error(exc.message)
        return
    st.markdown("**Versions**")
    st.dataframe(
        [
            {
                "version": v["version"],
                "published": "✅" if v["published"] else "",
                "note": v.get("note") or "",
                "by": v.get("created_by") or "",
                "at": v["created_at"][:19].replace("T", " "),
            }
            for v in listed
        ],
        hide_index=True,
        width="stretch",
    )
    numbers = [v["version"] for v in listed]
    if len(numbers) < 2:
        return
    left, right = st.columns(2)
    old = left.selectbox("Compare version", numbers, index=1, key="diff_old")
    new = right.selectbox("with version", numbers, index=0, key="diff_new")
    if old == new:
        return
    try:
        before = api.version(flow_id, old)["document"]
        after = api.version(flow_id, new)["document"]
    except ApiError as exc:
        st.error(exc.message)
        return
    for line in summary(before, after):
        st.markdown(f"- {line}")
    with st.expander("Line by line"):
        st.code("\n".join(unified(before, after, old, new)) or "(identical)", language="diff")


def summary(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The changes in words: steps added, removed and changed, connections changed."""
    old = {n["id"]: n for n in [before["trigger"], *before.get("nodes", [])]}
    new = {n["id"]: n for n in [after["trigger"], *after.get("nodes", [])]}
    lines = [f"added step **{i}** ({new[i]['kind']})" for i in new if i not in old]
    lines += [f"removed step **{i}** ({old[i]['kind']})" for i in old if i not in new]
    for node_id in old.keys() & new.keys():
        a, b = old[node_id], new[node_id]
        fields = sorted(
            k
            for k in set(a.get("params", {})) | set(b.get("params", {}))
            if a.get("params", {}).get(k) != b.get("params", {}).get(k)
        )
        if fields:
            lines.append(f"changed **{node_id}**: {', '.join(fields)}")
        if a.get("label") != b.get("label"):
            lines.append(f"renamed **{node_id}**: '{a.get('label')}' → '{b.get('label')}'")
    edges = lambda d: {(e["from"], e.get("output", "next"), e["to"]) for e in d.get("edges", [])}  # noqa: E731
    for source, output, target in sorted(edges(after) - edges(before)):
        lines.append(f"connected {source} ({output}) → {target}")
    for source, output, target in sorted(edges(before) - edges(after)):
        lines.append(f"disconnected {source} ({output}) → {target}")
    return lines or ["no change in steps or connections"]


def unified(before: dict[str, Any], after: dict[str, Any], old: int, new: int) -> list[str]:
    text = lambda d: json.dumps(d, indent=2, ensure_ascii=False, sort_keys=True).splitlines()  # noqa: E731
    return list(difflib.unified_diff(text(before), text(after), f"v{old}", f"v{new}", lineterm=""))
