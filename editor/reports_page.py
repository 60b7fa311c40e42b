"""The reports page: each report of the API's reporting module as a chart with its table,
exportable to CSV. The numbers come from the API (GET /reports/...), not from here."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from editor import session
from editor.client import ApiError
from editor.panels.analytics import share


def main() -> None:
    st.title("Reports")
    try:
        catalogue = {r["name"]: r for r in session.api().reports()}
    except ApiError as exc:
        st.error(exc.message, icon="⛔")
        return
    name = st.selectbox(
        "Report", list(catalogue), format_func=lambda n: catalogue[n]["title"], key="report_name"
    )
    st.caption(catalogue[name]["description"])
    left, middle, right = st.columns(3)
    period = left.radio("Per", ["week", "month"], horizontal=True, key="report_period")
    end = right.date_input("To", value=date.today(), key="report_end")
    start = middle.date_input(
        "From", value=end - timedelta(weeks=12 if period == "week" else 52), key="report_start"
    )
    try:
        answer = session.api().report(
            name, period=period, start=start.isoformat(), end=end.isoformat()
        )
    except ApiError as exc:
        st.error(exc.message, icon="⛔")
        return
    table = pd.DataFrame(answer["rows"], columns=answer["columns"])
    if table.empty:
        st.info("No data in this range yet.")
        return
    rates = catalogue[name].get("rates", [])
    _chart(table, answer, rates)
    st.dataframe(with_denominators(table, rates), hide_index=True, width="stretch")
    st.download_button(
        "Download CSV",
        table.to_csv(index=False).encode("utf-8-sig"),  # with a BOM: Excel reads Persian right
        file_name=f"crmflow-{name}-{period}-{start}-{end}.csv",
        mime="text/csv",
        key="report_csv",
    )


def with_denominators(table: pd.DataFrame, rates: list[dict[str, Any]]) -> pd.DataFrame:
    """Each rate as a percentage with what it counts: "42% (21 of 50 sent)". A bare 0.42,
    or a rounded 0 or 1, says neither how much nor of how many."""
    shown = table.copy()
    for rate in rates:
        if rate["name"] not in shown.columns:
            continue
        under = shown[rate["per"]].sum(axis=1)
        of = " + ".join(rate["per"]).replace("_", " ")
        shown[rate["name"]] = [
            share(int(top), int(whole), of)
            for top, whole in zip(shown[rate["of"]], under, strict=True)
        ]
    return shown


def _chart(table: pd.DataFrame, answer: dict[str, Any], rates: list[dict[str, Any]]) -> None:
    """Counts per period as separate bars, never stacked: the measures overlap (leads are
    new contacts too, opens are of emails sent), so stacked they would count twice. Every
    period of the range is on the axis, empty ones at zero. Rates are left to the table."""
    label = table.columns[0]
    per_rate = {r["name"] for r in rates}
    measures = [
        c
        for c in table.select_dtypes("number").columns
        if c not in per_rate and not c.endswith("rate")
    ]
    if not measures:
        return
    if "source" in table.columns:
        _by_source(table, answer, measures)
        return
    chart = table.groupby(label)[measures].sum()  # several rows per period: per owner, flow…
    if "periods" in answer:
        chart = chart.reindex([p["period"] for p in answer["periods"]], fill_value=0)
    chart.index.name = label
    st.bar_chart(chart, stack=False)


def _by_source(table: pd.DataFrame, answer: dict[str, Any], measures: list[str]) -> None:
    """New contacts per period split by source (sources do not overlap, so their bars
    stack to the period's total), then each source's new contacts and leads side by side
    over the range."""
    first = measures[0]
    periods = [p["period"] for p in answer.get("periods", [])] or sorted(table["period"].unique())
    split = table.pivot_table(index="period", columns="source", values=first, aggfunc="sum")
    split = split.reindex(periods, fill_value=0).fillna(0).astype(int)
    split.index.name = "period"
    st.markdown(f"**{first.replace('_', ' ').capitalize()} by source**")
    st.bar_chart(split, stack=True)
    totals = table.groupby("source")[measures].sum()
    st.markdown("**Per source over the range**")
    st.bar_chart(totals.rename(columns=lambda c: c.replace("_", " ")), stack=False)
