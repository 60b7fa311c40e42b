"""Publishing is a decision: `POST /flows/{id}/publish-preview` says what publishing would
do (who the trigger reaches, who is mid-flow, which steps changed, the first week's
messages) and stores nothing; a re-publish leaves exactly one version live; versions name
their authors as people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.auth import issue_key
from functions.enrollments import enroll
from functions.store.contacts import create_contact
from functions.store.models import User
from functions.triggers.dates import sync
from tests.functions.api_support import USERS, Api
from tests.functions.test_enrollments import flow, node, waiting, waiting_in

SENDER = "Acme <hello@acme.com>"


@pytest.fixture
def api(engine) -> Api:
    return Api()


@pytest.fixture
def marketer(api) -> str:
    User(USERS["marketer"], name="Mia Karimi", email="mia@acme.example", role="marketer").save()
    return api.key("marketer")


def _mail(node_id: str, subject: str) -> dict[str, Any]:
    return node(node_id, "send_email", subject=subject, body="<p>Hi</p>", from_email=SENDER)


def _two_emails(flow_id: str, trigger: dict[str, Any], gap_days: int = 2) -> dict[str, Any]:
    """Email, wait `gap_days`, email: two emails in the first week when the gap is short."""
    document = flow(
        flow_id,
        [
            _mail("welcome", "Welcome"),
            node("pause", "wait", duration={"amount": gap_days, "unit": "days"}),
            _mail("tips", "Tips"),
            node("done", "end"),
        ],
        [("start", "welcome"), ("welcome", "pause"), ("pause", "tips"), ("tips", "done")],
    )
    document["trigger"] = trigger
    return document


def test_a_segment_broadcast_preview_counts_who_it_mails_and_stores_nothing(
    api, marketer
) -> None:
    for number in range(3):
        create_contact({"email": f"vip{number}@example.com", "tags": {"vip"}})
    create_contact({"email": "other@example.com", "tags": {"newsletter"}})
    vip = {"groups": [{"conditions": [{"field": "tags", "op": "contains", "value": "vip"}]}]}
    document = _two_emails("vip-offer", node("start", "segment", criteria=vip))
    answer = api.post("/flows/vip-offer/publish-preview", marketer, {"flow": document})
    assert answer.status == 200, answer.body
    impact = answer.body
    assert impact["trigger"] == {
        "matching_now": 3,
        "enrolled_at_once": 3,
        "exact": True,
        "note": "as soon as it is published",
        "batch": True,
    }
    assert (impact["in_flight"], impact["live_version"]) == (0, None)
    assert impact["changed_steps"] == ["welcome", "pause", "tips", "done"]  # all new
    assert impact["first_week"] == {
        "emails_per_contact": [2, 2],
        "sms_per_contact": [0, 0],
        "emails_at_once": [6, 6],
        "sms_at_once": [0, 0],
    }
    assert api.get("/flows/vip-offer", marketer).status == 404  # nothing was stored
    # A second email after 10 days falls outside the first week.
    late = _two_emails("vip-late", node("start", "segment", criteria=vip), gap_days=10)
    later = api.post("/flows/vip-late/publish-preview", marketer, {"flow": late}).body
    assert later["first_week"]["emails_per_contact"] == [1, 1]


def test_a_preview_after_publishing_names_the_changed_steps_and_who_stays_mid_flow(
    api, marketer
) -> None:
    document = waiting("nurture")
    assert api.post("/flows/nurture/publish", marketer, {"flow": document}).status == 200
    sara = create_contact({"email": "sara@example.com"}).contact_id
    enroll("nurture", sara, trigger={})
    assert waiting_in(sara)  # mid-flow, on version 1
    document["nodes"][1]["params"]["add_tags"] = ["clicked-once"]
    answer = api.post("/flows/nurture/publish-preview", marketer, {"flow": document})
    assert answer.status == 200, answer.body
    impact = answer.body
    assert (impact["in_flight"], impact["live_version"]) == (1, 1)
    assert impact["changed_steps"] == ["clicked"]
    assert impact["trigger"]["enrolled_at_once"] == 0  # a webhook enrolls as calls come


def test_a_date_trigger_preview_counts_the_dates_due_in_the_first_week(api, marketer) -> None:
    today = datetime.now(UTC).date()
    for email, days in (("soon@example.com", 3), ("later@example.com", 30)):
        due_on = (today + timedelta(days=days)).isoformat()
        created = create_contact({"email": email, "custom": {"renewal_date": due_on}})
        sync(None, created)  # what the stream handler does on the local stack
    trigger = node("start", "date_relative", field="renewal_date", days=0)
    document = _two_emails("renewals", trigger)
    impact = api.post("/flows/renewals/publish-preview", marketer, {"flow": document}).body
    assert (impact["trigger"]["matching_now"], impact["trigger"]["enrolled_at_once"]) == (1, 1)


def test_an_invalid_flow_has_no_preview_but_its_errors(api, marketer) -> None:
    broken = _two_emails("broken", node("start", "webhook"))
    broken["nodes"][0]["params"]["subject"] = ""
    answer = api.post("/flows/broken/publish-preview", marketer, {"flow": broken})
    assert answer.status == 422
    assert "subject" in str(answer.body)
    other = api.post("/flows/other/publish-preview", marketer, {"flow": broken})
    assert other.status == 400


def test_a_republish_leaves_one_version_live_and_versions_name_people(api, marketer) -> None:
    document = waiting("nurture")
    for note in ("first", "second"):
        answer = api.post("/flows/nurture/publish", marketer, {"flow": document, "note": note})
        assert answer.status == 200, answer.body
    _, local_key = issue_key("local admin (crmflow up)", "admin")  # a key without a user
    assert api.post("/flows", local_key, {"flow": document}).status in (200, 201)
    listed = api.get("/flows/nurture/versions", marketer).body["versions"]
    assert [(v["version"], v["published"], v["live"]) for v in listed] == [
        (3, False, False),
        (2, True, True),
        (1, True, False),
    ]
    assert [v["created_by_name"] for v in listed] == [
        "local admin (crmflow up)",
        "Mia Karimi <mia@acme.example>",
        "Mia Karimi <mia@acme.example>",
    ]
    shown = api.get("/flows/nurture/versions/2", marketer).body
    assert (shown["live"], shown["created_by_name"]) == (True, "Mia Karimi <mia@acme.example>")
    assert api.post("/flows/nurture/unpublish", marketer).status == 200
    listed = api.get("/flows/nurture/versions", marketer).body["versions"]
    assert not [v for v in listed if v["live"]]  # unpublished: nothing is live
