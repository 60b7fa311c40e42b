"""Hostile and odd JSON at the API's door: each case once answered 500, or was stored and
broke a flow later. Every one now gets a 4xx naming the problem, in the documented error
shape, and nothing is written or started."""

from __future__ import annotations

import json

import pytest

from functions.json_input import MAX_DEPTH, SAFE_INTEGER
from functions.publish import publish
from functions.store.models import Contact, Deal
from tests.functions.api_support import Api
from tests.functions.test_api_triggers import signed, started
from tests.functions.test_enrollments import node, tagging

DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
DEEP_LIST = '{"email": "sara@example.com", "custom": {"x": ' + "[" * 1000 + "]" * 1000 + "}}"


@pytest.fixture
def api(engine, monkeypatch) -> Api:
    monkeypatch.setenv("CRMFLOW_SECRET_HOOK_WELCOME", "whsec_hostile")
    doc = tagging("welcome", "welcomed")
    doc["trigger"] = node("start", "webhook", email_key="email")
    publish(doc)
    return Api()


def refused(answer, *words: str, status: int = 400) -> None:
    assert answer.status == status, answer.body
    assert set(answer.body) == {"error"} and answer.error["code"], answer.body
    for word in words:
        assert word in answer.error["message"], answer.error["message"]


def hook(api: Api, raw: str) -> object:
    body = raw.encode("utf-8", "surrogatepass")
    return api.post("/hooks/welcome", raw=body, headers=signed(body, secret="whsec_hostile"))


@pytest.mark.parametrize("raw", [DEEP_OBJECT, DEEP_LIST], ids=["object", "list"])
def test_json_nested_a_thousand_deep_is_refused_everywhere(api, raw) -> None:
    key = api.key("admin")
    refused(hook(api, raw), f"deeper than {MAX_DEPTH}")
    refused(api.post("/contacts", key, raw=raw), f"deeper than {MAX_DEPTH}")
    refused(api.post("/events", key, raw=raw), f"deeper than {MAX_DEPTH}")
    assert started() == 0 and not list(Contact.scan())


def test_nesting_is_counted_exactly() -> None:
    from functions.errors import BadRequest
    from functions.json_input import loads

    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert loads(at_limit) is not None
    with pytest.raises(BadRequest, match=f"deeper than {MAX_DEPTH}"):
        loads("[" + at_limit + "]")


def test_a_5000_digit_number_is_refused_not_a_server_error(api) -> None:
    raw = '{"email": "sara@example.com", "score": ' + "9" * 5000 + "}"
    refused(api.post("/contacts", api.key("admin"), raw=raw), "5,000 digits")
    refused(hook(api, raw), "5,000 digits")


def test_a_400_digit_integer_in_a_hook_is_refused_before_anyone_is_enrolled(api) -> None:
    # It used to get 202, then every enrollment it started failed with OverflowError.
    raw = '{"email": "sara@example.com", "order": ' + "1" * 400 + "}"
    refused(hook(api, raw), "400 digits", "as a string")
    assert started() == 0 and not list(Contact.scan())


def test_integers_are_kept_within_the_safe_range(api) -> None:
    key = api.key("admin")
    fits = {"email": "sara@example.com", "custom": {"n": SAFE_INTEGER, "m": -SAFE_INTEGER}}
    assert api.post("/contacts", key, fits).status == 201
    too_big = {"email": "omid@example.com", "custom": {"n": SAFE_INTEGER + 1}}
    refused(api.post("/contacts", key, too_big), f"{SAFE_INTEGER:,}")


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_stored(api, word) -> None:
    raw = '{"email": "sara@example.com", "custom": {"x": ' + word + "}}"
    refused(api.post("/contacts", api.key("admin"), raw=raw), word)
    refused(hook(api, raw), word)
    assert not list(Contact.scan())


def test_a_deal_of_1e400_is_refused(api) -> None:
    raw = '{"name": "Big", "amount": 1e400, "pipeline": "new-business", "stage": "lead"}'
    refused(api.post("/deals", api.key("admin"), raw=raw), "1e400")
    assert not list(Deal.scan())


@pytest.mark.parametrize(
    "raw",
    [
        '{"email": "sara@example.com", "first_name": "\\ud800"}',
        '{"email": "sara@example.com", "custom": {"\\udfff": 1}}',
    ],
    ids=["value", "key"],
)
def test_a_lone_surrogate_is_refused_by_name(api, raw) -> None:
    refused(api.post("/contacts", api.key("admin"), raw=raw), "surrogate")
    refused(hook(api, raw), "surrogate")
    assert not list(Contact.scan())


@pytest.mark.parametrize("report", ["sources", "conversion", "deals", "email"])
@pytest.mark.parametrize(
    "query",
    [
        "start=9999-12-25&end=9999-12-31",
        "start=9999-12-01&end=9999-12-31&period=month",
        "end=0001-01-01",
    ],
)
def test_report_dates_at_the_ends_of_the_calendar_are_refused(api, report, query) -> None:
    answer = api.get(f"/reports/{report}?{query}", api.key("admin"))
    refused(answer, "outside the days reports cover")


def test_a_body_over_the_limit_is_refused_from_its_content_length(api) -> None:
    key = api.key("admin")
    # The declared length decides: the body itself is never read.
    answer = api.post(
        "/contacts", key, {"email": "sara@example.com"}, headers={"Content-Length": "50000000"}
    )
    refused(answer, "50,000,000 bytes", status=413)
    assert not list(Contact.scan())


def test_the_error_shape_is_the_documented_one(api) -> None:
    answer = api.post("/contacts", api.key("admin"), raw=DEEP_OBJECT)
    assert json.dumps(answer.body)  # JSON, with code and message only
    assert set(answer.error) == {"code", "message"}
    assert answer.error["code"] == "BadRequest"


@pytest.mark.parametrize("number", ["1e200", "3.2e-308", "1e-400", "-1e126"])
def test_numbers_dynamodb_cannot_store_are_refused_at_the_door(api, number) -> None:
    # They used to reach PutItem and fail there: a 500 for a deal, or a contact's score.
    raw = '{"name": "Big", "amount": ' + number + ', "pipeline": "new-business", "stage": "lead"}'
    refused(api.post("/deals", api.key("admin"), raw=raw), number, "to store")
    raw = '{"email": "sara@example.com", "score": ' + number + "}"
    refused(api.post("/contacts", api.key("admin"), raw=raw), number, "to store")
    assert not list(Deal.scan()) and not list(Contact.scan())
