"""Reports over HTTP, for the editor's Reports page: the list of reports, and each report
as a table (JSON, or CSV for spreadsheets). See docs/reports.md for what each number means.

Service modules are imported inside the views: every Lambda of the app imports this
module at cold start, and only API calls need them.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from functions.api.routing import Call, route

bp = Blueprint(__name__)


@route(bp, "/reports", permission="reports:read", answer="ReportCatalogue")
def reports_list(call: Call) -> Any:
    """List the reports: name, title, what they count and their columns."""
    from functions.reports.build import catalogue

    return {"reports": catalogue()}


@route(
    bp,
    "/reports/{report_name}",
    permission="reports:read",
    query="ReportQuery",
    errors=(400, 404),
    answer="ReportTable",
    answer_types=("application/json", "text/csv"),
)
def reports_show(call: Call, report_name: str) -> Any:
    """A report as a table: columns, and one row per period and dimensions.

    `sources`, `conversion`, `deals` and `email` count per week or month over start..end
    (default: the last 12 periods); `pipeline` is the open deals now. `format=csv` answers
    text/csv (UTF-8 with a BOM).
    """
    from functions.reports.build import report

    q = call.query
    table = report(report_name, q.period, q.start, q.end, flow_id=q.flow_id)
    if q.format == "json":
        return table.as_dict()
    span = f"-{q.period}-{table.start}-{table.end}" if table.period else ""
    return Response(
        body=table.csv(),
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{table.report}{span}.csv"',
        },
    )
