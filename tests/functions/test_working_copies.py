"""The editor's autosave over HTTP: a flow's unsaved changes are kept apart from its
versions, survive to be read back (a reload, a closed tab), and are forgotten on request.
On moto's DynamoDB."""

from __future__ import annotations

import pytest

from tests.functions.api_support import Api


def draft(flow_id: str = "welcome-series", name: str = "Welcome series") -> dict:
    """Work in progress: a trigger and a step with its required params still missing."""
    return {
        "schema_version": "1.0",
        "id": flow_id,
        "name": name,
        "trigger": {"id": "start", "kind": "webhook", "params": {}},
        "nodes": [{"id": "send_email", "kind": "send_email", "params": {}}],
        "edges": [{"from": "start", "to": "send_email"}],
    }


@pytest.fixture
def api(store) -> Api:
    return Api()


@pytest.fixture
def marketer(api) -> str:
    return api.key("marketer")


def test_unsaved_changes_of_a_new_flow_are_kept_and_read_back(api, marketer) -> None:
    kept = api.put("/flows/welcome-series/working-copy", marketer, draft())
    assert kept.status == 200, kept.body
    back = api.get("/flows/welcome-series/working-copy", marketer)
    assert back.status == 200
    assert back.body["document"] == draft()  # errors and all: work in progress
    assert back.body["saved_at"] == kept.body["saved_at"]
    assert back.body["latest_version"] is None
    # The flow is listed, as a draft with no version, so the marketer can reopen it.
    listed = {f["flow_id"]: f for f in api.get("/flows", marketer).body["flows"]}
    assert listed["welcome-series"]["status"] == "draft"
    assert api.get("/flows/welcome-series/versions", marketer).body["versions"] == []


def test_a_working_copy_is_not_a_version_and_saving_does_not_mix_them(api, marketer) -> None:
    api.put("/flows/welcome-series/working-copy", marketer, draft())
    saved = api.post("/flows", marketer, {"flow": draft(), "note": "first"})
    assert saved.status == 201 and saved.body["version"] == 1
    changed = draft(name="Welcome series, shorter")
    api.put("/flows/welcome-series/working-copy", marketer, changed)
    versions = api.get("/flows/welcome-series/versions", marketer).body["versions"]
    assert [v["version"] for v in versions] == [1]
    detail = api.get("/flows/welcome-series", marketer).body
    assert detail["latest"]["version"] == 1 and detail["latest"]["document"]["name"] == (
        "Welcome series"
    )
    back = api.get("/flows/welcome-series/working-copy", marketer).body
    assert back["document"]["name"] == "Welcome series, shorter"
    assert back["latest_version"] == 1


def test_discarding_forgets_the_changes_once(api, marketer) -> None:
    api.put("/flows/welcome-series/working-copy", marketer, draft())
    first = api.delete("/flows/welcome-series/working-copy", marketer)
    assert first.status == 200 and first.body["discarded"] is True
    assert api.delete("/flows/welcome-series/working-copy", marketer).body["discarded"] is False
    gone = api.get("/flows/welcome-series/working-copy", marketer)
    assert gone.status == 404
    assert "no unsaved changes" in gone.error["message"]


def test_a_working_copy_names_its_flow(api, marketer) -> None:
    other = api.put("/flows/welcome-series/working-copy", marketer, draft("another-flow"))
    assert other.status == 400
    assert "another-flow" in other.error["message"] and "welcome-series" in other.error["message"]
    assert api.get("/flows/another-flow/working-copy", marketer).status == 404


def test_a_read_only_user_cannot_overwrite_a_working_copy(api) -> None:
    refused = api.put("/flows/welcome-series/working-copy", api.key("read_only"), draft())
    assert refused.status == 403
