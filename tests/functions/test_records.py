"""create_record, create_task, assign_owner and score_lead on moto: behaviour, named errors,
one side effect per execution step, and round robin under a concurrent burst."""

from __future__ import annotations

from collections import Counter as Tally
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.errors import CrmError
from functions.steps import assign_owner, create_record, create_task, score_lead
from functions.steps.assignment import counter_name
from functions.steps.base import parse
from functions.store import contacts, records
from functions.store.models import Company, Counter, Deal, Task, Team, User
from tests.functions.step_payloads import payload

HANDLERS = {
    "assign_owner": assign_owner.handle,
    "create_record": create_record.handle,
    "create_task": create_task.handle,
    "score_lead": score_lead.handle,
}


def run(kind: str, params: dict[str, Any], contact_id: str, **extra: Any) -> dict[str, Any]:
    return HANDLERS[kind](parse(payload(kind, params, contact_id, **extra), kind))


def error_of(kind: str, params: dict[str, Any], contact_id: str) -> tuple[str, str]:
    with pytest.raises(CrmError) as caught:
        run(kind, params, contact_id)
    return type(caught.value).__name__, str(caught.value)


def kinds(contact_id: str) -> list[str]:
    items, _ = contacts.timeline(contact_id)
    return [a.kind for a in items]


def activity(contact_id: str, kind: str) -> dict[str, Any]:
    items, _ = contacts.timeline(contact_id)
    return next(a.data for a in items if a.kind == kind)


def team(team_id: str, *members: str) -> list[str]:
    for member in members:
        User(member, email=f"{member}@crm.test", name=member.title()).save()
    Team(team_id, name=team_id, members=list(members)).save()
    return list(members)


def contact(email: str = "sara@example.com", **fields: Any) -> str:
    return contacts.create_contact({"email": email, **fields}).contact_id


def criteria(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"groups": [{"conditions": [{"field": field, "op": op, "value": value}]}]}


# --- assign_owner ----------------------------------------------------------------------


def test_round_robin_burst_is_even_and_no_two_leads_share_a_turn(store) -> None:
    reps = team("sales", "u_ana", "u_ben", "u_chloé")
    leads = [contact(f"lead{i}@example.com") for i in range(30)]
    params = {"strategy": "round_robin", "team_id": "sales"}

    def assign(i: int) -> dict[str, Any]:
        return run("assign_owner", params, leads[i], execution=f"arn:exec:lead-{i}")

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(assign, range(30)))

    assert sorted(r["turn"] for r in results) == list(range(1, 31))
    assert Counter.get(counter_name("sales")).value == 30
    owners = [contacts.get_contact(c).owner_id for c in leads]
    assert owners == [r["assigned"] for r in results]
    assert Tally(owners) == {rep: 10 for rep in reps}
    assert all(r["assigned"] == reps[(r["turn"] - 1) % 3] for r in results)


def test_round_robin_takes_turns_in_member_order_and_records_it(store) -> None:
    team("sales", "u_ana", "u_ben")
    leads = [contact(f"l{i}@example.com") for i in range(3)]
    params = {"strategy": "round_robin", "team_id": "sales"}
    got = [run("assign_owner", params, c, execution=f"e{i}") for i, c in enumerate(leads)]
    assert [r["assigned"] for r in got] == ["u_ana", "u_ben", "u_ana"]
    data = activity(leads[1], "owner_assigned")
    assert (data["from"], data["to"], data["team_id"], data["turn"]) == (None, "u_ben", "sales", 2)


def test_a_retried_assign_owner_takes_one_turn(store) -> None:
    team("sales", "u_ana", "u_ben")
    lead = contact(owner_id=None)
    params = {"strategy": "round_robin", "team_id": "sales", "only_if_unassigned": False}
    first = run("assign_owner", params, lead)
    assert run("assign_owner", params, lead) == first
    assert Counter.get(counter_name("sales")).value == 1
    assert kinds(lead).count("owner_assigned") == 1


def test_inactive_members_are_skipped(store) -> None:
    team("sales", "u_ana", "u_ben")
    User("u_ana", email="ana@crm.test", name="Ana", active=False).save()
    leads = [contact(f"l{i}@example.com") for i in range(2)]
    params = {"strategy": "round_robin", "team_id": "sales"}
    got = {run("assign_owner", params, c, execution=c)["assigned"] for c in leads}
    assert got == {"u_ben"}


def test_least_loaded_picks_the_member_with_fewest_open_tasks(store) -> None:
    team("support", "u_ana", "u_ben", "u_cy")
    due = datetime.now(UTC) + timedelta(days=1)
    for assignee in ("u_ana", "u_ana", "u_ben", "u_cy", "u_cy"):
        records.create_task({"title": "x", "assignee_id": assignee}, due_at=due)
    done = records.create_task({"title": "done", "assignee_id": "u_ben"}, due_at=due)
    records.close_task(done.task_id)  # closed tasks leave the open index: ben has 1 open
    lead = contact()
    result = run("assign_owner", {"strategy": "least_loaded", "team_id": "support"}, lead)
    assert result["assigned"] == "u_ben"
    assert contacts.get_contact(lead).owner_id == "u_ben"


def test_least_loaded_ties_go_to_the_earlier_member(store) -> None:
    team("support", "u_ana", "u_ben", "u_cy")
    due = datetime.now(UTC)
    records.create_task({"title": "x", "assignee_id": "u_ana"}, due_at=due)
    lead = contact()
    result = run("assign_owner", {"strategy": "least_loaded", "team_id": "support"}, lead)
    assert result["assigned"] == "u_ben"


RULES = [
    {"criteria": criteria("country", "equals", "IR"), "user_id": "u_mena"},
    {"criteria": criteria("country", "is_one_of", ["DE", "FR"]), "team_id": "europe"},
]


def test_rules_by_country_with_fallback_team(store) -> None:
    User("u_mena", email="mena@crm.test", name="Mena").save()
    team("europe", "u_eu1", "u_eu2")
    team("inbound", "u_in")
    leads = {
        country: contact(f"{country}@example.com", country=country)
        for country in ("IR", "DE", "FR", "US")
    }
    params = {"strategy": "rules", "rules": RULES, "team_id": "inbound"}
    got = {
        country: run("assign_owner", params, lead, execution=country)
        for country, lead in leads.items()
    }
    assert {c: r["assigned"] for c, r in got.items()} == {
        "IR": "u_mena",
        "DE": "u_eu1",
        "FR": "u_eu2",
        "US": "u_in",
    }
    assert (got["IR"]["rule"], got["DE"]["rule"], got["US"]["rule"]) == (0, 1, "fallback")
    assert contacts.get_contact(leads["US"]).owner_id == "u_in"


def test_rules_with_no_match_and_no_fallback_leave_the_contact_unassigned(store) -> None:
    lead = contact(country="BR")
    result = run("assign_owner", {"strategy": "rules", "rules": RULES}, lead)
    assert result["assigned"] is None
    assert contacts.get_contact(lead).owner_id is None
    assert "owner_assigned" not in kinds(lead)


def test_only_if_unassigned_keeps_the_owner_without_using_a_turn(store) -> None:
    team("sales", "u_ana", "u_ben")
    lead = contact(owner_id="u_old")
    params = {"strategy": "round_robin", "team_id": "sales"}
    assert run("assign_owner", params, lead) == {"assigned": "u_old", "changed": False}
    assert contacts.get_contact(lead).owner_id == "u_old"
    assert Counter.count() == 0
    replaced = run("assign_owner", {**params, "only_if_unassigned": False}, lead, execution="e2")
    assert (replaced["assigned"], replaced["changed"]) == ("u_ana", True)
    assert activity(lead, "owner_assigned")["from"] == "u_old"


def test_assign_owner_named_errors(store) -> None:
    lead = contact()
    missing = error_of("assign_owner", {"team_id": "ghosts"}, lead)
    assert missing == ("Crm.RecordNotFound", "no team has id 'ghosts'")
    Team("empty", name="Empty", members=[]).save()
    assert error_of("assign_owner", {"team_id": "empty"}, lead) == (
        "Crm.NoAssignee",
        "team 'empty' has no active members",
    )
    name, message = error_of("assign_owner", {"strategy": "rules"}, lead)
    assert name == "Crm.InvalidParams"
    assert "strategy = rules needs at least one rule" in message
    assert error_of("assign_owner", {"team_id": "empty"}, "c_missing")[0] == "Crm.ContactNotFound"


# --- create_task -----------------------------------------------------------------------


def test_create_task_for_the_owner(store) -> None:
    lead = contact(first_name="سارا", owner_id="u_ana")
    params = {
        "title": "Call {{ contact.first_name }}",
        "description": "Budget: {{ trigger.budget }}",
        "task_type": "call",
        "priority": "high",
        "due_in": {"amount": 2, "unit": "days"},
    }
    before = datetime.now(UTC)
    result = run("create_task", params, lead, trigger={"budget": 5000})
    task = Task.get(result["task_id"])
    assert (task.title, task.description) == ("Call سارا", "Budget: 5000")
    assert (task.task_type, task.priority, task.status) == ("call", "high", "open")
    assert (task.assignee_id, task.assignee_open, task.contact_id) == ("u_ana", "u_ana", lead)
    assert before + timedelta(days=2) <= task.due_at <= datetime.now(UTC) + timedelta(days=2)
    data = activity(lead, "task_created")
    assert (data["task_id"], data["assignee_id"]) == (task.task_id, "u_ana")


def test_a_retried_create_task_creates_one_task(store) -> None:
    lead = contact(owner_id="u_ana")
    first = run("create_task", {"title": "Follow up"}, lead)
    assert run("create_task", {"title": "Follow up"}, lead) == first
    assert Task.count() == 1
    assert kinds(lead).count("task_created") == 1


def test_open_tasks_of_a_user_by_due_date(store) -> None:
    lead = contact(owner_id="u_ana")
    later = run("create_task", {"title": "Later", "due_in": {"amount": 3}}, lead, execution="a")
    soon = run("create_task", {"title": "Soon", "due_in": {"amount": 2, "unit": "hours"}}, lead)
    records.create_task({"title": "Other", "assignee_id": "u_ben"}, due_at=datetime.now(UTC))
    open_ids = [t.task_id for t in Task.open_by_assignee.query("u_ana")]
    assert open_ids == [soon["task_id"], later["task_id"]]
    records.close_task(soon["task_id"])
    assert [t.task_id for t in records.open_tasks("u_ana")] == [later["task_id"]]
    assert Task.get(soon["task_id"]).status == "done"


def test_create_task_for_a_user_or_a_team_in_turn(store) -> None:
    team("sdr", "u_a", "u_b")
    lead = contact()
    to_user = {"title": "t", "assignee": {"rule": "user", "user_id": "u_b"}}
    assert run("create_task", to_user, lead, execution="1")["assignee_id"] == "u_b"
    to_team = {"title": "t", "assignee": {"rule": "team_round_robin", "team_id": "sdr"}}
    turns = [run("create_task", to_team, lead, execution=f"t{i}")["assignee_id"] for i in range(3)]
    assert turns == ["u_a", "u_b", "u_a"]


def test_create_task_named_errors(store) -> None:
    lead = contact()
    assert error_of("create_task", {"title": "t"}, lead) == (
        "Crm.NoAssignee",
        f"contact '{lead}' has no owner to give the task to",
    )
    to_ghost = {"title": "t", "assignee": {"rule": "user", "user_id": "u_ghost"}}
    assert error_of("create_task", to_ghost, lead) == (
        "Crm.RecordNotFound",
        "no user has id 'u_ghost'",
    )
    name, message = error_of("create_task", {"title": "t", "assignee": {"rule": "user"}}, lead)
    assert name == "Crm.InvalidParams"
    assert "rule = user needs 'user_id'" in message
    assert Task.count() == 0


# --- score_lead ------------------------------------------------------------------------

SCORE_RULES = [
    {"criteria": criteria("job_title", "contains", "director"), "points": 40, "label": "senior"},
    {"criteria": criteria("country", "is_one_of", ["IR", "AE"]), "points": 20, "label": "mena"},
    {"criteria": criteria("tags", "contains", "competitor"), "points": -50},
]


@pytest.mark.parametrize(
    ("fields", "score", "temperature", "stage"),
    [
        ({"job_title": "Sales Director", "country": "IR"}, 60, "warm", "marketing_qualified"),
        ({"job_title": "Intern", "country": "IR"}, 20, "cold", "subscriber"),
        (
            {"job_title": "Director", "country": "AE", "score": 90},
            60,
            "warm",
            "marketing_qualified",
        ),
        ({"job_title": "Director", "tags": {"competitor"}}, -10, "cold", "subscriber"),
    ],
)
def test_score_lead_replace_mode(store, fields, score, temperature, stage) -> None:
    lead = contact(**fields)
    params = {
        "rules": SCORE_RULES,
        "thresholds": {"warm": 30, "hot": 70},
        "stage_for": {"warm": "marketing_qualified", "hot": "sales_qualified"},
    }
    assert run("score_lead", params, lead) == {"score": score, "temperature": temperature}
    saved = contacts.get_contact(lead)
    assert (saved.score, saved.temperature, saved.lifecycle_stage) == (score, temperature, stage)


def test_score_lead_add_mode_crosses_hot_once_under_retry(store) -> None:
    lead = contact(job_title="Director", score=50)
    params = {"rules": SCORE_RULES, "mode": "add", "stage_for": {"hot": "sales_qualified"}}
    assert run("score_lead", params, lead) == {"score": 90, "temperature": "hot"}
    assert run("score_lead", params, lead) == {"score": 90, "temperature": "hot"}  # a retry
    saved = contacts.get_contact(lead)
    assert (saved.score, saved.lifecycle_stage) == (90, "sales_qualified")
    data = activity(lead, "score_changed")
    assert (data["before"], data["after"], data["temperature"]) == (50, 90, "hot")
    assert data["rules"] == ["senior"]
    assert kinds(lead).count("score_changed") == 1
    assert activity(lead, "stage_changed")["to"] == "sales_qualified"


def test_score_lead_thresholds_are_inclusive(store) -> None:
    lead = contact(job_title="Director")
    params = {"rules": SCORE_RULES, "thresholds": {"warm": 10, "hot": 40}}
    assert run("score_lead", params, lead) == {"score": 40, "temperature": "hot"}
    assert contacts.get_contact(lead).lifecycle_stage == "subscriber"  # no stage_for


def test_score_lead_named_errors(store) -> None:
    lead = contact()
    bad = {"rules": SCORE_RULES, "thresholds": {"warm": 50, "hot": 50}}
    name, message = error_of("score_lead", bad, lead)
    assert name == "Crm.InvalidParams"
    assert "hot (50) must be above warm (50)" in message
    assert error_of("score_lead", {"rules": SCORE_RULES}, "c_x")[0] == "Crm.ContactNotFound"


# --- create_record ---------------------------------------------------------------------


def test_create_deal_from_templates(store) -> None:
    lead = contact(first_name="Sara", last_name="Ahmadi", owner_id="u_ana", company_id="co_1")
    params = {
        "record": "deal",
        "values": {
            "name": "{{ contact.full_name }} — {{ trigger.plan }}",
            "pipeline": "sales",
            "stage": "{{ trigger.stage }}",
            "amount": "{{ trigger.budget }}",
            "close_date": "{{ trigger.close }}",
            "currency": "EUR",
            "custom.source_form": "pricing",
        },
    }
    trigger = {
        "plan": "Pro",
        "stage": "qualified",
        "budget": "12,500.50",
        "close": "2025-09-30T12:00:00Z",
    }
    result = run("create_record", params, lead, trigger=trigger)
    assert result["record"] == "deal"
    deal = Deal.get(result["id"])
    assert (deal.name, deal.pipeline_stage) == ("Sara Ahmadi — Pro", "sales#qualified")
    assert (deal.amount, deal.currency, deal.close_date) == (12500.5, "EUR", "2025-09-30")
    assert (deal.owner_id, deal.contact_id, deal.company_id) == ("u_ana", lead, "co_1")
    assert deal.custom == {"source_form": "pricing"}
    assert [d.deal_id for d in records.deals_by_stage("sales", "qualified")] == [deal.deal_id]
    assert [d.deal_id for d in records.deals_of_contact(lead)] == [deal.deal_id]
    assert activity(lead, "deal_created")["deal_id"] == deal.deal_id


def test_a_retried_create_record_creates_one_deal(store) -> None:
    lead = contact()
    params = {"record": "deal", "values": {"name": "D", "pipeline": "p", "stage": "s", "amount": 5}}
    first = run("create_record", params, lead)
    assert run("create_record", params, lead) == first
    assert Deal.count() == 1
    deal = Deal.get(first["id"])
    assert (deal.amount, deal.close_date, deal.owner_id) == (5, "9999-12-31", None)


def test_create_company_linked_to_the_contact(store) -> None:
    lead = contact(email="sara@acme.io")
    params = {
        "record": "company",
        "values": {"name": "Acme", "domain": "{{ contact.email.split('@')[1] }}", "size": "40"},
    }
    result = run("create_record", params, lead)
    company = Company.get(result["id"])
    assert (company.name, company.domain, company.size) == ("Acme", "acme.io", 40)
    saved = contacts.get_contact(lead)
    assert (saved.company_id, saved.company_name) == (company.company_id, "Acme")


def test_create_company_not_linked(store) -> None:
    lead = contact()
    params = {"record": "company", "values": {"name": "Solo"}, "link_to_contact": False}
    run("create_record", params, lead)
    assert contacts.get_contact(lead).company_id is None


def test_create_note_on_the_timeline(store) -> None:
    lead = contact(first_name="سارا")
    params = {"record": "note", "values": {"body": "{{ contact.first_name }} asked for a demo"}}
    result = run("create_record", params, lead)
    items, _ = contacts.timeline(lead)
    assert [(a.kind, a.data["body"], a.sort_key) for a in items] == [
        ("note", "سارا asked for a demo", result["id"])
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"amount": "lots"}, "'amount' is a number; got 'lots'"),
        ({"close_date": "next week"}, "'close_date' is a date (YYYY-MM-DD); got 'next week'"),
        ({"stage": "{{ trigger.missing }}"}, "'stage' rendered empty: '{{ trigger.missing }}'"),
    ],
)
def test_create_record_bad_values_are_named_errors(store, values, message) -> None:
    lead = contact()
    params = {"record": "deal", "values": {"name": "D", "pipeline": "p", "stage": "s", **values}}
    assert error_of("create_record", params, lead) == ("Crm.InvalidParams", message)
    assert Deal.count() == 0


def test_create_record_params_are_validated(store) -> None:
    name, message = error_of("create_record", {"record": "deal", "values": {"name": "D"}}, "c")
    assert name == "Crm.InvalidParams"
    assert "a deal needs 'pipeline', 'stage' in 'values'" in message
