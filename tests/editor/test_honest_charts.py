"""Charts that tell the truth, read from the chart elements AppTest sees: counts that
overlap are drawn side by side (never stacked, so 8 contacts stay 8), a metric has a
delta only against a previous period, sources are split, every week is on the axis, and
rates show as percentages with their denominators. Against the live API
(tests/editor/conftest.py)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from functions.enrollments import enroll
from functions.publish import publish
from functions.reports import feed, rollups
from functions.reports.rollups import Count
from functions.store.contacts import create_contact
from functions.store.models import NodeStats
from tests.editor.conftest import page
from tests.functions.test_ab_significance import split_test
from tests.functions.test_enrollments import waiting, waiting_in

COLOR, VALUE = "color -- streamlit-generated", "value -- streamlit-generated"


def charts(at: AppTest) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    """Each chart on the page: its Vega-Lite spec and the data it draws."""
    found = []
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        [dataset] = element.proto.datasets
        found.append((spec, pa.ipc.open_stream(dataset.data.data).read_pandas()))
    return found


def chart_of(at: AppTest, x: str, series: set[str]) -> tuple[dict[str, Any], pd.DataFrame]:
    """The chart along `x` whose series are `series`."""
    return next(
        (spec, data)
        for spec, data in charts(at)
        if spec["encoding"]["x"]["field"] == x and set(data[COLOR]) == series
    )


def side_by_side(spec: dict[str, Any]) -> bool:
    """Bars of one x next to each other (an x offset per series), not piled up."""
    encoding = spec["encoding"]
    return encoding["y"].get("stack") is False and encoding["xOffset"]["field"] == COLOR


def designer(document: dict) -> AppTest:
    at = page("designer")
    at.session_state.doc = document
    at.session_state.undo, at.session_state.redo = [], []
    at.session_state.doc_status = "published"
    return at.run()


@pytest.mark.usefixtures("live_api")
def test_eight_contacts_waiting_in_a_step_are_eight_not_sixteen() -> None:
    document = waiting("nurture")
    publish(document, by="tests")
    for i in range(8):
        contact_id = create_contact({"email": f"w{i}@example.com"}).contact_id
        enroll("nurture", contact_id)
        assert waiting_in(contact_id)

    at = designer(document)
    assert not at.exception
    spec, data = chart_of(at, "step", {"entered", "waiting now", "met a goal", "failed"})
    assert side_by_side(spec)
    step = data[data["step"] == data["step"].iloc[0]].set_index(COLOR)[VALUE]
    assert (step["entered"], step["waiting now"]) == (8, 8)
    assert step.max() == 8  # the top of the step's bars: 8 contacts, not 16

    goal = next(m for m in at.metric if m.label == "Met a goal")
    assert goal.value == "0"
    assert goal.proto.delta == ""  # no previous period: no "↑ 0%"
    assert "0% (0 of 8 entered)" in [c.value for c in at.caption]


@pytest.mark.usefixtures("live_api")
def test_an_ab_split_names_a_winner_only_when_it_is_significant() -> None:
    document = split_test()
    version = publish(document, by="tests").version
    for variant, entered, converted in (("tag_a", 1000, 120), ("tag_b", 1000, 160)):
        NodeStats("subject-test", f"{version:06d}#{variant}", entered=entered).save()
        NodeStats("subject-test", f"goal-after#{version:06d}#{variant}", goal=converted).save()

    at = designer(document)
    assert not at.exception
    [verdict] = [s for s in at.success if "converts better" in s.value]
    assert "'b' converts better than 'a'" in verdict.value
    assert "+4.0 points, 95% interval +1.0 to +7.0; p = 0.0099" in verdict.value
    [variants] = [d.value for d in at.dataframe if "variant" in d.value.columns]
    assert variants["met a goal"].tolist() == [
        "12% (120 of 1,000 entered)",
        "16% (160 of 1,000 entered)",
    ]

    NodeStats("subject-test", f"goal-after#{version:06d}#tag_b", goal=130).save()
    at = designer(document)
    assert not [s for s in at.success if "converts better" in s.value]
    [undecided] = [i for i in at.info if "winner" in i.value]
    assert "No winner yet between 'a' and 'b': it may be chance" in undecided.value
    assert any("more." in c.value for c in at.caption)  # the contacts still needed


@pytest.mark.usefixtures("live_api")
def test_email_rates_are_percentages_of_the_emails_sent() -> None:
    today = date.today().isoformat()
    email = ("drip-campaign", "lesson_1")
    for metric, n in ((feed.SENT, 50), (feed.OPENED, 21), (feed.CLICKED, 5)):
        rollups.add("c_1", [Count(metric, today, email, n)])

    at = page("reports").run()
    at.selectbox(key="report_name").set_value("email").run()
    assert not at.exception
    table = at.dataframe[0].value
    row = table[table["node"] == "lesson_1"].iloc[0]
    assert row["open_rate"] == "42% (21 of 50 sent)"
    assert row["click_rate"] == "10% (5 of 50 sent)"
    spec, data = chart_of(at, "period", {"sent", "opened", "clicked", "unsubscribed"})
    assert side_by_side(spec)  # opened is a part of sent: beside it, not on top
    this_week = data[data[VALUE] > 0].set_index(COLOR)[VALUE]
    assert (this_week["sent"], this_week["opened"]) == (50, 21)


@pytest.mark.usefixtures("live_api")
def test_contacts_are_split_by_source_on_every_week() -> None:
    today = date.today()
    gap = today - timedelta(weeks=1)  # a week without new contacts stays on the axis
    for day, source, new, leads in (
        (today, "web", 5, 2),
        (today, "ads", 3, 3),
        (today - timedelta(weeks=2), "web", 4, 1),
    ):
        rollups.add("c_1", [Count(feed.CONTACTS_NEW, day.isoformat(), (source,), new)])
        rollups.add("c_1", [Count(feed.CONTACTS_LEADS, day.isoformat(), (source,), leads)])

    at = page("reports").run()
    at.selectbox(key="report_name").set_value("sources").run()
    assert not at.exception
    labels = {d: f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}" for d in (today, gap)}

    weekly = next(data for spec, data in charts(at) if spec["encoding"]["x"]["field"] == "period")
    per_week = weekly.pivot_table(index="period", columns=COLOR, values=VALUE, aggfunc="sum")
    assert {"web", "ads"} <= set(per_week.columns)  # a series per source
    assert per_week.loc[labels[today], "web"] == 5 and per_week.loc[labels[today], "ads"] == 3
    assert per_week.loc[labels[gap]].sum() == 0  # the empty week, at zero

    spec, totals = chart_of(at, "source", {"new contacts", "leads"})
    assert side_by_side(spec)  # leads are new contacts too: never piled on them
    web = totals[totals["source"] == "web"].set_index(COLOR)[VALUE]
    assert (web["new contacts"] >= 9, web["leads"] >= 3) == (True, True)
    table = at.dataframe[0].value
    assert table["lead_rate"].str.fullmatch(r"\d+% \(\d+ of \d+ new contacts\)").all()


@pytest.mark.usefixtures("live_api")
def test_the_canvas_shows_each_email_steps_rates_once_counts_are_on() -> None:
    root = Path(__file__).resolve().parents[2]
    document = json.loads((root / "flows/templates/drip-campaign.flow.json").read_text())
    publish(document, by="tests")
    today = date.today().isoformat()
    for metric, n in (
        (feed.SENT, 50),
        (feed.OPENED, 21),
        (feed.CLICKED, 5),
        (feed.UNSUBSCRIBED, 1),
    ):
        rollups.add("c_1", [Count(metric, today, ("drip-campaign", "lesson_1"), n)])
    at = designer(document)
    at.toggle(key="show_counts").set_value(True).run()
    assert not at.exception
    [component] = at.get("bidi_component")
    nodes = {n["id"]: n for n in json.loads(component.proto.json)["model"]["nodes"]}
    assert nodes["lesson_1"]["email"] == {
        "sent": 50,
        "opened": 42,
        "clicked": 10,
        "unsubscribed": 2,
    }
    assert nodes["lesson_2"]["email"] is None  # nothing sent yet: no rates to show
    assert nodes["wait_1"]["email"] is None
