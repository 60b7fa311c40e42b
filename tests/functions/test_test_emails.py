"""POST /flows/{flow_id}/test-emails: one email step sent to its author, marked as a test,
tracking off, nothing recorded for the contact it was rendered for."""

from __future__ import annotations

import html
from typing import Any

import pytest

from flows.email_blocks import blocks_to_html
from functions.api import test_emails
from functions.store.contacts import create_contact, timeline
from infra.local.templates import verify_senders
from tests.functions.api_support import Api
from tests.functions.template_fixtures import crm_fixture  # noqa: F401 (a fixture, by its name)
from tests.functions.template_support import sent_mail, world
from tests.functions.test_nothing_tracked import LINK, email_flow, urls_of

FALLBACK = "{{ contact.first_name | default('there', true) }}"


@pytest.fixture
def api(crm: None) -> Api:
    verify_senders([email_flow()])
    return Api()


def store_of(snapshot: dict[str, Any]) -> dict[str, Any]:
    """What a test email must leave alone: everything but SES's count."""
    return {k: v for k, v in snapshot.items() if k != "emails"}


def send(api: Api, key: str, **body: Any) -> Any:
    return api.post("/flows/look-only/test-emails", key, {"flow": email_flow(), **body})


def test_the_test_email_goes_out_marked_untracked_and_records_nothing(api: Api) -> None:
    sara = create_contact({"email": "sara@example.com", "first_name": "سارا", "locale": "fa-IR"})
    key = api.key("marketer", user_id="usr-maya")
    before = world()

    answer = send(api, key, node_id="offer", email="sara@example.com")

    assert answer.status == 200, answer.body
    assert answer.body["to"] == "maya@acme.example"  # the key's user, by default
    assert answer.body["contact_id"] == sara.contact_id and not answer.body["sample_contact"]
    [mail] = sent_mail()
    assert mail.to == ["maya@acme.example"]
    assert "sara@example.com" not in mail.to
    assert mail.subject == "[Test] سارا, your pricing"
    assert mail.headers["X-Crmflow-Test"] == "1"
    assert "List-Unsubscribe" not in mail.headers
    # No pixel, no tracked link: the link goes to its target, unsubscribe to the preview.
    assert mail.node is None and mail.clicks == []
    assert "/t/o/" not in mail.raw and "/t/c/" not in mail.raw
    assert set(urls_of({"text": mail.text, "html": mail.html})) == {
        LINK,
        "https://crm.example.com/u/preview",
    }
    # Nothing written: not the contact, timeline, counters, enrollments, reports.
    after = world()
    assert store_of(after) == store_of(before)
    assert after["emails"] == before["emails"] + 1
    assert timeline(sara.contact_id)[0] == []


def test_a_sample_contact_and_an_address_of_ones_choice(api: Api) -> None:
    key = api.key("marketer")
    before = world()
    answer = send(api, key, node_id="reminder", to="me@acme.example", contact={"first_name": "Ali"})
    assert answer.status == 200, answer.body
    assert answer.body["sample_contact"] is True
    assert answer.body["subject"] == "[Test] Still thinking, \u2068Ali\u2069?"  # isolated
    [mail] = sent_mail()
    assert mail.to == ["me@acme.example"] and mail.html is None
    assert LINK in mail.text and "/t/c/" not in mail.text
    assert store_of(world()) == store_of(before)


def test_the_fallback_token_fills_an_empty_first_name(api: Api) -> None:
    """The token the picker offers: `default('there', true)` applies to empty fields too
    (the send step hands templates "" for an empty field, which plain default() keeps)."""
    create_contact({"email": "nameless@example.com"})
    flow = email_flow()
    flow["nodes"][0]["params"]["subject"] = f"Hi {FALLBACK}, and {{{{ contact.city }}}}!"
    flow["nodes"][0]["params"]["body"] = blocks_to_html(
        [
            {"type": "heading", "text": f"Hello {FALLBACK}"},
            {"type": "paragraph", "text": "<b>not bold</b> & سلام"},
            {"type": "button", "text": "Plans", "url": LINK},
        ]
    )
    key = api.key("marketer")
    answer = api.post(
        "/flows/look-only/test-emails",
        key,
        {
            "flow": flow,
            "node_id": "offer",
            "to": "me@acme.example",
            "email": "nameless@example.com",
        },
    )
    assert answer.status == 200, answer.body
    [mail] = sent_mail()
    assert mail.subject == "[Test] Hi there, and !"
    assert "Hello there</td>" in mail.html  # as read: isolates taken out
    assert "&lt;b&gt;not bold&lt;/b&gt; &amp; سلام" in mail.html
    assert f'href="{html.escape(LINK)}"' in mail.html  # the button, untracked


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"node_id": "nope"}, 422, "no step 'nope'"),
        ({"node_id": "clicked"}, 422, "wait_for_event step, not send_email"),
        ({"node_id": "offer", "to": "not an address"}, 400, "not one email address"),
        ({"node_id": "offer", "to": "a@x.example\nBcc: b@x.example"}, 400, "not one email"),
        ({"node_id": "offer", "email": "nobody@example.com"}, 404, "nobody@example.com"),
        ({"to": "me@acme.example"}, 400, "node_id"),
        ({"node_id": "offer", "email": "a@x.example", "contact": {}}, 400, "name one contact"),
    ],
)
def test_bad_input_is_refused_naming_the_problem(
    api: Api, body: dict[str, Any], status: int, words: str
) -> None:
    key = api.key("marketer", user_id="usr-maya")
    before = world()
    answer = send(api, key, **body)
    assert answer.status == status, answer.body
    assert words in str(answer.error), answer.error
    assert world() == before


def test_other_refusals(api: Api) -> None:
    key = api.key("marketer")  # a user with no stored email
    answer = send(api, key, node_id="offer")
    assert answer.status == 400 and "to" in str(answer.error)
    other = email_flow() | {"id": "another"}
    answer = api.post(
        "/flows/look-only/test-emails",
        key,
        {"flow": other, "node_id": "offer", "to": "me@acme.example"},
    )
    assert answer.status == 400 and "another" in answer.error["message"]
    missing = {"node_id": "x", "to": "me@acme.example"}
    assert api.post("/flows/missing/test-emails", key, missing).status == 404
    assert api.post("/flows/look-only/test-emails", api.key("read_only"), {}).status == 403
    unsubscribed = create_contact({"email": "gone@example.com", "first_name": "G"})
    from functions.store.contacts import update_contact

    update_contact(
        unsubscribed.contact_id,
        lambda c: setattr(c, "subscription_status", "unsubscribed"),
        changed_by="test",
    )
    answer = send(api, key, node_id="offer", to="me@acme.example", email="gone@example.com")
    assert answer.status == 422 and "unsubscribed" in answer.error["message"]
    assert sent_mail() == []


def test_ten_a_minute_per_key(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(test_emails, "RATE_LIMIT", 3)
    key = api.key("marketer")
    for _ in range(3):
        assert send(api, key, node_id="reminder", to="me@acme.example").status == 200
    refused = send(api, key, node_id="reminder", to="me@acme.example")
    assert refused.status == 429 and refused.error["code"] == "TooManyRequests"
    assert int(refused.headers["Retry-After"]) >= 1
    assert len(sent_mail()) == 3
    # Another key has its own count.
    assert send(api, api.key("marketer"), node_id="reminder", to="me@acme.example").status == 200


def test_why_the_token_says_true() -> None:
    """The send step gives templates "" for an empty field (functions.email.view_of):
    plain default() keeps "", default(…, true) replaces it; a missing field takes both."""
    from functions.render import render

    empty = {"contact": {"first_name": ""}}
    assert render("{{ contact.first_name | default('there') }}", empty) == ""
    assert render(FALLBACK, empty) == "there"
    assert render(FALLBACK, {"contact": {}}) == "there"
    assert render(FALLBACK, {"contact": {"first_name": "سارا"}}) == "سارا"
