"""Idempotency-Key on `POST /hooks/{flow_id}` under concurrency: parallel deliveries with one
key do the work once and all get the first answer (or 409 while it is still being done), a
crashed first attempt is taken over after the lease, a key reused with another body is
refused with 422, and keys are kept at least a day. On moto, in-process."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from functions.api.errors import error_body
from functions.publish import publish
from functions.store.contacts import find_by_email, now
from functions.store.models import Contact, Delivery, Enrollment, FlowRecord
from functions.triggers import deliveries, webhook
from tests.functions.api_support import Api
from tests.functions.test_enrollments import executions, node, settled, tagging

SECRET = "whsec_idem_2468"
FLOW = "lead-form"
IN_PROGRESS = "a delivery with Idempotency-Key 'form-1' is still in progress; retry shortly"


@pytest.fixture
def hook(engine, monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("CRMFLOW_SECRET_HOOK_LEAD_FORM", SECRET)
    doc = tagging(FLOW, "from-form")
    doc["trigger"] = node("start", "webhook", email_key="email", mapping={"first_name": "name"})
    publish(doc)
    yield
    all_settled()


def all_settled() -> None:
    """Let the runs a test started end before the mock goes (quieter, and no stray calls)."""
    for enrollment in Enrollment.scan():
        settled(enrollment.enrollment_id)


def body(email: str = "sara@example.com", name: str = "سارا") -> bytes:
    return json.dumps({"email": email, "name": name}, ensure_ascii=False).encode()


def deliver(raw: bytes, key: str | None = "form-1", *, at: int | None = None) -> tuple[int, Any]:
    """What `POST /hooks/lead-form` answers: the function the route calls, and its refusals
    turned into answers as the route does."""
    headers = {"X-Crmflow-Signature": webhook.sign(SECRET, raw, at)}
    if key is not None:
        headers["Idempotency-Key"] = key
    try:
        answer = webhook.accept(FLOW, raw, headers, _no_key_needed)
    except Exception as exc:
        return error_body(exc)
    return answer.status, answer.body


def _no_key_needed() -> None:
    raise AssertionError("a signed request must not fall back to the API key")


def in_parallel(calls: list[Any]) -> list[tuple[int, Any]]:
    """Run the calls on as many threads, released together."""
    gate = threading.Barrier(len(calls))

    def run(call: Any) -> tuple[int, Any]:
        gate.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def started() -> int:
    return len(executions(FlowRecord.get(FLOW).state_machine_arn))


def test_ten_parallel_deliveries_with_one_key_do_the_work_once(hook) -> None:
    raw = body()
    moment = int(time.time())
    # Each re-signed as a sender's retry would be: ten different signatures, one key.
    answers = in_parallel([lambda i=i: deliver(raw, at=moment - i) for i in range(10)])
    done = [a for a in answers if a[0] != 409]
    assert done, answers
    first = done[0]
    assert first[0] == 202 and first[1]["enrolled"] is True, answers
    for answer in answers:
        assert answer == first or answer == (
            409,
            {"error": {"code": "IdempotencyInProgress", "message": IN_PROGRESS}},
        ), answers
    assert [c.email for c in Contact.scan()] == ["sara@example.com"]
    assert [e.enrollment_id for e in Enrollment.scan()] == [first[1]["enrollment_id"]]
    assert started() == 1
    assert deliver(raw, at=moment - 11) == first  # once it is done, everyone gets it
    assert settled(first[1]["enrollment_id"]).status == "ended"


def test_parallel_deliveries_for_one_new_address_with_their_own_keys_make_one_contact(
    hook,
) -> None:
    raw = body("omid@example.com", "Omid")
    moment = int(time.time())
    answers = in_parallel(
        [lambda i=i: deliver(raw, key=f"form-{i}", at=moment - i) for i in range(6)]
    )
    assert {status for status, _ in answers} <= {200, 202}, answers
    assert [status for status, _ in answers].count(202) == 1, answers
    contact_id = find_by_email("omid@example.com").contact_id
    assert {answer["contact_id"] for _, answer in answers} == {contact_id}
    assert started() == 1


def test_a_delivery_still_in_progress_is_409_until_its_lease_runs_out(hook) -> None:
    raw = body()
    key = f"hook#{FLOW}#form-1"
    fingerprint = webhook.fingerprint(FLOW, json.loads(raw))
    # A first attempt that claimed the key, then crashed (its Lambda timed out).
    claim = deliveries.claim(key, fingerprint, label="Idempotency-Key 'form-1'")
    assert isinstance(claim, deliveries.Claim)
    assert deliver(raw) == (
        409,
        {"error": {"code": "IdempotencyInProgress", "message": IN_PROGRESS}},
    )
    assert find_by_email("sara@example.com") is None and started() == 0

    Delivery(key).update(actions=[Delivery.at.set(now() - deliveries.LEASE - timedelta(seconds=1))])
    status, answer = deliver(raw)  # the retry takes the stale claim over and does the work
    assert (status, answer["enrolled"]) == (202, True)
    assert deliver(raw) == (status, answer)
    # The crashed attempt coming back to life cannot overwrite the answer.
    deliveries.finish(claim, 500, {"stale": True})
    assert deliver(raw) == (status, answer)
    assert started() == 1


def test_a_failed_attempt_frees_its_key_at_once(hook) -> None:
    refused = deliver(b'{"name": "no email"}')
    assert refused[0] == 400
    assert deliver(body())[0] == 202  # same key, no waiting for a lease


def test_a_key_reused_with_a_different_body_is_refused_naming_the_key(hook) -> None:
    first = deliver(body())
    assert first[0] == 202
    reordered = json.dumps({"name": "سارا", "email": "sara@example.com"}, indent=2).encode()
    assert deliver(reordered) == first  # the same JSON, spelled differently
    assert deliver(body("eve@example.com", "Eve")) == (
        422,
        {
            "error": {
                "code": "IdempotencyKeyReused",
                "message": "Idempotency-Key 'form-1' was already used with a different "
                "request body",
            }
        },
    )
    assert find_by_email("eve@example.com") is None
    assert started() == 1


def test_a_key_reused_with_a_different_body_is_422_over_http(hook) -> None:
    api = Api()
    raw = body()
    headers = {"Idempotency-Key": "abc"}
    first = api.post(
        f"/hooks/{FLOW}", raw=raw, headers={**headers, "X-Crmflow-Signature": sign(raw)}
    )
    assert first.status == 202, first.body
    other = body("eve@example.com", "Eve")
    again = api.post(
        f"/hooks/{FLOW}", raw=other, headers={**headers, "X-Crmflow-Signature": sign(other)}
    )
    assert again.status == 422, again.body
    assert again.error == {
        "code": "IdempotencyKeyReused",
        "message": "Idempotency-Key 'abc' was already used with a different request body",
    }
    assert find_by_email("eve@example.com") is None and started() == 1


def test_an_overlong_key_is_a_bad_request(hook) -> None:
    status, answer = deliver(body(), key="k" * 256)
    assert status == 400
    assert answer["error"]["message"] == "the Idempotency-Key is 256 characters; at most 255"
    assert started() == 0


def test_keys_are_kept_at_least_a_day(hook) -> None:
    from infra.aws.tables import table_resource

    before = time.time()
    assert deliver(body())[0] == 202
    kept = Delivery.get(f"hook#{FLOW}#form-1", consistent_read=True)
    assert kept.expires >= before + 24 * 3600
    assert Delivery.Meta.ttl_attribute == "expires"
    assert table_resource(Delivery)["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires",
        "Enabled": True,
    }


def sign(raw: bytes) -> str:
    return webhook.sign(SECRET, raw)
