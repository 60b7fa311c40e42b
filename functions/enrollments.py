"""Enrollments: a contact entering a published flow (one execution), leaving it, and the
record of both.

One execution per enrollment, named after the enrollment id, so starting the same
enrollment twice starts one execution. One membership row per contact and flow, written in
the same transaction as the enrollment, enforces "one active enrollment per contact per
flow" and, unless the flow allows re-enrollment, "once per contact". Whatever way a
contact leaves (the flow ends, a goal, an unenrollment, a failure), `leave` records it once.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from flows.contract import ContractError, execution_input, execution_name
from functions import aws, errors, sandbox
from functions.errors import FlowNotFound, Transient, TriggerTooLarge
from functions.store.contacts import add_activity, cancelled_by_condition, get_contact, now
from functions.store.ids import new_id
from functions.store.models import Enrollment, FlowRecord, Membership
from functions.store.plain import plain

ACTIVE = ("starting", "active")
# Why a contact leaves: the reasons the compiled finish states send, plus unenrolled.
LEFT = ("completed", "ended", "goal", "unenrolled", "failed", "interrupted")
STOP_ERRORS = {"unenrolled": "Crm.Unenrolled", "goal": "Crm.GoalMet"}
MAX_CAUSE = 1000  # characters of an error's cause kept on the enrollment
MAX_ERROR_NAME = 200
# An absolute file path (two segments or more) not inside a URL: `/var/task/functions/x.py`.
_FILE_PATH = re.compile(r"(?<![\w:/.])(?:/[\w.@+-]+){2,}/?")
_TRACEBACK = "Traceback (most recent call last)"


@dataclass(frozen=True)
class Enrolled:
    """The answer to an enrollment request: whether the contact entered, and which run."""

    enrolled: bool
    enrollment_id: str
    execution_arn: str | None = None
    reason: str | None = None  # why not, when not
    repeat: bool = False  # this enrollment id was asked for before: nothing new started

    def as_dict(self) -> dict[str, Any]:
        answer = {k: v for k, v in self.__dict__.items() if v is not None}
        if not self.repeat:
            del answer["repeat"]
        return answer


def enroll(
    flow_id: str,
    contact_id: str,
    *,
    trigger: dict[str, Any] | None = None,
    enrollment_id: str | None = None,
    source: dict[str, Any] | None = None,
    flow: FlowRecord | None = None,
    contact_checked: bool = False,
) -> Enrolled:
    """Start `contact_id` in the published version of `flow_id`.

    Not an error when the contact is already in the flow, or was and the flow does not
    allow re-enrollment: the answer says so and names that enrollment. Passing the same
    `enrollment_id` again (a retried request) is safe: it never starts a second execution.
    A caller that has just read the published `flow`, or found or created the contact
    (`contact_checked`), passes that on: one DynamoDB read fewer each.
    """
    flow = flow if flow is not None and flow.flow_id == flow_id else published(flow_id)
    if not contact_checked:
        get_contact(contact_id)  # ContactNotFound before anything is written
    enrollment_id = enrollment_id or new_id("enr")
    test_run = sandbox.active()
    if test_run is not None:  # what would start; nothing does
        test_run.record("enroll", flow_id=flow_id, version=int(flow.published_version))
        return Enrolled(True, enrollment_id, reason="test run: not started")
    try:
        document = execution_input(
            enrollment_id=enrollment_id,
            flow_id=flow_id,
            flow_version=int(flow.published_version),
            contact_id=contact_id,
            trigger=trigger,
        )
    except ContractError as exc:
        raise TriggerTooLarge(str(exc)) from None
    refusal = _claim(flow, contact_id, enrollment_id, source or {})
    if refusal is not None:
        return refusal
    arn = _start(flow, enrollment_id, document)
    _mark_running(enrollment_id, arn)
    Membership(flow_id, contact_id).update(
        actions=[Membership.execution_arn.set(arn)],
        condition=Membership.enrollment_id == enrollment_id,
    )
    add_activity(
        contact_id,
        "flow_entered",
        {"flow_id": flow_id, "version": int(flow.published_version), "enrollment": enrollment_id},
    )
    return Enrolled(True, enrollment_id, arn)


def unenroll(flow_id: str, contact_id: str, *, by: dict[str, Any] | None = None) -> bool:
    """Stop the contact's running enrollment in `flow_id`; False when it is not in it."""
    try:
        member = Membership.get(flow_id, contact_id, consistent_read=True)
    except Membership.DoesNotExist:
        return False
    if member.active_flow is None:
        return False
    test_run = sandbox.active()
    if test_run is not None:
        test_run.record("unenroll", flow_id=flow_id, enrollment=member.enrollment_id)
        return True
    return end_early(member.enrollment_id, "unenrolled", detail=by)


def end_early(
    enrollment_id: str,
    reason: str,
    *,
    node: str | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Stop a running enrollment's execution and record why it left (unenrolled, goal);
    False when it had already left. A stopped execution runs no finish step, so the
    departure is recorded here."""
    enrollment = Enrollment.get(enrollment_id, consistent_read=True)
    if enrollment.status not in ACTIVE:
        return False
    if enrollment.execution_arn:
        _stop(enrollment.execution_arn, STOP_ERRORS[reason], detail or {})
    return leave(enrollment_id, reason, node=node, detail=detail)


def leave(
    enrollment_id: str,
    reason: str,
    *,
    node: str | None = None,
    error: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Record that the contact left, and why; False if it had already left (a retry)."""
    at = now()
    try:
        enrollment = Enrollment(enrollment_id)
        enrollment.update(  # returns every attribute into `enrollment`
            actions=[
                Enrollment.status.set(reason),
                Enrollment.left_at.set(at),
                *([Enrollment.left_node.set(node)] if node else []),
                *([Enrollment.error.set(public_error(error))] if error else []),
            ],
            condition=Enrollment.status.is_in(*ACTIVE),
        )
    except UpdateError as exc:
        if cancelled_by_condition(exc):
            return False
        raise
    try:
        Membership(enrollment.flow_id, enrollment.contact_id).update(
            actions=[Membership.active_flow.remove()],
            condition=Membership.enrollment_id == enrollment_id,
        )
    except UpdateError as exc:
        if not cancelled_by_condition(exc):
            raise
    from functions.analytics import record_departure  # only departures need it

    record_departure(enrollment, reason)
    add_activity(
        enrollment.contact_id,
        "flow_left",
        {"flow_id": enrollment.flow_id, "enrollment": enrollment_id, "reason": reason}
        | ({"node": node} if node else {})
        | (detail or {}),
    )
    return True


def published(flow_id: str) -> FlowRecord:
    """The flow, if it is published; FlowNotFound naming why not otherwise."""
    try:
        flow = FlowRecord.get(flow_id, consistent_read=True)
    except FlowRecord.DoesNotExist:
        raise FlowNotFound(f"no flow has id '{flow_id}'") from None
    if flow.status != "published" or not flow.state_machine_arn:
        raise FlowNotFound(f"flow '{flow_id}' is {flow.status}, not published")
    return flow


def public_error(error: Any) -> dict[str, str] | None:
    """A failed step's error as people may see it: `{"Error": name, "Cause": message}`.

    Step Functions records a Lambda failure's Cause as the runtime's JSON error document
    (`errorMessage`, `errorType`, `stackTrace` with the server's file paths): only its
    `errorMessage` is kept. Our named errors' messages are written for people; any other
    exception's message loses file paths and anything from a traceback on. The whole trace
    stays in the step's logs and in the execution's history in Step Functions.
    """
    if not isinstance(error, dict):
        return None
    name = str(error.get("Error") or "")[:MAX_ERROR_NAME]
    cause = error.get("Cause")
    with contextlib.suppress(TypeError, ValueError):
        cause = json.loads(cause)
    if isinstance(cause, dict):
        cause = cause.get("errorMessage", "")
    cause = "" if cause is None else cause if isinstance(cause, str) else json.dumps(cause)
    if name not in _named_errors():
        cause = _FILE_PATH.sub("…", cause.split(_TRACEBACK, 1)[0]).strip()
    return {"Error": name, "Cause": cause[:MAX_CAUSE]}


def enrollment_json(enrollment: Enrollment) -> dict[str, Any]:
    """An enrollment as the API answers it: its error without traces (see public_error);
    records stored before errors were cleaned on the way in are cleaned here."""
    answer = plain(enrollment)
    answer["error"] = public_error(enrollment.error)
    return answer


@functools.cache
def _named_errors() -> frozenset[str]:
    return frozenset(
        value.__name__
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.CrmError)
    )


def enrollments_of(contact_id: str, limit: int = 50) -> list[Enrollment]:
    """The contact's enrollments, newest first."""
    return list(Enrollment.by_contact.query(contact_id, scan_index_forward=False, limit=limit))


def active_count(flow_id: str) -> int:
    """How many contacts are in the flow right now (a count on the sparse active index)."""
    return Membership.active.count(flow_id)


def active_contact_ids(flow_id: str) -> list[str]:
    """Contacts in the flow right now."""
    return [m.contact_id for m in Membership.active.query(flow_id)]


# --- helpers -----------------------------------------------------------------------------


def _claim(
    flow: FlowRecord, contact_id: str, enrollment_id: str, source: dict[str, Any]
) -> Enrolled | None:
    """Write the enrollment and the membership together; the refusal, if the contact may not
    enter. A retry of an enrollment that was claimed but not started goes on to start it."""
    enrollment = Enrollment(
        enrollment_id,
        flow_id=flow.flow_id,
        flow_version=int(flow.published_version),
        contact_id=contact_id,
        entered_at=now(),
        source=source,
    )
    member = Membership(
        flow.flow_id, contact_id, enrollment_id=enrollment_id, active_flow=flow.flow_id
    )
    if flow.allow_reenrollment:
        may_enter = Membership.active_flow.does_not_exist()
    else:
        may_enter = Membership.flow_id.does_not_exist()
    claimed = _write_claim(enrollment, member, may_enter)
    if not claimed and flow.allow_reenrollment and _clear_if_left(flow.flow_id, contact_id):
        claimed = _write_claim(enrollment, member, may_enter)  # once, now that it is free
    return None if claimed else _refusal(flow, contact_id, enrollment_id)


def _write_claim(enrollment: Enrollment, member: Membership, may_enter: Any) -> bool:
    """Write both in one transaction; False when a condition refused it."""
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.save(enrollment, condition=Enrollment.enrollment_id.does_not_exist())
            tx.save(member, condition=may_enter)
    except TransactWriteError as exc:
        if not cancelled_by_condition(exc):
            raise
        return False
    return True


def _clear_if_left(flow_id: str, contact_id: str) -> bool:
    """Free a membership whose enrollment has already left; whether it was one. `leave`
    records the departure before it frees the membership: a contact asking to enter in
    between (or after a crash there) would otherwise be refused as still in the flow."""
    try:
        member = Membership.get(flow_id, contact_id, consistent_read=True)
        left = Enrollment.get(member.enrollment_id, consistent_read=True)
    except (Membership.DoesNotExist, Enrollment.DoesNotExist):
        return False
    if member.active_flow is None or left.status in ACTIVE:
        return False
    try:
        member.update(
            actions=[Membership.active_flow.remove()],
            condition=Membership.enrollment_id == member.enrollment_id,
        )
    except UpdateError as exc:
        if not cancelled_by_condition(exc):
            raise
    return True


def _refusal(flow: FlowRecord, contact_id: str, enrollment_id: str) -> Enrolled | None:
    try:
        existing = Enrollment.get(enrollment_id, consistent_read=True)
    except Enrollment.DoesNotExist:
        existing = None
    if existing is not None:  # this very enrollment was claimed before: a retried request
        if existing.status == "starting":
            return None  # claimed, never started (the caller died in between): start it
        return Enrolled(
            existing.status in ACTIVE, enrollment_id, existing.execution_arn, repeat=True
        )
    member = Membership.get(flow.flow_id, contact_id, consistent_read=True)
    if member.active_flow is not None:
        reason = "already in this flow"
    else:
        reason = "was in this flow before, and the flow does not allow re-enrollment"
    return Enrolled(False, member.enrollment_id, member.execution_arn, reason)


def _start(flow: FlowRecord, enrollment_id: str, document: dict[str, Any]) -> str:
    name = execution_name(enrollment_id)
    sfn = aws.client("stepfunctions")
    try:
        return aws.call(
            sfn.start_execution,
            stateMachineArn=flow.state_machine_arn,
            name=name,
            input=json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        )["executionArn"]
    except sfn.exceptions.ExecutionAlreadyExists:
        return _execution_arn(flow.state_machine_arn, name)  # started by an earlier try
    except Transient:
        raise  # the claim stays "starting": a retry with the same id starts it
    except Exception:
        _release(flow.flow_id, enrollment_id)
        raise


def _release(flow_id: str, enrollment_id: str) -> None:
    """Undo a claim whose execution could not start, so the contact may be enrolled again."""
    enrollment = Enrollment.get(enrollment_id, consistent_read=True)
    with TransactWrite(connection=_connection()) as tx:
        tx.delete(enrollment)
        tx.delete(
            Membership(flow_id, enrollment.contact_id),
            condition=Membership.enrollment_id == enrollment_id,
        )


def _stop(execution_arn: str, error: str, detail: dict[str, Any]) -> None:
    sfn = aws.client("stepfunctions")
    cause = "left the flow early" + "".join(f"; {k}: {v}" for k, v in sorted(detail.items()))
    # Gone already: nothing runs any more, only the record is left to close.
    with contextlib.suppress(sfn.exceptions.ExecutionDoesNotExist):
        aws.call(sfn.stop_execution, executionArn=execution_arn, error=error, cause=cause)


def _mark_running(enrollment_id: str, arn: str) -> None:
    try:
        Enrollment(enrollment_id).update(
            actions=[Enrollment.execution_arn.set(arn), Enrollment.status.set("active")],
            condition=Enrollment.status == "starting",
        )
    except UpdateError as exc:
        if not cancelled_by_condition(exc):
            raise
        # A short flow can finish before this line: keep the reason it left with. One
        # erased meanwhile stays erased (an update would create a row holding only an ARN).
        try:
            Enrollment(enrollment_id).update(
                actions=[Enrollment.execution_arn.set(arn)],
                condition=Enrollment.enrollment_id.exists(),
            )
        except UpdateError as again:
            if not cancelled_by_condition(again):
                raise


def _execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name


@functools.cache
def _connection() -> Connection:
    return Connection(region=Enrollment.Meta.region)
