"""Flows over HTTP: list and read them, validate a document, save a draft, publish and
unpublish, and broadcast a segment flow.

Service modules are imported inside the views: every Lambda of the app imports this
module at cold start, and only API calls need them (publishing pulls in the compiler).
"""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint

from functions.api.routing import Call, field_error, json_response, record_json, route

bp = Blueprint(__name__)

MAX_DOCUMENT = 350_000  # bytes of flow JSON
# A broadcast chunk's time, listing the candidates included: API Gateway answers 504 after
# 29 s, and the answer must leave before then.
BROADCAST_BUDGET_SECONDS = 20.0
MAX_LISTED = 100  # enrollment ids and failures listed in a broadcast answer; counts are whole

FLOW_DOCUMENT = "A flow document: see docs/flow-format.md and flows/schema/flow.schema.json."


@route(bp, "/flows", permission="flows:read", query="FlowList", errors=(400,), answer="Flows")
def flows_list(call: Call) -> Any:
    """List the flows, or those in one status, each with how many contacts are in it now."""
    from functions.catalog import list_flows
    from functions.enrollments import active_count

    return {
        "flows": [
            {**record_json(f), "active": active_count(f.flow_id)}
            for f in list_flows(call.query.status)
        ]
    }


@route(bp, "/flows/{flow_id}", permission="flows:read", errors=(404,), answer="FlowDetail")
def flows_show(call: Call, flow_id: str) -> Any:
    """Read a flow: its record and its newest version's document."""
    from functions.catalog import get_flow, latest_version

    flow = get_flow(flow_id)
    latest = latest_version(flow)
    return {
        "flow": record_json(flow),
        "latest": _described(flow, [latest], document=True)[0] if latest else None,
    }


@route(
    bp, "/flows/{flow_id}/versions", permission="flows:read", errors=(404,), answer="FlowVersions"
)
def flows_versions(call: Call, flow_id: str) -> Any:
    """The flow's saved versions, newest first (without their documents). `live` marks
    the one new contacts enter (none when the flow is not published)."""
    from functions.catalog import get_flow
    from functions.publish import versions

    flow = get_flow(flow_id)
    return {"versions": _described(flow, list(versions(flow_id)))}


@route(
    bp,
    "/flows/{flow_id}/versions/{version}",
    permission="flows:read",
    errors=(404,),
    answer="FlowVersionDocument",
)
def flows_version(call: Call, flow_id: str, version: str) -> Any:
    """One saved version of a flow, with its document (for diffs and restores)."""
    from functions.catalog import get_flow, get_version

    found = get_version(flow_id, _version_number(version))
    return _described(get_flow(flow_id), [found], document=True)[0]


@route(
    bp,
    "/flows/{flow_id}",
    method="DELETE",
    permission="flows:write",
    errors=(404, 409),
    answer="FlowDeleted",
)
def flows_delete(call: Call, flow_id: str) -> Any:
    """Delete a draft: a flow that was never published, with all its versions.

    A flow that was ever published keeps its history for its contacts' records (409).
    """
    from functions.publish import delete_draft

    return {"flow_id": flow_id, "deleted_versions": delete_draft(flow_id)}


@route(
    bp,
    "/flows/{flow_id}/working-copy",
    method="PUT",
    permission="flows:write",
    body="FlowDocument",
    errors=(400,),
    answer="WorkingCopyKept",
)
def working_copy_keep(call: Call, flow_id: str) -> Any:
    """Keep the editor's unsaved changes to a flow (autosave), replacing the last ones.

    Not a version: it may have errors, and it is not listed among the versions. A flow
    never saved is created as a draft with no version yet, so it can be reopened. The
    document's id must be the one in the path.
    """
    from functions.working_copies import keep

    document = call.body.root
    _same_flow(document, flow_id, "id")
    _check_size(document)
    return {"flow_id": flow_id, "saved_at": keep(document, by=call.principal.actor).isoformat()}


@route(
    bp,
    "/flows/{flow_id}/working-copy",
    permission="flows:read",
    errors=(404,),
    answer="WorkingCopy",
)
def working_copy_show(call: Call, flow_id: str) -> Any:
    """The flow's unsaved changes kept by the editor, and the saved version they start
    from (404 when none are kept)."""
    from functions.catalog import get_flow
    from functions.working_copies import get

    kept = get(flow_id)
    return {
        "flow_id": flow_id,
        "document": kept.document,
        "saved_at": kept.created_at.isoformat(),
        "latest_version": int(get_flow(flow_id).latest_version or 0) or None,
    }


@route(
    bp,
    "/flows/{flow_id}/working-copy",
    method="DELETE",
    permission="flows:write",
    answer="WorkingCopyDiscarded",
)
def working_copy_discard(call: Call, flow_id: str) -> Any:
    """Forget the unsaved changes kept for a flow (they were saved as a version, or thrown
    away). `discarded` says whether there were any."""
    from functions.working_copies import discard

    return {"flow_id": flow_id, "discarded": discard(flow_id)}


def _same_flow(document: dict[str, Any], flow_id: str, where: str) -> None:
    named = document.get("id")
    if named != flow_id:
        raise field_error(where, f"is {named!r}, but the path names flow '{flow_id}'")


@route(
    bp,
    "/flows/{flow_id}/analytics",
    permission="flows:read",
    query="Analytics",
    errors=(400, 404),
    answer="FlowAnalytics",
)
def flows_analytics(call: Call, flow_id: str) -> Any:
    """How contacts went through a flow: per node, how many entered, wait there now, left
    by a goal, failed, were removed or finished; the goal funnel; A/B variants side by side,
    each tested against the first on goal conversion (`ab_tests`: pooled two-proportion
    z-test, p-value, 95% interval of the difference, contacts still needed; a winner only
    when significant at 0.05).

    All versions together, or one with `version`.
    """
    from functions.analytics import flow_report
    from functions.catalog import get_flow, get_version, latest_version

    flow = get_flow(flow_id)
    number = call.query.version or flow.published_version
    shown = get_version(flow_id, int(number)) if number else latest_version(flow)
    document = shown.document if shown else {"trigger": {"id": ""}, "edges": [], "nodes": []}
    return {
        "flow_id": flow_id,
        "version": call.query.version,
        **flow_report(flow_id, document, call.query.version),
    }


def _version_number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise field_error("version", f"is {text!r}; versions are numbered 1, 2, 3…")
    return int(text)


@route(
    bp,
    "/flows/validate",
    method="POST",
    permission="flows:read",
    body="FlowDocument",
    errors=(400,),
    answer="FlowValidation",
)
def flows_validate(call: Call) -> Any:
    """Validate a flow document without saving it.

    Answers 200 with every error and warning, each with its JSON path and node id; `ok`
    says whether the flow could be published.
    """
    from flows.validate import validate

    return validate(call.body.root).to_dict()


@route(
    bp,
    "/flows",
    method="POST",
    permission="flows:write",
    body="SaveFlow",
    status=201,
    errors=(400, 422),
    answer="FlowSaved",
)
def flows_save(call: Call) -> Any:
    """Save a flow document as its next version, a draft.

    Errors are allowed in a draft and listed in the answer's warnings and `errors`; a
    document that does not parse as a flow at all is refused (422).
    """
    from flows.validate import validate
    from functions.publish import save

    _check_size(call.body.flow)
    saved = save(call.body.flow, note=call.body.note, by=call.principal.actor)
    report = validate(call.body.flow).to_dict()
    answer = json_response(
        {
            "flow_id": saved.flow_id,
            "version": saved.version,
            "errors": report["errors"],
            "warnings": saved.warnings,
        },
        201,
    )
    answer.headers["Location"] = f"/flows/{saved.flow_id}"
    return answer


@route(
    bp,
    "/flows/{flow_id}/publish",
    method="POST",
    permission="flows:publish",
    body="SaveFlow",
    errors=(400, 422),
    answer="FlowPublished",
)
def flows_publish(call: Call, flow_id: str) -> Any:
    """Publish a flow document as the version new contacts enter.

    The document's id must be the one in the path. A flow with errors is refused (422)
    with every error; nothing is stored then. Contacts already in the flow finish on the
    version they entered.
    """
    from functions.publish import publish

    _same_flow(call.body.flow, flow_id, "flow.id")
    _check_size(call.body.flow)
    saved = publish(call.body.flow, note=call.body.note, by=call.principal.actor)
    return {
        "flow_id": saved.flow_id,
        "version": saved.version,
        "state_machine_arn": saved.state_machine_arn,
        "warnings": saved.warnings,
    }


@route(
    bp,
    "/flows/{flow_id}/publish-preview",
    method="POST",
    permission="flows:read",
    body="SaveFlow",
    errors=(400, 422),
    answer="PublishImpact",
)
def flows_publish_preview(call: Call, flow_id: str) -> Any:
    """What publishing this document would do, before it is done (nothing is stored).

    Who the trigger matches now and how many it enrolls at once (segments; date
    triggers: the next 7 days), how many contacts are mid-flow and stay on their
    version, which steps changed since the published version, and the emails and SMS of
    the first week. Counts come from the store's indexes. An invalid flow is a 422
    listing every error, as for publishing.
    """
    from flows.validate import validate
    from functions.impact import publish_impact
    from functions.publish import rejected

    _same_flow(call.body.flow, flow_id, "flow.id")
    report = validate(call.body.flow)
    if not report.ok:
        raise rejected(report)
    return publish_impact(call.body.flow)


@route(
    bp,
    "/flows/{flow_id}/unpublish",
    method="POST",
    permission="flows:publish",
    query="Unpublish",
    errors=(400, 404),
    answer="FlowUnpublished",
)
def flows_unpublish(call: Call, flow_id: str) -> Any:
    """Stop new enrollments in a flow.

    Contacts in it finish, unless `stop_running=true` stops them now.
    """
    from functions.publish import unpublish

    stopped = unpublish(flow_id, stop_running=call.query.stop_running, by=call.principal.actor)
    return {"flow_id": flow_id, "status": "unpublished", "stopped": stopped}


@route(
    bp,
    "/flows/{flow_id}/rollback",
    method="POST",
    permission="flows:publish",
    body="RollBack",
    errors=(400, 404, 409),
    answer="FlowRolledBack",
)
def flows_rollback(call: Call, flow_id: str) -> Any:
    """Make an earlier published version the one new contacts enter again.

    It runs on the state machine it was published with. Contacts in the flow finish on
    the version they entered. A version that was never published, or is live already,
    is a 409 saying so.
    """
    from functions.publish import roll_back

    done = roll_back(flow_id, call.body.version, by=call.principal.actor)
    return {
        "flow_id": flow_id,
        "version": done.version,
        "state_machine_arn": done.state_machine_arn,
    }


@route(bp, "/flows/{flow_id}/audit", permission="flows:read", errors=(404,), answer="FlowAuditList")
def flows_audit(call: Call, flow_id: str) -> Any:
    """What people did to the flow (published, rolled back, unpublished), newest first,
    each entry also in words."""
    from functions.audit import entries
    from functions.catalog import get_flow

    get_flow(flow_id)
    return {"entries": entries(flow_id)}


@route(
    bp,
    "/flows/{flow_id}/broadcast",
    method="POST",
    permission="flows:publish",
    body="BroadcastChunk",
    body_required=False,
    errors=(400, 404, 422),
    answer="BroadcastProgress",
)
def flows_broadcast(call: Call, flow_id: str) -> Any:
    """Enroll the contacts a segment flow's filter matches, a chunk at a time.

    Each call works for up to 20 seconds and answers what it did. While `next_after` is
    not null, call again with `run_id` and `after` from the answer; the same run enrolls
    nobody twice. Only flows with a segment trigger are broadcast (422 otherwise).
    """
    from functions.triggers.segments import broadcast_flow

    chunk = call.body
    result = broadcast_flow(
        flow_id,
        run_id=chunk.run_id,
        after=chunk.after,
        budget_seconds=BROADCAST_BUDGET_SECONDS,
    )
    failures = list(result.failed.items())
    return {
        "flow_id": flow_id,
        "run_id": result.run_id,
        "after": chunk.after,
        "candidates": result.candidates,
        "matched": result.matched,
        "enrolled": len(result.enrolled),
        "enrollment_ids": result.enrolled[:MAX_LISTED],
        "skipped": result.skipped,
        "repeated": result.repeated,
        "failed": len(failures),
        "failures": [{"contact_id": c, "reason": r} for c, r in failures[:MAX_LISTED]],
        "next_after": result.next_after,
    }


def _check_size(document: dict[str, Any]) -> None:
    # A version is one DynamoDB item (400 KB at most, with its note and keys).
    size = len(json.dumps(document, ensure_ascii=False).encode())
    if size > MAX_DOCUMENT:
        raise field_error("flow", f"is {size // 1000} KB; a flow document holds at most 350 KB")


def _described(flow: Any, listed: list[Any], *, document: bool = False) -> list[dict[str, Any]]:
    """Versions as answers: which one is live, and who saved each, in words."""
    from functions.people import display_names

    live = int(flow.published_version or 0) if flow.status == "published" else 0
    names = display_names(v.created_by for v in listed)
    return [_version_json(v, document=document, live=live, names=names) for v in listed]


def _version_json(
    version: Any,
    *,
    document: bool = False,
    live: int = 0,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "version": version.version,
        "published": version.state_machine_arn is not None,
        "live": bool(live) and version.version == live,
        "created_by_name": (names or {}).get(version.created_by or "", version.created_by),
        "state_machine_arn": version.state_machine_arn,
        "note": version.note,
        "created_by": version.created_by,
        "created_at": version.created_at.isoformat(),
        **({"document": version.document} if document else {}),
    }


@route(
    bp,
    "/flows/{flow_id}/test-runs",
    method="POST",
    permission="flows:write",
    body="TestRunRequest",
    body_required=False,
    errors=(400, 404, 422),
    answer="TestRun",
)
def flows_test_run(call: Call, flow_id: str) -> Any:
    """Test-run a flow for one contact: nothing is sent or saved, waits take no time.

    The real step handlers run in a sandbox: the answer shows the path taken (each node
    with its output, the simulated time it was reached and what it would have done), the
    emails, SMS, tasks and HTTP calls that would go out and the contact's changed fields.
    Tests the flow's newest saved version, or the document sent (it must carry this id).
    A flow with errors is refused (422) with every error.
    """
    from functions.auth import require
    from functions.testrun import try_flow

    body = call.body
    if body.flow is not None:
        _check_size(body.flow)
    if body.contact_id or body.email:
        require(call.principal, "contacts:read")
    run = try_flow(
        flow_id,
        document=body.flow,
        contact_id=body.contact_id,
        email=body.email,
        sample=body.contact.model_dump(exclude_none=True) if body.contact else None,
        trigger=body.trigger,
        choices=body.choices,
    )
    return run.as_dict()
