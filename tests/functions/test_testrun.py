"""Test runs: the real step handlers in a sandbox — nothing sent, nothing written, waits
fast-forwarded — for a sample or a stored contact, with the path and would-be effects."""

from __future__ import annotations

import itertools

import pytest

from flows.contract import bucket
from flows.nodes.ab_split import variant_for
from flows.validate import validate
from functions.errors import ContactNotFound, FlowRejected, InvalidParams
from functions.store import records
from functions.store.contacts import create_contact, get_contact
from functions.testrun import choosable, try_flow
from tests.functions.api_support import Api
from tests.functions.template_fixtures import crm_fixture  # noqa: F401 (a fixture, by its name)
from tests.functions.template_support import (
    TEMPLATES,
    publish_template,
    template,
    variant_of,
    world,
)

REGION = "us-east-1"
DAY = 86400


@pytest.mark.usefixtures("crm")
def test_a_sample_contact_walks_the_drip_campaign_and_nothing_is_sent() -> None:
    before = world()
    run = try_flow("drip-campaign", document=template("drip-campaign"))
    answer = run.as_dict()

    assert answer["status"] == "ended"
    assert answer["sample_contact"] is True
    # Nobody clicks by default: the click wait times out, the contact is tagged quiet.
    assert answer["nodes"] == [
        "consent",
        "lesson_1",
        "wait_1",
        "ready_already",
        "lesson_2",
        "wait_2",
        "engaged",
        "tag_quiet",
        "best_hour",
        "lesson_3",
        "wait_click",
        "final_wait",
        "lesson_4",
        "done",
    ]
    subjects = [e["subject"] for e in answer["emails"]]
    assert len(subjects) == 4
    assert subjects[1] == "The five-minute rule for new leads"
    assert {tuple(e["to"]) for e in answer["emails"]} == {("test.contact@example.com",)}
    assert all(e["headers"]["List-Unsubscribe-Post"] for e in answer["emails"])
    # Waits moved the run's clock, not the test's: weeks pass in the answer.
    waits = {v["node"]: v["waited_seconds"] for v in answer["path"]}
    assert waits["wait_click"] == 7 * DAY
    assert answer["simulated_seconds"] >= 19 * DAY
    assert answer["path"][-1]["at"] > answer["path"][0]["at"]
    assert answer["record_changes"]["tags"] == [[], ["nurture-low-engagement"]]
    assert answer["choices"] == {"wait_click": ["happened", "timed_out"]}
    assert world() == before


@pytest.mark.usefixtures("crm")
def test_a_chosen_event_takes_the_other_branch() -> None:
    run = try_flow(
        "drip-campaign", document=template("drip-campaign"), choices={"wait_click": "happened"}
    )
    nodes = [v.node for v in run.path]
    assert "mark_ready" in nodes and "final_wait" not in nodes
    clicked = [
        e for e in run.effects if e["kind"] == "timeline" and e["activity"] == "email_clicked"
    ]
    assert clicked and clicked[0]["node"] == "wait_click"


@pytest.mark.usefixtures("crm")
def test_a_stored_contact_is_read_but_never_changed() -> None:
    contact = create_contact(
        {"email": "no-consent@example.com", "first_name": "Nora", "email_consent": False}
    )
    before = world()
    run = try_flow("drip-campaign", document=template("drip-campaign"), email=contact.email)
    assert run.contact_id == contact.contact_id and not run.sample
    assert run.path[0].node == "consent" and run.path[0].output == "no"
    assert not run.of_kind("email")
    assert world() == before
    assert get_contact(contact.contact_id).version == contact.version


@pytest.mark.usefixtures("crm")
def test_a_persian_email_reads_right_to_left_in_a_test_run() -> None:
    document = {
        "schema_version": "1.0",
        "id": "khosh-amad",
        "name": "خوش‌آمد",
        "trigger": {"id": "start", "kind": "webhook", "params": {}},
        "nodes": [
            {
                "id": "hello",
                "kind": "send_email",
                "params": {
                    "from_email": "Acme <hello@acme.example>",
                    "subject": "سلام {{ contact.first_name }}، خوش آمدید",
                    "body": "{{ contact.first_name }} عزیز، از آشنایی با شما خوشحالیم.",
                },
            },
            {"id": "done", "kind": "end"},
        ],
        "edges": [{"from": "start", "to": "hello"}, {"from": "hello", "to": "done"}],
    }
    run = try_flow(
        "khosh-amad",
        document=document,
        sample={"email": "sara@example.ir", "first_name": "سارا", "locale": "fa-IR"},
    )
    [email] = run.of_kind("email")
    assert email["subject"] == "سلام \u2068سارا\u2069، خوش آمدید"  # the name isolated
    assert "\u2068سارا\u2069 عزیز" in email["text"]
    assert 'dir="rtl"' in email["html"]
    assert "لغو اشتراک" in email["text"]  # the unsubscribe line in the template's language


@pytest.mark.usefixtures("crm")
def test_every_template_runs_every_choice_without_touching_anything() -> None:
    """The safety net: every template, every combination of choices, a stored contact with
    a deal and a company — and afterwards every table, SES, SNS and Step Functions are as
    they were."""
    publish_template("drip-campaign")  # lead-qualification and customer-lifecycle name it
    company = records.create_company({"name": "Parsian Trading", "domain": "parsian.example"})
    contact = create_contact(
        {
            "email": "layla@parsian.example",
            "first_name": "ليلى",
            "phone": "+971501234567",
            "company_id": company.company_id,
            "owner_id": "usr-omar",
            "email_consent": True,
            "lifecycle_stage": "lead",
            "custom": {"renewal_date": "2027-03-01", "plan": "growth"},
        }
    )
    deal = records.create_deal(
        {
            "name": "Parsian renewal",
            "pipeline": "sales",
            "stage": "proposal",
            "amount": 12000,
            "contact_id": contact.contact_id,
            "owner_id": "usr-omar",
        }
    )
    trigger = {"deal_id": deal.deal_id, "company_id": company.company_id, "ticket_id": "T-1"}
    before = world()
    statuses: dict[str, set[str]] = {}
    for path in sorted(TEMPLATES.glob("*.flow.json")):
        flow_id = path.name.removesuffix(".flow.json")
        report = validate(template(flow_id))
        options = choosable(report.flow, report.params)
        for picked in itertools.product(*options.values()):
            choices = dict(zip(options, picked, strict=True))
            run = try_flow(
                flow_id,
                document=template(flow_id),
                contact_id=contact.contact_id,
                trigger=trigger,
                choices=choices,
            )
            failures = [(v.node, v.error) for v in run.path if v.error]
            assert run.status in ("ended", "goal", "completed"), (flow_id, choices, failures)
            statuses.setdefault(flow_id, set()).add(run.status)
    assert len(statuses) == 9
    assert world() == before


def test_a_split_gives_the_variant_the_compiled_choice_gives() -> None:
    report = validate(template("purchase-thank-you"))
    params = report.params["subject_test"]
    seen = set()
    for n in range(400):
        contact_id = f"c_{n:04d}"
        expected = variant_of("purchase-thank-you", "subject_test", contact_id)
        got = variant_for("subject_test", params, bucket("purchase-thank-you", contact_id))
        assert got == expected, contact_id
        seen.add(got)
    assert len(seen) == len(params.variants)


@pytest.mark.usefixtures("crm")
def test_a_failing_step_is_shown_and_follows_the_flow() -> None:
    document = {
        "schema_version": "1.0",
        "id": "text-them",
        "name": "Text them",
        "trigger": {"id": "start", "kind": "webhook", "params": {}},
        "nodes": [
            {"id": "sms", "kind": "send_sms", "params": {"message": "Hi {{ contact.first_name }}"}},
            {"id": "done", "kind": "end"},
        ],
        "edges": [{"from": "start", "to": "sms"}, {"from": "sms", "to": "done"}],
    }
    run = try_flow("text-them", document=document, sample={"first_name": "Ali"})
    assert run.status == "failed"
    assert run.path[-1].error == {
        "error": "Crm.NoPhone",
        "cause": f"contact '{run.contact_id}' has no phone number",
    }


@pytest.mark.usefixtures("crm")
def test_bad_requests_name_the_problem() -> None:
    document = template("drip-campaign")
    with pytest.raises(InvalidParams, match="'lesson_1' is not a wait-for-event or A/B split"):
        try_flow("drip-campaign", document=document, choices={"lesson_1": "next"})
    with pytest.raises(InvalidParams, match="no output 'opened'; it has happened, timed_out"):
        try_flow("drip-campaign", document=document, choices={"wait_click": "opened"})
    with pytest.raises(InvalidParams, match="is flow 'drip-campaign', not 'other'"):
        try_flow("other", document=document)
    with pytest.raises(ContactNotFound, match=r"nobody@example\.com"):
        try_flow("drip-campaign", document=document, email="nobody@example.com")
    broken = {**document, "edges": [*document["edges"], {"from": "lesson_1", "to": "nowhere"}]}
    with pytest.raises(FlowRejected) as rejected:
        try_flow("drip-campaign", document=broken)
    assert any("nowhere" in e["message"] for e in rejected.value.report["errors"])  # type: ignore[attr-defined]


# --- over HTTP -----------------------------------------------------------------------------


@pytest.fixture
def api(crm: None) -> Api:
    return Api()


def test_the_api_test_runs_the_saved_draft_for_a_sample_contact(api: Api) -> None:
    marketer = api.key("marketer")
    assert api.post("/flows", marketer, {"flow": template("drip-campaign")}).status == 201
    before = world()
    answer = api.post(
        "/flows/drip-campaign/test-runs",
        marketer,
        {"contact": {"first_name": "Omar", "email": "omar@example.ae"}, "choices": {}},
    )
    assert answer.status == 200, answer.body
    assert answer.body["status"] == "ended"
    assert [e["to"] for e in answer.body["emails"]] == [["omar@example.ae"]] * 4
    assert answer.body["emails"][0]["subject"].startswith("\u2068Omar\u2069, where do your")
    assert world() == before


def test_the_api_test_runs_a_document_for_a_stored_contact(api: Api) -> None:
    contact = create_contact({"email": "rana@example.com", "email_consent": True})
    answer = api.post(
        "/flows/drip-campaign/test-runs",
        api.key("marketer"),
        {
            "flow": template("drip-campaign"),
            "contact_id": contact.contact_id,
            "choices": {"wait_click": "happened"},
        },
    )
    assert answer.status == 200, answer.body
    assert answer.body["contact_id"] == contact.contact_id
    assert "mark_ready" in answer.body["nodes"]


def test_the_api_refuses_bad_test_runs_naming_the_problem(api: Api) -> None:
    marketer = api.key("marketer")
    document = template("drip-campaign")
    broken = {**document, "edges": [*document["edges"], {"from": "lesson_1", "to": "nowhere"}]}

    refused = api.post("/flows/drip-campaign/test-runs", marketer, {"flow": broken})
    assert refused.status == 422 and refused.error["code"] == "FlowInvalid"
    assert any("nowhere" in e["message"] for e in refused.error["report"]["errors"])

    unknown = api.post(
        "/flows/drip-campaign/test-runs", marketer, {"flow": document, "email": "x@y.z"}
    )
    assert unknown.status == 404 and "x@y.z" in unknown.error["message"]

    twice = {"flow": document, "email": "x@y.z", "contact": {"first_name": "A"}}
    both = api.post("/flows/drip-campaign/test-runs", marketer, twice)
    assert both.status == 400 and "name one contact, not email and contact" in both.error["message"]

    choice = {"flow": document, "choices": {"wait_click": "maybe"}}
    wrong = api.post("/flows/drip-campaign/test-runs", marketer, choice)
    assert wrong.status == 422 and "no output 'maybe'" in wrong.error["message"]

    never_saved = api.post("/flows/drip-campaign/test-runs", marketer)
    assert never_saved.status == 404 and "drip-campaign" in never_saved.error["message"]


def test_a_test_run_needs_flows_write(api: Api) -> None:
    answer = api.post(
        "/flows/drip-campaign/test-runs", api.key("read_only"), {"flow": template("drip-campaign")}
    )
    assert answer.status == 403 and "flows:write" in answer.error["message"]
