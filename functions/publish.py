"""Saving and publishing flows: every save is a new version; publishing one compiles it,
gives it its own state machine and makes it the version new contacts enter.

Each published version keeps its own state machine (`<prefix>-<flow>-v<N>`) rather than
one machine updated in place: contacts finish on the version they started on, and the
local stack behaves as AWS does (moto cannot execute state machine versions or aliases).
Old machines stay while executions may still run on them.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import DeleteError, UpdateError

from flows.nodes.base import placeholder
from functions import audit, aws
from functions.enrollments import active_contact_ids, unenroll
from functions.errors import (
    FlowNotFound,
    FlowRejected,
    NotADraft,
    NotConfigured,
    NotRollbackTarget,
)
from functions.store.contacts import cancelled_by_condition, now
from functions.store.models import FlowRecord, FlowVersion
from functions.store.tables import region, table_name
from functions.triggers import index

# The ARN of a step Lambda, with "{handler}" where its name goes, e.g.
# arn:aws:lambda:eu-west-1:123456789012:function:crmflow-prod-{handler}
FUNCTION_ARN_ENV = "CRMFLOW_FUNCTION_ARN"
STATES_ROLE_ENV = "CRMFLOW_STATES_ROLE_ARN"  # the role state machines run as
MAX_NAME = 80  # Step Functions' limit on state machine names


@dataclass(frozen=True)
class Saved:
    flow_id: str
    version: int
    state_machine_arn: str | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)


def save(document: Any, *, note: str = "", by: str | None = None) -> Saved:
    """Store `document` as the flow's next version (a draft until published). The flow must
    parse; errors in it are allowed in a draft and listed in the answer."""
    from flows.validate import validate

    report = validate(document)
    if report.flow is None:
        raise rejected(report)
    flow = report.flow
    version = _next_version(flow.id, flow.name)
    FlowVersion(
        flow.id,
        version,
        document=json.loads(flow.to_json()),
        note=note,
        created_by=by,
        created_at=now(),
    ).save()
    return Saved(flow.id, version, None, [w.to_dict() for w in report.warnings])


def publish(document: Any, *, note: str = "", by: str | None = None) -> Saved:
    """Validate, compile and publish `document` as the flow's next version; FlowRejected
    listing every error when it is invalid (nothing is stored then)."""
    from flows.compiler import compile_report
    from flows.validate import validate

    report = validate(document)
    if not report.ok:
        raise rejected(report)
    compiled = compile_report(report)
    flow = compiled.flow
    _check_filter(flow.trigger.kind, report.params.get(flow.trigger.id))
    version = _next_version(flow.id, flow.name)
    arn = _create_machine(_machine_name(flow.id, version), _resolved(compiled))
    FlowVersion(
        flow.id,
        version,
        document=json.loads(flow.to_json()),
        state_machine_arn=arn,
        note=note,
        created_by=by,
        created_at=now(),
    ).save()
    _go_live(flow, version, arn)
    audit.record(flow.id, "published", by, version)
    return Saved(flow.id, version, arn, [w.to_dict() for w in report.warnings])


def roll_back(flow_id: str, version: int, *, by: str | None = None) -> Saved:
    """Make an earlier published version the one new contacts enter again, with its own
    state machine (kept since it was published); contacts in the flow finish on the
    version they entered. NotRollbackTarget when the version was never published or is
    live already; FlowNotFound when the flow or the version does not exist."""
    from flows.model import Flow
    from functions.catalog import get_flow, get_version

    record = get_flow(flow_id)
    target = get_version(flow_id, version)
    live = int(record.published_version or 0) if record.status == "published" else 0
    if not target.state_machine_arn:
        raise NotRollbackTarget(
            f"version {version} of flow '{flow_id}' was never published: publish it instead"
        )
    if version == live:
        raise NotRollbackTarget(f"version {version} of flow '{flow_id}' is live already")
    _go_live(Flow.model_validate(target.document), version, target.state_machine_arn)
    audit.record(flow_id, "rolled_back", by, version, **{"from": live or None})
    return Saved(flow_id, version, target.state_machine_arn)


def _go_live(flow: Any, version: int, arn: str) -> None:
    """Point the flow's record and its trigger at `version` and its state machine."""
    previous = FlowRecord.get(flow.id, consistent_read=True)
    key = index.register(
        flow.id, version, flow.trigger.model_dump(mode="json"), previous.trigger_key
    )
    FlowRecord(flow.id).update(
        actions=[
            FlowRecord.trigger_key.set(key),
            FlowRecord.status.set("published"),
            FlowRecord.published_version.set(version),
            FlowRecord.state_machine_arn.set(arn),
            FlowRecord.trigger_kind.set(flow.trigger.kind),
            FlowRecord.trigger_params.set(flow.trigger.params),
            FlowRecord.allow_reenrollment.set(flow.settings.allow_reenrollment),
            FlowRecord.updated_at.set(now()),
        ]
    )


def delete_draft(flow_id: str) -> int:
    """Delete a flow that was never published and its versions; how many versions went.
    NotADraft when it was ever published: its versions name its contacts' runs."""
    from functions.catalog import get_flow

    flow = get_flow(flow_id)
    if flow.status != "draft" or flow.published_version:
        raise NotADraft(
            f"flow '{flow_id}' is {flow.status}; only a flow never published can be deleted "
            "(unpublish it to stop new enrollments)"
        )
    versions = list(FlowVersion.query(flow_id))
    try:  # the record first, and only while a draft: a publish meanwhile keeps everything
        flow.delete(condition=FlowRecord.status == "draft")
    except DeleteError as exc:
        if cancelled_by_condition(exc):
            raise NotADraft(f"flow '{flow_id}' was published meanwhile; it stays") from None
        raise
    with FlowVersion.batch_write() as batch:
        for version in versions:
            batch.delete(version)
    return len(versions)


def unpublish(flow_id: str, *, stop_running: bool = False, by: str | None = None) -> int:
    """Stop new enrollments; running ones finish, or are stopped when asked. Returns how
    many were stopped."""
    try:
        record = FlowRecord(flow_id)
        record.update(
            actions=[
                FlowRecord.status.set("unpublished"),
                FlowRecord.state_machine_arn.remove(),
                FlowRecord.updated_at.set(now()),
            ],
            condition=FlowRecord.flow_id.exists(),
        )
    except UpdateError as exc:
        if cancelled_by_condition(exc):
            raise FlowNotFound(f"no flow has id '{flow_id}'") from None
        raise
    index.unregister(flow_id, record.trigger_key)
    stopped = 0
    if stop_running:
        why = {"reason": "the flow was unpublished"}
        stopped = sum(
            unenroll(flow_id, contact_id, by=why) for contact_id in active_contact_ids(flow_id)
        )
    audit.record(flow_id, "unpublished", by, stopped=stopped)
    return stopped


def versions(flow_id: str) -> list[FlowVersion]:
    """The flow's versions, newest first."""
    # Version 0 is the editor's working copy (functions/working_copies.py), not a version.
    return list(FlowVersion.query(flow_id, FlowVersion.version > 0, scan_index_forward=False))


def function_arn(handler: str) -> str:
    template = os.environ.get(FUNCTION_ARN_ENV)
    if not template or "{handler}" not in template:
        raise NotConfigured(
            f"set {FUNCTION_ARN_ENV} to the step Lambdas' ARN with {{handler}} for the name, "
            "e.g. arn:aws:lambda:us-east-1:123456789012:function:crmflow-dev-{handler}"
        )
    return template.replace("{handler}", handler)


# --- helpers -----------------------------------------------------------------------------


def rejected(report: Any) -> Exception:
    lines = [str(issue) for issue in report.errors]
    exc = FlowRejected(f"the flow has {len(lines)} error(s): " + "; ".join(lines))
    exc.report = report.to_dict()  # type: ignore[attr-defined]
    return exc


def _check_filter(kind: str, params: Any) -> None:
    """Segment and schedule triggers enroll from the store's indexes: refuse, before
    anything is stored, a filter no index can answer (it would enroll no one), and a
    segment trigger naming a saved segment that does not exist."""
    segment_id = getattr(params, "segment_id", None)
    if kind == "segment" and segment_id:
        from functions.errors import RecordNotFound
        from functions.store.segments import get_segment

        try:
            get_segment(segment_id)  # its filter was checked when it was saved
        except RecordNotFound:
            raise FlowRejected(
                f"the trigger names segment '{segment_id}', and no segment has this id; "
                "save the filter first (POST /segments) or give the trigger its criteria"
            ) from None
    criteria = getattr(params, "criteria", None)
    if kind in ("segment", "schedule") and criteria is not None:
        from functions.triggers.segments import plan

        plan(criteria)


def _next_version(flow_id: str, name: str) -> int:
    record = FlowRecord(flow_id)
    record.update(  # atomic ADD: two saves at once get two versions
        actions=[
            FlowRecord.latest_version.add(1),
            FlowRecord.name.set(name),
            FlowRecord.status.set(FlowRecord.status | "draft"),
            FlowRecord.updated_at.set(now()),
        ]
    )
    return int(record.latest_version)


def _resolved(compiled: Any) -> str:
    text = compiled.asl_compact
    for handler in compiled.handlers:
        text = text.replace(placeholder(handler), function_arn(handler))
    return text


def _machine_name(flow_id: str, version: int) -> str:
    name = f"{table_name(flow_id)}-v{version}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - len(str(version)) - 11]}-{digest}-v{version}"


def _create_machine(name: str, definition: str) -> str:
    role = os.environ.get(STATES_ROLE_ENV)
    if not role:
        raise NotConfigured(f"set {STATES_ROLE_ENV} to the IAM role state machines run as")
    sfn = aws.client("stepfunctions")
    try:
        return aws.call(sfn.create_state_machine, name=name, definition=definition, roleArn=role)[
            "stateMachineArn"
        ]
    except sfn.exceptions.StateMachineAlreadyExists:
        # An earlier try created it and then failed: make it match this definition.
        account = role.split(":")[4]  # arn:aws:iam::<account>:role/<name>
        arn = f"arn:aws:states:{region()}:{account}:stateMachine:{name}"
        aws.call(sfn.update_state_machine, stateMachineArn=arn, definition=definition)
        return arn
