"""A signed hook delivery replayed inside the signature's five minutes gets the first answer
and starts nothing, even for a flow that lets contacts enter again; the signatures seen are
kept in DynamoDB (not in a Lambda's memory) until the window has passed. On moto."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from functions.publish import publish
from functions.store.models import Delivery, Enrollment, FlowRecord
from functions.triggers import webhook
from tests.functions.api_support import Api
from tests.functions.test_enrollments import executions, node, settled, tagging
from tests.functions.test_hook_idempotency import all_settled, in_parallel

SECRET = "whsec_replay_1357"
FLOW = "signup"
BODY = json.dumps({"email": "sara@example.com", "name": "سارا"}, ensure_ascii=False).encode()


@pytest.fixture
def api(engine, monkeypatch) -> Iterator[Api]:
    monkeypatch.setenv("CRMFLOW_SECRET_HOOK_SIGNUP", SECRET)
    doc = tagging(FLOW, "signed-up", allow_reenrollment=True)
    doc["trigger"] = node("start", "webhook", email_key="email", mapping={"first_name": "name"})
    publish(doc)
    yield Api()
    all_settled()


def started() -> int:
    return len(executions(FlowRecord.get(FLOW).state_machine_arn))


def post(api: Api, headers: dict[str, str], raw: bytes = BODY) -> Any:
    return api.post(f"/hooks/{FLOW}", raw=raw, headers=headers)


def test_a_replayed_signed_delivery_gets_the_first_answer_and_starts_nothing(api) -> None:
    captured = {"X-Crmflow-Signature": webhook.sign(SECRET, BODY)}
    first = post(api, captured)
    assert first.status == 202, first.body
    assert settled(first.body["enrollment_id"]).status == "ended"  # free to enter again
    replayed = post(api, captured)
    assert (replayed.status, replayed.body) == (202, first.body)
    # Headers are not signed: a new Idempotency-Key does not make the replay new.
    rekeyed = post(api, {**captured, "Idempotency-Key": "fresh-key"})
    assert (rekeyed.status, rekeyed.body) == (202, first.body)
    assert started() == 1 and len(list(Enrollment.scan())) == 1


def test_a_delivery_signed_again_by_its_sender_starts_the_flow_again(api) -> None:
    first = post(api, {"X-Crmflow-Signature": webhook.sign(SECRET, BODY, int(time.time()) - 1)})
    assert first.status == 202, first.body
    settled(first.body["enrollment_id"])
    again = post(api, {"X-Crmflow-Signature": webhook.sign(SECRET, BODY)})
    assert again.status == 202, again.body
    assert again.body["enrollment_id"] != first.body["enrollment_id"]
    assert started() == 2


def test_parallel_replays_start_the_flow_once(api) -> None:
    headers = {"X-Crmflow-Signature": webhook.sign(SECRET, BODY)}

    def deliver() -> tuple[int, Any]:
        from functions.api.errors import error_body

        try:
            answer = webhook.accept(FLOW, BODY, headers, lambda: None)
        except Exception as exc:
            return error_body(exc)
        return answer.status, answer.body

    answers = in_parallel([deliver] * 8)
    first = next(a for a in answers if a[0] != 409)
    assert first[0] == 202, answers
    busy = (
        409,
        {
            "error": {
                "code": "IdempotencyInProgress",
                "message": "a delivery with this signature is still in progress; retry shortly",
            }
        },
    )
    assert all(a in (first, busy) for a in answers), answers
    assert started() == 1


def test_signatures_are_kept_in_the_deliveries_table_until_the_window_has_passed(api) -> None:
    t = int(time.time())
    header = webhook.sign(SECRET, BODY, t)
    assert post(api, {"X-Crmflow-Signature": header}).status == 202
    seen = Delivery.get(f"sig#{FLOW}#{header.split('v1=')[1]}", consistent_read=True)
    assert seen.status == 202
    assert t + webhook.MAX_AGE <= seen.expires <= t + 3600  # past the window, not for days


def test_a_replay_after_the_window_is_refused(api) -> None:
    old = {"X-Crmflow-Signature": webhook.sign(SECRET, BODY, int(time.time()) - 301)}
    answer = post(api, old)
    assert answer.status == 401 and "more than 5 minutes away" in answer.error["message"]
    assert started() == 0
