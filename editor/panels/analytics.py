"""A published flow's numbers: per step, how many contacts entered, wait there now, met a
goal or failed (also drawn on the canvas); the goal funnel; A/B variants side by side."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from editor import document as doc
from editor import session
from editor.client import ApiError


def render(document: dict[str, Any]) -> None:
    if st.session_state.get("doc_status") != "published" and not st.button(
        "Load counts", key="load_counts", help="Counts exist once the flow has been published."
    ):
        st.caption("Counts appear once the flow is published and contacts go through it.")
        return
    try:
        numbers = session.api().analytics(document["id"])
    except ApiError as exc:
        st.info(
            exc.message if exc.status != 404 else "Not published yet: no contacts went through it."
        )
        return
    st.session_state.counts = numbers["nodes"]
    funnel = numbers["funnel"]
    a, b, c = st.columns(3)
    a.metric("In the flow now", numbers["active"])
    b.metric("Entered", funnel["entered"])
    c.metric(
        "Met a goal",
        funnel["goal"],
        f"{funnel['rate']:.0%}" if funnel["rate"] is not None else None,
    )
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
            )
        )
        st.markdown("**Per step**")
        st.bar_chart(table[["entered", "waiting", "goal", "failed"]])
        st.dataframe(table, width="stretch")
    for split, variants in numbers["splits"].items():
        st.markdown(f"**A/B split '{labels.get(split, split)}'**")
        st.dataframe(
            [
                {
                    "variant": name,
                    "first step": labels.get(v["node"], v["node"]),
                    "contacts": v["entered"],
                }
                for name, v in variants.items()
            ],
            hide_index=True,
        )


def _distinct(labels: dict[str, str]) -> dict[str, str]:
    """Labels with repeats numbered ("Wait 2 days", "Wait 2 days (2)"): a chart's rows
    must not merge two steps."""
    seen: dict[str, int] = {}
    distinct = {}
    for node_id, label in labels.items():
        seen[label] = seen.get(label, 0) + 1
        distinct[node_id] = label if seen[label] == 1 else f"{label} ({seen[label]})"
    return distinct
