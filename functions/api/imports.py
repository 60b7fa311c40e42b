"""Contact import over HTTP: a CSV body in, the importer's report out.

A request is limited by the gateway (10 MB, and Lambda's 6 MB payload) and its time (29 s):
use `crmflow import` for files of tens of thousands of rows.
"""

from __future__ import annotations

import io
from typing import Any

from chalice import Blueprint

from functions.api.routing import Call, field_error, route

bp = Blueprint(__name__)


@route(
    bp,
    "/imports",
    method="POST",
    permission="imports:write",
    query="ImportOptions",
    content_type="text/csv",
    errors=(400,),
)
def imports_create(call: Call) -> Any:
    """Import contacts from a CSV body (UTF-8; comma, semicolon or tab).

    Answers with the importer's report: every row is imported or listed in `rejected`
    with its row number (the header is row 1), the field at fault and the reason.
    Existing contacts are never overwritten.
    """
    from functions.store.importer import import_contacts

    mapping = dict(_pair(m) for m in call.query.map)
    report = import_contacts(
        io.BytesIO(call.body or b""), mapping=mapping, default_region=call.query.region
    )
    return {
        "rows_read": report.rows_read,
        "imported": report.imported,
        "rejected": [{"row": r.row, "field": r.field, "reason": r.reason} for r in report.rejected],
        "mapping": report.mapping,
    }


def _pair(text: str) -> tuple[str, str]:
    column, sep, target = text.partition("=")
    if not sep or not column.strip() or not target.strip():
        raise field_error("map", f"'{text}' is not COLUMN=FIELD")
    return column.strip(), target.strip()
