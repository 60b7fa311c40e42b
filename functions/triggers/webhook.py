"""`POST /hooks/{flow_id}`: another system starts a flow for a contact.

Authentication is an HMAC-SHA256 signature or an API key. A signed request carries
`X-Crmflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed by
the flow's hook secret (the secret named `HOOK_<FLOW_ID>`, e.g. CRMFLOW_SECRET_HOOK_LEAD_CAPTURE);
requests older than five minutes are refused, so a captured request cannot be replayed.
An `Idempotency-Key` header makes a re-delivery a no-op that gets the first answer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flows.contract import MAX_TRIGGER_BYTES
from functions import json_input
from functions.enrollments import enroll, published
from functions.errors import (
    BadRequest,
    BadSignature,
    ContactNotFound,
    FlowNotFound,
    InvalidRecord,
    TriggerTooLarge,
)
from functions.secrets import secret
from functions.store.contacts import (
    create_contact,
    find_by_email,
    update_contact,
)
from functions.store.fields import contact_fields
from functions.store.models import FlowRecord, FlowVersion
from functions.triggers.deliveries import delivered, remember
from functions.triggers.index import enrollment_id

SIGNATURE_HEADER = "x-crmflow-signature"
IDEMPOTENCY_HEADER = "idempotency-key"
MAX_AGE = 300  # seconds a signed request stays valid
MAX_BODY = 256 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def hook_secret_name(flow_id: str) -> str:
    return "HOOK_" + flow_id.upper().replace("-", "_")


def sign(secret_value: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header value for `body` (what senders compute; tests and docs use it)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret_value.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def accept(
    flow_id: str,
    body: bytes,
    headers: Mapping[str, str],
    check_api_key: Callable[[], None],
) -> Answer:
    """Authenticate, then create or update the contact and enroll it. `check_api_key`
    raises when the request's API key may not call this hook; it is used for requests
    without a signature. Every refusal is a named error whose message names the problem."""
    headers = {k.lower(): v for k, v in headers.items()}
    flow = published(flow_id)
    if flow.trigger_kind != "webhook":
        raise FlowNotFound(
            f"flow '{flow_id}' is started by a {flow.trigger_kind} trigger, not by a webhook"
        )
    params = _trigger_params(flow)
    if SIGNATURE_HEADER in headers:
        verify(flow_id, body, headers[SIGNATURE_HEADER])
    elif params.get("require_signature"):
        raise BadSignature(f"flow '{flow_id}' accepts only signed requests ({SIGNATURE_HEADER})")
    else:
        check_api_key()
    key = headers.get(IDEMPOTENCY_HEADER, "").strip()
    if key:
        seen = delivered(f"hook#{flow_id}#{key}")
        if seen is not None:
            return Answer(*seen)
    payload = parse_json(body)
    contact_id = _contact_for(payload, params)
    run = enroll(
        flow_id,
        contact_id,
        trigger=payload,
        enrollment_id=enrollment_id(flow_id, "hook", key) if key else None,
        source={"kind": "webhook", "idempotency_key": key} if key else {"kind": "webhook"},
        flow=flow,
        contact_checked=True,
    )
    answer = Answer(
        202 if run.enrolled else 200,
        {
            "enrolled": run.enrolled,
            "enrollment_id": run.enrollment_id,
            "execution_id": run.enrollment_id,  # executions are named after enrollments
            "contact_id": contact_id,
            **({"reason": run.reason} if run.reason else {}),
        },
    )
    if key:
        remember(f"hook#{flow_id}#{key}", answer.status, answer.body)
    return answer


def verify(flow_id: str, body: bytes, header: str) -> None:
    """Check a `t=…,v1=…` signature over timestamp and body; BadSignature says what failed."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        raise BadSignature(f"{SIGNATURE_HEADER} has no t=<unix seconds> timestamp") from None
    if abs(time.time() - timestamp) > MAX_AGE:
        raise BadSignature(
            f"the signature's timestamp is more than {MAX_AGE // 60} minutes away from now; "
            "sign each delivery when it is sent"
        )
    given = parts.get("v1", "")
    expected = sign(secret(hook_secret_name(flow_id)), body, timestamp).split("v1=", 1)[1]
    if not hmac.compare_digest(given, expected):
        raise BadSignature("the signature does not match the body and timestamp")


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or BadRequest / TriggerTooLarge naming the problem."""
    if len(body) > MAX_BODY:
        raise TriggerTooLarge(f"the body is {len(body):,} bytes; at most {MAX_BODY:,} are read")
    payload = json_input.loads(body or b"")
    if not isinstance(payload, dict):
        raise BadRequest(f"the body must be a JSON object, not a JSON {type(payload).__name__}")
    size = len(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_TRIGGER_BYTES:
        raise TriggerTooLarge(
            f"the payload is {size:,} bytes; at most {MAX_TRIGGER_BYTES:,} travel with a "
            "contact: send the rest to the contact's record"
        )
    return payload


def pick(payload: dict[str, Any], path: str) -> Any:
    """The value at a dot path (`form.email`), None where the path leads nowhere."""
    value: Any = payload
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


# --- helpers -----------------------------------------------------------------------------


def _trigger_params(flow: FlowRecord) -> dict[str, Any]:
    if flow.trigger_params is not None:
        return flow.trigger_params
    # Published before the record kept them: the version's document has them.
    document = FlowVersion.get(flow.flow_id, int(flow.published_version)).document
    return document["trigger"].get("params") or {}


def _contact_for(payload: dict[str, Any], params: dict[str, Any]) -> str:
    email_key = params.get("email_key", "email")
    address = pick(payload, email_key)
    if not isinstance(address, str) or not address.strip():
        raise BadRequest(f"the body has no '{email_key}': this flow finds contacts by it")
    mapped = {
        field: pick(payload, path)
        for field, path in (params.get("mapping") or {}).items()
        if pick(payload, path) is not None
    }
    try:
        fields = contact_fields({**mapped, "email": address})
    except InvalidRecord as exc:
        raise BadRequest(str(exc)) from None
    existing = find_by_email(fields["email"])
    if existing is not None:
        if len(fields) > 1:
            update_contact(existing.contact_id, lambda c: _merge(c, fields))
        return existing.contact_id
    if not params.get("create_contact", True):
        raise ContactNotFound(
            f"no contact has email {fields['email']}, and this flow does not create contacts"
        )
    return create_contact(fields).contact_id


def _merge(contact: Any, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if name == "custom":
            contact.custom = {**(contact.custom or {}), **value}
        elif name == "tags":
            contact.tags = set(contact.tags or ()) | value
        elif name != "email":
            setattr(contact, name, value)
