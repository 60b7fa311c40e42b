"""The reports page: each report of the API's reporting module as a chart with its table,
exportable to CSV. The numbers come from the API (GET /reports/...), not from here."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from editor import session
from editor.client import ApiError


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
    _chart(table)
    st.dataframe(table, hide_index=True, width="stretch")
    st.download_button(
        "Download CSV",
        table.to_csv(index=False).encode("utf-8-sig"),  # with a BOM: Excel reads Persian right
        file_name=f"crmflow-{name}-{period}-{start}-{end}.csv",
        mime="text/csv",
        key="report_csv",
    )


def _chart(table: pd.DataFrame) -> None:
    """The first column as the x axis, its counts and amounts as series (rates are in
    the table: summed or stacked they would mean nothing)."""
    label = table.columns[0]
    numbers = table.select_dtypes("number")
    numbers = numbers[[c for c in numbers.columns if not c.endswith("rate")]]
    if numbers.empty:
        return
    chart = table.set_index(label)[list(numbers.columns)]
    if chart.index.duplicated().any():  # several rows per period (per owner, per flow): sum
        chart = chart.groupby(level=0).sum()
    st.bar_chart(chart)
