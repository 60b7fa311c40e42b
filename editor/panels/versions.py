"""Save and publish with a note, the list of versions, and a diff between two of them."""

from __future__ import annotations

import difflib
import json
from typing import Any

import streamlit as st

from editor import document as doc
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
    """The changes in words, steps by their names (as each version called them): steps
    added, removed and changed (which settings), renamed, connections changed."""
    was, now = doc.display_labels(before), doc.display_labels(after)
    old = {n["id"]: n for n in doc.all_nodes(before)}
    new = {n["id"]: n for n in doc.all_nodes(after)}
    lines = [f"added **{now[i]}** ({_kind_name(new[i])})" for i in new if i not in old]
    lines += [f"removed **{was[i]}** ({_kind_name(old[i])})" for i in old if i not in new]
    for node_id in [i for i in new if i in old]:
        a, b = old[node_id], new[node_id]
        if a.get("kind") != b.get("kind"):
            lines.append(f"**{now[node_id]}** is now {_kind_name(b)} (was {_kind_name(a)})")
        params_a, params_b = a.get("params") or {}, b.get("params") or {}
        fields = sorted(
            doc.param_title(b, k)
            for k in set(params_a) | set(params_b)
            if params_a.get(k) != params_b.get(k)
        )
        if fields:
            lines.append(f"changed **{now[node_id]}**: {', '.join(fields)}")
        if (a.get("label") or "") != (b.get("label") or "") and was[node_id] != now[node_id]:
            lines.append(f"renamed **{was[node_id]}** to **{now[node_id]}**")
    added, removed = _edges(after) - _edges(before), _edges(before) - _edges(after)
    for source, output, target in sorted(added):
        lines.append(f"connected {_edge_words(after, now, source, output, target)}")
    for source, output, target in sorted(removed):
        lines.append(f"disconnected {_edge_words(before, was, source, output, target)}")
    return lines or ["no change in steps or connections"]


def _kind_name(spec: dict[str, Any]) -> str:
    kind = doc.kind_of(spec)
    return kind.display_name if kind else str(spec.get("kind"))


def _edges(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["from"], e.get("output", "next"), e["to"]) for e in document.get("edges", [])}


def _edge_words(
    document: dict[str, Any], labels: dict[str, str], source: str, output: str, target: str
) -> str:
    """Says an edge as "**Wait for an open** (Timed out) → **Resend**": the output is
    named when the step has several ways on, or it is the error output (as the canvas
    labels its arrows)."""
    spec = doc.node(document, source) or {}
    outputs = {o.name: o.label for o in doc.outputs(spec)}
    ways = [name for name in outputs if name != doc.ERROR.name]
    named = len(ways) > 1 or output == doc.ERROR.name
    way = f" ({outputs.get(output, output)})" if named else ""
    return f"**{labels.get(source, source)}**{way} → **{labels.get(target, target)}**"


def unified(before: dict[str, Any], after: dict[str, Any], old: int, new: int) -> list[str]:
    text = lambda d: json.dumps(d, indent=2, ensure_ascii=False, sort_keys=True).splitlines()  # noqa: E731
    return list(difflib.unified_diff(text(before), text(after), f"v{old}", f"v{new}", lineterm=""))
