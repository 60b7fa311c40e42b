"""The reports: each reads its counters over a date range (functions/reports/rollups.py),
groups the days into weeks or months and answers a table a chart can take as it is: one
row per period and dimensions (source, owner, flow email…), counts, then rates.

The pipeline report is a snapshot instead: the open deals now, read with one Query per
known stage on the deals' by_stage index. Known stages are those of PIPELINES and those
the `deals.open` counters say hold deals.

Every read is a Query; none is a Scan.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from functions.errors import BadRequest, ReportNotFound
from functions.reports import feed, periods, rollups
from functions.reports.periods import Kind, Period
from functions.reports.stages import PIPELINES, open_stages
from functions.store.models import Deal, FlowRecord, User

NONE = "(none)"  # a contact without a source, a deal without an owner
Measures = dict[str, float]
Dims = tuple[str, ...]


@dataclass(frozen=True)
class Spec:
    """A periodic report: which counters feed which columns, and the rates derived."""

    name: str
    title: str
    description: str
    dims: tuple[str, ...]  # dimension columns
    feeds: tuple[tuple[str, str, bool], ...]  # (metric, measure column, its amount not n)
    rates: tuple[tuple[str, Rate], ...] = ()
    # The counters' dimensions as the dims columns show them (names beside ids…): given
    # every dims tuple of the answer, so names are looked up once.
    labels: Callable[[list[Dims]], Callable[[Dims], list[Any]]] = lambda _: list

    @property
    def measures(self) -> list[str]:
        return list(dict.fromkeys(m for _, m, _ in self.feeds))

    @property
    def columns(self) -> list[str]:
        return ["period", "from", "to", *self.dims, *self.measures, *(r for r, _ in self.rates)]


@dataclass
class Table:
    """A report's answer: columns and rows, and the same measures over the whole range."""

    report: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    period: Kind | None = None
    start: date | None = None
    end: date | None = None
    periods: list[Period] = field(default_factory=list)
    totals: dict[str, Any] | None = None
    as_of: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "report": self.report,
            "title": self.title,
            "period": self.period,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "columns": self.columns,
            "rows": self.rows,
        }
        if self.period:
            answer["periods"] = [
                {"period": p.label, "from": p.first.isoformat(), "to": p.last.isoformat()}
                for p in self.periods
            ]
            answer["totals"] = self.totals
        if self.as_of:
            answer["as_of"] = self.as_of.isoformat(timespec="seconds")
        return answer

    def csv(self) -> str:
        """The rows as CSV (RFC 4180), with a BOM so spreadsheet programs read UTF-8."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.columns)
        writer.writerows([["" if v is None else v for v in row] for row in self.rows])
        return "\ufeff" + out.getvalue()


@dataclass(frozen=True)
class Rate:
    """A rate column: `top` over the sum of `bottom`. Kept as names, not only as a
    function, so the catalogue can say what each rate counts and a chart or table can show
    it with its denominator ("42% (21 of 50 sent)")."""

    top: str
    bottom: tuple[str, ...]

    def __call__(self, m: Measures) -> float | None:
        under = sum(m.get(b, 0) for b in self.bottom)
        return round(m.get(self.top, 0) / under, 4) if under else None


def ratio(top: str, *bottom: str) -> Rate:
    return Rate(top, bottom)


def _sources(_dims: list[Dims]) -> Callable[[Dims], list[Any]]:
    return lambda d: [d[0] or NONE]


def _owners(dims: list[Dims]) -> Callable[[Dims], list[Any]]:
    # (pipeline, owner id, currency) → pipeline, owner id, the owner's name, currency
    ids = sorted({d[1] for d in dims if d[1]})
    names = {u.user_id: u.name for u in User.batch_get(ids)} if ids else {}
    return lambda d: [d[0], d[1] or None, names.get(d[1], d[1]) if d[1] else NONE, d[2]]


def _flows(dims: list[Dims]) -> Callable[[Dims], list[Any]]:
    # (flow id, node) → flow id, the flow's name, node
    ids = sorted({d[0] for d in dims if d[0]})
    names = {f.flow_id: f.name for f in FlowRecord.batch_get(ids)} if ids else {}
    return lambda d: [d[0] or None, names.get(d[0]), d[1]]


SPECS: dict[str, Spec] = {
    s.name: s
    for s in (
        Spec(
            "sources",
            "Contacts and leads by source",
            "New contacts per source (by the day they were created) and how many of them "
            "are now leads or later (lead_rate = leads / new_contacts).",
            ("source",),
            ((feed.CONTACTS_NEW, "new_contacts", False), (feed.CONTACTS_LEADS, "leads", False)),
            (("lead_rate", ratio("leads", "new_contacts")),),
            _sources,
        ),
        Spec(
            "conversion",
            "Conversion",
            "Contacts that became leads and customers, on the day they first did "
            "(customer_rate = customers / leads); visits (custom events `visit` and "
            "`page_view`), form submissions and purchases (purchase_rate = purchases / visits).",
            (),
            (
                (feed.LEADS, "leads", False),
                (feed.CUSTOMERS, "customers", False),
                (feed.VISITS, "visits", False),
                (feed.FORMS, "forms", False),
                (feed.PURCHASES, "purchases", False),
            ),
            (
                ("customer_rate", ratio("customers", "leads")),
                ("purchase_rate", ratio("purchases", "visits")),
            ),
        ),
        Spec(
            "deals",
            "Deals won and lost",
            "Deals that reached a won or lost stage, on the day they first did, per pipeline, "
            "owner and currency, with their amounts (win_rate = won / (won + lost)).",
            ("pipeline", "owner_id", "owner", "currency"),
            (
                (feed.WON, "won", False),
                (feed.WON, "won_amount", True),
                (feed.LOST, "lost", False),
                (feed.LOST, "lost_amount", True),
            ),
            (("win_rate", ratio("won", "won", "lost")),),
            _owners,
        ),
        Spec(
            "email",
            "Email performance",
            "Per flow and email node: emails sent, contacts who opened and who clicked each "
            "email (once each, on the first day), unsubscribes from its link; rates per email "
            "sent.",
            ("flow_id", "flow", "node"),
            (
                (feed.SENT, "sent", False),
                (feed.OPENED, "opened", False),
                (feed.CLICKED, "clicked", False),
                (feed.UNSUBSCRIBED, "unsubscribed", False),
            ),
            (
                ("open_rate", ratio("opened", "sent")),
                ("click_rate", ratio("clicked", "sent")),
                ("unsubscribe_rate", ratio("unsubscribed", "sent")),
            ),
            _flows,
        ),
    )
}
PIPELINE = "pipeline"
PIPELINE_COLUMNS = ["pipeline", "stage", "currency", "deals", "amount"]
PIPELINE_ABOUT = (
    "Open deals now, per pipeline, stage and currency: how many and their total amount."
)
NAMES = (*SPECS, PIPELINE)


def catalogue() -> list[dict[str, Any]]:
    """Every report: its name, title, what it counts and its columns."""
    listed = [
        {
            "name": s.name,
            "title": s.title,
            "description": s.description,
            "columns": s.columns,
            "rates": [{"name": n, "of": r.top, "per": list(r.bottom)} for n, r in s.rates],
        }
        for s in SPECS.values()
    ]
    listed.append(
        {
            "name": PIPELINE,
            "title": "Pipeline value by stage",
            "description": PIPELINE_ABOUT,
            "columns": PIPELINE_COLUMNS,
            "rates": [],
        }
    )
    return listed


def report(
    name: str,
    period: Kind = "week",
    start: date | None = None,
    end: date | None = None,
    *,
    flow_id: str | None = None,
) -> Table:
    """The report `name` (ReportNotFound when there is none) over start..end."""
    if name not in NAMES:
        raise ReportNotFound(f"no report named '{name}'; reports: {', '.join(NAMES)}")
    if flow_id is not None and name != "email":
        raise BadRequest(f"flow_id: only the email report takes it, not '{name}'")
    if name == PIPELINE:
        return pipeline()
    first, last = periods.resolve(period, start, end)
    spec = SPECS[name]
    wanted = (lambda dims: dims[0] == flow_id) if flow_id is not None else None
    return _periodic(spec, period, first, last, wanted)


def pipeline() -> Table:
    """Open deals per known stage: one Query on deals by_stage per stage."""
    stages = {(p, s): None for p in PIPELINES for s in open_stages(p)}
    for row in rollups.read_undated(feed.OPEN_DEALS):
        if row.n > 0:
            stages.setdefault((row.dims[0], row.dims[1]), None)
    rows = []
    for pipe, stage in stages:
        sums: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        for deal in Deal.by_stage.query(
            f"{pipe}#{stage}", attributes_to_get=["amount", "currency"]
        ):
            into = sums[deal.currency or "USD"]
            into[0] += 1
            into[1] += float(deal.amount or 0)
        if not sums:
            rows.append([pipe, stage, None, 0, 0.0])
        for currency, (count, amount) in sorted(sums.items()):
            rows.append([pipe, stage, currency, int(count), round(amount, 2)])
    title = "Pipeline value by stage"
    return Table(PIPELINE, title, PIPELINE_COLUMNS, rows, as_of=datetime.now(UTC))


# --- helpers -----------------------------------------------------------------------------


def _periodic(
    spec: Spec, kind: Kind, first: date, last: date, wanted: Callable[[Dims], bool] | None
) -> Table:
    cut = periods.periods(kind, first, last)
    index = {p.label: i for i, p in enumerate(cut)}
    cells: dict[tuple[int, Dims], Measures] = defaultdict(dict)
    read: dict[str, list[rollups.Row]] = {}  # deals won and their amount: one metric, read once
    for metric, measure, amount in spec.feeds:
        if metric not in read:
            read[metric] = list(rollups.read(metric, first, last))
        for row in read[metric]:
            if wanted is None or wanted(row.dims):
                into = cells[index[periods.label(kind, date.fromisoformat(row.day))], row.dims]
                into[measure] = into.get(measure, 0) + (row.amount if amount else row.n)
    if not spec.dims:  # one row per period, empty ones too: a continuous axis
        for i in range(len(cut)):
            cells.setdefault((i, ()), {})
    totals: dict[Dims, Measures] = defaultdict(dict)
    for (_, dims), values in cells.items():
        into = totals[dims]
        for m, v in values.items():
            into[m] = into.get(m, 0) + v
    shown = spec.labels(sorted(totals))
    rows = [
        [
            cut[i].label,
            cut[i].first.isoformat(),
            cut[i].last.isoformat(),
            *shown(dims),
            *_measured(spec, values),
        ]
        for (i, dims), values in sorted(cells.items(), key=lambda kv: _order(spec, *kv))
        if any(values.values()) or not spec.dims  # a cohort whose contacts were all deleted
    ]
    total_rows = [
        [*shown(dims), *_measured(spec, values)]
        for dims, values in sorted(totals.items(), key=lambda kv: _order(spec, (0, kv[0]), kv[1]))
        if any(values.values()) or not spec.dims
    ]
    totals_table = {"columns": spec.columns[3:], "rows": total_rows}
    return Table(spec.name, spec.title, spec.columns, rows, kind, first, last, cut, totals_table)


def _measured(spec: Spec, values: Measures) -> list[Any]:
    out: list[Any] = [
        round(float(values.get(m, 0)), 2) if m.endswith("_amount") else int(values.get(m, 0))
        for m in spec.measures
    ]
    return out + [rate(values) for _, rate in spec.rates]


def _order(spec: Spec, key: tuple[int, Dims], values: Measures) -> tuple[Any, ...]:
    # By period, then the biggest first (new contacts, deals won, emails sent), then by name.
    i, dims = key
    return (i, -values.get(spec.measures[0], 0), dims)
