"""The send_email step's authoring help (editor/email_author.py) in streamlit's AppTest:
the token picker, a preview that stays across reruns, "Send a test to me", the blocks
editor. The API is a stand-in here, counting calls; tests/functions/test_test_emails.py
covers the real route."""

from __future__ import annotations

import json
from typing import Any

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from editor.client import ApiError
from editor.email_author import Insert, token_fields, token_for
from flows.email_blocks import blocks_to_html, html_to_blocks
from flows.validate import validate

SPEC = {
    "id": "hello",
    "kind": "send_email",
    "label": "Hello",
    "params": {
        "from_email": "Acme <hello@acme.com>",
        "subject": "Hi {{ contact.first_name | default('there', true) }}",
        "body": "<p>Hello</p>",
    },
}
DOCUMENT = {
    "schema_version": "1.0",
    "id": "welcome",
    "name": "Welcome",
    "trigger": {"id": "start", "kind": "webhook", "params": {}},
    "nodes": [SPEC, {"id": "done", "kind": "end"}],
    "edges": [{"from": "start", "to": "hello"}, {"from": "hello", "to": "done"}],
}


class FakeApi:
    """What email_author asks of editor.client.Api, answered from memory."""

    def __init__(self) -> None:
        self.test_runs: list[dict[str, Any]] = []
        self.test_emails: list[dict[str, Any]] = []

    def test_run(self, document: dict[str, Any], **request: Any) -> dict[str, Any]:
        self.test_runs.append({"document": document, **request})
        spec = document["nodes"][0]
        if request.get("email") == "gone@example.com":
            return {"emails": [], "path": [{"node": spec["id"], "result": {"skipped": "bounced"}}]}
        name = (request.get("contact") or {}).get("first_name") or "there"
        return {
            "emails": [
                {
                    "from": "Acme <hello@acme.com>",
                    "to": [request.get("email") or "test.contact@example.com"],
                    "subject": spec["params"]["subject"].split("{{")[0] + name,
                    "text": f"Hello {name}",
                    "html": f"<p>Hello {name}</p>",
                }
            ],
            "path": [],
        }

    def send_test_email(self, document: dict[str, Any], node_id: str, **request: Any) -> dict:
        self.test_emails.append({"node_id": node_id, **request})
        if request.get("to") == "bad":
            raise ApiError(400, "BadRequest", "to: 'bad' is not one email address")
        return {"to": request.get("to") or "maya@acme.example", "subject": "[Test] Hi there"}


def picker_app() -> None:
    import streamlit as st

    from editor.email_author import token_picker

    st.session_state.setdefault("inserted", [])
    picked = token_picker("tok", on_insert=st.session_state["inserted"].append)
    st.session_state["picked"] = picked


def preview_app(spec: dict) -> None:
    import streamlit as st

    from editor.email_author import preview, send_test
    from tests.editor.test_email_author import DOCUMENT, FakeApi

    if "api" not in st.session_state:
        st.session_state.api = FakeApi()
    spec = st.session_state.get("spec", spec)
    preview(DOCUMENT, spec, "pv")
    send_test(DOCUMENT, spec, "st")


def blocks_app(html: str) -> None:
    import streamlit as st

    from editor.email_author import blocks_editor

    st.session_state.setdefault("body", html)
    new = blocks_editor("blk", st.session_state["body"])
    if new is not None:
        st.session_state["body"] = new
        st.session_state["changes"] = st.session_state.get("changes", 0) + 1


def test_token_picker_offers_a_token_with_a_fallback_and_inserts_it() -> None:
    at = AppTest.from_function(picker_app, default_timeout=30).run()
    assert not at.exception
    field = at.selectbox(key="tok:field")
    assert field.value == "contact.first_name"
    assert "First name" in field.options and "Owner's name" in field.options
    token = "{{ contact.first_name | default('there', true) }}"
    assert at.code[0].value == token
    at.button(key="tok:insert:body").click().run()
    assert at.session_state["picked"] == Insert("body", token)
    assert at.session_state["inserted"] == [Insert("body", token)]
    at.run()  # the next rerun: nothing more inserted
    assert at.session_state["picked"] is None

    field.select("contact.company_name").run()
    at.text_input(key="tok:fallback").input("your team").run()
    company = "{{ contact.company_name | default('your team', true) }}"
    assert at.code[0].value == company
    at.button(key="tok:insert:subject").click().run()
    assert at.session_state["picked"] == Insert("subject", company)


def test_tokens_pass_the_flows_validator() -> None:
    """Every field the picker offers, with a fallback, in a subject and a body."""
    fields = list(token_fields())
    assert {"contact.first_name", "contact.company_name", "owner.name"} <= set(fields)
    document = json.loads(json.dumps(DOCUMENT))
    params = document["nodes"][0]["params"]
    params["subject"] = " ".join(token_for(f, "it's \\ there") for f in fields[:3])
    params["body"] = "<p>" + " ".join(token_for(f, "x") for f in fields) + "</p>"
    report = validate(document)
    assert report.ok, report.to_dict()["errors"]
    assert token_for("contact.first_name") == "{{ contact.first_name }}"
    assert token_for("contact.city", "it's") == "{{ contact.city | default('it\\'s', true) }}"


def test_the_preview_renders_by_itself_and_stays_across_reruns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    widths: list[Any] = []
    shown = streamlit.iframe

    def iframe(src: str, **kw: Any) -> Any:
        widths.append(kw.get("width"))
        return shown(src, **kw)

    monkeypatch.setattr(streamlit, "iframe", iframe)
    at = AppTest.from_function(preview_app, args=(SPEC,), default_timeout=30).run()
    assert not at.exception
    api = at.session_state["api"]
    assert len(api.test_runs) == 1  # no button needed
    assert "Sara" in at.markdown[0].value
    [frame] = at.get("iframe")
    assert "data:text/html" in str(frame.proto) and widths[-1] == 640

    at.run()
    at.text_input(key="st:to").input("me@acme.example").run()  # an unrelated rerun
    assert len(api.test_runs) == 1
    assert "Sara" in at.markdown[0].value  # still shown

    at.segmented_control(key="pv:width").set_value("Mobile").run()
    assert len(api.test_runs) == 1
    assert widths[-1] == 375

    changed = json.loads(json.dumps(SPEC))
    changed["params"]["subject"] = "New subject for {{ contact.first_name }}"
    at.session_state["spec"] = changed
    at.run()
    assert len(api.test_runs) == 2  # the params changed: rendered again
    assert "New subject for Sara" in at.markdown[0].value.replace("\\", "")
    assert api.test_runs[-1]["document"]["nodes"][0]["params"]["subject"].startswith("New")

    at.button(key="pv:refresh").click().run()
    assert len(api.test_runs) == 3


def test_the_preview_for_a_stored_contact_and_a_skipped_one() -> None:
    at = AppTest.from_function(preview_app, args=(SPEC,), default_timeout=30).run()
    api = at.session_state["api"]
    at.radio(key="pv:who").set_value("A stored contact").run()
    assert len(api.test_runs) == 1 and at.info  # asks for the email first
    at.text_input(key="pv:email").input("gone@example.com").run()
    assert api.test_runs[-1]["email"] == "gone@example.com"
    assert "bounced" in at.warning[0].value


def test_send_a_test_to_me() -> None:
    at = AppTest.from_function(preview_app, args=(SPEC,), default_timeout=30).run()
    api = at.session_state["api"]
    at.button(key="st:send").click().run()
    assert api.test_emails == [{"node_id": "hello", "to": None, "contact": {"first_name": "Sara"}}]
    assert "maya@acme.example" in at.success[0].value
    at.text_input(key="st:to").input("bad").run()
    at.button(key="st:send").click().run()
    assert "not one email address" in at.error[0].value
    at.text_input(key="st:to").input("me@acme.example").run()
    at.button(key="st:send").click().run()
    assert api.test_emails[-1]["to"] == "me@acme.example"
    assert at.session_state["email_author:last_to"] == "me@acme.example"
    assert len(api.test_runs) == 1  # sending re-rendered no preview


def test_blocks_editor_builds_html_that_parses_back() -> None:
    start = blocks_to_html([{"type": "heading", "text": "Hi {{ contact.first_name }}"}])
    at = AppTest.from_function(blocks_app, args=(start,), default_timeout=30).run()
    assert not at.exception
    assert not at.toggle(key="blk:raw").value
    at.selectbox(key="blk:new").select("paragraph").run()
    at.button(key="blk:add").click().run()
    [area] = [t for t in at.text_area if t.key.startswith("blk:")]
    area.input("سلام <b>دوست</b>").run()
    at.selectbox(key="blk:new").select("button").run()
    at.button(key="blk:add").click().run()
    inputs = [t for t in at.text_input if t.key.startswith("blk:")]
    inputs[-2].input("Go").run()
    inputs[-1].input("https://acme.example/go").run()
    blocks = html_to_blocks(at.session_state["body"])
    assert blocks == [
        {"type": "heading", "text": "Hi {{ contact.first_name }}"},
        {"type": "paragraph", "text": "سلام <b>دوست</b>"},
        {"type": "button", "text": "Go", "url": "https://acme.example/go"},
    ]
    assert "&lt;b&gt;" in at.session_state["body"]
    # Move the button up, then remove the heading.
    ids = [b["_id"] for b in at.session_state["blk:blocks"]]
    at.button(key=f"blk:{ids[2]}:up").click().run()
    at.button(key=f"blk:{ids[0]}:drop").click().run()
    assert [b["type"] for b in html_to_blocks(at.session_state["body"])] == [
        "button",
        "paragraph",
    ]


def test_hand_written_html_opens_raw_and_is_not_lost() -> None:
    at = AppTest.from_function(blocks_app, args=("<p>Mine</p>",), default_timeout=30).run()
    assert at.toggle(key="blk:raw").value
    at.text_area(key="blk:html").input("<p>Mine, edited</p>").run()
    assert at.session_state["body"] == "<p>Mine, edited</p>"
    at.toggle(key="blk:raw").set_value(False).run()
    assert at.warning and at.session_state["body"] == "<p>Mine, edited</p>"
    at.button(key="blk:restart").click().run()
    assert html_to_blocks(at.session_state["body"])[0]["type"] == "paragraph"


def picker_and_blocks_app(html: str) -> None:
    import streamlit as st

    from editor.email_author import add_token, blocks_editor, token_picker

    st.session_state.setdefault("body", html)
    st.session_state.setdefault("subject", "Hello")

    def insert(picked: object) -> None:
        if picked.target == "subject":
            st.session_state["subject"] += " " + picked.token
        elif not add_token("blk", picked.token):
            st.session_state["body"] += picked.token

    token_picker("tok", on_insert=insert)
    new = blocks_editor("blk", st.session_state["body"])
    if new is not None:
        st.session_state["body"] = new


def test_insert_into_body_goes_into_the_last_text_block() -> None:
    start = blocks_to_html(
        [{"type": "paragraph", "text": "Dear"}, {"type": "image", "url": "https://x.example/i"}]
    )
    at = AppTest.from_function(picker_and_blocks_app, args=(start,), default_timeout=30).run()
    at.button(key="tok:insert:body").click().run()
    token = "{{ contact.first_name | default('there', true) }}"
    assert html_to_blocks(at.session_state["body"])[0]["text"] == f"Dear {token}"
    at.button(key="tok:insert:subject").click().run()
    assert at.session_state["subject"] == f"Hello {token}"
    # Raw HTML: the token goes at the end of the HTML.
    at.toggle(key="blk:raw").set_value(True).run()
    at.button(key="tok:insert:body").click().run()
    assert at.session_state["body"].endswith(token)
    assert at.text_area(key="blk:html").value.endswith(token)  # the box follows


def test_raw_html_follows_a_change_made_elsewhere() -> None:
    at = AppTest.from_function(blocks_app, args=("<p>One</p>",), default_timeout=30).run()
    at.session_state["body"] = "<p>Two</p>"  # an undo, say
    at.run()
    assert at.text_area(key="blk:html").value == "<p>Two</p>"
    assert at.session_state["body"] == "<p>Two</p>" and "changes" not in at.session_state


@pytest.mark.parametrize("html", ["", "   "])
def test_an_empty_body_stays_empty_until_a_block_is_added(html: str) -> None:
    at = AppTest.from_function(blocks_app, args=(html,), default_timeout=30).run()
    assert not at.exception and "changes" not in at.session_state


def test_the_client_sends_a_test_email_through_the_live_api(live_api: str) -> None:
    """editor.client.Api.send_test_email against the app's HTTP server, SES on moto."""
    from editor.client import Api
    from tests.functions.template_support import sent_mail

    before = len(sent_mail())
    sent = Api().send_test_email(DOCUMENT, "hello", to="me@acme.example", contact={})
    assert sent["to"] == "me@acme.example" and sent["subject"].startswith("[Test] Hi ")
    assert sent["sample_contact"] is True
    [mail] = sent_mail()[before:]
    assert mail.to == ["me@acme.example"] and mail.headers["X-Crmflow-Test"] == "1"
    assert "Hi there" in mail.subject and "/t/o/" not in mail.raw
    with pytest.raises(ApiError) as refused:
        Api().send_test_email(DOCUMENT, "done", to="me@acme.example")
    assert refused.value.status == 422 and "not send_email" in refused.value.message
