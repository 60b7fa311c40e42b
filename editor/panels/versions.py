"""Save and publish with a note, the list of versions, and a diff between two of them."""

from __future__ import annotations

import difflib
import json
from typing import Any

import streamlit as st

from editor import document as doc
from editor import session
from editor.client import ApiError
from flows.diff import changes


def render(document: dict[str, Any], report: dict[str, Any]) -> None:
    api = session.api()
    if st.session_state.pop("version_kept", False):
        st.session_state.version_note = ""  # the next version's note starts empty
    note = st.text_input(
        "Version note", key="version_note", placeholder="What changed, e.g. shorter subject"
    )
    save, publish = st.columns(2)
    # Callbacks, not `if st.button(...)`: they run before the next rerun starts, so a
    # rerun the canvas asks for meanwhile cannot cut a save off half-way.
    save.button(
        "Save draft",
        key="save_draft",
        width="stretch",
        on_click=_act,
        args=(lambda: api.save(document, note), "Saved as version {version} (a draft).", None),
    )
    errors = len(report["errors"])
    publish.button(
        "Publish…",
        key="publish",
        type="primary",
        disabled=bool(errors),
        width="stretch",
        help=f"Fix the {errors} error(s) first (see Problems)."
        if errors
        else "See what publishing does, then confirm.",
        on_click=_asking,
        args=(True,),
    )
    # Open across reruns until it is answered or dismissed (a rerun the canvas or the
    # autosave asks for meanwhile must not close it).
    if st.session_state.get("confirming_publish") and not errors:
        _confirm_publish(document, note)
    outcome = st.session_state.get("version_outcome")
    if outcome:
        (st.success if outcome[0] == "ok" else st.error)(outcome[1])
    if errors:
        st.caption(f"Publishing is refused while {errors} error(s) remain.")
    _history(document["id"])


def _asking(value: bool) -> None:
    st.session_state.confirming_publish = value
    st.session_state.publish_impact = None  # asked afresh each time


def _impact(document: dict[str, Any]) -> dict[str, Any]:
    """The API's impact preview, asked once while the dialog is open on this document."""
    mark = session.snapshot()
    kept = st.session_state.get("publish_impact")
    if kept is None or kept[0] != mark:
        kept = (mark, session.api().publish_preview(document))
        st.session_state.publish_impact = kept
    return kept[1]


@st.dialog("Publish this flow?", width="large", on_dismiss=lambda: _asking(False))
def _confirm_publish(document: dict[str, Any], note: str) -> None:
    """The impact preview, computed by the API, then one button that publishes."""
    try:
        impact = _impact(document)
    except ApiError as exc:
        st.error(exc.message, icon="⛔")
        if st.button("Close", key="publish_failed_close"):
            _asking(False)
            st.rerun()
        return
    big = impact_lines(impact, doc.display_labels(document))
    for line in big:
        st.markdown(f"- {line}")
    at_once = impact["trigger"]["enrolled_at_once"] or 0
    if at_once >= LARGE_SEND:
        st.warning(f"This mails {at_once:,} contacts as soon as it is published.", icon="📣")
    go, cancel = st.columns(2)
    if go.button("Publish now", key="publish_confirmed", type="primary", width="stretch"):
        _asking(False)
        _act(
            lambda: session.api().publish(document, note),
            "Published version {version}: new contacts enter it now.",
            "published",
        )
        st.rerun()
    if cancel.button("Not now", key="publish_cancelled", width="stretch"):
        _asking(False)
        st.rerun()


LARGE_SEND = 1000  # contacts enrolled at once from which the dialog warns


def impact_lines(impact: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """The impact preview in a marketer's words, one sentence each."""
    trigger, week = impact["trigger"], impact["first_week"]
    about = "" if trigger["exact"] else "about "
    lines = []
    at_once, matching = trigger["enrolled_at_once"], trigger["matching_now"]
    if trigger["batch"] and at_once is not None:
        lines.append(f"**{about}{at_once:,} contacts** enter: {trigger['note']}.")
    elif trigger["batch"]:
        lines.append(f"Contacts enter in a batch, but {trigger['note']}.")
    elif matching is not None:
        lines.append(
            f"**{about}{matching:,} contacts** match its conditions today; {trigger['note']}."
        )
    else:
        lines.append(f"Nobody enters at once: {trigger['note']}.")
    live, in_flight = impact["live_version"], impact["in_flight"]
    if in_flight:
        lines.append(
            f"**{in_flight:,} contacts** are in the flow now: they finish on version {live}."
        )
    else:
        lines.append("No one is in the flow now.")
    changed = [labels.get(i, i) for i in impact["changed_steps"]]
    if live is None:
        lines.append(f"First publication: {len(changed)} steps.")
    elif changed:
        lines.append(f"Changed since version {live}: {', '.join(changed)}.")
    else:
        lines.append(f"No step changed since version {live}.")
    lines.append(
        f"Each contact gets {_range(week['emails_per_contact'], 'email')} and "
        f"{_range(week['sms_per_contact'], 'SMS', 'SMS')} in their first week."
    )
    if at_once:
        lines.append(
            f"Those entering at once: {_range(week['emails_at_once'], 'email')} and "
            f"{_range(week['sms_at_once'], 'SMS', 'SMS')} in the first week in all."
        )
    return lines


def _range(bounds: list[int], one: str, many: str | None = None) -> str:
    low, high = bounds
    word = one if high == 1 else (many or f"{one}s")
    if high == 0:
        return f"no {many or one + 's'}"
    return f"{high:,} {word}" if low == high else f"{low:,}–{high:,} {word}"


def _versions(flow_id: str) -> list[dict[str, Any]] | None:
    """The flow's versions, read once per saved version (not on every rerun); None when
    there are none (a flow never saved asks nothing of the API)."""
    if st.session_state.get("doc_version") is None:
        st.caption("Not saved yet: no versions.")
        return None
    mark = (flow_id, st.session_state.get("doc_version"), st.session_state.get("doc_status"))
    kept = st.session_state.get("versions_listed")
    if kept and kept[0] == mark:
        return kept[1]
    try:
        listed = session.api().versions(flow_id)
    except ApiError as exc:
        if exc.status == 404:
            st.caption("Not saved yet: no versions.")
            return None
        st.error(exc.message)
        return None
    st.session_state.versions_listed = (mark, listed)
    return listed


def _act(call: Any, success: str, status: str | None) -> None:
    """Save or publish; the outcome stays shown, the header follows, and the note is
    emptied for the next version."""
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
    st.session_state.version_kept = True
    st.session_state.versions_listed = None  # read again: one more version
    st.session_state.audit_listed = None


def _history(flow_id: str) -> None:
    listed = _versions(flow_id)
    if listed is None:
        return
    st.markdown("**Versions**")
    st.dataframe(
        [
            {
                "version": v["version"],
                "status": "live" if v.get("live") else ("was live" if v["published"] else "draft"),
                "note": v.get("note") or "",
                "by": v.get("created_by_name") or v.get("created_by") or "",
                "at": v["created_at"][:19].replace("T", " "),
            }
            for v in listed
        ],
        hide_index=True,
        width="stretch",
    )
    _roll_back(flow_id, listed)
    _activity(flow_id)
    numbers = [v["version"] for v in listed]
    if len(numbers) < 2:
        return
    left, right = st.columns(2)
    old = left.selectbox("Compare version", numbers, index=1, key="diff_old")
    new = right.selectbox("with version", numbers, index=0, key="diff_new")
    if old == new:
        return
    try:
        before, after = _document(flow_id, old), _document(flow_id, new)
    except ApiError as exc:
        st.error(exc.message)
        return
    for line in summary(before, after):
        st.markdown(f"- {line}")
    with st.expander("Line by line"):
        st.code("\n".join(unified(before, after, old, new)) or "(identical)", language="diff")


def _roll_back(flow_id: str, listed: list[dict[str, Any]]) -> None:
    """Back to an earlier published version: new contacts enter it, contacts in the flow
    finish where they are."""
    targets = [v["version"] for v in listed if v["published"] and not v.get("live")]
    if not targets:
        return
    pick, go = st.columns([2, 1], vertical_alignment="bottom")
    version = pick.selectbox(
        "Roll back to",
        targets,
        format_func=lambda n: f"version {n}",
        key="rollback_version",
        help="New contacts enter that version again; contacts in the flow now finish on "
        "the version they entered.",
    )
    go.button(
        "Roll back", key="rollback", width="stretch", on_click=_rolled_back, args=(flow_id, version)
    )


def _rolled_back(flow_id: str, version: int) -> None:
    """The live version changes; the document open here (the marketer's edits) stays."""
    try:
        session.api().roll_back(flow_id, version)
    except ApiError as exc:
        st.session_state.version_outcome = ("error", exc.message)
        return
    st.session_state.version_outcome = (
        "ok",
        f"Rolled back: version {version} is live again, for new contacts.",
    )
    st.session_state.doc_status = "published"
    st.session_state.versions_listed = st.session_state.audit_listed = None


def _activity(flow_id: str) -> None:
    """Who published, rolled back or unpublished the flow, newest first."""
    mark = (flow_id, st.session_state.get("doc_version"), st.session_state.get("doc_status"))
    kept = st.session_state.get("audit_listed")
    if not kept or kept[0] != mark:
        try:
            kept = (mark, session.api().audit(flow_id))
        except ApiError:
            return  # the activity list is extra: the versions above stay usable
        st.session_state.audit_listed = kept
    if kept[1]:
        with st.expander(f"Activity ({len(kept[1])})"):
            for entry in kept[1]:
                st.markdown(f"- {entry['at'][:16].replace('T', ' ')} · {entry['said']}")


def _document(flow_id: str, version: int) -> dict[str, Any]:
    """A saved version's document, read once per session: saved versions never change."""
    kept = st.session_state.setdefault("version_documents", {})
    if (flow_id, version) not in kept:
        kept[(flow_id, version)] = session.api().version(flow_id, version)["document"]
    return kept[(flow_id, version)]


def summary(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The changes in words, steps by their names (as each version called them): steps
    added, removed and changed (which settings), renamed, connections changed."""
    was, now = doc.display_labels(before), doc.display_labels(after)
    found = changes(before, after)
    old = {n["id"]: n for n in doc.all_nodes(before)}
    new = {n["id"]: n for n in doc.all_nodes(after)}
    lines = [f"added **{now[i]}** ({_kind_name(new[i])})" for i in found.added]
    lines += [f"removed **{was[i]}** ({_kind_name(old[i])})" for i in found.removed]
    for change in found.changed:
        node_id = change.node_id
        if change.kind:
            lines.append(
                f"**{now[node_id]}** is now {_kind_name(new[node_id])} "
                f"(was {_kind_name(old[node_id])})"
            )
        if change.params:
            titles = sorted(doc.param_title(new[node_id], name) for name in change.params)
            lines.append(f"changed **{now[node_id]}**: {', '.join(titles)}")
        if change.label and was[node_id] != now[node_id]:
            lines.append(f"renamed **{was[node_id]}** to **{now[node_id]}**")
    for source, output, target in found.connected:
        lines.append(f"connected {_edge_words(after, now, source, output, target)}")
    for source, output, target in found.disconnected:
        lines.append(f"disconnected {_edge_words(before, was, source, output, target)}")
    return lines or ["no change in steps or connections"]


def _kind_name(spec: dict[str, Any]) -> str:
    kind = doc.kind_of(spec)
    return kind.display_name if kind else str(spec.get("kind"))


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
