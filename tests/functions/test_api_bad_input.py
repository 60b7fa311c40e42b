"""Whatever a caller sends, the API answers 2xx or 4xx naming the problem: never a 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.store.contacts import create_contact
from tests.functions.api_support import Api

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    [
        "email",
        "first_name",
        "phone",
        "country",
        "tags",
        "custom",
        "score",
        "owner_id",
        "time_zone",
        "add_tags",
        "flow",
        "note",
        "name",
        "role",
        "flows",
        "events",
        "user_id",
        "id",
        "nodes",
    ]
)
BODIES = (
    st.dictionaries(FIELDS, JSON_VALUES, max_size=6).map(json.dumps)
    | JSON_VALUES.map(json.dumps)
    | st.text(max_size=40)
)
QUERIES = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "email",
                "owner",
                "stage",
                "tag",
                "product",
                "not_contacted_days",
                "limit",
                "cursor",
                "x",
            ]
        ),
        st.text(alphabet="abc019-_=%+ ", max_size=12),
    ),
    max_size=3,
).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))


@pytest.fixture
def api(store):
    api = Api()
    api.admin = api.key("admin")
    api.contact = create_contact({"email": "fuzz@example.com"}).contact_id
    return api


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=BODIES,
    route=st.sampled_from(
        ["/contacts", "PATCH", "/flows/validate", "/flows", "/flows/x/publish", "/keys"]
    ),
)
def test_any_body_gets_an_answer_not_a_500(api, body, route) -> None:
    if route == "PATCH":
        answer = api.patch(f"/contacts/{api.contact}", api.admin, raw=body)
    else:
        answer = api.post(route, api.admin, raw=body)
    assert answer.status < 500, (route, body, answer.body)
    if answer.status >= 400:
        assert answer.error["code"] and answer.error["message"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=QUERIES)
def test_any_search_gets_an_answer_not_a_500(api, query) -> None:
    answer = api.get(f"/contacts?{query}", api.admin)
    assert answer.status < 500, (query, answer.body)


CONTACT_FIELDS = st.sampled_from(
    [
        "email",
        "first_name",
        "phone",
        "country",
        "tags",
        "add_tags",
        "remove_tags",
        "products",
        "custom",
        "score",
        "owner_id",
        "time_zone",
        "lifecycle_stage",
        "email_consent",
        "sms_opt_out",
        "subscription_status",
        "temperature",
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(change=st.dictionaries(CONTACT_FIELDS, JSON_VALUES, min_size=1, max_size=4))
def test_any_contact_change_or_new_contact_gets_an_answer_not_a_500(api, change) -> None:
    changed = api.patch(f"/contacts/{api.contact}", api.admin, change)
    assert changed.status < 500, (change, changed.body)
    created = api.post("/contacts", api.admin, {"email": "new@example.com", **change})
    assert created.status < 500, (change, created.body)


def test_values_dynamodb_would_refuse_are_400s_naming_them(api) -> None:
    long_id = api.get("/contacts/" + "c" * 300, api.admin)
    assert (long_id.status, long_id.error["message"]) == (
        400,
        "contact_id: longer than 256 characters",
    )
    empty_owner = api.get("/contacts?owner=", api.admin)
    assert (empty_owner.status, empty_owner.error["fields"][0]["field"]) == (400, "owner")
    blank_stage = api.patch(f"/contacts/{api.contact}", api.admin, {"lifecycle_stage": " "})
    assert (blank_stage.status, blank_stage.error["fields"][0]["field"]) == (400, "lifecycle_stage")
    huge = api.patch(f"/contacts/{api.contact}", api.admin, {"custom": {"notes": "x" * 70_000}})
    assert (huge.status, huge.error["message"]) == (400, "custom: holds more than 64 KB of JSON")
    too_big = api.post("/flows", api.admin, {"flow": {"id": "big", "blob": "x" * 400_000}})
    assert (too_big.status, too_big.error["message"]) == (
        400,
        "flow: is 400 KB; a flow document holds at most 350 KB",
    )
