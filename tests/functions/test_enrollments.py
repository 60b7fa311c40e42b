"""Publishing, enrolling, leaving and waiting for events, on moto's real Step Functions
interpreter with every step Lambda of functions/app.py behind the in-process bridge."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from functions import steps, waits
from functions.enrollments import active_contact_ids, enroll, enrollments_of, unenroll
from functions.errors import ContactNotFound, FlowNotFound, FlowRejected, NotConfigured
from functions.publish import FUNCTION_ARN_ENV, publish, save, unpublish, versions
from functions.store.contacts import create_contact, get_contact, timeline
from functions.store.models import Enrollment, EventWait, FlowRecord, Membership
from infra.local import moto_patches


def node(id: str, kind: str, **params: Any) -> dict[str, Any]:
    return {"id": id, "kind": kind, "params": params}


def flow(flow_id: str, nodes: list[dict], edges: list[tuple], **settings: Any) -> dict[str, Any]:
    return {
        "schema_version": "1.0",
        "id": flow_id,
        "name": flow_id.replace("-", " ").title(),
        "trigger": node("start", "webhook", email_key="email"),
        "nodes": nodes,
        "edges": [
            {"from": e[0], "to": e[1], "output": e[2] if len(e) > 2 else "next"} for e in edges
        ],
        "settings": settings,
    }


def tagging(flow_id: str, tag: str, **settings: Any) -> dict[str, Any]:
    return flow(
        flow_id,
        [node("tag", "update_record", add_tags=[tag]), node("done", "end")],
        [("start", "tag"), ("tag", "done")],
        **settings,
    )


def waiting(flow_id: str = "nurture", timeout_days: int = 300) -> dict[str, Any]:
    """Waits for a click; tags the contact 'clicked' or 'quiet'. The default timeout lasts
    ~26 s at the engine's time scale: longer than any test, even on a loaded machine."""
    return flow(
        flow_id,
        [
            node(
                "wait_click",
                "wait_for_event",
                event="email_clicked",
                timeout={"amount": timeout_days, "unit": "days"},
            ),
            node("clicked", "update_record", add_tags=["clicked"]),
            node("quiet", "update_record", add_tags=["quiet"]),
        ],
        [
            ("start", "wait_click"),
            ("wait_click", "clicked", "happened"),
            ("wait_click", "quiet", "timed_out"),
        ],
    )


def contact(email: str = "sara@example.com", **fields: Any) -> str:
    return create_contact({"email": email, "first_name": "Sara", **fields}).contact_id


def ended(arn: str, timeout: float = 20.0) -> dict[str, Any]:
    """The execution once it is no longer running."""
    sfn = boto3.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.02)


def settled(enrollment_id: str, timeout: float = 20.0) -> Enrollment:
    """The enrollment once it has left the flow (the finish step ran)."""
    deadline = time.monotonic() + timeout
    while True:
        record = Enrollment.get(enrollment_id, consistent_read=True)
        if record.status not in ("starting", "active") or time.monotonic() > deadline:
            return record
        time.sleep(0.02)


def waiting_in(contact_id: str, timeout: float = 20.0) -> list[EventWait]:
    deadline = time.monotonic() + timeout
    while True:
        rows = list(EventWait.query(contact_id))
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.02)


def executions(machine_arn: str) -> list[dict]:
    return boto3.client("stepfunctions").list_executions(stateMachineArn=machine_arn)["executions"]


def activity(contact_id: str) -> list[tuple[str, dict]]:
    items, _ = timeline(contact_id)
    return [(a.kind, a.data) for a in reversed(items)]


# --- publish -------------------------------------------------------------------------------


def test_publish_creates_a_state_machine_calling_the_step_lambdas(engine) -> None:
    saved = publish(tagging("welcome", "new"), note="first cut", by="u_ana")
    assert (saved.flow_id, saved.version) == ("welcome", 1)
    record = FlowRecord.get("welcome")
    assert (record.status, record.published_version, record.trigger_kind) == (
        "published",
        1,
        "webhook",
    )
    assert record.state_machine_arn == saved.state_machine_arn
    definition = boto3.client("stepfunctions").describe_state_machine(
        stateMachineArn=saved.state_machine_arn
    )["definition"]
    assert "${" not in definition
    assert "function:crmflow-local-update_record" in definition
    assert "function:crmflow-local-finish" in definition
    [v1] = versions("welcome")
    assert (v1.version, v1.note, v1.created_by, v1.document["id"]) == (
        1,
        "first cut",
        "u_ana",
        "welcome",
    )


def test_an_invalid_flow_is_refused_with_every_error_and_nothing_is_stored(engine) -> None:
    bad = tagging("broken", "x")
    bad["edges"] = [{"from": "start", "to": "nowhere", "output": "next"}]
    with pytest.raises(FlowRejected) as caught:
        publish(bad)
    assert type(caught.value).__name__ == "Crm.FlowInvalid"
    assert "nowhere" in str(caught.value)
    assert caught.value.report["ok"] is False
    assert not FlowRecord.count("broken")
    assert boto3.client("stepfunctions").list_state_machines()["stateMachines"] == []


def test_a_draft_is_saved_as_a_version_without_going_live(engine) -> None:
    saved = save(tagging("draft-only", "x"), note="wip")
    assert (saved.version, saved.state_machine_arn) == (1, None)
    assert FlowRecord.get("draft-only").status == "draft"
    with pytest.raises(FlowNotFound, match="flow 'draft-only' is draft, not published"):
        enroll("draft-only", contact())


def test_publishing_without_the_function_arn_setting_says_which_setting(
    engine, monkeypatch
) -> None:
    monkeypatch.setenv(FUNCTION_ARN_ENV, "")
    with pytest.raises(NotConfigured, match=f"set {FUNCTION_ARN_ENV} to the step Lambdas' ARN"):
        publish(tagging("welcome", "new"))


# --- enroll and leave ----------------------------------------------------------------------


def test_an_enrolled_contact_runs_the_flow_and_the_record_says_how_it_left(engine) -> None:
    publish(tagging("welcome", "new"))
    sara = contact()
    result = enroll("welcome", sara, trigger={"email": "sara@example.com"})
    assert result.enrolled and result.execution_arn.endswith(":" + result.enrollment_id)
    assert ended(result.execution_arn)["status"] == "SUCCEEDED"
    record = settled(result.enrollment_id)
    assert (record.status, record.left_node, record.flow_version) == ("ended", "done", 1)
    assert record.execution_arn == result.execution_arn
    assert "new" in get_contact(sara).tags
    assert Membership.get("welcome", sara).active_flow is None
    assert active_contact_ids("welcome") == []
    kinds = [k for k, _ in activity(sara)]
    assert kinds[0] == "flow_entered" and kinds[-1] == "flow_left"
    assert activity(sara)[-1][1]["reason"] == "ended"
    assert [e.enrollment_id for e in enrollments_of(sara)] == [result.enrollment_id]


def test_a_contact_enters_a_flow_once_unless_it_allows_reenrollment(engine) -> None:
    once = publish(tagging("once", "a"))
    again = publish(tagging("again", "b", allow_reenrollment=True))
    sara = contact()
    first = enroll("once", sara)
    settled(first.enrollment_id)
    second = enroll("once", sara)
    assert (second.enrolled, second.enrollment_id) == (False, first.enrollment_id)
    assert second.reason == "was in this flow before, and the flow does not allow re-enrollment"
    assert len(executions(once.state_machine_arn)) == 1

    settled(enroll("again", sara).enrollment_id)
    assert enroll("again", sara).enrolled
    assert len(executions(again.state_machine_arn)) == 2


def test_a_departure_recorded_before_its_membership_is_freed_does_not_block_reentry(
    engine,
) -> None:
    # `leave` writes the enrollment's end, then frees the membership: a request between the
    # two (or after a crash between them) must not be refused as "already in this flow".
    publish(tagging("again", "b", allow_reenrollment=True))
    sara = contact()
    first = enroll("again", sara)
    settled(first.enrollment_id)
    Membership("again", sara).update(  # the membership as it is between leave's two writes
        actions=[
            Membership.active_flow.set("again"),
            Membership.enrollment_id.set(first.enrollment_id),
        ]
    )
    second = enroll("again", sara)
    assert second.enrolled and second.enrollment_id != first.enrollment_id
    assert settled(second.enrollment_id).status == "ended"


def test_a_contact_in_a_flow_is_not_enrolled_twice_even_when_it_allows_reentry(engine) -> None:
    publish(waiting("nurture"))
    sara = contact()
    first = enroll("nurture", sara)
    second = enroll("nurture", sara)
    assert (second.enrolled, second.reason) == (False, "already in this flow")
    assert second.enrollment_id == first.enrollment_id
    assert active_contact_ids("nurture") == [sara]


def test_a_repeated_enrollment_request_starts_one_execution(engine) -> None:
    published = publish(tagging("welcome", "new"))
    sara = contact()
    first = enroll("welcome", sara, enrollment_id="enr_hook-42")
    repeat = enroll("welcome", sara, enrollment_id="enr_hook-42")
    # The repeat names the same run; whether it still counts as enrolled depends on
    # whether that short run has already ended (`enrolled` says "in the flow now").
    assert first.enrolled and repeat.repeat and not first.repeat
    assert (repeat.enrollment_id, repeat.execution_arn) == ("enr_hook-42", first.execution_arn)
    assert len(executions(published.state_machine_arn)) == 1


def test_enrolling_in_an_unknown_flow_or_an_unknown_contact_names_the_problem(engine) -> None:
    with pytest.raises(FlowNotFound, match="no flow has id 'ghost'"):
        enroll("ghost", contact())
    publish(tagging("welcome", "new"))
    with pytest.raises(ContactNotFound):
        enroll("welcome", "c_missing")
    assert list(Enrollment.scan()) == []  # nothing half-written (a test may scan)


def test_unpublish_stops_new_enrollments_and_can_stop_running_ones(engine) -> None:
    machine = publish(waiting("nurture")).state_machine_arn
    sara, omid = contact(), contact("omid@example.com")
    first = enroll("nurture", sara)
    waiting_in(sara)
    assert unpublish("nurture") == 0
    with pytest.raises(FlowNotFound, match="flow 'nurture' is unpublished, not published"):
        enroll("nurture", omid)
    assert ended(first.execution_arn, timeout=0.2)["status"] == "RUNNING"  # left alone

    assert unpublish("nurture", stop_running=True) == 1
    assert ended(first.execution_arn)["status"] == "ABORTED"
    assert settled(first.enrollment_id).status == "unenrolled"
    assert len(executions(machine)) == 1


def test_contacts_mid_flow_finish_on_the_version_they_started(engine) -> None:
    v1 = publish(waiting("nurture"))
    sara = contact()
    old = enroll("nurture", sara)
    waiting_in(sara)
    v2 = publish(waiting("nurture", timeout_days=200), note="shorter wait")
    assert v2.version == 2 and v2.state_machine_arn != v1.state_machine_arn
    omid = contact("omid@example.com")
    new = enroll("nurture", omid)
    waiting_in(omid)
    assert old.execution_arn.startswith(v1.state_machine_arn.replace("stateMachine", "execution"))
    assert new.execution_arn.startswith(v2.state_machine_arn.replace("stateMachine", "execution"))
    assert Enrollment.get(old.enrollment_id).flow_version == 1
    assert Enrollment.get(new.enrollment_id).flow_version == 2
    assert waits.resume(sara, "email_clicked") == [old.enrollment_id]
    assert settled(old.enrollment_id).status == "completed"
    assert [v.version for v in versions("nurture")] == [2, 1]


# --- waiting for events --------------------------------------------------------------------


def test_an_event_resumes_the_waiting_contact_on_the_happened_path(engine) -> None:
    publish(waiting("nurture"))
    sara = contact()
    run = enroll("nurture", sara)
    [wait] = waiting_in(sara)
    assert (wait.node, wait.flow_id, wait.enrollment_id) == (
        "wait_click",
        "nurture",
        run.enrollment_id,
    )
    assert waits.resume(sara, "email_opened") == []  # another event: still waiting
    assert waits.resume(sara, "email_clicked", {"url": "https://acme.com/ar/عرض"}) == [
        run.enrollment_id
    ]
    assert ended(run.execution_arn)["status"] == "SUCCEEDED"
    assert settled(run.enrollment_id).status == "completed"
    assert "clicked" in get_contact(sara).tags and "quiet" not in get_contact(sara).tags
    assert list(EventWait.query(sara)) == []


def test_a_wait_times_out_to_its_timed_out_path_and_a_late_event_is_quietly_dropped(engine) -> None:
    moto_patches.apply(1e-5)  # the 7-day timeout lasts ~6 s
    publish(waiting("nurture", timeout_days=7))
    sara = contact()
    run = enroll("nurture", sara)
    waiting_in(sara)
    assert ended(run.execution_arn, timeout=30)["status"] == "SUCCEEDED"
    assert "quiet" in get_contact(sara).tags and "clicked" not in get_contact(sara).tags
    assert waits.resume(sara, "email_clicked") == []  # too late: no error, row gone
    assert list(EventWait.query(sara)) == []


def test_a_wait_for_one_email_ignores_clicks_on_other_emails(engine) -> None:
    doc = waiting("nurture")
    doc["nodes"].insert(
        0,
        node(
            "hello",
            "send_email",
            subject="Hi",
            body="Hello {{ contact.first_name }}",
            from_email="Acme <hello@acme.com>",
        ),
    )
    doc["nodes"][1]["params"]["email_node"] = "hello"
    doc["edges"][0] = {"from": "start", "to": "hello", "output": "next"}
    doc["edges"].append({"from": "hello", "to": "wait_click", "output": "next"})
    publish(doc)
    sara = contact(email_consent=True)
    run = enroll("nurture", sara)
    waiting_in(sara)
    assert waits.resume(sara, "email_clicked", {"flow_id": "other", "node": "hello"}) == []
    assert waits.resume(sara, "email_clicked", {"flow_id": "nurture", "node": "hello"}) == [
        run.enrollment_id
    ]
    assert settled(run.enrollment_id).status == "completed"


# --- the enroll_in_flow and remove_from_flow steps -----------------------------------------


def hand_over() -> dict[str, Any]:
    return flow(
        "hand-over",
        [node("to_nurture", "enroll_in_flow", flow_id="nurture"), node("done", "end")],
        [("start", "to_nurture"), ("to_nurture", "done")],
    )


def test_enroll_in_flow_starts_the_other_flow_for_the_contact(engine) -> None:
    publish(waiting("nurture"))
    publish(hand_over())
    sara = contact()
    run = enroll("hand-over", sara)
    assert settled(run.enrollment_id).status == "ended"
    [inner] = [e for e in enrollments_of(sara) if e.flow_id == "nurture"]
    assert inner.source == {
        "kind": "enroll_in_flow",
        "flow_id": "hand-over",
        "node": "to_nurture",
        "enrollment": run.enrollment_id,
    }
    assert active_contact_ids("nurture") == [sara]


def test_a_retried_enroll_in_flow_step_enrolls_once(engine) -> None:
    machine = publish(waiting("nurture")).state_machine_arn
    sara = contact()
    payload = {
        "node": "to_nurture",
        "kind": "enroll_in_flow",
        "params": {"flow_id": "nurture"},
        "enrollment": {"id": "enr_outer", "flow_id": "hand-over", "contact_id": sara},
        "trigger": {},
        "execution": "arn:aws:states:us-east-1:123456789012:execution:hand-over:enr_outer",
        "state": "to_nurture",
    }
    first = steps.run("enroll_in_flow", payload)
    again = steps.run("enroll_in_flow", payload | {"attempt": 1})
    assert first == again and first["enrolled"] is True
    assert len(executions(machine)) == 1


def test_enroll_in_an_unpublished_flow_fails_the_step_by_name_and_the_enrollment_records_it(
    engine,
) -> None:
    publish(hand_over())  # nurture was never published
    sara = contact()
    run = enroll("hand-over", sara)
    record = settled(run.enrollment_id)
    assert record.status == "failed"
    assert record.error["Error"] == "Crm.FlowNotFound"
    assert "no flow has id 'nurture'" in record.error["Cause"]
    assert ended(run.execution_arn)["status"] == "FAILED"


def test_remove_from_flow_stops_the_other_run_and_records_why(engine) -> None:
    nurture = publish(waiting("nurture"))
    publish(
        flow(
            "bought",
            [node("stop", "remove_from_flow", flow_id="nurture"), node("done", "end")],
            [("start", "stop"), ("stop", "done")],
        )
    )
    sara = contact()
    inner = enroll("nurture", sara)
    waiting_in(sara)
    outer = enroll("bought", sara)
    assert settled(outer.enrollment_id).status == "ended"
    assert ended(inner.execution_arn)["status"] == "ABORTED"
    assert settled(inner.enrollment_id).status == "unenrolled"
    assert active_contact_ids("nurture") == []
    left = [d for k, d in activity(sara) if k == "flow_left" and d["flow_id"] == "nurture"]
    assert left == [
        {
            "flow_id": "nurture",
            "enrollment": inner.enrollment_id,
            "reason": "unenrolled",
            "by_flow": "bought",
            "by_node": "stop",
        }
    ]
    assert len(executions(nurture.state_machine_arn)) == 1


def test_removing_a_contact_that_is_not_in_the_flow_is_not_an_error(engine) -> None:
    publish(waiting("nurture"))
    assert unenroll("nurture", contact()) is False
    assert unenroll("never-published", contact("omid@example.com")) is False
