"""Segment broadcasts started by people: `broadcast_flow` on a published segment flow (its
own filter or a saved segment), a chunk at a time; `POST /flows/{id}/broadcast`, saved
segments over HTTP, and `crmflow broadcast` — on moto's real Step Functions interpreter."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from functions.api import flows as flows_api
from functions.enrollments import enrollments_of
from functions.errors import FlowNotFound, FlowRejected, RecordNotFound, WrongTrigger
from functions.publish import publish, unpublish
from functions.store.contacts import create_contact
from functions.store.segments import get_segment, save_segment
from functions.triggers.segments import broadcast_flow
from infra.cli import main
from tests.functions.api_support import Api
from tests.functions.test_enrollments import node, settled, tagging

# Tagged vip AND in Iran: the tag index finds the candidates, the country narrows them.
VIP_IN_IRAN = {
    "groups": [
        {
            "conditions": [
                {"field": "tags", "op": "contains", "value": "vip"},
                {"field": "country", "op": "equals", "value": "IR"},
            ]
        }
    ]
}

VIP_ONLY = {"groups": [{"conditions": [{"field": "tags", "op": "contains", "value": "vip"}]}]}


def segment_flow(flow_id: str, **params: Any) -> dict[str, Any]:
    doc = tagging(flow_id, "broadcast")
    doc["trigger"] = node("start", "segment", **params)
    return doc


@pytest.fixture
def people(engine) -> dict[str, str]:
    """Two vip contacts in Iran (they match), a vip in Germany (a candidate that does not
    match) and one in Iran without the tag (not even a candidate)."""
    fields = {
        "sara": {"tags": {"vip"}, "country": "IR", "first_name": "سارا"},
        "reza": {"tags": {"vip"}, "country": "IR", "first_name": "رضا"},
        "hans": {"tags": {"vip"}, "country": "DE"},
        "omid": {"country": "IR"},
    }
    return {
        name: create_contact({"email": f"{name}@example.com", **f}).contact_id
        for name, f in fields.items()
    }


def flows_of(contact_id: str) -> list[str]:
    return sorted(e.flow_id for e in enrollments_of(contact_id))


def in_flow(people: dict[str, str], flow_id: str) -> list[str]:
    return sorted(name for name, cid in people.items() if flow_id in flows_of(cid))


# --- broadcast_flow -----------------------------------------------------------------------------


def test_a_broadcast_enrolls_exactly_the_matching_contacts_once_per_run(people) -> None:
    publish(segment_flow("vip-news", criteria=VIP_IN_IRAN))
    seen: list[tuple[int, int]] = []
    first = broadcast_flow(
        "vip-news", run_id="march", progress=lambda done, total: seen.append((done, total))
    )
    assert (first.candidates, first.matched, len(first.enrolled)) == (3, 2, 2)
    assert (first.skipped, first.repeated, first.failed, first.next_after) == (0, 0, {}, None)
    assert first.run_id == "march" and seen[-1] == (3, 3)
    assert in_flow(people, "vip-news") == ["reza", "sara"]

    again = broadcast_flow("vip-news", run_id="march")
    assert (again.matched, again.enrolled, again.repeated, again.skipped) == (2, [], 2, 0)
    assert in_flow(people, "vip-news") == ["reza", "sara"]
    assert all(len(enrollments_of(people[n])) == 1 for n in ("reza", "sara"))

    other_run = broadcast_flow("vip-news")  # a new run: they were in it once, no re-entry
    assert other_run.run_id.startswith("vip-news-v1-")
    assert (other_run.enrolled, other_run.skipped) == ([], 2)


def test_chunks_with_a_tiny_budget_go_on_from_next_after_to_the_same_totals(people) -> None:
    publish(segment_flow("vip-news", criteria=VIP_IN_IRAN))
    first = broadcast_flow("vip-news", run_id="chunked", budget_seconds=0)
    ids = sorted(people[name] for name in ("sara", "reza", "hans"))
    assert first.next_after == ids[0]  # each call does at least one candidate
    rest = broadcast_flow("vip-news", run_id="chunked", after=first.next_after)
    assert rest.next_after is None
    assert first.candidates == rest.candidates == 3
    assert first.matched + rest.matched == 2
    assert len(first.enrolled) + len(rest.enrolled) == 2
    assert first.repeated + rest.repeated == 0
    assert in_flow(people, "vip-news") == ["reza", "sara"]

    cursors, after = [None], None  # chunk after chunk, as clients do: it ends
    while True:
        chunk = broadcast_flow("vip-news", run_id="chunked", after=after, budget_seconds=0)
        after = chunk.next_after
        if after is None:
            break
        cursors.append(after)
    assert cursors == [None, ids[0], ids[1]]


def test_contacts_leaving_the_filter_mid_broadcast_make_no_one_skipped(engine) -> None:
    """The flow removes the tag its filter looks up: chunk by chunk, the tag index shrinks
    under the broadcast, and still every tagged contact is enrolled."""
    doc = segment_flow("untag", criteria=VIP_ONLY)
    doc["nodes"][0] = node("tag", "update_record", remove_tags=["vip"])
    publish(doc)
    ids = [
        create_contact({"email": f"vip{n}@example.com", "tags": {"vip"}}).contact_id
        for n in range(6)
    ]
    after, enrolled = None, []
    while True:
        chunk = broadcast_flow("untag", run_id="untag-1", after=after, budget_seconds=0)
        enrolled += chunk.enrolled
        for enrollment_id in chunk.enrolled:
            settled(enrollment_id)  # its first step has removed the tag before the next call
        after = chunk.next_after
        if after is None:
            break
    assert len(enrolled) == 6
    assert all("untag" in flows_of(contact_id) for contact_id in ids)


def test_only_a_published_segment_flow_is_broadcast(people) -> None:
    publish(tagging("welcome", "x"))  # started by a webhook
    with pytest.raises(WrongTrigger, match="'welcome' is started by a webhook trigger"):
        broadcast_flow("welcome")
    with pytest.raises(FlowNotFound, match="no flow has id 'ghost'"):
        broadcast_flow("ghost")
    publish(segment_flow("vip-news", criteria=VIP_IN_IRAN))
    unpublish("vip-news")
    with pytest.raises(FlowNotFound, match="is unpublished, not published"):
        broadcast_flow("vip-news")
    assert in_flow(people, "vip-news") == []


def test_a_flow_naming_a_saved_segment_broadcasts_its_filter(people) -> None:
    saved = save_segment("VIP in Iran", VIP_IN_IRAN, segment_id="vip-iran", by="u_mia")
    assert (saved.name, saved.created_by) == ("VIP in Iran", "u_mia")
    assert get_segment("vip-iran").criteria["groups"][0]["conditions"][1]["value"] == "IR"
    publish(segment_flow("vip-news", segment_id="vip-iran"))
    result = broadcast_flow("vip-news", run_id="r1")
    assert (result.candidates, result.matched, len(result.enrolled)) == (3, 2, 2)
    assert in_flow(people, "vip-news") == ["reza", "sara"]


def test_publishing_a_flow_that_names_an_unknown_segment_is_refused(engine) -> None:
    with pytest.raises(FlowRejected, match="no segment has this id; save the filter first"):
        publish(segment_flow("vip-news", segment_id="nobody"))
    with pytest.raises(RecordNotFound, match="no segment has id 'nobody'"):
        get_segment("nobody")


# --- over HTTP ----------------------------------------------------------------------------------


@pytest.fixture
def api(engine) -> Api:
    return Api()


def test_a_marketer_broadcasts_over_http_and_a_sales_rep_may_not(api, people) -> None:
    publish(segment_flow("vip-news", criteria=VIP_IN_IRAN))
    refused = api.post("/flows/vip-news/broadcast", api.key("sales_rep"))
    assert (refused.status, refused.error) == (
        403,
        {"code": "Forbidden", "message": "this key (role sales_rep) lacks flows:publish"},
    )
    assert in_flow(people, "vip-news") == []

    marketer = api.key("marketer")
    answer = api.post("/flows/vip-news/broadcast", marketer)  # no body: a new run
    assert answer.status == 200, answer.body
    body = answer.body
    assert body["run_id"].startswith("vip-news-v1-")
    assert {k: body[k] for k in ("candidates", "matched", "enrolled", "skipped", "repeated")} == {
        "candidates": 3,
        "matched": 2,
        "enrolled": 2,
        "skipped": 0,
        "repeated": 0,
    }
    assert (body["failed"], body["failures"], body["next_after"]) == (0, [], None)
    assert len(body["enrollment_ids"]) == 2
    assert in_flow(people, "vip-news") == ["reza", "sara"]

    again = api.post("/flows/vip-news/broadcast", marketer, {"run_id": body["run_id"]}).body
    assert (again["enrolled"], again["repeated"]) == (0, 2)


def test_over_http_a_client_calls_again_with_next_after_until_done(
    api, people, monkeypatch
) -> None:
    publish(segment_flow("vip-news", criteria=VIP_IN_IRAN))
    monkeypatch.setattr(flows_api, "BROADCAST_BUDGET_SECONDS", 0)
    marketer = api.key("marketer")
    chunk = api.post("/flows/vip-news/broadcast", marketer).body
    answers = [chunk]
    while chunk["next_after"] is not None:
        sent = {"run_id": chunk["run_id"], "after": chunk["next_after"]}
        chunk = api.post("/flows/vip-news/broadcast", marketer, sent).body
        answers.append(chunk)
    ids = sorted(people[name] for name in ("sara", "reza", "hans"))
    assert [a["after"] for a in answers] == [None, ids[0], ids[1]]
    assert len({a["run_id"] for a in answers}) == 1
    assert sum(a["enrolled"] for a in answers) == 2
    assert in_flow(people, "vip-news") == ["reza", "sara"]


def test_broadcasting_a_flow_with_another_trigger_is_a_422_naming_it(api, people) -> None:
    publish(tagging("welcome", "x"))
    marketer = api.key("marketer")
    answer = api.post("/flows/welcome/broadcast", marketer)
    assert (answer.status, answer.error) == (
        422,
        {
            "code": "WrongTrigger",
            "message": "flow 'welcome' is started by a webhook trigger; only flows with a "
            "segment trigger are broadcast",
        },
    )
    assert api.post("/flows/ghost/broadcast", marketer).status == 404
    bad = api.post("/flows/welcome/broadcast", marketer, {"after": 5, "run": "x"})
    assert bad.status == 400
    assert [f["field"] for f in bad.error["fields"]] == ["after", "run"]


def test_segments_are_saved_and_read_over_http_and_flows_broadcast_them(api, people) -> None:
    marketer = api.key("marketer")
    sent = {"segment_id": "vip-iran", "name": "مشتریان ویژه ایران", "criteria": VIP_IN_IRAN}
    created = api.post("/segments", marketer, sent)
    assert created.status == 201, created.body
    assert created.headers["Location"] == "/segments/vip-iran"
    shown = api.get("/segments/vip-iran", api.key("read_only")).body
    assert shown["name"] == "مشتریان ویژه ایران" and shown["created_by"] == "u_mia"
    assert shown["criteria"]["groups"][0]["conditions"][0] == {
        "field": "tags",
        "op": "contains",
        "value": "vip",
    }
    taken = api.post("/segments", marketer, sent)
    assert (taken.status, taken.error["code"]) == (409, "SegmentExists")
    generated = api.post("/segments", marketer, {"name": "VIP", "criteria": VIP_IN_IRAN})
    assert generated.body["segment_id"].startswith("seg_")

    publish(segment_flow("vip-news", segment_id="vip-iran"))
    answer = api.post("/flows/vip-news/broadcast", marketer)
    assert (answer.status, answer.body["enrolled"]) == (200, 2)
    assert in_flow(people, "vip-news") == ["reza", "sara"]


def test_a_segment_no_index_can_answer_is_a_422_saying_what_to_add(api) -> None:
    marketer = api.key("marketer")
    by_score = {"groups": [{"conditions": [{"field": "score", "op": "at_least", "value": 50}]}]}
    answer = api.post("/segments", marketer, {"name": "Hot", "criteria": by_score})
    assert (answer.status, answer.error["code"]) == (422, "FlowInvalid")
    assert answer.error["message"] == (
        "group 1 of the filter has no condition the store can look up; add one of: "
        "tags contains X, products contains X, lifecycle_stage equals / is one of, "
        "owner_id equals, last_contacted_at more than N days ago"
    )
    bad_op = {"groups": [{"conditions": [{"field": "tags", "op": "resembles", "value": "x"}]}]}
    malformed = api.post("/segments", marketer, {"name": "X", "criteria": bad_op})
    assert malformed.status == 400
    assert malformed.error["fields"][0]["field"] == "criteria.groups[0].conditions[0].op"
    bad_id = api.post("/segments", marketer, {"segment_id": "Bad Id", "name": "X", "criteria": {}})
    assert bad_id.status == 400
    assert {f["field"] for f in bad_id.error["fields"]} == {"segment_id", "criteria.groups"}
    assert api.get("/segments/nope", marketer).status == 404
    refused = api.post("/segments", api.key("sales_rep"), {"name": "X", "criteria": VIP_IN_IRAN})
    assert (refused.status, refused.error["message"]) == (
        403,
        "this key (role sales_rep) lacks flows:write",
    )


# --- crmflow broadcast --------------------------------------------------------------------------


def test_the_cli_broadcasts_with_a_progress_bar_and_prints_the_summary(people) -> None:
    publish(segment_flow("vip-news", criteria=VIP_IN_IRAN))
    runner = CliRunner()
    first = runner.invoke(main, ["broadcast", "vip-news", "--run-id", "cli-1"])
    assert first.exit_code == 0, first.output
    assert "Broadcasting" in first.stderr
    assert first.stdout.strip() == (
        "broadcast cli-1 of vip-news: 3 candidates, 2 matched; enrolled 2, skipped 0 "
        "(already in the flow), already done 0 (by an earlier try of this run), failed 0"
    )
    assert in_flow(people, "vip-news") == ["reza", "sara"]
    again = runner.invoke(main, ["broadcast", "vip-news", "--run-id", "cli-1"])
    assert again.exit_code == 0
    assert "enrolled 0, skipped 0 (already in the flow), already done 2" in again.stdout


def test_the_cli_names_why_a_flow_cannot_be_broadcast(engine) -> None:
    publish(tagging("welcome", "x"))
    runner = CliRunner()
    wrong = runner.invoke(main, ["broadcast", "welcome"])
    assert wrong.exit_code == 1
    assert "flow 'welcome' is started by a webhook trigger" in wrong.stderr
    missing = runner.invoke(main, ["broadcast", "ghost"])
    assert (missing.exit_code, missing.stderr.strip()) == (1, "Error: no flow has id 'ghost'")


def test_the_cli_help_says_what_a_broadcast_does_and_its_rate() -> None:
    result = CliRunner().invoke(main, ["broadcast", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "enroll every contact its trigger's filter" in text
    assert "CRMFLOW_BROADCAST_RATE executions a second (default 250)" in text
    assert "StartExecution" in text and "--run-id ID" in text
