"""The compiled state machine (read-only) and what running the flow costs on AWS."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from flows import compile_flow
from flows.cost import estimate_dict
from flows.errors import FlowInvalid


def render(document: dict[str, Any], report: dict[str, Any]) -> None:
    if report["errors"]:
        st.info("The preview appears once the flow has no errors (see Problems).")
        return
    try:
        compiled = compile_flow(document)
    except FlowInvalid as exc:
        st.error(str(exc))
        return
    stats = compiled.stats
    st.caption(
        f"{len(compiled.definition['States'])} states · {stats.min_transitions}–"
        f"{stats.max_transitions} state transitions per contact over {stats.path_count} path(s)"
    )
    contacts = st.number_input(
        "Contacts",
        min_value=1,
        value=1000,
        step=1000,
        key="cost_contacts",
        help="How many contacts go through the flow.",
    )
    estimate = estimate_dict(stats, int(contacts))
    rows = [
        {
            "service": line["service"],
            "unit": line["unit"],
            "per contact": _span(line["per_contact"]),
            "USD": _span({k: round(v, 4) for k, v in line["usd"].items()}),
        }
        for line in estimate["lines"]
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
    total = estimate["total_usd"]
    st.metric("Estimated AWS cost", f"${total['min']:,.2f} – ${total['max']:,.2f}")
    st.caption(
        f"Prices: {estimate['region']}, as of {estimate['prices_as_of']}. {estimate['assumptions']}"
    )
    with st.expander("Amazon States Language (read-only)"):
        st.code(json.dumps(compiled.definition, indent=2, ensure_ascii=False), language="json")


def _span(values: dict[str, Any]) -> str:
    low, high = values["min"], values["max"]
    return f"{low:g}" if low == high else f"{low:g}–{high:g}"
