"""After a restart of the local stack: moto has forgotten every state machine and every
execution, while the restored tables still name them.

- Flows get their state machines back: the published version of each published flow, and
  every version that contacts were still in (compiled again from the stored document,
  under the name and ARN they had).
- Contacts that were in a flow (`starting`/`active`) have lost their execution. They are
  marked `interrupted` — recorded on the enrollment and as `flow_left` on the timeline —
  never left looking active with nothing behind them. `reenroll_interrupted()` starts them
  again from the beginning, when asked.

Local only: the scans below read whole tables, which is fine for a laptop's data.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

INTERRUPTED = "interrupted"
WHY = "the local stack stopped while the contact was in the flow; its execution is gone"


@dataclass
class Recovery:
    """What the restart found and did."""

    machines: list[str] = field(default_factory=list)  # "flow vN" re-created
    problems: list[str] = field(default_factory=list)  # versions that could not be
    interrupted: Counter[str] = field(default_factory=Counter)  # flow id → contacts
    reenrolled: Counter[str] = field(default_factory=Counter)
    not_reenrolled: list[str] = field(default_factory=list)


def recover(*, reenroll: bool = False) -> Recovery:
    """Re-create state machines, mark unfinished enrollments interrupted, and re-enroll the
    interrupted contacts when asked."""
    from functions.enrollments import ACTIVE
    from functions.store.models import Enrollment, FlowRecord

    recovery = Recovery()
    unfinished = list(Enrollment.scan(Enrollment.status.is_in(*ACTIVE)))
    wanted = {(e.flow_id, int(e.flow_version)) for e in unfinished}
    for flow in FlowRecord.scan():
        if flow.status == "published" and flow.published_version is not None:
            wanted.add((flow.flow_id, int(flow.published_version)))
    for flow_id, version in sorted(wanted):
        _recreate(flow_id, version, recovery)
    for enrollment in unfinished:
        if _interrupt(enrollment):
            recovery.interrupted[enrollment.flow_id] += 1
    if reenroll:
        reenroll_interrupted(recovery)
    return recovery


def reenroll_interrupted(recovery: Recovery | None = None) -> Recovery:
    """Start every interrupted contact again, from the beginning of its flow's published
    version, unless it has entered that flow again since. The trigger data of the first
    run is not kept, so the new run starts with none."""
    from functions.enrollments import enroll
    from functions.errors import CrmError
    from functions.store.models import Enrollment, Membership

    recovery = recovery or Recovery()
    for old in Enrollment.scan(Enrollment.status == INTERRUPTED):
        try:
            member = Membership.get(old.flow_id, old.contact_id, consistent_read=True)
        except Membership.DoesNotExist:
            member = None
        if member is not None and member.enrollment_id != old.enrollment_id:
            continue  # in the flow again since (or re-enrolled already)
        if member is not None:
            # The interrupted run should not count as "was in this flow before".
            member.delete(condition=Membership.enrollment_id == old.enrollment_id)
        try:
            answer = enroll(
                old.flow_id,
                old.contact_id,
                source={"kind": "reenrolled", "after": old.enrollment_id},
            )
        except CrmError as exc:
            recovery.not_reenrolled.append(f"{old.contact_id} in {old.flow_id}: {exc}")
            continue
        if answer.enrolled:
            recovery.reenrolled[old.flow_id] += 1
        else:
            recovery.not_reenrolled.append(f"{old.contact_id} in {old.flow_id}: {answer.reason}")
    return recovery


def _recreate(flow_id: str, version: int, recovery: Recovery) -> None:
    from functions.store.models import FlowRecord, FlowVersion

    label = f"{flow_id} v{version}"
    try:
        stored = FlowVersion.get(flow_id, version, consistent_read=True)
    except FlowVersion.DoesNotExist:
        recovery.problems.append(f"{label}: the version is not in the store")
        return
    if not stored.state_machine_arn:
        recovery.problems.append(f"{label}: never published (no state machine)")
        return
    try:
        definition = _definition(stored.document)
    except Exception as exc:  # the flow language moved on since it was published
        recovery.problems.append(f"{label} no longer compiles, publish it again: {exc}")
        return
    name = stored.state_machine_arn.rsplit(":", 1)[-1]
    arn = _create_machine(name, definition)
    recovery.machines.append(label)
    if arn != stored.state_machine_arn:  # another region or account than when it was stored
        stored.update(actions=[FlowVersion.state_machine_arn.set(arn)])
        record = FlowRecord.get(flow_id, consistent_read=True)
        if record.published_version == version:
            record.update(actions=[FlowRecord.state_machine_arn.set(arn)])


def _definition(document: Any) -> str:
    """The ASL of a stored flow document, with the local step Lambdas' ARNs filled in."""
    from flows.compiler import compile_flow
    from flows.nodes.base import placeholder
    from functions.publish import function_arn

    compiled = compile_flow(document)
    text = compiled.asl_compact
    for handler in compiled.handlers:
        text = text.replace(placeholder(handler), function_arn(handler))
    return text


def _create_machine(name: str, definition: str) -> str:
    from functions import aws
    from functions.publish import STATES_ROLE_ENV

    sfn = aws.client("stepfunctions")
    role = os.environ[STATES_ROLE_ENV]
    try:
        return sfn.create_state_machine(name=name, definition=definition, roleArn=role)[
            "stateMachineArn"
        ]
    except sfn.exceptions.StateMachineAlreadyExists:
        arn = next(
            m["stateMachineArn"]
            for m in sfn.list_state_machines()["stateMachines"]
            if m["name"] == name
        )
        sfn.update_state_machine(stateMachineArn=arn, definition=definition)
        return arn


def _interrupt(enrollment: Any) -> bool:
    from functions.enrollments import leave

    detail = {"cause": WHY}
    if enrollment.execution_arn:
        detail["execution"] = enrollment.execution_arn
    return leave(enrollment.enrollment_id, INTERRUPTED, detail=detail)
