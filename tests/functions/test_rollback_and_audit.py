"""Rolling a flow back to an earlier published version (new contacts enter it, contacts
mid-flow finish where they are), and the flow's activity list that says who did what."""

from __future__ import annotations

import pytest

from functions.enrollments import enroll
from functions.store.contacts import create_contact
from functions.store.models import FlowRecord, User
from tests.functions.api_support import USERS, Api
from tests.functions.test_enrollments import settled, tagging


@pytest.fixture
def api(engine) -> Api:
    return Api()


@pytest.fixture
def marketer(api) -> str:
    User(USERS["marketer"], name="Mia Karimi", email="mia@acme.example", role="marketer").save()
    return api.key("marketer")


def _publish(api: Api, key: str, tag: str) -> int:
    answer = api.post("/flows/welcome/publish", key, {"flow": tagging("welcome", tag)})
    assert answer.status == 200, answer.body
    return answer.body["version"]


def _tags_after_enrolling(email: str) -> set[str]:
    contact = create_contact({"email": email}).contact_id
    run = enroll("welcome", contact, trigger={})
    assert settled(run.enrollment_id).status in ("completed", "ended"), run
    from functions.store.contacts import get_contact

    return set(get_contact(contact).tags or ())


def test_a_rollback_sends_new_contacts_to_the_earlier_version(api, marketer) -> None:
    first = _publish(api, marketer, "v1-tag")
    second = _publish(api, marketer, "v2-tag")
    assert _tags_after_enrolling("before@example.com") == {"v2-tag"}
    answer = api.post("/flows/welcome/rollback", marketer, {"version": first})
    assert answer.status == 200, answer.body
    assert answer.body["version"] == first
    record = FlowRecord.get("welcome", consistent_read=True)
    assert (record.status, int(record.published_version)) == ("published", first)
    assert _tags_after_enrolling("after@example.com") == {"v1-tag"}
    listed = api.get("/flows/welcome/versions", marketer).body["versions"]
    assert [(v["version"], v["live"]) for v in listed] == [(second, False), (first, True)]


def test_only_a_published_version_that_is_not_live_is_a_rollback_target(api, marketer) -> None:
    live = _publish(api, marketer, "live")
    draft = api.post("/flows", marketer, {"flow": tagging("welcome", "draft")}).body["version"]
    never = api.post("/flows/welcome/rollback", marketer, {"version": draft})
    assert never.status == 409 and "never published" in never.error["message"]
    already = api.post("/flows/welcome/rollback", marketer, {"version": live})
    assert already.status == 409 and "live already" in already.error["message"]
    assert api.post("/flows/welcome/rollback", marketer, {"version": 99}).status == 404
    assert api.post("/flows/nope/rollback", marketer, {"version": 1}).status == 404
    assert api.post("/flows/welcome/rollback", marketer, {"version": "two"}).status == 400
    reader = api.key("read_only")
    assert api.post("/flows/welcome/rollback", reader, {"version": live}).status == 403


def test_after_an_unpublish_a_rollback_publishes_the_version_again(api, marketer) -> None:
    first = _publish(api, marketer, "v1-tag")
    assert api.post("/flows/welcome/unpublish", marketer).status == 200
    assert api.post("/flows/welcome/rollback", marketer, {"version": first}).status == 200
    assert _tags_after_enrolling("back@example.com") == {"v1-tag"}


def test_the_activity_list_says_who_did_what_newest_first(api, marketer) -> None:
    first = _publish(api, marketer, "one")
    _publish(api, marketer, "two")
    api.post("/flows/welcome/rollback", marketer, {"version": first})
    api.post("/flows/welcome/unpublish", api.key("admin"))
    answer = api.get("/flows/welcome/audit", api.key("read_only"))
    assert answer.status == 200, answer.body
    said = [e["said"] for e in answer.body["entries"]]
    assert said == [
        "u_ana unpublished the flow",  # a user the store does not know: their id
        "Mia Karimi <mia@acme.example> rolled back to version 1 (from version 2)",
        "Mia Karimi <mia@acme.example> published version 2",
        "Mia Karimi <mia@acme.example> published version 1",
    ]
    assert api.get("/flows/nope/audit", marketer).status == 404


def test_the_cli_rolls_back_and_lists_the_activity(api, marketer) -> None:
    from click.testing import CliRunner

    from infra.cli import main

    first = _publish(api, marketer, "one")
    _publish(api, marketer, "two")
    runner = CliRunner()
    done = runner.invoke(main, ["rollback", "welcome", str(first)])
    assert (done.exit_code, done.stdout.strip()) == (0, "welcome: version 1 is live again")
    again = runner.invoke(main, ["rollback", "welcome", str(first)])
    assert again.exit_code == 1 and "live already" in again.stderr
    listed = runner.invoke(main, ["audit", "welcome"])
    assert listed.exit_code == 0
    lines = listed.stdout.strip().splitlines()
    assert lines[0].endswith("cli rolled back to version 1 (from version 2)")
    assert lines[1].endswith("Mia Karimi <mia@acme.example> published version 2")
    assert runner.invoke(main, ["audit", "ghost"]).exit_code == 1
    assert "earlier published version" in runner.invoke(main, ["rollback", "--help"]).output
