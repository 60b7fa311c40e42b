"""API keys over HTTP: issue and revoke (admin keys only). The first admin key comes from
the command line: `crmflow key issue --role admin`."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from functions.api.routing import Call, json_response, route

bp = Blueprint(__name__)


@route(
    bp,
    "/keys",
    method="POST",
    permission="keys:admin",
    body="NewKey",
    status=201,
    errors=(400, 422),
    answer="KeyIssued",
)
def keys_issue(call: Call) -> Any:
    """Issue an API key.

    The answer holds the key itself, once: only its hash is stored, so it cannot be shown
    again.
    """
    from functions.auth import issue_key

    body = call.body
    key_id, key = issue_key(
        body.name,
        body.role,
        user_id=body.user_id,
        flows=body.flows,
        events=body.events,
        by=call.principal.key_id,
    )
    answer = json_response(
        {
            "key_id": key_id,
            "key": key,
            "name": body.name,
            "role": body.role,
            "user_id": body.user_id,
            "flows": sorted(body.flows),
            "events": body.events,
        },
        201,
    )
    answer.headers["Cache-Control"] = "no-store"  # the key must not linger in caches
    return answer


@route(
    bp,
    "/keys/{key_id}",
    method="DELETE",
    permission="keys:admin",
    errors=(404,),
    answer="KeyRevoked",
)
def keys_revoke(call: Call, key_id: str) -> Any:
    """Revoke an API key: calls with it get 401 from now on."""
    from functions.auth import revoke_key

    key = revoke_key(key_id)
    return {"key_id": key.key_id, "name": key.name, "revoked_at": key.revoked_at.isoformat()}
