"""`POST /hooks/{flow_id}`: another system starts a flow for a contact.

Authentication is an HMAC-SHA256 signature or an API key. A signed request carries
`X-Crmflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed by
the flow's hook secret (the secret named `HOOK_<FLOW_ID>`, e.g. CRMFLOW_SECRET_HOOK_LEAD_CAPTURE);
requests more than five minutes from now are refused, and a signature already seen within
those minutes gets the first answer and starts nothing, so a captured request cannot be
replayed. An `Idempotency-Key` header makes a re-delivery a no-op that gets the first
answer; reused with another body it is refused. Both are claimed in the Delivery table
before the work (triggers/deliveries.py): parallel deliveries do the work once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
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
    DuplicateEmail,
    FlowNotFound,
    InvalidRecord,
    MissingSecret,
    TriggerTooLarge,
)
from functions.secrets import secret
from functions.store.contacts import (
    create_contact,
    find_by_email,
    update_contact,
)
from functions.store.fields import lenient_contact_fields
from functions.store.models import FlowRecord, FlowVersion
from functions.store.settings import default_region
from functions.triggers.deliveries import Claim, claim, finish, release
from functions.triggers.index import enrollment_id

log = logging.getLogger("crmflow.hooks")

SIGNATURE_HEADER = "x-crmflow-signature"
IDEMPOTENCY_HEADER = "idempotency-key"
MAX_AGE = 300  # seconds a signed request stays valid
SEEN_FOR = MAX_AGE + 60  # seconds past its timestamp a signature is remembered (clock skew)
MAX_KEY = 255  # characters of an Idempotency-Key (as Stripe)
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
    without a signature. Every refusal is a named error whose message names the problem.

    A signature seen before, or an Idempotency-Key used before, gets the answer its first
    delivery got and starts nothing; IdempotencyInProgress while that delivery is still at
    work, IdempotencyKeyReused when the key came with another body."""
    headers = {k.lower(): v for k, v in headers.items()}
    flow = published(flow_id)
    if flow.trigger_kind != "webhook":
        raise FlowNotFound(
            f"flow '{flow_id}' is started by a {flow.trigger_kind} trigger, not by a webhook"
        )
    params = _trigger_params(flow)
    signed: tuple[int, str] | None = None
    if SIGNATURE_HEADER in headers:
        signed = verify(flow_id, body, headers[SIGNATURE_HEADER])
    elif params.get("require_signature"):
        raise BadSignature(f"flow '{flow_id}' accepts only signed requests ({SIGNATURE_HEADER})")
    else:
        check_api_key()
    key = headers.get(IDEMPOTENCY_HEADER, "").strip()
    if len(key) > MAX_KEY:
        raise BadRequest(f"the Idempotency-Key is {len(key):,} characters; at most {MAX_KEY}")
    payload = parse_json(body)
    request_hash = fingerprint(flow_id, payload)
    held: list[Claim] = []
    answer: Answer | None = None
    try:
        if signed is not None:
            # Headers are not signed: the signature alone says "the same request".
            timestamp, mac = signed
            got = claim(
                f"sig#{flow_id}#{mac}",
                request_hash,
                label="this signature",
                expires=timestamp + SEEN_FOR,
            )
            if not isinstance(got, Claim):
                return Answer(*got)
            held.append(got)
        if key:
            got = claim(f"hook#{flow_id}#{key}", request_hash, label=f"Idempotency-Key '{key}'")
            if isinstance(got, Claim):
                held.append(got)
            else:  # a retry its sender signed anew: the signature gets the first answer too
                answer = Answer(*got)
        if answer is None:
            answer = _start(flow, payload, params, key)
    except BaseException:
        for taken in held:
            release(taken)
        raise
    for taken in held:
        finish(taken, answer.status, answer.body)
    return answer


def fingerprint(flow_id: str, payload: dict[str, Any]) -> str:
    """What makes two deliveries the same request: the flow and the body's JSON value
    (key order and spacing aside)."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{flow_id}\n{canonical}".encode()).hexdigest()


def _start(flow: FlowRecord, payload: dict[str, Any], params: dict[str, Any], key: str) -> Answer:
    flow_id = flow.flow_id
    contact_id, warnings = _contact_for(payload, params)
    run = enroll(
        flow_id,
        contact_id,
        trigger=payload,
        enrollment_id=enrollment_id(flow_id, "hook", key) if key else None,
        source={"kind": "webhook", "idempotency_key": key} if key else {"kind": "webhook"},
        flow=flow,
        contact_checked=True,
    )
    return Answer(
        202 if run.enrolled else 200,
        {
            "enrolled": run.enrolled,
            "enrollment_id": run.enrollment_id,
            "execution_id": run.enrollment_id,  # executions are named after enrollments
            "contact_id": contact_id,
            **({"reason": run.reason} if run.reason else {}),
            **({"warnings": warnings} if warnings else {}),
        },
    )


def verify(flow_id: str, body: bytes, header: str) -> tuple[int, str]:
    """Check a `t=…,v1=…` signature over timestamp and body; its timestamp and HMAC when it
    checks out, BadSignature saying what failed when not."""
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
    try:
        key = secret(hook_secret_name(flow_id))
    except MissingSecret:
        # The caller cannot fix our configuration, and must not learn its names: the
        # operator finds the setting in the log.
        log.warning(
            "hook %s got a signed call; %s is not configured", flow_id, hook_secret_name(flow_id)
        )
        raise BadSignature(
            f"flow '{flow_id}' takes no signed calls: it has no signing secret; "
            "call it with an API key, or ask an admin to set one"
        ) from None
    expected = sign(key, body, timestamp).split("v1=", 1)[1]
    if not hmac.compare_digest(given, expected):
        raise BadSignature("the signature does not match the body and timestamp")
    return timestamp, expected


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


def _contact_for(
    payload: dict[str, Any], params: dict[str, Any]
) -> tuple[str, list[dict[str, str]]]:
    """The contact the payload names, created or updated from its mapped fields, and a
    warning for each value kept as typed: a lead is never refused over its phone."""
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
        fields, warnings = lenient_contact_fields(
            {**mapped, "email": address}, region=default_region()
        )
    except InvalidRecord as exc:
        raise BadRequest(str(exc)) from None
    existing = find_by_email(fields["email"])
    if existing is None:
        if not params.get("create_contact", True):
            raise ContactNotFound(
                f"no contact has email {fields['email']}, and this flow does not create contacts"
            )
        try:
            return create_contact(fields).contact_id, warnings
        except DuplicateEmail:  # a delivery beside this one created it first: merge into it
            existing = find_by_email(fields["email"])
            if existing is None:
                raise
    if len(fields) > 1:
        update_contact(existing.contact_id, lambda c: _merge(c, fields))
    return existing.contact_id, warnings


def _merge(contact: Any, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if name == "custom":
            contact.custom = {**(contact.custom or {}), **value}
        elif name == "tags":
            contact.tags = set(contact.tags or ()) | value
        elif name != "email":
            setattr(contact, name, value)
