"""POST /segments/preview: how many contacts a filter matches now, from the store's
indexes, with a few of them; a filter no index answers is a 422 naming what to add."""

from __future__ import annotations

import pytest

from functions.api import segments as segments_api
from functions.store.contacts import create_contact
from tests.functions.api_support import Api

VIP_IN_IRAN = {
    "match": "any",
    "groups": [
        {
            "match": "all",
            "conditions": [
                {"field": "tags", "op": "contains", "value": "vip"},
                {"field": "country", "op": "equals", "value": "IR"},
            ],
        }
    ],
}


@pytest.fixture
def api(engine) -> Api:
    return Api()


@pytest.fixture
def people(engine) -> dict[str, str]:
    fields = {
        "sara": {"tags": {"vip"}, "country": "IR", "first_name": "سارا", "last_name": "Karimi"},
        "reza": {"tags": {"vip"}, "country": "IR"},
        "hans": {"tags": {"vip"}, "country": "DE", "lifecycle_stage": "customer"},
        "omid": {"country": "IR", "lifecycle_stage": "customer"},
    }
    return {
        name: create_contact({"email": f"{name}@example.com", **f}).contact_id
        for name, f in fields.items()
    }


def test_a_preview_counts_the_matching_contacts_and_shows_them(api, people) -> None:
    answer = api.post("/segments/preview", api.key("read_only"), {"criteria": VIP_IN_IRAN})
    assert answer.status == 200, answer.body
    assert (answer.body["count"], answer.body["exact"]) == (2, True)
    shown = {c["contact_id"]: c["name"] for c in answer.body["sample"]}
    assert shown == {people["sara"]: "سارا Karimi", people["reza"]: "reza@example.com"}


def test_any_groups_add_up_and_each_contact_counts_once(api, people) -> None:
    either = {
        "match": "any",
        "groups": [
            {"conditions": [{"field": "tags", "op": "contains", "value": "vip"}]},
            {"conditions": [{"field": "lifecycle_stage", "op": "equals", "value": "customer"}]},
        ],
    }
    answer = api.post("/segments/preview", api.key("marketer"), {"criteria": either})
    assert (answer.status, answer.body["count"], answer.body["exact"]) == (200, 4, True)
    none = {"groups": [{"conditions": [{"field": "tags", "op": "contains", "value": "nobody"}]}]}
    empty = api.post("/segments/preview", api.key("marketer"), {"criteria": none})
    assert (empty.body["count"], empty.body["sample"]) == (0, [])


def test_past_the_read_limit_the_count_is_an_estimate(api, people, monkeypatch) -> None:
    monkeypatch.setattr(segments_api, "PREVIEW_READS", 2)
    vip = {"groups": [{"conditions": [{"field": "tags", "op": "contains", "value": "vip"}]}]}
    answer = api.post("/segments/preview", api.key("marketer"), {"criteria": vip})
    assert (answer.body["count"], answer.body["exact"]) == (3, False)


def test_trigger_data_makes_the_count_inexact(api, people) -> None:
    criteria = {
        "groups": [
            {
                "conditions": [
                    {"field": "tags", "op": "contains", "value": "vip"},
                    {"field": "trigger.plan", "op": "is_not_set"},
                ]
            }
        ]
    }
    answer = api.post("/segments/preview", api.key("marketer"), {"criteria": criteria})
    assert (answer.status, answer.body["count"], answer.body["exact"]) == (200, 3, False)


def test_a_filter_no_index_answers_is_a_422_saying_what_to_add(api) -> None:
    key = api.key("read_only")
    by_score = {"groups": [{"conditions": [{"field": "score", "op": "at_least", "value": 50}]}]}
    answer = api.post("/segments/preview", key, {"criteria": by_score})
    assert (answer.status, answer.error["code"]) == (422, "FlowInvalid")
    assert answer.error["message"].startswith(
        "group 1 of the filter has no condition the store can look up; add one of: "
        "tags contains X, products contains X"
    )
    opened = {"groups": [{"conditions": [{"op": "opened", "node": "welcome"}]}]}
    engagement = api.post("/segments/preview", key, {"criteria": opened})
    assert engagement.status == 422
    assert "put this condition in the flow" in engagement.error["message"]
    bad_op = {"groups": [{"conditions": [{"field": "tags", "op": "resembles", "value": "x"}]}]}
    malformed = api.post("/segments/preview", key, {"criteria": bad_op})
    assert malformed.status == 400
    assert malformed.error["fields"][0]["field"] == "criteria.groups[0].conditions[0].op"
    assert api.post("/segments/preview", None, {"criteria": by_score}).status == 401


def test_saved_segments_are_listed_by_name_for_pickers(api) -> None:
    marketer = api.key("marketer")
    for segment_id, name in (("vip-iran", "مشتریان ویژه ایران"), ("b2b", "B2B accounts")):
        saved = api.post(
            "/segments",
            marketer,
            {"segment_id": segment_id, "name": name, "criteria": VIP_IN_IRAN},
        )
        assert saved.status == 201, saved.body
    answer = api.get("/segments", api.key("read_only"))
    assert answer.status == 200, answer.body
    assert [(s["segment_id"], s["name"]) for s in answer.body["segments"]] == [
        ("b2b", "B2B accounts"),
        ("vip-iran", "مشتریان ویژه ایران"),
    ]
    assert api.get("/segments", None).status == 401
