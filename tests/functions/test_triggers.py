"""What starts flows: signed and keyed hooks, events (with waits and goals), record changes
from the tables' real streams, dates, schedules and segment broadcasts — on moto's Step
Functions interpreter with every step Lambda behind the in-process bridge."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from flows.conditions import Criteria
from functions.enrollments import active_contact_ids, enrollments_of
from functions.errors import (
    BadRequest,
    BadSignature,
    ContactNotFound,
    FlowNotFound,
    FlowRejected,
    Forbidden,
)
from functions.publish import publish
from functions.store.contacts import create_contact, find_by_email, get_contact, update_contact
from functions.store.models import DueDate, Enrollment
from functions.store.records import create_deal, update_deal
from functions.store.tables import table_name
from functions.triggers import dates, events, schedule, segments, webhook
from functions.triggers.records import handle_stream
from infra.local.streams import StreamPoller
from tests.functions.test_enrollments import (
    ended,
    executions,
    node,
    settled,
    tagging,
    waiting,
    waiting_in,
)

SECRET = "whsec_test_1234"


def hook_flow(flow_id: str = "lead-hook", **trigger: Any) -> dict[str, Any]:
    doc = tagging(flow_id, "from-hook")
    doc["trigger"] = node(
        "start",
        "webhook",
        email_key="lead.email",
        mapping={"first_name": "lead.name", "phone": "lead.phone", "budget": "budget"},
        **trigger,
    )
    return doc


def post(flow_id: str, payload: Any, *, key: str | None = None, signed: bool = True, **kw: Any):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["X-Crmflow-Signature"] = webhook.sign(
            kw.pop("secret", SECRET), body, kw.pop("t", None)
        )
    if key:
        headers["Idempotency-Key"] = key
    return webhook.accept(flow_id, body, headers, kw.pop("check_api_key", _no_key_needed))


def _no_key_needed() -> None:
    raise AssertionError("a signed request must not fall back to the API key")


@pytest.fixture
def hooks(engine, monkeypatch) -> None:
    monkeypatch.setenv("CRMFLOW_SECRET_HOOK_LEAD_HOOK", SECRET)
    publish(hook_flow())


LEAD = {
    "lead": {"email": " Sara@Example.com ", "name": "سارا", "phone": "+۹۸ ۹۱۲ ۳۴۵ ۶۷۸۹"},
    "budget": 5000,
}


# --- webhook -------------------------------------------------------------------------------


def test_a_signed_hook_creates_the_contact_from_the_mapping_and_enrolls_it(
    hooks, monkeypatch
) -> None:
    answer = post("lead-hook", LEAD)  # Persian digits in the phone
    assert answer.status == 202 and answer.body["enrolled"] is True
    sara = find_by_email("sara@example.com")
    assert (sara.first_name, sara.phone, sara.custom["budget"]) == ("سارا", "+989123456789", 5000)
    assert answer.body["contact_id"] == sara.contact_id
    assert settled(answer.body["enrollment_id"]).status == "ended"
    assert "from-hook" in get_contact(sara.contact_id).tags


def test_a_redelivery_with_the_same_idempotency_key_gets_the_first_answer(hooks) -> None:
    payload = {"lead": {"email": "omid@example.com", "name": "Omid"}}
    first = post("lead-hook", payload, key="delivery-7")
    again = post("lead-hook", payload, key="delivery-7")
    assert again == first
    machine = publish_arn("lead-hook")
    assert len(executions(machine)) == 1


def test_a_bad_signature_or_an_old_timestamp_is_refused_and_starts_nothing(hooks) -> None:
    payload = {"lead": {"email": "eve@example.com"}}
    with pytest.raises(BadSignature, match="does not match the body and timestamp"):
        post("lead-hook", payload, secret="wrong")
    with pytest.raises(BadSignature, match="more than 5 minutes away from now"):
        post("lead-hook", payload, t=int(time.time()) - 301)
    body = json.dumps(payload).encode()
    tampered = {"X-Crmflow-Signature": webhook.sign(SECRET, b'{"lead": {}}')}
    with pytest.raises(BadSignature):
        webhook.accept("lead-hook", body, tampered, _no_key_needed)
    assert find_by_email("eve@example.com") is None
    assert executions(publish_arn("lead-hook")) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"lead": {"email": "a@b.co",}}', "the body is not JSON: Expecting property name"),
        (b"[1, 2]", "the body must be a JSON object, not a JSON list"),
        (b'{"lead": {}}', "the body has no 'lead.email': this flow finds contacts by it"),
        (b'{"lead": {"email": "not-an-email"}}', "'not-an-email' is not a valid email"),
        (b"\xff\xfe", "the body is not UTF-8 text"),
    ],
)
def test_malformed_input_is_a_bad_request_naming_the_problem(hooks, body, message) -> None:
    with pytest.raises(BadRequest, match=message.replace("(", r"\(")):
        post("lead-hook", body)
    assert executions(publish_arn("lead-hook")) == []


def test_unknown_flows_and_flows_with_other_triggers_are_named(hooks) -> None:
    with pytest.raises(FlowNotFound, match="no flow has id 'nope'"):
        post("nope", LEAD)
    publish(tagging("not-a-hook", "x") | {"trigger": node("start", "event", event="purchase")})
    with pytest.raises(FlowNotFound, match="flow 'not-a-hook' is started by a event trigger"):
        post("not-a-hook", LEAD)


def test_unsigned_requests_need_an_api_key_that_may_call_the_hook(hooks) -> None:
    def refused() -> None:
        raise Forbidden("this key (role integration) lacks hooks:call for flow 'lead-hook'")

    with pytest.raises(Forbidden, match="lacks hooks:call for flow 'lead-hook'"):
        post("lead-hook", LEAD, signed=False, check_api_key=refused)
    allowed = post("lead-hook", LEAD, signed=False, check_api_key=lambda: None)
    assert allowed.status == 202


def test_a_flow_that_requires_signatures_refuses_api_keys(engine, monkeypatch) -> None:
    monkeypatch.setenv("CRMFLOW_SECRET_HOOK_SIGNED_ONLY", SECRET)
    publish(hook_flow("signed-only", require_signature=True))
    with pytest.raises(BadSignature, match="accepts only signed requests"):
        post("signed-only", LEAD, signed=False, check_api_key=lambda: None)


def test_a_hook_for_a_contact_already_in_the_flow_says_so(engine, monkeypatch) -> None:
    monkeypatch.setenv("CRMFLOW_SECRET_HOOK_WAITING_HOOK", SECRET)
    doc = waiting("waiting-hook")
    doc["trigger"] = node("start", "webhook", email_key="email")
    publish(doc)
    first = post("waiting-hook", {"email": "sara@example.com"}, t=int(time.time()) - 1)
    # Signed a second later: a new delivery, not a replay of the first.
    again = post("waiting-hook", {"email": "sara@example.com"})
    assert (again.status, again.body["enrolled"], again.body["reason"]) == (
        200,
        False,
        "already in this flow",
    )
    assert again.body["enrollment_id"] == first.body["enrollment_id"]


def publish_arn(flow_id: str) -> str:
    from functions.store.models import FlowRecord

    return FlowRecord.get(flow_id).state_machine_arn


# --- events --------------------------------------------------------------------------------


def event_flow(flow_id: str, event: str, **params: Any) -> dict[str, Any]:
    doc = tagging(flow_id, flow_id)
    doc["trigger"] = node("start", "event", event=event, **params)
    return doc


def test_a_form_submission_creates_the_contact_and_starts_the_flows_it_matches(engine) -> None:
    publish(event_flow("newsletter", "form_submitted", match={"form_id": "newsletter"}))
    publish(event_flow("support", "form_submitted", match={"form_id": "support"}))
    outcome = events.record_event(
        "form_submitted",
        email="leila@example.com",
        data={"form_id": "newsletter", "first_name": "ليلى"},
    )
    leila = find_by_email("leila@example.com")
    assert leila.first_name == "ليلى" and leila.source == "form"
    assert [e.flow_id for e in enrollments_of(leila.contact_id)] == ["newsletter"]
    assert outcome.started == [enrollments_of(leila.contact_id)[0].enrollment_id]
    assert settled(outcome.started[0]).status == "ended"


def test_an_event_delivered_twice_with_its_id_counts_once(engine) -> None:
    publish(event_flow("thanks", "purchase"))
    sara = create_contact({"email": "sara@example.com"}).contact_id
    first = events.record_event(
        "purchase", contact_id=sara, data={"product": "pro", "amount": 49}, event_id="ord-1"
    )
    again = events.record_event(
        "purchase", contact_id=sara, data={"product": "pro", "amount": 49}, event_id="ord-1"
    )
    assert again == first and len(first.started) == 1
    assert get_contact(sara).custom["purchases"] == 1


def test_a_first_purchase_is_marked_and_products_are_recorded(engine) -> None:
    publish(event_flow("first-buy", "purchase", match={"first_purchase": "true"}))
    sara = create_contact({"email": "sara@example.com"}).contact_id
    first = events.record_event(
        "purchase", contact_id=sara, data={"product": "pro", "amount": "49.5"}
    )
    second = events.record_event(
        "purchase", contact_id=sara, data={"product": "team", "amount": 100}
    )
    assert len(first.started) == 1 and second.started == []
    contact = get_contact(sara)
    assert contact.products == {"pro", "team"}
    assert (contact.custom["purchases"], contact.custom["total_spent"]) == (2, 149.5)


def test_a_click_resumes_the_contact_waiting_for_it(engine) -> None:
    publish(waiting("nurture"))
    from functions.enrollments import enroll

    sara = create_contact({"email": "sara@example.com"}).contact_id
    run = enroll("nurture", sara)
    waiting_in(sara)
    outcome = events.record_event(
        "email_clicked", contact_id=sara, data={"url": "https://acme.com"}
    )
    assert outcome.resumed == [run.enrollment_id]
    assert settled(run.enrollment_id).status == "completed"
    assert get_contact(sara).custom["emails_clicked"] == 1


def test_meeting_the_goal_mid_wait_stops_the_execution_and_records_the_goal(engine) -> None:
    doc = waiting("nurture")
    doc["nodes"].append(
        node(
            "bought",
            "goal",
            criteria={
                "groups": [{"conditions": [{"field": "purchases", "op": "at_least", "value": 1}]}]
            },
        )
    )
    doc["nodes"].append(node("done", "end"))
    doc["edges"] += [
        {"from": "clicked", "to": "bought", "output": "next"},
        {"from": "bought", "to": "done", "output": "next"},
    ]
    publish(doc)
    from functions.enrollments import enroll

    sara = create_contact({"email": "sara@example.com"}).contact_id
    run = enroll("nurture", sara)
    waiting_in(sara)
    outcome = events.record_event("purchase", contact_id=sara, data={"product": "pro"})
    assert outcome.goals == [run.enrollment_id]
    assert ended(run.execution_arn)["status"] == "ABORTED"
    record = Enrollment.get(run.enrollment_id)
    assert (record.status, record.left_node) == ("goal", "bought")
    assert active_contact_ids("nurture") == []


def test_bad_events_are_named(engine) -> None:
    with pytest.raises(BadRequest, match="unknown event 'opened'"):
        events.record_event("opened", email="a@b.co")
    with pytest.raises(BadRequest, match="a custom event needs a 'name'"):
        events.record_event("custom", email="a@b.co")
    with pytest.raises(BadRequest, match="say whose event it is"):
        events.record_event("purchase")
    with pytest.raises(ContactNotFound, match=r"no contact has email nobody@example\.com"):
        events.record_event("purchase", email="nobody@example.com")


# --- record changes ------------------------------------------------------------------------


@pytest.fixture
def stream(engine) -> StreamPoller:
    tables = [table_name(t) for t in ("contacts", "deals", "companies")]
    poller = StreamPoller(tables, lambda event: handle_stream(event["Records"]))
    poller.poll_once()  # start after what the fixtures wrote
    return poller


def record_flow(flow_id: str, kind: str, **params: Any) -> dict[str, Any]:
    doc = tagging(flow_id, flow_id)
    doc["trigger"] = node("start", kind, **params)
    return doc


def flows_of(contact_id: str) -> list[str]:
    return sorted(e.flow_id for e in enrollments_of(contact_id))


def test_record_changes_start_the_flows_they_match(stream) -> None:
    leads = {
        "groups": [{"conditions": [{"field": "lifecycle_stage", "op": "equals", "value": "lead"}]}]
    }
    publish(record_flow("new-lead", "record_created", criteria=leads))
    publish(record_flow("to-opportunity", "stage_changed", to_stage="opportunity"))
    publish(record_flow("plan-change", "field_changed", field="custom.plan", to_value="pro"))
    publish(record_flow("assigned", "owner_assigned"))
    sara = create_contact({"email": "sara@example.com", "lifecycle_stage": "lead"}).contact_id
    omid = create_contact({"email": "omid@example.com"}).contact_id  # a subscriber
    stream.poll_once()
    assert flows_of(sara) == ["new-lead"] and flows_of(omid) == []

    update_contact(omid, lambda c: setattr(c, "lifecycle_stage", "opportunity"))
    update_contact(omid, lambda c: setattr(c, "custom", {"plan": "pro"}))
    update_contact(omid, lambda c: setattr(c, "owner_id", "u_ana"))
    stream.poll_once()
    assert flows_of(omid) == ["assigned", "plan-change", "to-opportunity"]
    assigned = next(e for e in enrollments_of(omid) if e.flow_id == "assigned")
    assert settled(assigned.enrollment_id).status == "ended"


def test_a_redelivered_stream_batch_enrolls_no_one_twice(stream) -> None:
    publish(record_flow("new-contact", "record_created"))
    captured: list[dict] = []
    stream.handler = lambda event: (captured.append(event), handle_stream(event["Records"]))
    sara = create_contact({"email": "sara@example.com"}).contact_id
    stream.poll_once()
    handle_stream(captured[0]["Records"])  # the same batch again, as after a Lambda failure
    assert len(enrollments_of(sara)) == 1


def test_a_deal_moving_stage_starts_the_flow_for_its_contact(stream) -> None:
    publish(record_flow("won", "stage_changed", record="deal", pipeline="sales", to_stage="won"))
    sara = create_contact({"email": "sara@example.com"}).contact_id
    deal = create_deal(
        {"name": "Pro", "pipeline": "sales", "stage": "proposal", "contact_id": sara}
    )
    stream.poll_once()
    update_deal(deal.deal_id, lambda d: setattr(d, "stage", "won"))
    stream.poll_once()
    [run] = enrollments_of(sara)
    assert run.flow_id == "won" and run.source["kind"] == "stage_changed"


def test_a_contact_change_that_meets_a_goal_ends_its_enrollment(stream) -> None:
    doc = waiting("nurture")
    doc["nodes"].append(
        node(
            "customer",
            "goal",
            criteria={
                "groups": [
                    {
                        "conditions": [
                            {"field": "lifecycle_stage", "op": "equals", "value": "customer"}
                        ]
                    }
                ]
            },
        )
    )
    doc["nodes"].append(node("done", "end"))
    doc["edges"] += [{"from": "clicked", "to": "customer"}, {"from": "customer", "to": "done"}]
    publish(doc)
    from functions.enrollments import enroll

    sara = create_contact({"email": "sara@example.com"}).contact_id
    run = enroll("nurture", sara)
    waiting_in(sara)
    stream.poll_once()
    update_contact(sara, lambda c: setattr(c, "lifecycle_stage", "customer"))
    stream.poll_once()
    assert Enrollment.get(run.enrollment_id).status == "goal"


# --- dates and schedules -------------------------------------------------------------------


def test_due_dates_follow_the_records_and_the_scheduler_enrolls_on_the_day(stream) -> None:
    publish(
        record_flow(
            "renewal",
            "date_relative",
            field="renewal_date",
            days=30,
            direction="before",
            at_time="10:00",
            time_zone="Asia/Tehran",
        )
    )
    sara = create_contact(
        {"email": "sara@example.com", "custom": {"renewal_date": "2027-01-31"}}
    ).contact_id
    stream.poll_once()
    assert [d.record_id for d in dates.due("renewal_date", date(2027, 1, 31))] == [sara]
    update_contact(sara, lambda c: setattr(c, "custom", {"renewal_date": "2027-02-01"}))
    stream.poll_once()
    assert dates.due("renewal_date", date(2027, 1, 31)) == []
    assert list(DueDate.query("renewal_date#--02-01"))  # yearly rows too

    # 2027-01-02 10:00 in Tehran is 06:30 UTC: not before, once after.
    assert schedule.tick(datetime(2027, 1, 2, 6, 0, tzinfo=UTC)).enrolled == []
    assert len(schedule.tick(datetime(2027, 1, 2, 6, 45, tzinfo=UTC)).enrolled) == 1
    assert schedule.tick(datetime(2027, 1, 2, 9, 0, tzinfo=UTC)).enrolled == []
    assert flows_of(sara) == ["renewal"]


@pytest.mark.parametrize(
    ("expression", "since", "expected"),
    [
        (
            "rate(2 hours)",
            datetime(2027, 1, 1, 8, 0, tzinfo=UTC),
            datetime(2027, 1, 1, 10, 0, tzinfo=UTC),
        ),
        (
            "cron(0 9 ? * MON *)",
            datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
            datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
        ),
        (
            "cron(0 9 ? * 2 *)",
            datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
            datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
        ),
        (
            "cron(30 7 1 * ? 2028)",
            datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
            datetime(2028, 1, 1, 7, 30, tzinfo=UTC),
        ),
    ],
)
def test_next_run_reads_eventbridge_expressions(expression, since, expected) -> None:
    assert schedule.next_run(expression, since) == expected


def test_a_scheduled_flow_runs_once_when_due_and_enrolls_who_matches(engine) -> None:
    vip = {"groups": [{"conditions": [{"field": "tags", "op": "contains", "value": "vip"}]}]}
    publish(record_flow("weekly", "schedule", expression="rate(7 days)", criteria=vip))
    sara = create_contact({"email": "sara@example.com", "tags": {"vip"}}).contact_id
    create_contact({"email": "omid@example.com"})
    soon = datetime.now(UTC) + timedelta(days=1)
    assert schedule.tick(soon).runs == []
    later = datetime.now(UTC) + timedelta(days=8)
    done = schedule.tick(later)
    assert len(done.runs) == 1 and len(done.enrolled) == 1
    assert schedule.tick(later).runs == []  # the run is claimed
    assert flows_of(sara) == ["weekly"]


# --- segments ------------------------------------------------------------------------------


def test_a_broadcast_enrolls_every_match_once_from_the_indexes(engine) -> None:
    publish(tagging("drip", "dripped", allow_reenrollment=False))
    warm_mql = Criteria.model_validate(
        {
            "groups": [
                {
                    "conditions": [
                        {"field": "temperature", "op": "equals", "value": "warm"},
                        {
                            "field": "lifecycle_stage",
                            "op": "equals",
                            "value": "marketing_qualified",
                        },
                    ]
                }
            ]
        }
    )
    people = {
        "a@example.com": ("warm", "marketing_qualified"),
        "b@example.com": ("warm", "marketing_qualified"),
        "c@example.com": ("cold", "marketing_qualified"),
        "d@example.com": ("warm", "lead"),
    }
    ids = {
        email: create_contact({"email": email, "temperature": t, "lifecycle_stage": s}).contact_id
        for email, (t, s) in people.items()
    }
    seen: list[tuple[int, int]] = []
    first = segments.broadcast(
        "drip", warm_mql, "run-1", progress=lambda done, total: seen.append((done, total))
    )
    assert (first.candidates, first.matched, len(first.enrolled)) == (3, 2, 2)
    assert seen[-1] == (3, 3)
    assert sorted(flows_of(ids["a@example.com"]) + flows_of(ids["b@example.com"])) == [
        "drip",
        "drip",
    ]
    again = segments.broadcast("drip", warm_mql, "run-1")
    assert (again.enrolled, again.skipped, again.repeated) == ([], 0, 2)  # same run: done


def test_a_filter_no_index_can_answer_is_refused_with_what_to_add(engine) -> None:
    score = Criteria.model_validate(
        {"groups": [{"conditions": [{"field": "score", "op": "at_least", "value": 5}]}]}
    )
    with pytest.raises(
        FlowRejected, match="group 1 of the filter has no condition the store can look up"
    ):
        segments.plan(score)


def test_publishing_a_segment_flow_with_an_unindexed_filter_is_refused(engine) -> None:
    doc = tagging("bad-segment", "x")
    doc["trigger"] = node(
        "start",
        "segment",
        criteria={"groups": [{"conditions": [{"field": "score", "op": "at_least", "value": 5}]}]},
    )
    with pytest.raises(FlowRejected, match="tags contains X"):
        publish(doc)


def test_stream_records_come_from_the_real_tables(stream) -> None:
    # The poller reads moto's stream: the images it delivers are the stored items.
    captured: list[dict] = []
    stream.handler = captured.append
    create_contact({"email": "sara@example.com", "first_name": "سارا"})
    assert stream.poll_once() == 1
    [record] = captured[0]["Records"]
    assert record["eventName"] == "INSERT"
    assert record["dynamodb"]["NewImage"]["first_name"] == {"S": "سارا"}
    assert (
        boto3.client("dynamodb").describe_table(TableName=table_name("contacts"))["Table"][
            "StreamSpecification"
        ]["StreamViewType"]
        == "NEW_AND_OLD_IMAGES"
    )


# --- the links in emails -------------------------------------------------------------------


def test_pixel_and_click_record_events_that_resume_the_wait_for_that_email(engine) -> None:
    from functions import email as mail
    from functions.enrollments import enroll
    from functions.store.contacts import timeline
    from functions.triggers import tracking

    doc = waiting("nurture")
    doc["nodes"].insert(
        0,
        node(
            "hello",
            "send_email",
            subject="Hi",
            body="<a href='https://acme.com/x'>x</a>",
            from_email="Acme <hello@acme.com>",
        ),
    )
    doc["nodes"][1]["params"]["email_node"] = "hello"
    doc["edges"][0] = {"from": "start", "to": "hello", "output": "next"}
    doc["edges"].append({"from": "hello", "to": "wait_click", "output": "next"})
    publish(doc)
    sara = create_contact({"email": "sara@example.com", "email_consent": True}).contact_id
    run = enroll("nurture", sara)
    waiting_in(sara)
    pixel = mail.open_pixel_url(sara, run.enrollment_id, "hello").rsplit("/", 1)[1]
    click = mail.click_url(sara, run.enrollment_id, "hello", "https://acme.com/x").rsplit("/", 1)[1]

    assert tracking.opened(pixel) and tracking.opened(pixel)  # loaded twice, counted once
    assert get_contact(sara).custom["emails_opened"] == 1
    assert tracking.clicked(click) == "https://acme.com/x"
    assert settled(run.enrollment_id).status == "completed"
    items, _ = timeline(sara)
    clicks = [a.data for a in items if a.kind == "email_clicked"]
    assert clicks == [
        {
            "event": "email_clicked",
            "url": "https://acme.com/x",
            "enrollment": run.enrollment_id,
            "node": "hello",
            "flow_id": "nurture",
        }
    ]
    assert tracking.clicked(click[:-3] + "abc") is None and tracking.opened("forged.token") is False


def test_unsubscribing_asks_first_in_the_contacts_language_then_suppresses(engine) -> None:
    from functions import email as mail
    from functions.store.models import Suppression
    from functions.triggers import tracking

    sara = create_contact({"email": "sara@example.com", "locale": "fa-IR"})
    token = mail.unsubscribe_url(sara.contact_id).rsplit("/", 1)[1]
    status, page = tracking.unsubscribe_page(token, confirmed=False)
    assert (
        status == 200
        and 'dir="rtl"' in page
        and "ارسال ایمیل‌های تبلیغاتی به sara@example.com متوقف شود؟" in page
    )
    assert get_contact(sara.contact_id).subscription_status == "subscribed"  # GET changes nothing
    status, page = tracking.unsubscribe_page(token, confirmed=True)
    assert status == 200 and "از این پس ایمیل تبلیغاتی" in page
    assert get_contact(sara.contact_id).subscription_status == "unsubscribed"
    assert Suppression.get("sara@example.com").reason == "unsubscribed"
    status, page = tracking.unsubscribe_page(token[:-2] + "xx", confirmed=True)
    assert status == 404 and "This link is not valid any more." in page


# --- the trigger Lambdas of the Chalice app ------------------------------------------------


def test_the_stream_lambda_starts_flows_from_real_stream_records(stream) -> None:
    from chalice.test import Client

    from functions.app import app

    publish(record_flow("new-contact", "record_created"))
    captured: list[dict] = []
    stream.handler = captured.append
    sara = create_contact({"email": "sara@example.com"}).contact_id
    stream.poll_once()
    with Client(app) as client:
        answer = client.lambda_.invoke("contact_changes", captured[0]).payload
    assert len(answer["started"]) == 1
    assert flows_of(sara) == ["new-contact"]


def test_the_scheduler_lambda_runs_what_is_due(engine) -> None:
    from chalice.test import Client

    from functions.app import app

    vip = {"groups": [{"conditions": [{"field": "tags", "op": "contains", "value": "vip"}]}]}
    publish(record_flow("often", "schedule", expression="rate(1 minute)", criteria=vip))
    from functions.store.models import TriggerIndex

    row = TriggerIndex.get("schedule", "often")
    row.update(actions=[TriggerIndex.last_run_at.set(datetime.now(UTC) - timedelta(minutes=2))])
    create_contact({"email": "sara@example.com", "tags": {"vip"}})
    with Client(app) as client:
        answer = client.lambda_.invoke(
            "scheduler",
            client.events.generate_cw_event(
                source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
            ),
        ).payload
    assert answer["enrolled"] == 1 and len(answer["runs"]) == 1


def test_a_lead_is_never_refused_over_its_phone(hooks) -> None:
    # An unreadable phone is kept as typed with a warning, as an import does; it used to
    # be a 400, and the lead was lost.
    lead = {"lead": {"email": "omid@example.ir", "name": "امید", "phone": "12"}}
    answer = post("lead-hook", lead)
    assert answer.status == 202 and answer.body["enrolled"] is True
    omid = find_by_email("omid@example.ir")
    assert omid.phone is None and omid.custom["phone_as_typed"] == "12"
    [warning] = answer.body["warnings"]
    assert warning["field"] == "phone"
    assert "'12' is not a phone number" in warning["message"]
    assert "kept as typed in custom.phone_as_typed" in warning["message"]


def test_a_national_phone_is_read_in_the_workspace_region(hooks) -> None:
    from functions.store.settings import update_settings

    lead = {"lead": {"email": "maryam@example.ir", "name": "مریم", "phone": "۰۹۱۲ ۳۴۵ ۶۷۸۹"}}
    first = post("lead-hook", lead)
    assert "warnings" in first.body  # no country code, and no region to read it in
    update_settings({"default_region": "IR"})
    lead["lead"]["name"] = "مریم ۲"  # a new delivery, not a replay of the first
    again = post("lead-hook", lead)
    assert "warnings" not in again.body
    assert find_by_email("maryam@example.ir").phone == "+989123456789"
