"""`POST /hooks/{flow_id}`: another system starts a flow (see docs/triggers.md). The
request is authenticated by its HMAC signature or, failing that, an API key allowed to
call this flow's hook."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from functions.api.routing import Call, json_response, route
from functions.triggers.webhook import MAX_BODY

bp = Blueprint(__name__)


@route(
    bp,
    "/hooks/{flow_id}",
    method="POST",
    permission="an HMAC signature (X-Crmflow-Signature), or a key with hooks:call for the flow",
    status=202,
    errors=(400, 401, 403, 404, 409, 413, 422, 503),
    public=True,
    auth=("signature", "bearer", "apiKey"),
    body_doc="HookPayload",
    headers={
        "X-Crmflow-Signature": 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> '
        "with the flow's hook secret; instead of an API key",
        "Idempotency-Key": "At most 255 characters, kept 7 days: a re-delivery with it gets "
        "the first answer and starts nothing",
    },
    max_body=MAX_BODY,
    answer="HookAccepted",
    also=(200,),
)
def hooks_call(call: Call, flow_id: str) -> Any:
    """Start the flow for the contact the JSON body names.

    The body is a JSON object; the flow's trigger says which key holds the email and which
    keys fill contact fields. `Idempotency-Key` (kept 7 days) makes a re-delivery return
    the first answer and start nothing, as does a signed request replayed within its five
    minutes. Answers 202 with the enrollment and execution ids, or 200 with
    `enrolled: false` and the reason when the contact is already in the flow; 409
    `IdempotencyInProgress` while the first delivery with the key is still being handled
    (retry shortly); 422 `IdempotencyKeyReused` for a key sent before with another body.
    """
    from functions.triggers.webhook import accept

    answer = accept(
        flow_id,
        bp.current_request.raw_body or b"",
        call.headers,
        lambda: call.require("hooks:call", flow_id=flow_id),
    )
    return json_response(answer.body, answer.status)
