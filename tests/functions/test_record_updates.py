"""update_record on a deal or a company, and conditions reading deal./company. facts, on
moto: which record a step picks, stage moves kept in the by_stage index, one change per
execution step, no lost updates, named errors."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from functions import steps
from functions.errors import CrmError
from functions.store import contacts, records
from functions.store.models import Company, Deal, SideEffect
from tests.functions.step_payloads import payload

EXECUTION = "arn:aws:states:us-east-1:1:execution:f:enr-1"


def update(params: dict[str, Any], contact_id: str, **extra: Any) -> dict[str, Any]:
    return steps.run("update_record", payload("update_record", params, contact_id, **extra))


def error_of(params: dict[str, Any], contact_id: str, **extra: Any) -> tuple[str, str]:
    """(error name Step Functions would see, message)."""
    with pytest.raises(CrmError) as caught:
        update(params, contact_id, **extra)
    return type(caught.value).__name__, str(caught.value)


def branch(field: str, op: str, value: Any, contact_id: str, **extra: Any) -> str:
    criteria = {"groups": [{"conditions": [{"field": field, "op": op, "value": value}]}]}
    event = payload("branch", {"criteria": criteria}, contact_id, **extra)
    return steps.run("evaluate", event)["output"]


@pytest.fixture
def sara(store) -> str:
    return contacts.create_contact(
        {"email": "sara@example.com", "first_name": "Sara", "owner_id": "u_ana"}
    ).contact_id


def deal(contact_id: str | None, name: str = "Pro plan", **fields: Any) -> Deal:
    values = {"name": name, "pipeline": "sales", "stage": "qualified", "amount": 1000}
    return records.create_deal({**values, "contact_id": contact_id, **fields})


def company(contact_id: str | None = None, name: str = "Acme", **fields: Any) -> Company:
    made = records.create_company({"name": name, "domain": "acme.test", "size": 40, **fields})
    if contact_id:
        contacts.update_contact(contact_id, lambda c: setattr(c, "company_id", made.company_id))
    return made


def timeline_of(contact_id: str) -> list[tuple[str, dict[str, Any]]]:
    items, _ = contacts.timeline(contact_id)
    return [(a.kind, a.data) for a in items]


# --- deals -------------------------------------------------------------------------------


def test_set_increment_and_clear_on_the_contacts_deal(sara) -> None:
    made = deal(sara, custom={"tier": "gold", "source": "ads"}, owner_id="u_ben")
    params = {
        "record": "deal",
        "set": {
            "deal.name": "{{ deal.name }} for {{ contact.first_name }}",
            "deal.close_date": "{{ trigger.close }}",
            "custom.plan": "pro",
        },
        "increment": {"deal.amount": 250.5},
        "clear": ["deal.owner_id", "custom.source"],
    }

    result = update(params, sara, trigger={"close": "2026-03-31T12:00:00Z"})

    assert result == {
        "record": "deal",
        "id": made.deal_id,
        "updated": [
            "custom.plan",
            "custom.source",
            "deal.amount",
            "deal.close_date",
            "deal.name",
            "deal.owner_id",
        ],
        "version": 2,
    }
    fresh = records.get_deal(made.deal_id)
    assert (fresh.name, fresh.close_date, fresh.amount) == (
        "Pro plan for Sara",
        "2026-03-31",
        1250.5,
    )
    assert fresh.owner_id is None
    assert fresh.custom == {"tier": "gold", "plan": "pro"}
    assert (fresh.stage, fresh.pipeline_stage, fresh.contact_id) == (
        "qualified",
        "sales#qualified",
        sara,
    )
    assert contacts.get_contact(sara).custom == {}  # custom.<name> went to the deal
    assert timeline_of(sara) == []  # no stage move, nothing on the timeline


def test_the_newest_deal_of_the_contact_is_updated_unless_the_trigger_names_one(sara) -> None:
    older = deal(sara, "Older")
    newer = deal(sara, "Newer")
    someone_elses = deal(None, "Other")
    params = {"record": "deal", "increment": {"deal.amount": 1}}

    assert update(params, sara, execution="e1")["id"] == newer.deal_id
    assert update(params, sara, execution="e2", trigger={"deal_id": older.deal_id})["id"] == (
        older.deal_id
    )
    assert (
        update(params, sara, execution="e3", trigger={"deal_id": someone_elses.deal_id})["id"]
        == someone_elses.deal_id
    )

    amounts = [records.get_deal(d.deal_id).amount for d in (older, newer, someone_elses)]
    assert amounts == [1001, 1001, 1001]


def test_a_stage_move_follows_the_index_and_lands_on_the_timeline(sara) -> None:
    made = deal(sara, close_date="2026-02-01")
    deal(None, "Elsewhere")  # another deal in the old stage stays there

    result = update({"record": "deal", "deal_stage": "proposal"}, sara, node="to_proposal")

    assert result["updated"] == ["deal.stage"]
    fresh = records.get_deal(made.deal_id)
    assert (fresh.stage, fresh.pipeline_stage, fresh.version) == (
        "proposal",
        "sales#proposal",
        2,
    )
    assert [d.deal_id for d in records.deals_by_stage("sales", "proposal")] == [made.deal_id]
    assert [d.name for d in records.deals_by_stage("sales", "qualified")] == ["Elsewhere"]
    assert timeline_of(sara) == [
        (
            "deal_stage_changed",
            {"deal_id": made.deal_id, "from": "qualified", "to": "proposal", "node": "to_proposal"},
        )
    ]


def test_a_move_to_the_stage_the_deal_is_in_adds_no_activity(sara) -> None:
    made = deal(sara)
    result = update({"record": "deal", "deal_stage": "qualified"}, sara)
    assert result["version"] == 2
    assert records.get_deal(made.deal_id).pipeline_stage == "sales#qualified"
    assert timeline_of(sara) == []


def test_a_retried_step_changes_the_deal_once(sara) -> None:
    made = deal(sara)
    params = {"record": "deal", "increment": {"deal.amount": 100}, "deal_stage": "won"}
    event = payload("update_record", params, sara)

    first = steps.run("update_record", event)
    second = steps.run("update_record", dict(event, attempt=1))  # Lambda/Step Functions retry

    assert (
        first
        == second
        == {
            "record": "deal",
            "id": made.deal_id,
            "updated": ["deal.amount", "deal.stage"],
            "version": 2,
        }
    )
    fresh = records.get_deal(made.deal_id)
    assert (fresh.amount, fresh.stage, fresh.version) == (1100, "won", 2)
    assert [kind for kind, _ in timeline_of(sara)] == ["deal_stage_changed"]
    assert SideEffect.get(f"{EXECUTION}#step1").status == "done"


def test_two_threads_updating_one_deal_both_land(sara) -> None:
    made = deal(sara)
    runs, reads = 15, [0]
    lock = threading.Lock()
    real_get = records.get_deal

    def counting_get(deal_id: str) -> Deal:  # one read per attempt: reads − runs = retries
        with lock:
            reads[0] += 1
        read = real_get(deal_id)
        time.sleep(0.005)  # widen the read-to-save window so the writers do collide
        return read

    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(name: str, params: dict[str, Any]) -> None:
        start.wait()
        try:
            for i in range(runs):
                update(params, sara, execution=f"{name}-{i}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    amount = {"record": "deal", "increment": {"deal.amount": 10}}
    counter = {"record": "deal", "increment": {"custom.touches": 1}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(records, "get_deal", counting_get)
        workers = [
            threading.Thread(target=writer, args=("amount", amount)),
            threading.Thread(target=writer, args=("touches", counter)),
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    assert errors == []
    fresh = records.get_deal(made.deal_id)
    assert (fresh.amount, fresh.custom, fresh.version) == (1150, {"touches": 15}, 1 + 2 * runs)
    assert reads[0] > 2 * runs  # some writer lost a race, read again and still landed


def test_a_writer_who_saved_in_between_makes_the_update_read_again(sara) -> None:
    made = deal(sara)
    attempts: list[int] = []

    def change(fresh: Deal) -> None:
        attempts.append(fresh.version)
        if len(attempts) == 1:  # someone else saves after our read, before our save
            records.update_deal(made.deal_id, lambda other: setattr(other, "amount", 5000))
        fresh.stage = "won"

    saved = records.update_deal(made.deal_id, change)

    assert attempts == [1, 2]
    assert (saved.amount, saved.stage, saved.pipeline_stage, saved.version) == (
        5000,
        "won",
        "sales#won",
        3,
    )
    assert [d.deal_id for d in records.deals_by_stage("sales", "won")] == [made.deal_id]


def test_no_deal_is_a_named_error_naming_the_contact(sara) -> None:
    params = {"record": "deal", "increment": {"deal.amount": 1}}
    assert error_of(params, sara) == (
        "Crm.RecordNotFound",
        f"contact '{sara}' has no deal, and the trigger names none",
    )
    assert error_of(params, sara, trigger={"deal_id": "d_gone"}) == (
        "Crm.RecordNotFound",
        "no deal has id 'd_gone'",
    )
    assert not list(SideEffect.query(f"{EXECUTION}#step1"))  # a retry may try again


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"record": "deal", "add_tags": ["vip"]},
            "a deal has no tags: add_tags and remove_tags apply to the contact only",
        ),
        (
            {"record": "company", "remove_tags": ["vip"]},
            "a company has no tags: add_tags and remove_tags apply to the contact only",
        ),
        (
            {"record": "deal", "set": {"owner_id": "u_ben"}},
            "field 'owner_id' is not a deal field: a deal update changes deal.<field> and "
            "custom.<field>; did you mean 'deal.owner_id'?",
        ),
        (
            {"record": "deal", "increment": {"company.size": 1}},
            "field 'company.size' is not a deal field: a deal update changes deal.<field> and "
            "custom.<field>; to change the company, use record = company",
        ),
        (
            {"record": "contact", "set": {"deal.amount": 5}},
            "field 'deal.amount' is not a contact field: a contact update changes <field> and "
            "custom.<field>; to change the deal, use record = deal",
        ),
        (
            {"record": "deal", "set": {"deal.id": "d_mine"}},
            "field 'deal.id' cannot be set by a flow",
        ),
        (
            {"record": "deal", "clear": ["deal.name"]},
            "field 'deal.name' is required and cannot be cleared",
        ),
        (
            {"record": "deal", "increment": {"deal.name": 1}},
            "field 'deal.name' holds 'Pro plan', not a number to increment",
        ),
        (
            {"record": "deal", "set": {"deal.amount": "{{ trigger.budget }}"}},
            "field 'deal.amount' is a number; got 'lots'",
        ),
    ],
)
def test_what_a_deal_or_company_cannot_take_is_refused(sara, params, message) -> None:
    made = deal(sara)
    company(sara)
    assert error_of(params, sara, trigger={"budget": "lots"}) == ("Crm.InvalidParams", message)
    assert records.get_deal(made.deal_id).version == 1  # nothing changed


def test_clearing_the_close_date_makes_it_unknown(sara) -> None:
    made = deal(sara, close_date="2026-01-31")
    update({"record": "deal", "clear": ["deal.close_date", "deal.currency"]}, sara)
    fresh = records.get_deal(made.deal_id)
    assert (fresh.close_date, fresh.currency) == ("9999-12-31", "USD")


# --- companies ---------------------------------------------------------------------------


def test_set_increment_and_clear_on_the_contacts_company(sara) -> None:
    made = company(sara, custom={"segment": "smb", "legacy": True})
    params = {
        "record": "company",
        "set": {"company.industry": "SaaS", "custom.segment": "mid-market"},
        "increment": {"company.size": 5, "custom.seats": 3},
        "clear": ["company.domain", "custom.legacy"],
    }

    result = update(params, sara)

    assert result == {
        "record": "company",
        "id": made.company_id,
        "updated": [
            "company.domain",
            "company.industry",
            "company.size",
            "custom.legacy",
            "custom.seats",
            "custom.segment",
        ],
        "version": 2,
    }
    fresh = records.get_company(made.company_id)
    assert (fresh.industry, fresh.size, fresh.domain, fresh.name) == ("SaaS", 45, None, "Acme")
    assert fresh.custom == {"segment": "mid-market", "seats": 3}


def test_the_triggers_company_comes_before_the_contacts(sara) -> None:
    own = company(sara, "Own")
    named = company(None, "Named")
    update(
        {"record": "company", "set": {"company.country": "IR"}},
        sara,
        trigger={"company_id": named.company_id},
    )
    assert records.get_company(named.company_id).country == "IR"
    assert records.get_company(own.company_id).country is None


def test_no_company_is_a_named_error_naming_the_contact(sara) -> None:
    params = {"record": "company", "set": {"company.industry": "SaaS"}}
    assert error_of(params, sara) == (
        "Crm.RecordNotFound",
        f"contact '{sara}' has no company, and the trigger names none",
    )


# --- conditions on deal. and company. facts ----------------------------------------------


@pytest.mark.parametrize(("amount", "output"), [(6000, "yes"), (5000, "no"), (None, "no")])
def test_a_branch_on_the_deal_amount(sara, amount, output) -> None:
    deal(sara, amount=amount)
    assert branch("deal.amount", "greater_than", 5000, sara) == output


def test_a_branch_reads_the_triggers_deal_else_the_newest(sara) -> None:
    big = deal(sara, "Big", amount=9000)
    deal(sara, "Small", amount=10)
    assert branch("deal.amount", "at_least", 1000, sara) == "no"  # the newest: Small
    assert branch("deal.amount", "at_least", 1000, sara, trigger={"deal_id": big.deal_id}) == (
        "yes"
    )
    assert branch("deal.id", "equals", big.deal_id, sara, trigger={"deal_id": big.deal_id}) == (
        "yes"
    )


def test_deal_and_company_facts_are_none_when_there_is_none(sara) -> None:
    assert branch("deal.amount", "is_not_set", None, sara) == "yes"
    assert branch("deal.stage", "equals", "won", sara) == "no"
    assert branch("company.industry", "is_not_set", None, sara) == "yes"
    assert branch("deal.stage", "is_set", None, sara, trigger={"deal_id": "d_gone"}) == "no"


def test_a_branch_on_the_company_industry(sara) -> None:
    company(sara, industry="SaaS")
    assert branch("company.industry", "equals", "saas", sara) == "yes"
    assert branch("company.size", "at_most", 39, sara) == "no"


def test_the_deal_is_read_once_per_evaluation_and_only_when_asked(sara, monkeypatch) -> None:
    deal(sara, amount=6000, stage="proposal")
    calls: list[str] = []
    real = records.deal_for
    monkeypatch.setattr(records, "deal_for", lambda *a: calls.append("deal") or real(*a))
    both = {
        "match": "all",
        "groups": [
            {
                "conditions": [
                    {"field": "deal.amount", "op": "greater_than", "value": 5000},
                    {"field": "deal.stage", "op": "equals", "value": "proposal"},
                ]
            }
        ],
    }
    assert steps.run("evaluate", payload("branch", {"criteria": both}, sara)) == {"output": "yes"}
    assert calls == ["deal"]
    assert branch("first_name", "equals", "Sara", sara) == "yes"
    assert calls == ["deal"]  # a contact-only condition reads no deal


def test_declared_contact_fields_without_a_column_live_in_custom_and_branches_read_them(sara) -> None:
    update({"set": {"budget": "5000", "renewal_date": "2027-03-01"}, "increment": {"emails_opened": 2}}, sara)
    stored = contacts.get_contact(sara)
    assert stored.custom["budget"] == "5000" and stored.custom["renewal_date"] == "2027-03-01"
    assert stored.custom["emails_opened"] == 2
    assert branch("budget", "at_least", 1000, sara) == "yes"
    assert branch("emails_opened", "at_least", 3, sara) == "no"
    assert branch("renewal_date", "is_set", None, sara) == "yes"
