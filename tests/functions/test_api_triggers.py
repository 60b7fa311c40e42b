"""The trigger routes over Chalice's test gateway, on moto: hooks (signature or key,
idempotency, every refusal a 4xx naming the problem and starting nothing), events, and the
links in sent emails."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from functions import email as mail
from functions.enrollments import enroll, enrollments_of
from functions.publish import publish
from functions.store.contacts import create_contact, find_by_email, get_contact
from functions.store.models import FlowRecord
from functions.triggers import webhook
from tests.functions.api_support import Api
from tests.functions.test_enrollments import executions, node, settled, tagging, waiting, waiting_in

SECRET = "whsec_api_5678"


@pytest.fixture
def api(engine, monkeypatch) -> Api:
    monkeypatch.setenv("CRMFLOW_SECRET_HOOK_WELCOME", SECRET)
    doc = tagging("welcome", "welcomed")
    doc["trigger"] = node("start", "webhook", email_key="email", mapping={"first_name": "name"})
    publish(doc)
    return Api()


def signed(body: bytes, *, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    return {"X-Crmflow-Signature": webhook.sign(secret, body, at)}


def started() -> int:
    return len(executions(FlowRecord.get("welcome").state_machine_arn))


BODY = json.dumps({"email": "sara@example.com", "name": "سارا"}, ensure_ascii=False).encode()


def test_a_signed_hook_answers_202_with_the_ids_and_a_redelivery_gets_the_same(api) -> None:
    headers = {**signed(BODY), "Idempotency-Key": "lead-42"}
    first = api.post("/hooks/welcome", raw=BODY, headers=headers)
    assert first.status == 202, first.body
    assert first.body["enrolled"] is True
    assert first.body["execution_id"] == first.body["enrollment_id"]
    again = api.post(
        "/hooks/welcome", raw=BODY, headers={**signed(BODY), "Idempotency-Key": "lead-42"}
    )
    assert (again.status, again.body) == (202, first.body)
    assert started() == 1
    assert find_by_email("sara@example.com").first_name == "سارا"
    assert settled(first.body["enrollment_id"]).status == "ended"


@pytest.mark.parametrize(
    ("headers", "raw", "status", "message"),
    [
        (lambda: signed(BODY, secret="wrong"), BODY, 401, "the signature does not match"),
        (lambda: signed(BODY, at=int(time.time()) - 600), BODY, 401, "more than 5 minutes away"),
        (lambda: {}, BODY, 401, "no API key"),
        (lambda: signed(b'{"email": '), b'{"email": ', 400, "the body is not JSON"),
        (lambda: signed(b'{"name": "x"}'), b'{"name": "x"}', 400, "the body has no 'email'"),
        (lambda: signed(b'"hi"'), b'"hi"', 400, "must be a JSON object, not a JSON str"),
    ],
    ids=[
        "bad-signature",
        "replayed-old-timestamp",
        "no-credentials",
        "malformed-json",
        "no-email",
        "not-an-object",
    ],
)
def test_refused_hooks_are_4xx_naming_the_problem_and_start_nothing(
    api, headers, raw, status, message
) -> None:
    answer = api.post("/hooks/welcome", raw=raw, headers=headers())
    assert answer.status == status, answer.body
    assert message.lower() in answer.error["message"].lower()
    assert started() == 0 and find_by_email("sara@example.com") is None


def test_an_unknown_flow_is_404(api) -> None:
    answer = api.post("/hooks/nope", raw=BODY, headers=signed(BODY))
    assert (answer.status, answer.error["message"]) == (404, "no flow has id 'nope'")


def test_integration_keys_call_only_the_hooks_they_were_issued_for(api) -> None:
    mine = api.key("integration", flows=["welcome"])
    other = api.key("integration", flows=["lead-capture"])
    assert api.post("/hooks/welcome", other, raw=BODY).status == 403
    answer = api.post("/hooks/welcome", mine, raw=BODY)
    assert answer.status == 202, answer.body
    assert api.post("/hooks/welcome", api.key("marketer"), raw=BODY).error["message"] == (
        "this key (role marketer) lacks hooks:call"
    )


def test_posted_events_start_flows_and_name_bad_input(api) -> None:
    doc = tagging("thanks", "thanked")
    doc["trigger"] = node("start", "event", event="purchase")
    publish(doc)
    key = api.key("integration", events=True)
    sara = create_contact({"email": "sara@example.com"}).contact_id
    answer = api.post(
        "/events",
        key,
        {"event": "purchase", "contact_id": sara, "data": {"product": "pro"}, "event_id": "o-1"},
    )
    assert answer.status == 200, answer.body
    assert len(answer.body["started"]) == 1 and answer.body["event"] == "purchase"
    assert (
        api.post("/events", key, {"event": "purchase", "contact_id": sara, "event_id": "o-1"}).body
        == answer.body
    )
    bad = api.post("/events", key, {"event": "bought", "email": "sara@example.com"})
    assert bad.status == 400 and "event" in bad.error["message"]
    unknown = api.post("/events", key, {"event": "purchase", "email": "ghost@example.com"})
    assert (unknown.status, unknown.error["code"]) == (404, "ContactNotFound")
    assert (
        api.post("/events", api.key("read_only"), {"event": "purchase", "contact_id": sara}).status
        == 403
    )


def test_the_links_of_a_sent_email_open_click_and_unsubscribe_without_a_key(api) -> None:
    publish(waiting("nurture"))
    sara = create_contact({"email": "sara@example.com", "locale": "ar"}).contact_id
    run = enroll("nurture", sara)
    waiting_in(sara)
    pixel = mail.open_pixel_url(sara, run.enrollment_id, "wait_click").rsplit("/", 1)[1]
    link = mail.click_url(sara, run.enrollment_id, "wait_click", "https://acme.com/عرض").rsplit(
        "/", 1
    )[1]

    opened = api.client.http.get(
        f"/t/o/{pixel}", headers={"Accept": "image/webp,image/*,*/*;q=0.8"}
    )
    assert opened.status_code == 200, opened.body
    assert opened.body.startswith(b"GIF89a")
    assert api.client.http.get(f"/t/o/{pixel}").status_code == 204  # no Accept: no body
    assert opened.headers["Content-Type"] == "image/gif"
    clicked = api.client.http.get(f"/t/c/{link}")
    assert clicked.status_code == 302 and clicked.headers["Location"] == "https://acme.com/عرض"
    assert settled(run.enrollment_id).status == "completed"  # the click resumed the wait
    assert api.client.http.get(f"/t/c/{link[:-2]}zz").status_code == 404

    token = mail.unsubscribe_url(sara).rsplit("/", 1)[1]
    page = api.client.http.get(f"/u/{token}")
    assert page.status_code == 200 and 'dir="rtl"' in page.body.decode()
    assert get_contact(sara).subscription_status == "subscribed"
    done = api.client.http.post(
        f"/u/{token}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body="List-Unsubscribe=One-Click",
    )
    assert done.status_code == 200 and "لن يتلقى" in done.body.decode()
    assert get_contact(sara).subscription_status == "unsubscribed"


def _flows(contact_id: str) -> list[Any]:
    return [e.flow_id for e in enrollments_of(contact_id)]


def test_a_signed_call_to_a_hook_without_a_secret_is_401_naming_no_setting(
    api, monkeypatch
) -> None:
    monkeypatch.delenv("CRMFLOW_SECRET_HOOK_WELCOME")
    answer = api.post("/hooks/welcome", raw=BODY, headers=signed(BODY))
    assert answer.status == 401, answer.body
    assert answer.error["code"] == "BadSignature"
    assert "no signing secret" in answer.error["message"]
    assert "CRMFLOW" not in answer.error["message"]  # configuration is not the caller's
    assert started() == 0
