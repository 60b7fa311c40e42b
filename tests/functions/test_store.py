"""The CRM store on moto: unique emails, E.164 phones, no lost updates, and every access
pattern of functions/store/models.py answered by a Query or GetItem (never a Scan)."""

from __future__ import annotations

import inspect
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import botocore.client
import pytest

from functions.errors import ContactNotFound, DuplicateEmail, InvalidRecord
from functions.store import contacts, normalize
from functions.store.models import Activity, Contact, ContactIndex, Deal, EmailClaim, Task, User

NOW = datetime.now(UTC)


def new(email: str, **fields) -> Contact:
    return contacts.create_contact({"email": email, **fields})


def all_contacts() -> list[Contact]:
    return list(Contact.scan())  # a test may scan; request paths may not


# --- email uniqueness --------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["ana@example.com", "  Ana@Example.COM ", "ANA@EXAMPLE.COM\t"])
def test_one_address_one_contact_whatever_its_case_or_spaces(store, variant):
    first = new("Ana@example.com", first_name="Ana")

    with pytest.raises(DuplicateEmail, match=r"ana@example\.com already exists"):
        new(variant, first_name="Impostor")

    assert [c.contact_id for c in all_contacts()] == [first.contact_id]
    assert contacts.find_by_email(variant).first_name == "Ana"
    assert EmailClaim.get("ana@example.com").contact_id == first.contact_id


def test_changing_email_to_a_taken_address_fails_and_changes_nothing(store):
    ana = new("ana@example.com")
    bob = new("bob@example.com", first_name="Bob")

    def change(c):
        c.email = " ANA@example.com"
        c.first_name = "Robert"

    with pytest.raises(DuplicateEmail):
        contacts.update_contact(bob.contact_id, change)

    after = contacts.get_contact(bob.contact_id)
    assert (after.email, after.first_name, after.version) == ("bob@example.com", "Bob", bob.version)
    assert contacts.find_by_email("bob@example.com").contact_id == bob.contact_id
    assert contacts.find_by_email("ana@example.com").contact_id == ana.contact_id


def test_changing_email_to_a_free_address_releases_the_old_one(store):
    bob = new("bob@example.com")

    contacts.update_contact(bob.contact_id, lambda c: setattr(c, "email", "Robert@Example.com"))

    assert contacts.find_by_email("robert@example.com").contact_id == bob.contact_id
    assert contacts.find_by_email("bob@example.com") is None
    newcomer = new("bob@example.com")
    assert contacts.find_by_email("bob@example.com").contact_id == newcomer.contact_id


def test_a_contact_needs_a_valid_email(store):
    with pytest.raises(InvalidRecord, match="email is empty"):
        contacts.create_contact({"first_name": "Nobody"})
    with pytest.raises(InvalidRecord, match="'not-an-email' is not a valid email"):
        new("not-an-email")
    assert all_contacts() == []


def test_unknown_contact_is_a_named_error(store):
    with pytest.raises(ContactNotFound, match="no contact has id 'c_missing'"):
        contacts.get_contact("c_missing")
    assert contacts.find_by_email("nobody@example.com") is None


# --- phones ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "region", "e164"),
    [
        ("۰۹۱۲ ۳۴۵ ۶۷۸۹", "IR", "+989123456789"),  # Persian digits, national form
        ("+۹۸ ۹۱۲ ۳۴۵ ۶۷۸۹", None, "+989123456789"),
        ("٠١٠٠ ١٢٣ ٤٥٦٧", "EG", "+201001234567"),  # Arabic-Indic digits
        ("+٩٧١ ٥٠ ١٢٣ ٤٥٦٧", None, "+971501234567"),
        ("030 901820", "de", "+4930901820"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("+1 415 555 2671", "FR", "+14155552671"),  # a country code beats the region
        ("۰۰۹۸ ۹۱۲ ۳۴۵ ۶۷۸۹", None, "+989123456789"),  # 00 is international, Persian digits
        ("٠٠٩٧١ ٥٠ ١٢٣ ٤٥٦٧", None, "+971501234567"),  # and Arabic-Indic digits
        ("0049 30 901820", None, "+4930901820"),
        ("\u200e+۹۸ ۹۱۲ ۳۴۵ ۶۷۸۹\u200f", None, "+989123456789"),  # bidi marks of RTL exports
        ("＋４９ ３０ ９０１８２０", None, "+4930901820"),  # full-width forms
        ("+98 955 123 4567", None, "+989551234567"),  # possible, not a known range: kept
    ],
)
def test_phones_become_e164(written, region, e164):
    assert normalize.phone(written, region) == e164


def test_a_possible_number_outside_the_known_ranges_says_so():
    found = normalize.read_phone("+98 955 123 4567")
    assert (found.e164, found.allocated, found.region) == ("+989551234567", False, "IR")
    assert normalize.read_phone("۰۹۱۲ ۳۴۵ ۶۷۸۹", "IR").allocated is True


@pytest.mark.parametrize(
    ("written", "region", "message"),
    [
        ("call me maybe", "US", "'call me maybe' is not a phone number: expected digits"),
        ("0912 345 6789", None, "'0912 345 6789' is not a phone number: it has no country code"),
        ("12345", "US", "'12345' is not a phone number: too short"),
        ("12", "DE", "'12' is not a phone number: a local number; write it with its area code"),
        ("+999 123 4567", None, "the country code after + is not one in use"),
        ("1" * 30, "US", "is not a phone number: too long"),
        ("   ", "US", "phone is empty"),
    ],
)
def test_garbage_phones_say_why(written, region, message):
    with pytest.raises(InvalidRecord, match=re.escape(message)):
        normalize.phone(written, region)


# --- no lost updates ---------------------------------------------------------------------


def test_concurrent_writers_on_one_contact_all_land(store, monkeypatch, capsys):
    threads, increments = 8, 25
    contact = new("busy@example.com", score=0)
    reads = [0]
    lock = threading.Lock()
    real_get = contacts.get_contact

    def counting_get(contact_id):  # one read per attempt: reads − updates = retries
        with lock:
            reads[0] += 1
        return real_get(contact_id)

    monkeypatch.setattr(contacts, "get_contact", counting_get)
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        start.wait()
        try:
            for i in range(increments):
                contacts.update_contact(
                    contact.contact_id,
                    lambda c, n=n, i=i: (
                        setattr(c, "score", c.score + 1),
                        i == 0 and c.tags.add(f"writer-{n}"),
                    ),
                )
        except BaseException as exc:  # surfaced below, with the thread's own error
            errors.append(exc)

    began = time.perf_counter()
    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    took = time.perf_counter() - began

    assert errors == []
    final = real_get(contact.contact_id)
    updates = threads * increments
    assert final.score == updates
    assert final.tags == {f"writer-{n}" for n in range(threads)}
    assert final.version == 1 + updates
    for n in range(threads):
        assert list(contacts.contact_ids_by_tag(f"writer-{n}")) == [contact.contact_id]
    with capsys.disabled():  # the figure quoted in docs/store.md
        print(
            f"\n[no-lost-updates] {updates} updates by {threads} threads in {took:.2f}s, "
            f"{(reads[0] - updates) / updates:.2f} retries per update"
        )


# --- access patterns ---------------------------------------------------------------------


def ids(rows) -> list[str]:
    return [row if isinstance(row, str) else row.contact_id for row in rows]


def test_contacts_by_owner_newest_first(store):
    a = new("a@example.com", owner_id="u_1")
    b = new("b@example.com", owner_id="u_2")
    c = new("c@example.com", owner_id="u_1")
    new("d@example.com")  # no owner: not in the index at all
    e = new("e@example.com", owner_id="u_1")

    assert ids(contacts.contacts_by_owner("u_1")) == [e.contact_id, c.contact_id, a.contact_id]
    assert ids(contacts.contacts_by_owner("u_2")) == [b.contact_id]
    assert ids(contacts.contacts_by_owner("u_1", limit=2)) == [e.contact_id, c.contact_id]
    assert ids(contacts.contacts_by_owner("u_3")) == []


def test_contacts_by_stage_follow_stage_changes(store):
    lead = new("lead@example.com", lifecycle_stage="lead")
    customer = new("customer@example.com", lifecycle_stage="customer")
    other = new("other@example.com", lifecycle_stage="lead")

    assert ids(contacts.contacts_by_stage("lead")) == [other.contact_id, lead.contact_id]

    contacts.update_contact(lead.contact_id, lambda c: setattr(c, "lifecycle_stage", "customer"))

    assert ids(contacts.contacts_by_stage("lead")) == [other.contact_id]
    assert ids(contacts.contacts_by_stage("customer")) == [customer.contact_id, lead.contact_id]
    assert ids(contacts.contacts_by_stage("subscriber")) == []


def test_contacts_by_tag_follow_tags_added_and_removed(store):
    a = new("a@example.com", tags={"VIP", "beta"})
    b = new("b@example.com", tags={"beta"})
    c = new("c@example.com")
    assert contacts.get_contact(a.contact_id).tags == {"vip", "beta"}

    contacts.update_contact(b.contact_id, lambda x: (x.tags.discard("beta"), x.tags.add(" Churn  Risk")))
    contacts.update_contact(c.contact_id, lambda x: x.tags.add("vip"))

    assert sorted(contacts.contact_ids_by_tag("Vip")) == sorted([a.contact_id, c.contact_id])
    assert list(contacts.contact_ids_by_tag("beta")) == [a.contact_id]
    assert list(contacts.contact_ids_by_tag("churn risk")) == [b.contact_id]

    contacts.update_contact(a.contact_id, lambda x: x.tags.clear())

    assert list(contacts.contact_ids_by_tag("vip")) == [c.contact_id]
    assert list(contacts.contact_ids_by_tag("beta")) == []
    assert {row.key for row in ContactIndex.scan()} == {"tag#vip", "tag#churn risk"}


def test_contacts_who_bought_a_product(store):
    a = new("a@example.com", products={"pro-plan"})
    b = new("b@example.com", products={"starter"})
    contacts.update_contact(b.contact_id, lambda x: x.products.add("pro-plan"))
    new("c@example.com")

    assert sorted(contacts.contact_ids_by_product("pro-plan")) == sorted([a.contact_id, b.contact_id])
    assert list(contacts.contact_ids_by_product("starter")) == [b.contact_id]
    assert list(contacts.contact_ids_by_product("enterprise")) == []


def test_contacts_not_contacted_in_n_days(store):
    days = timedelta(days=1)
    stale = new("stale@example.com", last_contacted_at=NOW - 40 * days)
    recent = new("recent@example.com", last_contacted_at=NOW - 2 * days)
    fresh_never = new("fresh@example.com")  # never contacted, created now
    old_never = new("old@example.com", created_at=NOW - 60 * days)  # never contacted, old
    revived = new("revived@example.com", created_at=NOW - 90 * days)
    contacts.update_contact(revived.contact_id, lambda c: setattr(c, "last_contacted_at", NOW))
    # enough contacts that every shard of the index holds some
    for i in range(16):
        new(f"filler{i}@example.com", last_contacted_at=NOW - 10 * days)

    assert sorted(contacts.contact_ids_not_contacted_since(30)) == sorted(
        [stale.contact_id, old_never.contact_id]
    )
    assert len(list(contacts.contact_ids_not_contacted_since(5))) == 18
    assert recent.contact_id in contacts.contact_ids_not_contacted_since(1)
    assert fresh_never.contact_id not in contacts.contact_ids_not_contacted_since(1)
    assert revived.contact_id not in contacts.contact_ids_not_contacted_since(1)


def _deal(deal_id: str, pipeline: str, stage: str, close_date: str) -> Deal:
    deal = Deal(
        deal_id,
        name=deal_id,
        pipeline=pipeline,
        stage=stage,
        pipeline_stage=f"{pipeline}#{stage}",
        close_date=close_date,
        amount=1000,
        created_at=NOW,
    )
    deal.save()
    return deal


def test_deals_by_pipeline_stage_by_close_date(store):
    _deal("d_late", "sales", "proposal", "2026-06-30")
    _deal("d_soon", "sales", "proposal", "2026-01-15")
    _deal("d_won", "sales", "won", "2025-12-01")
    _deal("d_other_pipeline", "renewals", "proposal", "2026-01-01")

    assert [d.deal_id for d in Deal.by_stage.query("sales#proposal")] == ["d_soon", "d_late"]
    assert [d.deal_id for d in Deal.by_stage.query("sales#won")] == ["d_won"]
    assert [d.deal_id for d in Deal.by_stage.query("renewals#proposal")] == ["d_other_pipeline"]


def test_open_tasks_of_a_user_by_due_date(store):
    def task(task_id: str, assignee: str, due_in_days: int) -> Task:
        item = Task(
            task_id,
            title=task_id,
            assignee_id=assignee,
            assignee_open=assignee,
            due_at=NOW + timedelta(days=due_in_days),
            created_at=NOW,
        )
        item.save()
        return item

    task("t_next_week", "u_1", 7)
    tomorrow = task("t_tomorrow", "u_1", 1)
    task("t_overdue", "u_1", -2)
    task("t_someone_else", "u_2", 0)

    def open_tasks(user: str) -> list[str]:
        return [t.task_id for t in Task.open_by_assignee.query(user)]

    assert open_tasks("u_1") == ["t_overdue", "t_tomorrow", "t_next_week"]

    tomorrow.update(actions=[Task.assignee_open.remove(), Task.status.set("done")])

    assert open_tasks("u_1") == ["t_overdue", "t_next_week"]
    assert open_tasks("u_2") == ["t_someone_else"]
    assert Task.get("t_tomorrow").assignee_id == "u_1"  # closed, still assigned


def test_timeline_newest_first_in_pages(store):
    contact = new("busy@example.com")
    other = new("other@example.com")
    for i in range(7):
        contacts.add_activity(contact.contact_id, "note", {"n": i})
    contacts.add_activity(other.contact_id, "note", {"n": 99})

    pages, cursor = [], None
    while True:
        items, cursor = contacts.timeline(contact.contact_id, limit=3, cursor=cursor)
        pages.append([item.data["n"] for item in items])
        if cursor is None:
            break

    assert pages == [[6, 5, 4], [3, 2, 1], [0]]
    everything, end = contacts.timeline(contact.contact_id)
    assert [item.data["n"] for item in everything] == [6, 5, 4, 3, 2, 1, 0]
    assert end is None
    assert all(isinstance(item, Activity) and item.kind == "note" for item in everything)


# --- no Scan on a request path -----------------------------------------------------------

READS = {
    "get_contact", "find_by_email", "contacts_by_owner", "contacts_by_stage",
    "contact_ids_by_tag", "contact_ids_by_product", "contact_ids_not_contacted_since",
    "timeline", "get_contacts", "contact_ids_newest", "search_contact_ids", "owner_names",
}
WRITES = {"build_contact", "create_contact", "update_contact", "add_activity"}
# backfill_search_keys scans, once, at the local stack's start: never on a request path.
OTHER = {
    "now", "shard_of", "backoff", "cancelled_by_condition", "fold", "search_rows",
    "search_rows_of", "backfill_search_keys",
}


@pytest.fixture
def scans_forbidden(monkeypatch):
    """Every botocore client (PynamoDB's models and transactions alike) refuses Scan."""
    real = botocore.client.BaseClient._make_api_call

    def guarded(client, operation_name, api_params):
        if operation_name == "Scan":
            raise AssertionError(f"Scan of {api_params.get('TableName')} on a request path")
        return real(client, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", guarded)


def test_every_public_store_function_is_classified():
    public = {
        name for name, fn in inspect.getmembers(contacts, inspect.isfunction)
        if fn.__module__ == contacts.__name__ and not name.startswith("_")
    }
    assert public == READS | WRITES | OTHER, "classify new functions for the no-Scan test"


def test_no_access_pattern_scans(store, scans_forbidden):
    with pytest.raises(AssertionError, match=r"Scan of .*contacts on a request path"):
        list(Contact.scan())  # the guard bites

    contact = new("ana@example.com", owner_id="u_1", lifecycle_stage="lead", tags={"vip"},
                  products={"pro"})
    contacts.update_contact(contact.contact_id, lambda c: setattr(c, "email", "ana2@example.com"))
    contacts.update_contact(contact.contact_id, lambda c: c.tags.add("beta"))
    contacts.add_activity(contact.contact_id, "note")
    _deal("d_1", "sales", "won", "2026-01-01")
    Task("t_1", title="call", assignee_open="u_1", due_at=NOW, created_at=NOW).save()
    User("u_1", email="u1@example.com", name="Ulla").save()

    calls = {
        "get_contact": lambda: contacts.get_contact(contact.contact_id),
        "find_by_email": lambda: contacts.find_by_email("ana2@example.com"),
        "contacts_by_owner": lambda: list(contacts.contacts_by_owner("u_1")),
        "contacts_by_stage": lambda: list(contacts.contacts_by_stage("lead")),
        "contact_ids_by_tag": lambda: list(contacts.contact_ids_by_tag("vip")),
        "contact_ids_by_product": lambda: list(contacts.contact_ids_by_product("pro")),
        "contact_ids_not_contacted_since": lambda: list(contacts.contact_ids_not_contacted_since(0)),
        "timeline": lambda: contacts.timeline(contact.contact_id, limit=1),
        "get_contacts": lambda: contacts.get_contacts([contact.contact_id, "c_gone"]),
        "contact_ids_newest": lambda: contacts.contact_ids_newest(10),
        "search_contact_ids": lambda: contacts.search_contact_ids("email", "ana2"),
        "owner_names": lambda: contacts.owner_names(["u_1", "u_gone"]),
    }
    assert set(calls) == READS
    answers = {name: call() for name, call in calls.items()}

    assert answers["find_by_email"].contact_id == contact.contact_id
    answers["timeline"] = answers["timeline"][0]
    assert all(answers[name] for name in calls)  # each found something, not nothing
    assert [d.deal_id for d in Deal.by_stage.query("sales#won")] == ["d_1"]
    assert [t.task_id for t in Task.open_by_assignee.query("u_1")] == ["t_1"]
