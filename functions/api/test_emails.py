"""Test emails over HTTP: a flow's send_email step, rendered for one contact, sent to the
person writing it so they see it in their own mail client.

The email is rendered by the real send step in a test run of that one step
(functions.testrun: a sandbox, so nothing is written and no link is tracked), then sent
through SES (on the local stack: captured in the outbox) to the address asked for, with
"[Test] " before its subject and an `X-Crmflow-Test: 1` header. Nothing is recorded for
the contact it was rendered for: no timeline entry, counter, report row or enrollment;
its links go straight to their targets, it has no open pixel, and its unsubscribe link
goes to the preview page that changes nothing.

Rate: at most RATE_LIMIT tests per key per RATE_WINDOW seconds, counted in the Lambda
serving the call (429 past that). The count is per warm Lambda, not global: keeping it in
the store would be a write for every test, and what it guards against, a button clicked
in a loop, hits one Lambda. SES's own sending quota bounds the rest.
"""

from __future__ import annotations

import time
from collections import deque
from threading import Lock
from typing import Any

from chalice import Blueprint

from functions.api.routing import Call, field_error, json_response, route

bp = Blueprint(__name__)

SUBJECT_PREFIX = "[Test] "
TEST_HEADER = "X-Crmflow-Test"
RATE_LIMIT = 10  # test emails per key…
RATE_WINDOW = 60.0  # …per this many seconds
_SENT: dict[str, deque[float]] = {}
_LOCK = Lock()


@route(
    bp,
    "/flows/{flow_id}/test-emails",
    method="POST",
    permission="flows:write",
    body="TestEmailRequest",
    errors=(400, 404, 422, 429),
    answer="TestEmailSent",
)
def flows_test_email(call: Call, flow_id: str) -> Any:
    """Send one send_email step as a test email to yourself, rendered for a contact.

    The step is taken from the document sent (it must carry this id) or the flow's newest
    saved version. The email goes through SES to `to` (default: the key's user's email)
    with "[Test] " before its subject and an `X-Crmflow-Test: 1` header, tracking off.
    Nothing is recorded for the contact. At most 10 per key per minute (429).
    """
    from functions.auth import require

    body = call.body
    if body.contact_id or body.email:
        require(call.principal, "contacts:read")
    to = body.to or _own_address(call)
    wait = _take_turn(call.principal.key_id)
    if wait:
        answer = json_response(
            {
                "error": {
                    "code": "TooManyRequests",
                    "message": f"at most {RATE_LIMIT} test emails a minute; "
                    f"try again in {wait} seconds",
                }
            },
            429,
        )
        answer.headers["Retry-After"] = str(wait)
        return answer
    return send_test_email(
        flow_id,
        document=body.flow,
        node_id=body.node_id,
        to=to,
        contact_id=body.contact_id,
        email=body.email,
        sample=body.contact.model_dump(exclude_none=True) if body.contact else None,
    )


def send_test_email(
    flow_id: str,
    *,
    document: dict[str, Any] | None,
    node_id: str,
    to: str,
    contact_id: str | None = None,
    email: str | None = None,
    sample: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Render step `node_id` of `document` (default: the flow's newest saved version) for
    the contact named and send it to `to`, marked as a test; what was sent."""
    from flows.email_links import untracked
    from functions import email as mail
    from functions.api.flows import _check_size
    from functions.catalog import get_flow, latest_version
    from functions.errors import FlowNotFound, InvalidParams
    from functions.testrun import try_flow

    if document is None:
        latest = latest_version(get_flow(flow_id))
        if latest is None:
            raise FlowNotFound(f"flow '{flow_id}' has no saved version to take the step from")
        document = latest.document
    else:
        _check_size(document)
    if document.get("id") != flow_id:
        raise field_error("flow.id", f"is {document.get('id')!r}, but the path names '{flow_id}'")
    spec = _email_step(document, node_id)
    run = try_flow(
        flow_id, document=_only(document, spec), contact_id=contact_id, email=email, sample=sample
    )
    emails = run.of_kind("email")
    if not emails:
        failed = [v for v in run.path if v.error]
        if failed:
            raise InvalidParams(f"step '{node_id}' could not render: {failed[0].error['cause']}")
        skipped = next((v.result or {}).get("skipped") for v in run.path if v.node == node_id)
        raise InvalidParams(
            f"step '{node_id}' would not email this contact ({skipped or 'skipped'}); "
            "pick another contact"
        )
    rendered = emails[0]
    subject = SUBJECT_PREFIX + rendered["subject"]
    html = rendered.get("html")
    raw = mail.build_message(
        sender=rendered["from"],
        to=[to],
        subject=subject,
        # Untracked already (rendered in a test run); made sure of twice.
        text=untracked(rendered["text"], is_html=False),
        html_body=untracked(html, is_html=True) if html is not None else None,
        reply_to=rendered.get("reply_to"),
        headers={TEST_HEADER: "1"},
    )
    message_id = mail.send_raw(rendered["from"], raw)
    return {
        "flow_id": flow_id,
        "node_id": node_id,
        "to": to,
        "subject": mail.one_line(subject),
        "message_id": message_id,
        "contact_id": run.contact_id,
        "sample_contact": run.sample,
    }


def _email_step(document: dict[str, Any], node_id: str) -> dict[str, Any]:
    from functions.errors import InvalidParams

    nodes = document.get("nodes")
    nodes = nodes if isinstance(nodes, list) else []
    found = next((n for n in nodes if isinstance(n, dict) and n.get("id") == node_id), None)
    if found is None:
        raise InvalidParams(f"node_id: the flow has no step '{node_id}'")
    if found.get("kind") != "send_email":
        raise InvalidParams(
            f"node_id: step '{node_id}' is a {found.get('kind')} step, not send_email"
        )
    return found


def _only(document: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """A flow of the one email step: a hook starts it, an end ends it."""
    return {
        "schema_version": document.get("schema_version", "1.0"),
        "id": document["id"],
        "name": document.get("name") or document["id"],
        "trigger": {"id": "test_email_start", "kind": "webhook", "params": {}},
        "nodes": [dict(spec), {"id": "test_email_end", "kind": "end"}],
        "edges": [
            {"from": "test_email_start", "to": spec["id"]},
            {"from": spec["id"], "to": "test_email_end"},
        ],
    }


def _own_address(call: Call) -> str:
    from functions.store.models import User

    user_id = call.principal.user_id if call.principal else None
    if user_id:
        try:
            address = User.get(user_id).email
        except User.DoesNotExist:
            address = None
        if address:
            return str(address)
    raise field_error("to", "is missing, and this key's user has no email: give the address")


def _take_turn(key_id: str) -> int:
    """0 when this key may send a test now (counted); else the seconds until it may."""
    now = time.monotonic()
    with _LOCK:
        sent = _SENT.setdefault(key_id, deque())
        while sent and now - sent[0] >= RATE_WINDOW:
            sent.popleft()
        if len(sent) >= RATE_LIMIT:
            return max(1, int(RATE_WINDOW - (now - sent[0]) + 0.999))
        sent.append(now)
        return 0
