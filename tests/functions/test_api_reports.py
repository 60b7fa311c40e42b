"""GET /reports and /reports/{name} through the app: JSON and CSV with Persian and Arabic
text intact, the default range, who may read reports, and bad input named."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from functions.reports import periods
from functions.store.models import User
from functions.store.tables import table_name
from functions.triggers.records import handle_stream
from infra.local.streams import StreamPoller
from tests.functions.api_support import Api


@pytest.fixture
def api(store) -> Api:
    return Api()


@pytest.fixture
def poller(store) -> StreamPoller:
    tables = [table_name("contacts"), table_name("deals")]
    poller = StreamPoller(tables, lambda event: handle_stream(event["Records"]))
    poller.poll_once()
    return poller


def today() -> date:
    return datetime.now(UTC).date()


def test_a_report_as_json_and_as_csv_keeps_persian_and_arabic_text(api, poller) -> None:
    User("usr-omar", email="omar@acme.example", name="عمر الحداد", role="sales_rep").save()
    key = api.key("admin")
    for email, source in (
        ("a@example.com", "تلگرام"),
        ("b@example.com", "تلگرام"),
        ("c@example.com", "واتساب, إعلان"),
    ):  # a comma: quoted in CSV
        answer = api.post(
            "/contacts", key, {"email": email, "source": source, "lifecycle_stage": "lead"}
        )
        assert answer.status == 201, answer.body
    deal = {
        "name": "قرارداد",
        "pipeline": "new-business",
        "stage": "closed_won",
        "amount": 1500.5,
        "currency": "AED",
        "owner_id": "usr-omar",
    }
    assert api.post("/deals", key, deal).status == 201
    poller.poll_once()

    day, week = today().isoformat(), periods.label("week", today())
    query = f"start={day}&end={day}"
    sources = api.get(f"/reports/sources?{query}", key)
    assert sources.status == 200
    assert sources.body["rows"] == [
        [week, day, day, "تلگرام", 2, 2, 1.0],
        [week, day, day, "واتساب, إعلان", 1, 1, 1.0],
    ]
    assert (sources.body["report"], sources.body["period"]) == ("sources", "week")
    assert (sources.body["start"], sources.body["end"]) == (day, day)

    response = api.client.http.get(
        f"/reports/deals?{query}&format=csv", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="deals-week-{day}-{day}.csv"'
    )
    assert response.body.startswith("\ufeff".encode())  # spreadsheets then read UTF-8
    text = response.body.decode("utf-8-sig")
    assert text.splitlines()[1] == (
        f"{week},{day},{day},new-business,usr-omar,عمر الحداد,AED,1,1500.5,0,0.0,1.0"
    )
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == api.get(f"/reports/deals?{query}", key).body["columns"]
    sources_csv = api.client.http.get(
        f"/reports/sources?{query}&format=csv", headers={"Authorization": f"Bearer {key}"}
    ).body.decode("utf-8-sig")
    assert sources_csv.endswith(f'{week},{day},{day},"واتساب, إعلان",1,1,1.0\r\n')


def test_without_a_range_a_report_covers_the_last_twelve_periods(api) -> None:
    key = api.key("read_only")
    weeks = api.get("/reports/conversion", key).body
    monday = today() - timedelta(days=today().weekday())
    assert weeks["period"] == "week" and weeks["end"] == today().isoformat()
    assert weeks["start"] == (monday - timedelta(weeks=11)).isoformat()
    assert len(weeks["rows"]) == len(weeks["periods"]) == 12
    assert weeks["rows"][-1][:2] == [periods.label("week", today()), monday.isoformat()]
    months = api.get("/reports/conversion?period=month", key).body
    assert len(months["rows"]) == 12 and months["start"].endswith("-01")
    assert months["totals"]["rows"] == [[0, 0, 0, 0, 0, None, None]]


def test_the_list_of_reports_and_the_pipeline_snapshot(api) -> None:
    key = api.key("marketer")
    listed = api.get("/reports", key).body["reports"]
    assert [r["name"] for r in listed] == ["sources", "conversion", "deals", "email", "pipeline"]
    assert listed[0]["columns"] == [
        "period",
        "from",
        "to",
        "source",
        "new_contacts",
        "leads",
        "lead_rate",
    ]
    pipeline = api.get("/reports/pipeline?period=month", key).body
    assert pipeline["period"] is None and pipeline["start"] is None and "as_of" in pipeline
    assert pipeline["rows"][0] == ["new-business", "qualified", None, 0, 0.0]


@pytest.mark.parametrize("role", ["admin", "marketer", "read_only"])
def test_admins_marketers_and_read_only_keys_read_reports(api, role) -> None:
    assert api.get("/reports/email", api.key(role)).status == 200


@pytest.mark.parametrize("role", ["sales_rep", "integration"])
def test_sales_reps_and_integrations_do_not(api, role) -> None:
    answer = api.get("/reports/deals", api.key(role))
    assert answer.status == 403
    assert answer.error == {
        "code": "Forbidden",
        "message": f"this key (role {role}) lacks reports:read",
    }
    assert api.get("/reports", api.key(role)).status == 403
    assert api.get("/reports/deals").status == 401


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        (
            "/reports/funnel",
            404,
            "no report named 'funnel'; reports: sources, conversion, deals, email, pipeline",
        ),
        (
            "/reports/sources?start=2025-13-01",
            400,
            "the query has 1 problem(s): start: '2025-13-01' is not a date; use YYYY-MM-DD, "
            "e.g. 2027-03-01",
        ),
        (
            "/reports/sources?end=1740787200",
            400,
            "the query has 1 problem(s): end: '1740787200' is not a date; use YYYY-MM-DD, "
            "e.g. 2027-03-01",
        ),
        (
            "/reports/sources?start=2025-03-01&end=2025-02-01",
            400,
            "end (2025-02-01) is before start (2025-03-01)",
        ),
        (
            "/reports/deals?start=2022-01-01&end=2025-01-01",
            400,
            "the range from 2022-01-01 to 2025-01-01 is 1097 days; a report covers at most 731 "
            "(two years): move start or end closer",
        ),
        (
            "/reports/deals?period=year",
            400,
            "the query has 1 problem(s): period: 'year' is not allowed: input should be 'week' "
            "or 'month'",
        ),
        (
            "/reports/deals?format=xlsx",
            400,
            "the query has 1 problem(s): format: 'xlsx' is not allowed: input should be 'json' "
            "or 'csv'",
        ),
        (
            "/reports/sources?flow_id=welcome",
            400,
            "flow_id: only the email report takes it, not 'sources'",
        ),
        ("/reports/sources?colour=red", 400, "the query has 1 problem(s): unknown field 'colour'"),
    ],
)
def test_bad_input_is_named(api, path, status, message) -> None:
    answer = api.get(path, api.key("read_only"))
    assert (answer.status, answer.error["message"]) == (status, message)
    assert answer.error["code"] == ("ReportNotFound" if status == 404 else "BadRequest")
