"""One error format for every route: a named error becomes a 4xx answer naming the
problem, anything else a 500 that shows no internals.

    {"error": {"code": "Forbidden", "message": "this key (role sales_rep) lacks flows:publish"}}

`code` is the error's name without its `Crm.` / `Http.` prefix. Errors that carry more add
it beside the message: `report` (a rejected flow: every error and warning, with paths) and
`fields` (a malformed request: each field at fault).
"""

from __future__ import annotations

import logging
from typing import Any

from chalice import Response

from functions.errors import CrmError

log = logging.getLogger("crmflow.api")

# By error name; an error not listed takes its nearest listed base class's status.
STATUS: dict[str, int] = {
    "Http.BadRequest": 400,
    "Crm.UnreadableFile": 400,
    "Crm.BadMapping": 400,
    "Http.Unauthorized": 401,
    "Http.BadSignature": 401,
    "Http.Forbidden": 403,
    "Crm.ContactNotFound": 404,
    "Crm.RecordNotFound": 404,
    "Crm.FlowNotFound": 404,
    "Crm.EnrollmentNotFound": 404,
    "Crm.ReportNotFound": 404,
    "Crm.DuplicateEmail": 409,
    "Crm.Conflict": 409,  # the record kept changing under us: try again
    "Crm.SegmentExists": 409,
    "Crm.NotADraft": 409,
    "Crm.NotRollbackTarget": 409,
    "Http.IdempotencyInProgress": 409,  # the first delivery with the key is still running
    "Http.IdempotencyKeyReused": 422,
    "Crm.TriggerTooLarge": 413,
    "Http.BodyTooLarge": 413,
    "Crm.InvalidRecord": 422,
    "Crm.InvalidParams": 422,
    "Crm.FlowInvalid": 422,
    "Crm.WrongTrigger": 422,  # e.g. a broadcast of a flow that a webhook starts
    "Crm.NotConfigured": 500,  # the deployment lacks a setting: the message names it
    "Crm.Transient": 503,
    "Crm.CrmError": 422,  # any other named error: the request broke a rule of the CRM
}
_EXTRAS = ("report", "fields")


def error_body(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """The status and JSON body for an error; unnamed errors are logged, not shown."""
    if not isinstance(exc, CrmError):
        log.error("unexpected error in an API call", exc_info=exc)
        return 500, {
            "error": {
                "code": "InternalError",
                "message": "the server failed to answer this request; it has been logged",
            }
        }
    name = type(exc).__name__
    status = next(
        STATUS[n] for n in (_name(c) for c in type(exc).__mro__ if c is not object) if n in STATUS
    )
    error: dict[str, Any] = {"code": name.rsplit(".", 1)[-1], "message": str(exc)}
    for extra in _EXTRAS:
        if getattr(exc, extra, None) is not None:
            error[extra] = getattr(exc, extra)
    if status >= 500:
        log.error("%s: %s", name, exc)
    return status, {"error": error}


def error_response(exc: BaseException) -> Response:
    """The Chalice answer for an error raised while serving a request."""
    status, body = error_body(exc)
    headers = {"Content-Type": "application/json"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="crmflow"'
    elif status == 503 or type(exc).__name__ == "Http.IdempotencyInProgress":
        headers["Retry-After"] = "1"  # seconds: a temporary state, worth a retry soon
    return Response(body=body, status_code=status, headers=headers)


def _name(cls: type) -> str:
    # The base class keeps its Python name; named errors are "Crm.X" / "Http.X".
    return "Crm.CrmError" if cls is CrmError else cls.__name__
