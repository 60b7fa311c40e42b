"""How the flow runs, in a marketer's words (what it costs per 1,000 contacts, the messages
a contact gets), with the engineering detail (states, AWS prices, the compiled state
machine) behind a toggle."""

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
    per_thousand = estimate_dict(stats, 1000)["total_usd"]
    st.metric(
        "Running it costs",
        f"about {_dollars(per_thousand)} per 1,000 contacts",
        help="What AWS charges to run the flow (sending included), from its list prices.",
    )
    emails, sms = _messages(stats.min_use, "emails"), _messages(stats.min_use, "sms")
    st.markdown(
        f"Each contact gets {_between(emails, _messages(stats.max_use, 'emails'), 'email')} "
        f"and {_between(sms, _messages(stats.max_use, 'sms'), 'SMS', 'SMS')} over the whole "
        f"flow, depending on the way it takes ({stats.path_count} possible ways)."
    )
    with st.expander("Details for developers"):
        st.caption(
            f"{len(compiled.definition['States'])} Step Functions states · "
            f"{stats.min_transitions}–{stats.max_transitions} state transitions per contact"
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
        st.caption(
            f"Prices: {estimate['region']}, as of {estimate['prices_as_of']}. "
            f"{estimate['assumptions']}"
        )
        st.code(json.dumps(compiled.definition, indent=2, ensure_ascii=False), language="json")


def _messages(use: dict[str, int], what: str) -> int:
    return int(use.get(what, 0))


def _between(low: int, high: int, one: str, many: str | None = None) -> str:
    many = many or f"{one}s"
    if high == 0:
        return f"no {many}"
    word = one if high == 1 else many
    return f"{high} {word}" if low == high else f"{low}–{high} {word}"


def _dollars(total: dict[str, float]) -> str:
    """$0.42, or $0.30–0.55 when the ways through the flow differ."""
    low, high = (f"{total[k]:,.2f}" for k in ("min", "max"))
    return f"${low}" if low == high else f"${low}–{high}"


def _span(values: dict[str, Any]) -> str:
    low, high = values["min"], values["max"]
    return f"{low:g}" if low == high else f"{low:g}–{high:g}"
