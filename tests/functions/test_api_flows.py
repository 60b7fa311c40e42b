"""Flows and enrollments over HTTP, on moto's real Step Functions interpreter: validate,
save, publish (an invalid flow refused with every error), unpublish, and the path an
enrolled contact took."""

from __future__ import annotations

from datetime import datetime

import pytest

from flows.validate import validate
from functions.enrollments import enroll
from functions.store.contacts import create_contact
from tests.functions.api_support import Api
from tests.functions.test_enrollments import (
    ended,
    flow,
    node,
    settled,
    tagging,
    waiting,
    waiting_in,
)


@pytest.fixture
def api(engine) -> Api:
    return Api()


@pytest.fixture
def marketer(api) -> str:
    return api.key("marketer")


def _broken() -> dict:
    bad = tagging("broken", "x")
    bad["nodes"].append(node("mail", "send_email", subject=""))
    bad["edges"].append({"from": "start", "to": "nowhere", "output": "next"})
    return bad


def test_validate_answers_every_error_and_warning_with_paths(api, marketer) -> None:
    answer = api.post("/flows/validate", marketer, _broken())
    assert answer.status == 200
    assert answer.body == validate(_broken()).to_dict()
    assert answer.body["ok"] is False and len(answer.body["errors"]) >= 2
    assert all(e["path"].startswith("$") for e in answer.body["errors"])
    assert api.post("/flows/validate", marketer, tagging("fine", "x")).body["ok"] is True


def test_publishing_an_invalid_flow_is_a_422_listing_every_error(api, marketer) -> None:
    answer = api.post("/flows/broken/publish", marketer, {"flow": _broken()})
    assert answer.status == 422
    expected = validate(_broken()).to_dict()
    assert answer.error["code"] == "FlowInvalid"
    assert answer.error["report"]["errors"] == expected["errors"]
    for issue in expected["errors"]:
        assert issue["message"] in answer.error["message"]
    assert api.get("/flows/broken", marketer).status == 404  # nothing stored


def test_the_path_must_name_the_flow_the_document_is(api, marketer) -> None:
    answer = api.post("/flows/other/publish", marketer, {"flow": tagging("welcome", "new")})
    assert (answer.status, answer.error["fields"]) == (
        400,
        [{"field": "flow.id", "message": "flow.id: is 'welcome', but the path names flow 'other'"}],
    )


def test_a_draft_is_saved_listed_and_read_back(api, marketer) -> None:
    draft = tagging("welcome", "new")
    draft["nodes"].append(node("lonely", "update_record", add_tags=["x"]))  # a warning or error
    saved = api.post("/flows", marketer, {"flow": draft, "note": "first cut"})
    assert saved.status == 201
    assert (saved.body["flow_id"], saved.body["version"]) == ("welcome", 1)
    assert saved.headers["Location"] == "/flows/welcome"
    report = validate(draft).to_dict()
    assert (saved.body["errors"], saved.body["warnings"]) == (report["errors"], report["warnings"])

    listed = api.get("/flows", marketer).body["flows"]
    assert [(f["flow_id"], f["status"], f["latest_version"]) for f in listed] == [
        ("welcome", "draft", 1)
    ]
    assert api.get("/flows?status=published", marketer).body["flows"] == []
    shown = api.get("/flows/welcome", marketer).body
    assert shown["flow"]["status"] == "draft"
    assert shown["latest"]["document"]["id"] == "welcome"
    assert (shown["latest"]["version"], shown["latest"]["note"], shown["latest"]["published"]) == (
        1,
        "first cut",
        False,
    )
    assert shown["latest"]["created_by"] == "u_mia"
    unparseable = api.post("/flows", marketer, {"flow": {"id": "x"}})
    assert (unparseable.status, unparseable.error["code"]) == (422, "FlowInvalid")


def test_publish_enroll_and_read_the_path_the_contact_took(api, marketer) -> None:
    published = api.post(
        "/flows/welcome/publish", marketer, {"flow": tagging("welcome", "new"), "note": "go"}
    )
    assert published.status == 200
    assert (published.body["flow_id"], published.body["version"]) == ("welcome", 1)
    assert published.body["state_machine_arn"].endswith("-welcome-v1")
    assert [f["flow_id"] for f in api.get("/flows?status=published", marketer).body["flows"]] == [
        "welcome"
    ]
    versions = api.get("/flows/welcome/versions", marketer).body["versions"]
    assert [(v["version"], v["published"], v["note"]) for v in versions] == [(1, True, "go")]

    contact = create_contact({"email": "sara@example.com", "first_name": "سارا"}).contact_id
    enrolled = enroll("welcome", contact)
    settled(enrolled.enrollment_id)
    assert ended(enrolled.execution_arn)["status"] == "SUCCEEDED"  # past the finish step
    answer = api.get(f"/enrollments/{enrolled.enrollment_id}", marketer)
    assert answer.status == 200
    record = answer.body["enrollment"]
    assert (record["status"], record["left_node"], record["contact_id"]) == (
        "ended",
        "done",
        contact,
    )
    path = answer.body["path"]
    assert [step["node"] for step in path] == ["tag", "done"]
    for step in path:
        entered, left = (
            datetime.fromisoformat(step["entered_at"]),
            datetime.fromisoformat(step["left_at"]),
        )
        assert entered <= left
    assert datetime.fromisoformat(path[0]["left_at"]) <= datetime.fromisoformat(
        path[1]["entered_at"]
    )

    mine = api.get(f"/contacts/{contact}/enrollments", marketer).body["enrollments"]
    assert [e["enrollment_id"] for e in mine] == [enrolled.enrollment_id]


def test_a_contact_still_waiting_shows_where_it_is(api, marketer) -> None:
    api.post("/flows/nurture/publish", marketer, {"flow": waiting("nurture")})
    contact = create_contact({"email": "omid@example.com"}).contact_id
    enrolled = enroll("nurture", contact)
    waiting_in(contact)
    path = api.get(f"/enrollments/{enrolled.enrollment_id}", marketer).body["path"]
    assert [step["node"] for step in path] == ["wait_click"]
    assert path[-1]["left_at"] is None


def test_a_branch_and_its_route_state_are_one_visit(api, marketer) -> None:
    doc = flow(
        "router",
        [
            node(
                "is_vip",
                "branch",
                criteria={
                    "groups": [
                        {"conditions": [{"field": "tags", "op": "contains", "value": "vip"}]}
                    ]
                },
            ),
            node("yes_tag", "update_record", add_tags=["seen-vip"]),
            node("no_tag", "update_record", add_tags=["seen-other"]),
        ],
        [("start", "is_vip"), ("is_vip", "yes_tag", "yes"), ("is_vip", "no_tag", "no")],
    )
    published = api.post("/flows/router/publish", marketer, {"flow": doc})
    assert published.status == 200, published.body
    contact = create_contact({"email": "vip@example.com", "tags": {"vip"}}).contact_id
    enrolled = enroll("router", contact)
    settled(enrolled.enrollment_id)
    path = api.get(f"/enrollments/{enrolled.enrollment_id}", marketer).body["path"]
    assert [step["node"] for step in path] == ["is_vip", "yes_tag"]


def test_unpublish_stops_new_enrollments_and_says_how_many_it_stopped(api, marketer) -> None:
    api.post("/flows/nurture/publish", marketer, {"flow": waiting("nurture")})
    contact = create_contact({"email": "omid@example.com"}).contact_id
    enroll("nurture", contact)
    waiting_in(contact)
    answer = api.post("/flows/nurture/unpublish?stop_running=true", marketer)
    assert (answer.status, answer.body) == (
        200,
        {"flow_id": "nurture", "status": "unpublished", "stopped": 1},
    )
    assert api.get("/flows/nurture", marketer).body["flow"]["status"] == "unpublished"
    ghost = api.post("/flows/ghost/unpublish", marketer)
    assert (ghost.status, ghost.error) == (
        404,
        {"code": "FlowNotFound", "message": "no flow has id 'ghost'"},
    )
    bad = api.post("/flows/nurture/unpublish?stop_running=maybe", marketer)
    assert (bad.status, bad.error["fields"][0]["field"]) == (400, "stop_running")


def test_enrollments_are_read_only_for_the_contacts_owner_rep(api, marketer) -> None:
    api.post("/flows/welcome/publish", marketer, {"flow": tagging("welcome", "new")})
    theirs = create_contact({"email": "t@example.com", "owner_id": "u_other"}).contact_id
    mine = create_contact({"email": "m@example.com", "owner_id": "u_rep"}).contact_id
    their_run, my_run = enroll("welcome", theirs), enroll("welcome", mine)
    rep = api.key("sales_rep", user_id="u_rep")
    assert api.get(f"/enrollments/{my_run.enrollment_id}", rep).status == 200
    refused = api.get(f"/enrollments/{their_run.enrollment_id}", rep)
    assert (refused.status, refused.error["message"]) == (
        403,
        "this key (role sales_rep) lacks enrollments:read on records owned by others",
    )
    missing = api.get("/enrollments/enr_nope", marketer)
    assert (missing.status, missing.error) == (
        404,
        {"code": "EnrollmentNotFound", "message": "no enrollment has id 'enr_nope'"},
    )


def test_a_version_is_read_whole_and_a_draft_deleted_but_not_a_published_flow(api, marketer) -> None:
    first = api.post("/flows", marketer, {"flow": tagging("draft-only", "a"), "note": "one"})
    assert first.status == 201
    api.post("/flows", marketer, {"flow": tagging("draft-only", "b"), "note": "two"})
    answer = api.get("/flows/draft-only/versions/1", marketer)
    assert answer.status == 200
    assert answer.body["note"] == "one"
    assert answer.body["document"]["nodes"][0]["params"]["add_tags"] == ["a"]
    assert api.get("/flows/draft-only/versions/9", marketer).status == 404
    bad = api.get("/flows/draft-only/versions/first", marketer)
    assert bad.status == 400 and "versions are numbered" in bad.error["fields"][0]["message"]
    assert api.delete("/flows/draft-only", api.key("read_only")).status == 403
    gone = api.delete("/flows/draft-only", marketer)
    assert gone.status == 200 and gone.body == {"flow_id": "draft-only", "deleted_versions": 2}
    assert api.get("/flows/draft-only", marketer).status == 404

    api.post("/flows/live/publish", marketer, {"flow": tagging("live", "x")})
    kept = api.delete("/flows/live", marketer)
    assert kept.status == 409 and kept.error["code"] == "NotADraft"
    assert "only a flow never published can be deleted" in kept.error["message"]
    assert api.get("/flows/live", marketer).status == 200


def test_analytics_count_each_step_and_the_goal_funnel(api, marketer) -> None:
    api.post("/flows/welcome/publish", marketer, {"flow": tagging("welcome", "hello")})
    runs = [enroll("welcome", create_contact({"email": f"a{i}@example.com"}).contact_id) for i in range(3)]
    for run in runs:
        settled(run.enrollment_id)
    from tests.functions.test_analytics import counted

    for run in runs:
        counted(run.enrollment_id)
    answer = api.get("/flows/welcome/analytics", marketer)
    assert answer.status == 200, answer.body
    assert answer.body["nodes"]["tag"]["entered"] == 3
    assert answer.body["nodes"]["done"]["finished"] == 3
    assert answer.body["funnel"] == {"entered": 3, "goal": 0, "rate": 0.0}
    assert answer.body["splits"] == {}
    assert api.get("/flows/ghost/analytics", marketer).status == 404
