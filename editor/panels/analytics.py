"""A published flow's numbers: per step, how many contacts entered, wait there now, met a
goal or failed (also drawn on the canvas); the goal funnel; A/B variants side by side."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from editor import document as doc
from editor import session
from editor.client import ApiError

# The per-step series, as the chart names them: separate bars, each its own count.
SERIES = {"entered": "entered", "waiting": "waiting now", "goal": "met a goal", "failed": "failed"}


def render(document: dict[str, Any]) -> None:
    kept = st.session_state.get("analytics")
    if kept and kept["flow_id"] != document["id"]:
        kept = None
    asked = st.button(
        "↻ Refresh counts" if kept else "Load counts",
        key="load_counts",
        help="Counts are read once, not on every click: refresh them to see contacts move.",
    )
    if kept is None and not asked and st.session_state.get("doc_status") != "published":
        st.caption("Counts appear once the flow is published and contacts go through it.")
        return
    if kept is None or asked:
        try:
            kept = _load(document["id"])
        except ApiError as exc:
            st.info(
                exc.message
                if exc.status != 404
                else "Not published yet: no contacts went through it."
            )
            return
        st.session_state.analytics = kept
    numbers = kept["numbers"]
    st.session_state.counts = numbers["nodes"]
    st.session_state.email_counts = kept["emails"]
    funnel = numbers["funnel"]
    a, b, c = st.columns(3)
    a.metric("In the flow now", numbers["active"])
    b.metric("Entered", funnel["entered"])
    # No delta: a delta compares with a previous period, and these counts have none.
    c.metric("Met a goal", funnel["goal"])
    if funnel["entered"]:
        c.caption(share(funnel["goal"], funnel["entered"], "entered"))
    if not numbers["complete"]:
        st.caption(
            f"Live positions read for {numbers['live_counted']} of {numbers['active']} contacts."
        )
    labels = _distinct(doc.display_labels(document))
    rows = [
        {"step": labels.get(node, node), **counts}
        for node, counts in sorted(numbers["nodes"].items(), key=lambda item: -item[1]["entered"])
    ]
    if rows:
        table = pd.DataFrame(rows).set_index("step")
        st.markdown("**Goal funnel**")
        st.bar_chart(
            pd.DataFrame(
                {"contacts": [funnel["entered"], funnel["goal"]]}, index=["entered", "met a goal"]
            ),
            stack=False,
        )
        st.markdown("**Per step**")
        # Side by side, never stacked: a contact waiting in a step also entered it, so
        # stacked bars would count it twice.
        st.bar_chart(table[list(SERIES)].rename(columns=SERIES), stack=False)
        st.dataframe(table, width="stretch")
    for split, variants in numbers["splits"].items():
        _split(labels.get(split, split), variants, labels, numbers["ab_tests"].get(split, []))


def share(part: int, whole: int, of: str) -> str:
    """A rate with what it counts: "42% (21 of 50 sent)"."""
    if not whole:
        return f"– (none {of})"
    return f"{part / whole:.0%} ({part:,} of {whole:,} {of})"


def _split(
    title: str,
    variants: dict[str, Any],
    labels: dict[str, str],
    tests: list[dict[str, Any]],
) -> None:
    """An A/B split's variants side by side, and whether one is really better."""
    st.markdown(f"**A/B split '{title}'**")
    st.dataframe(
        [
            {
                "variant": name,
                "first step": labels.get(v["node"], v["node"]),
                "contacts": v["entered"],
                "met a goal": share(v["goal"], v["entered"], "entered"),
            }
            for name, v in variants.items()
        ],
        hide_index=True,
    )
    for test in tests:
        _verdict(test)


def _verdict(test: dict[str, Any]) -> None:
    """The API's test of one variant against the control, in words. A winner is named only
    when the API found the difference significant."""
    control, variant = test["control"], test["variant"]
    if test["p_value"] is None:
        st.caption(f"'{variant}' against '{control}': too few contacts or goals to compare.")
        return
    gap = f"{test['difference'] * 100:+.1f} points"
    if test["ci_low"] is not None:  # none when each variant converted all or none
        gap += f", 95% interval {test['ci_low'] * 100:+.1f} to {test['ci_high'] * 100:+.1f}"
    gap += f"; p = {test['p_value']:.4f}"
    if test["winner"]:
        loser = control if test["winner"] == variant else variant
        st.success(
            f"'{test['winner']}' converts better than '{loser}' on goals ({gap}).", icon="🏆"
        )
        return
    st.info(f"No winner yet between '{control}' and '{variant}': it may be chance ({gap}).")
    needed, more = test["needed_per_variant"], test["still_needed_per_variant"]
    if needed is not None and more:
        st.caption(
            f"To tell a difference this size apart, each variant needs {needed:,} contacts: "
            f"{more:,} more."
        )
    elif needed is not None:
        st.caption(
            f"Each variant has the {needed:,} contacts a difference this size needs: the "
            "real difference is likely smaller, or none."
        )


EMAIL_DAYS = 365  # the email counts on the canvas: sends of the last year


def _load(flow_id: str) -> dict[str, Any]:
    """The flow's counts per step and its email counts per email step (read together,
    kept until refreshed: the live part reads one history per contact in the flow)."""
    api = session.api()
    numbers = api.analytics(flow_id)
    start = (date.today() - timedelta(days=EMAIL_DAYS)).isoformat()
    emails: dict[str, dict[str, int]] = {}
    try:
        report = api.report("email", flow_id=flow_id, period="month", start=start)
    except ApiError:
        report = None  # the step counts stand on their own
    if report:
        columns = report["totals"]["columns"]
        for row in report["totals"]["rows"]:
            values = dict(zip(columns, row, strict=False))
            into = emails.setdefault(str(values["node"]), {})
            for name in ("sent", "opened", "clicked", "unsubscribed"):
                into[name] = into.get(name, 0) + int(values.get(name) or 0)
    return {"flow_id": flow_id, "numbers": numbers, "emails": emails}


def _distinct(labels: dict[str, str]) -> dict[str, str]:
    """Labels with repeats numbered ("Wait 2 days", "Wait 2 days (2)"): a chart's rows
    must not merge two steps."""
    seen: dict[str, int] = {}
    distinct = {}
    for node_id, label in labels.items():
        seen[label] = seen.get(label, 0) + 1
        distinct[node_id] = label if seen[label] == 1 else f"{label} ({seen[label]})"
    return distinct
