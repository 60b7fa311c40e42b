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
    max_body=6_000_000,  # what a Lambda is handed; the gateway's own limit is 10 MB
    answer="ImportResult",
)
def imports_create(call: Call) -> Any:
    """Import contacts from a CSV body (UTF-8; comma, semicolon or tab).

    A row is rejected only when it cannot become a contact: no email, or one that is not
    an address. A row repeating an address (any case or spacing) seen earlier in the file
    or already stored is merged into that contact. Values that cannot be read are
    warnings, not rejections. The answer counts every row read: `new + merged +
    len(rejected) + empty == rows_read`; `rejected` and `warnings` give the row (the header
    is row 1), field and reason; `imported` is `new + merged`.
    """
    from functions.store.importer import import_contacts

    mapping = dict(_pair(m) for m in call.query.map)
    report = import_contacts(
        io.BytesIO(call.body or b""), mapping=mapping, default_region=call.query.region
    )
    return {
        "rows_read": report.rows_read,
        "new": report.new,
        "merged": report.merged,
        "rejected": [{"row": r.row, "field": r.field, "reason": r.reason} for r in report.rejected],
        "empty": report.empty,
        "warnings": [{"row": w.row, "field": w.field, "reason": w.reason} for w in report.warnings],
        "imported": report.imported,
        "summary": report.summary(),
        "mapping": report.mapping,
    }


def _pair(text: str) -> tuple[str, str]:
    column, sep, target = text.partition("=")
    if not sep or not column.strip() or not target.strip():
        raise field_error("map", f"'{text}' is not COLUMN=FIELD")
    return column.strip(), target.strip()
