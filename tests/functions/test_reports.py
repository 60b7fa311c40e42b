"""Reports on moto: contacts, deals, events and emails made through the real code paths,
the contacts and deals tables' real streams delivered to the stream handler, then exact
numbers per week and month, a redelivered batch counting once, `crmflow reports rebuild`
giving the live numbers back, and the seeded demo data counted."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import botocore.client
import pytest
from click.testing import CliRunner

from functions import email as mail
from functions import steps
from functions.reports import periods
from functions.reports.build import report
from functions.reports.rebuild import rebuild
from functions.reports.stages import is_customer, is_lead, outcome
from functions.store.contacts import create_contact, update_contact
from functions.store.models import Contact, Enrollment, FlowRecord, Rollup, RollupMark, User
from functions.store.records import create_deal, update_deal
from functions.store.tables import table_name
from functions.triggers import tracking
from functions.triggers.records import handle_stream
from infra.cli import main
from infra.local.streams import StreamPoller
from tests.functions.api_support import Api
from tests.functions.step_payloads import payload

FEB_28 = datetime(2025, 2, 28, 12, tzinfo=UTC)  # a Friday: week 2025-W09, February
MAR_2 = datetime(2025, 3, 2, 23, 30, tzinfo=UTC)  # a Sunday: still 2025-W09, March
MAR_3 = datetime(2025, 3, 3, 0, 30, tzinfo=UTC)  # a Monday: 2025-W10
WEEKS = {"period": "week", "start": date(2025, 2, 24), "end": date(2025, 3, 9)}
MONTHS = {"period": "month", "start": date(2025, 2, 1), "end": date(2025, 3, 31)}
INSTAGRAM = "اینستاگرام"  # a source, in Persian
REZA = "رضا کریمی"
EMAIL = {
    "subject": "خوش آمدید {{ contact.first_name }}",
    "body": "<p>سلام <a href='https://acme.com/start'>شروع</a></p>",
    "from_email": "Acme <hello@acme.com>",
    "fallbacks": {"contact.first_name": "دوست"},
}


@pytest.fixture
def crm(store, monkeypatch: pytest.MonkeyPatch) -> StreamPoller:
    """The store, SES and the link secrets, and a poller that hands the contacts and deals
    tables' stream records to the stream Lambdas' handler, as the event source mapping does."""
    monkeypatch.setenv("CRMFLOW_PUBLIC_URL", "https://crm.example.com")
    monkeypatch.setenv("CRMFLOW_UNSUBSCRIBE_SECRET", "s3cret")
    boto3.client("sesv2").create_email_identity(EmailIdentity="acme.com")
    User("usr-reza", email="reza@acme.example", name=REZA, role="marketer").save()
    tables = [table_name("contacts"), table_name("deals")]
    poller = StreamPoller(tables, lambda event: handle_stream(event["Records"]))
    poller.poll_once()
    return poller


def stage(contact_id: str, value: str) -> None:
    update_contact(contact_id, lambda c: setattr(c, "lifecycle_stage", value))


def rows(name: str, **query: Any) -> list[list[Any]]:
    return report(name, **query).as_dict()["rows"]


def today() -> date:
    return datetime.now(UTC).date()


def send(contact_id: str, node: str = "welcome") -> dict[str, Any]:
    """The send_email step of flow `f` (enrollment enr-1), as its Lambda runs it; one
    execution per contact, since a step sends once per execution and state."""
    execution = f"arn:aws:states:us-east-1:1:execution:f:{contact_id}"
    event = payload("send_email", EMAIL, contact_id, node=node, execution=execution)
    return steps.run("send_email", event)


def everything() -> dict[str, Any]:
    """Every report over the scenario's days and today (the pipeline without its time)."""
    found: dict[str, Any] = {"pipeline": rows("pipeline")}
    for name in ("sources", "conversion", "deals", "email"):
        for label, query in (("weeks", WEEKS), ("months", MONTHS)):
            found[f"{name} {label}"] = report(name, **query).as_dict()
        found[f"{name} today"] = report(name, start=today(), end=today()).as_dict()
    return found


@pytest.fixture
def scenario(crm: StreamPoller) -> dict[str, str]:
    """Contacts over a week's and a month's boundary, stage moves, deals won and lost,
    events and a flow's emails; the streams delivered."""
    people = {
        "sara": create_contact(
            {
                "email": "sara@example.com",
                "first_name": "سارا",
                "source": INSTAGRAM,
                "lifecycle_stage": "lead",
                "created_at": FEB_28,
            }
        ),
        "omid": create_contact(
            {"email": "omid@example.com", "source": INSTAGRAM, "created_at": MAR_2}
        ),
        "lina": create_contact(
            {
                "email": "lina@example.com",
                "source": "web-form",
                "lifecycle_stage": "lead",
                "created_at": MAR_3,
            }
        ),
        "noah": create_contact(
            {"email": "noah@example.com", "lifecycle_stage": "customer", "created_at": MAR_3}
        ),
    }
    ids = {name: c.contact_id for name, c in people.items()}
    stage(ids["omid"], "lead")  # today: a lead now, counted in his Mar 2 cohort
    stage(ids["lina"], "customer")  # today: a customer
    stage(ids["lina"], "lead")  # and back: still one customer, counted once
    stage(ids["lina"], "customer")

    won_today = create_deal(
        {
            "name": "Pro plan",
            "pipeline": "new-business",
            "stage": "proposal",
            "amount": 1000,
            "owner_id": "usr-reza",
            "contact_id": ids["sara"],
        }
    )
    update_deal(won_today.deal_id, lambda d: setattr(d, "stage", "closed_won"))
    update_deal(won_today.deal_id, lambda d: setattr(d, "amount", 1200))  # after the win
    create_deal(  # stored already lost: counted on its close date
        {
            "name": "Lost",
            "pipeline": "new-business",
            "stage": "closed_lost",
            "amount": 500,
            "currency": "EUR",
            "owner_id": "usr-reza",
            "close_date": "2025-03-02",
        }
    )
    create_deal(
        {
            "name": "Won",
            "pipeline": "new-business",
            "stage": "closed_won",
            "amount": 2500,
            "close_date": "2025-03-03",
        }
    )
    for amount in (700, 300):
        create_deal(
            {
                "name": "Talks",
                "pipeline": "new-business",
                "stage": "negotiation",
                "amount": amount,
                "currency": "GBP",
            }
        )
    create_deal({"name": "Renewal", "pipeline": "renewals", "stage": "تمدید", "amount": 300})
    assert crm.poll_once() > 0

    api = Api()
    key = api.key("admin")
    for event, name in (
        ("custom", "visit"),
        ("custom", "visit"),
        ("custom", "page_view"),
        ("custom", "demo.booked"),
        ("purchase", None),
        ("form_submitted", None),
    ):
        body = {"event": event, "contact_id": ids["sara"], "data": {"amount": 49}}
        if name:
            body["name"] = name
        assert api.post("/events", key, body).status == 200

    FlowRecord("f", name="خوش‌آمدگویی", updated_at=datetime.now(UTC)).save()
    # The enrollment the emails were sent in (done by the time the links are followed).
    at = datetime.now(UTC)
    Enrollment(
        "enr-1",
        flow_id="f",
        flow_version=1,
        contact_id=ids["sara"],
        status="completed",
        entered_at=at,
        left_at=at,
    ).save()
    for name in ("sara", "lina", "noah"):
        assert send(ids[name])["sent"] is True
    send(ids["sara"], node="reminder")
    for _ in range(2):  # the pixel loaded twice, a link clicked twice: one open, one click
        assert tracking.opened(token(mail.open_pixel_url(ids["sara"], "enr-1", "welcome")))
        click = mail.click_url(ids["sara"], "enr-1", "welcome", "https://acme.com/start")
        assert tracking.clicked(token(click)) == "https://acme.com/start"
    unsubscribe = mail.unsubscribe_url(ids["lina"], "enr-1", "welcome")
    assert tracking.unsubscribe_page(token(unsubscribe), confirmed=True)[0] == 200
    crm.poll_once()  # the contact changes the events and emails made
    return ids


def token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_contacts_and_leads_by_source_per_week_and_month(scenario) -> None:
    assert rows("sources", **WEEKS) == [
        ["2025-W09", "2025-02-24", "2025-03-02", INSTAGRAM, 2, 2, 1.0],
        ["2025-W10", "2025-03-03", "2025-03-09", "(none)", 1, 1, 1.0],
        ["2025-W10", "2025-03-03", "2025-03-09", "web-form", 1, 1, 1.0],
    ]
    answer = report("sources", **MONTHS).as_dict()
    assert answer["rows"] == [
        ["2025-02", "2025-02-01", "2025-02-28", INSTAGRAM, 1, 1, 1.0],
        ["2025-03", "2025-03-01", "2025-03-31", "(none)", 1, 1, 1.0],
        ["2025-03", "2025-03-01", "2025-03-31", "web-form", 1, 1, 1.0],
        ["2025-03", "2025-03-01", "2025-03-31", INSTAGRAM, 1, 1, 1.0],  # ties by name
    ]
    assert answer["totals"] == {
        "columns": ["source", "new_contacts", "leads", "lead_rate"],
        "rows": [
            [INSTAGRAM, 2, 2, 1.0],
            ["(none)", 1, 1, 1.0],
            ["web-form", 1, 1, 1.0],
        ],
    }
    assert [p["period"] for p in answer["periods"]] == ["2025-02", "2025-03"]


def test_conversion_counts_each_contact_once_on_the_day_it_first_became_a_lead_or_customer(
    scenario,
) -> None:
    columns = report("conversion", **WEEKS).columns
    assert columns == [
        "period",
        "from",
        "to",
        "leads",
        "customers",
        "visits",
        "forms",
        "purchases",
        "customer_rate",
        "purchase_rate",
    ]
    assert rows("conversion", **WEEKS) == [
        # sara (a lead when created, Feb 28)
        ["2025-W09", "2025-02-24", "2025-03-02", 1, 0, 0, 0, 0, 0.0, None],
        # lina (a lead) and noah (a customer, so a lead too), created Mar 3
        ["2025-W10", "2025-03-03", "2025-03-09", 2, 1, 0, 0, 0, 0.5, None],
    ]
    # Today: omid became a lead, lina a customer (once, though she moved back and forth);
    # three visits (visit, visit, page_view; demo.booked is no visit), a form, a purchase.
    [[_, _, _, *counts]] = rows("conversion", start=today(), end=today())
    assert counts == [1, 1, 3, 1, 1, 1.0, 0.3333]


def test_deals_won_and_lost_per_owner_with_amounts_and_the_pipeline_now(scenario) -> None:
    assert rows("deals", **WEEKS) == [
        [
            "2025-W09",
            "2025-02-24",
            "2025-03-02",
            "new-business",
            "usr-reza",
            REZA,
            "EUR",
            0,
            0.0,
            1,
            500.0,
            0.0,
        ],
        [
            "2025-W10",
            "2025-03-03",
            "2025-03-09",
            "new-business",
            None,
            "(none)",
            "USD",
            1,
            2500.0,
            0,
            0.0,
            1.0,
        ],
    ]
    # Won today, counted with its amount when it was won (the later change is not a win).
    assert rows("deals", start=today(), end=today()) == [
        [
            periods.label("week", today()),
            today().isoformat(),
            today().isoformat(),
            "new-business",
            "usr-reza",
            REZA,
            "USD",
            1,
            1000.0,
            0,
            0.0,
            1.0,
        ],
    ]
    pipeline = report("pipeline").as_dict()
    assert pipeline["period"] is None and pipeline["as_of"]
    assert pipeline["rows"] == [
        ["new-business", "qualified", None, 0, 0.0],
        ["new-business", "discovery", None, 0, 0.0],
        ["new-business", "proposal", None, 0, 0.0],  # its deal was won
        ["new-business", "negotiation", "GBP", 2, 1000.0],
        ["renewals", "تمدید", "USD", 1, 300.0],  # a stage no pipeline lists, found by its deal
    ]


def test_email_performance_per_flow_and_node_counts_unique_opens_and_clicks(scenario) -> None:
    answer = report("email", start=today(), end=today()).as_dict()
    week, day = periods.label("week", today()), today().isoformat()
    assert answer["columns"] == [
        "period",
        "from",
        "to",
        "flow_id",
        "flow",
        "node",
        "sent",
        "opened",
        "clicked",
        "unsubscribed",
        "open_rate",
        "click_rate",
        "unsubscribe_rate",
    ]
    assert answer["rows"] == [
        [week, day, day, "f", "خوش‌آمدگویی", "welcome", 3, 1, 1, 1, 0.3333, 0.3333, 0.3333],
        [week, day, day, "f", "خوش‌آمدگویی", "reminder", 1, 0, 0, 0, 0.0, 0.0, 0.0],
    ]
    only = report("email", start=today(), end=today(), flow_id="other").as_dict()
    assert only["rows"] == [] and only["totals"]["rows"] == []


def test_reports_and_counter_writes_never_scan(scenario, crm, monkeypatch) -> None:
    real = botocore.client.BaseClient._make_api_call

    def guarded(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "Scan":
            raise AssertionError(f"Scan of {params.get('TableName')} on a request path")
        return real(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", guarded)
    with pytest.raises(AssertionError, match="Scan of"):
        rebuild()  # the admin command scans: the guard bites
    stage(scenario["noah"], "evangelist")  # the stream feed
    send(scenario["omid"])  # the timeline feed
    crm.poll_once()
    for name in ("sources", "conversion", "deals", "email", "pipeline"):
        assert rows(name, **({} if name == "pipeline" else MONTHS)) or rows(name), name
    assert rows("email", start=today(), end=today())[0][6] == 4


def test_a_redelivered_stream_batch_counts_once(crm) -> None:
    batches: list[dict] = []
    crm.handler = lambda event: (batches.append(event), handle_stream(event["Records"]))
    sara = create_contact({"email": "sara@example.com", "lifecycle_stage": "lead"}).contact_id
    stage(sara, "customer")
    crm.poll_once()
    before = rows("conversion", start=today(), end=today())
    for batch in batches:  # the same batches again, as after a Lambda failure
        handle_stream(batch["Records"])
    assert rows("conversion", start=today(), end=today()) == before
    assert before[0][3:5] == [1, 1]
    assert rows("sources", start=today(), end=today())[0][3:6] == ["(none)", 1, 1]


def test_a_deleted_contact_leaves_its_cohort_but_not_the_conversions(crm) -> None:
    sara = create_contact({"email": "sara@example.com", "lifecycle_stage": "lead"})
    crm.poll_once()
    Contact.get(sara.contact_id).delete()
    crm.poll_once()
    assert rows("sources", start=today(), end=today()) == []
    assert rows("conversion", start=today(), end=today())[0][3] == 1


def test_rebuild_gives_the_live_numbers_back(scenario) -> None:
    live = everything()
    assert Rollup.count() > 0
    done = rebuild()
    assert (done.contacts, done.deals) == (4, 6)
    assert everything() == live
    result = CliRunner().invoke(main, ["reports", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "Counting" in result.stderr
    assert result.stdout.startswith("rebuilt the report counters: counted 4 contacts, 6 deals")
    assert everything() == live


def test_rebuild_counts_data_written_before_the_counters(scenario) -> None:
    live = everything()
    for model in (Rollup, RollupMark):  # as before reports existed
        with model.batch_write() as batch:
            for item in model.scan():
                batch.delete(item)
    assert rows("sources", **WEEKS) == []
    rebuild()
    again = everything()
    for name in ("sources weeks", "sources months", "email today", "pipeline"):
        assert again[name] == live[name], name
    # Stage moves made today are dated by the records now: omid a lead from his creation,
    # lina a customer from hers, the deal won today on the day it was created (today).
    assert rows("conversion", **WEEKS) == [
        ["2025-W09", "2025-02-24", "2025-03-02", 2, 0, 0, 0, 0, 0.0, None],
        ["2025-W10", "2025-03-03", "2025-03-09", 2, 2, 0, 0, 0, 1.0, None],
    ]
    [[*_, won, amount, lost, _, _]] = rows("deals", start=today(), end=today())
    assert (won, amount, lost) == (1, 1200.0, 0)  # its amount now: when it was won is lost


def test_the_seeded_demo_data_is_counted_by_a_rebuild(store) -> None:
    from infra.local import seed

    seed.seed_demo_data()
    rebuild()
    assert rows("pipeline") == [
        ["new-business", "qualified", "EUR", 1, 20000.0],
        ["new-business", "qualified", "USD", 2, 37000.0],
        ["new-business", "discovery", "EUR", 1, 8000.0],
        ["new-business", "discovery", "USD", 1, 15000.0],
        ["new-business", "proposal", "EUR", 1, 30000.0],
        ["new-business", "proposal", "USD", 1, 18000.0],
        ["new-business", "negotiation", "GBP", 1, 22000.0],
        ["new-business", "negotiation", "USD", 1, 40000.0],
    ]
    # Closed 120, 90 and 15 days ago: counted on their close dates, in the last 12 months.
    assert report("deals", period="month").as_dict()["totals"]["rows"] == [
        ["new-business", "usr-emma", "Emma Schneider", "EUR", 1, 6000.0, 0, 0.0, 1.0],
        ["new-business", "usr-james", "James Carter", "USD", 1, 36000.0, 0, 0.0, 1.0],
        ["new-business", "usr-omar", "عمر الحداد", "USD", 0, 0.0, 1, 9000.0, 0.0],
    ]
    year = report("sources", period="month")
    assert year.start is not None
    within = (today() - year.start).days
    expected = sum(1 for c in seed.CONTACTS if c.created_days_ago <= within)
    assert sum(r[1] for r in year.as_dict()["totals"]["rows"]) == expected


def test_stage_rules() -> None:
    assert is_lead("lead") and is_lead("customer") and not is_lead("subscriber")
    assert not is_lead("partner") and not is_lead(None)
    assert is_customer("evangelist") and not is_customer("opportunity")
    assert outcome("Closed Won") == "won" and outcome("lost") == "lost"
    assert outcome("closed-lost") == "lost" and outcome("proposal") is None


def test_periods_cut_the_range_into_weeks_and_months() -> None:
    weeks = periods.periods("week", date(2025, 2, 26), date(2025, 3, 3))
    assert [(p.label, p.first, p.last) for p in weeks] == [
        ("2025-W09", date(2025, 2, 26), date(2025, 3, 2)),
        ("2025-W10", date(2025, 3, 3), date(2025, 3, 3)),
    ]
    months = periods.periods("month", date(2024, 12, 31), date(2025, 2, 1))
    assert [p.label for p in months] == ["2024-12", "2025-01", "2025-02"]
    assert periods.label("week", date(2024, 12, 30)) == "2025-W01"  # ISO year
    start, end = periods.resolve("month", None, date(2025, 3, 15))
    assert (start, end) == (date(2024, 4, 1), date(2025, 3, 15))
    start, end = periods.resolve("week", None, date(2025, 3, 5))
    assert (start, end) == (date(2024, 12, 16), date(2025, 3, 5))
    assert start.weekday() == 0 and len(periods.periods("week", start, end)) == 12
    assert end - start < timedelta(days=periods.MAX_DAYS)
