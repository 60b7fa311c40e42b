"""Contact search as people type, the newest-first list and enrolling by hand, over HTTP on
moto: search rows are written with every contact (API, import, merge, change) and read by
Query only."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from functions.store.contacts import (
    backfill_search_keys,
    create_contact,
    fold,
    search_rows,
    update_contact,
)
from functions.store.importer import import_contacts
from functions.store.models import Contact, ContactSearchKey, User
from tests.functions.api_support import Api


@pytest.fixture
def api(store) -> Api:
    return Api()


@pytest.fixture
def admin(api) -> str:
    return api.key("admin")


def _new(email: str, **fields) -> str:
    return create_contact({"email": email, **fields}).contact_id


def _ids(answer) -> list[str]:
    assert answer.status == 200, answer.body
    return [c["contact_id"] for c in answer.body["contacts"]]


def _rows() -> set[tuple[str, str]]:
    return {(r.bucket, r.token) for r in ContactSearchKey.scan()}


# --- folding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Sara  MOHAMMADI", "sara mohammadi"),
        ("José Müller", "jose muller"),
        ("علي", "علی"),  # Arabic yeh → Persian yeh
        ("كريمي", "کریمی"),  # Arabic kaf → Persian kaf
        ("فاطمة", "فاطمه"),
        ("أحمد", "احمد"),
        ("مُحَمَّد", "محمد"),  # harakat dropped
        ("نیک\u200cنام", "نیکنام"),  # zero-width non-joiner dropped
        ("O'Brien-Smith", "o brien-smith"),
    ],
)
def test_search_folds_case_accents_and_arabic_and_persian_letter_forms(typed, folded) -> None:
    assert fold(typed) == folded


# --- what each search finds ---------------------------------------------------------------------


def test_search_by_the_start_of_any_word_of_the_name_in_persian_arabic_and_latin(
    api, admin
) -> None:
    sara_fa = _new("sara.m@example.com", first_name="سارا", last_name="محمدی")
    sara_ar = _new("sara.k@example.com", first_name="سارة", last_name="الكندري")
    emily = _new("emily@example.com", first_name="Emily", last_name="Johnson")
    _new("noname@example.com")

    assert set(_ids(api.get("/contacts?name=سار", admin))) == {sara_fa, sara_ar}
    assert _ids(api.get("/contacts?name=محمد", admin)) == [sara_fa]  # the last name
    assert _ids(api.get("/contacts?name=سارا مح", admin)) == [sara_fa]  # across words
    # Typed with Persian letters, stored with Arabic ones (ي/ی, ك/ک, ة/ه) and back.
    assert _ids(api.get("/contacts?name=الکندری", admin)) == [sara_ar]
    assert _ids(api.get("/contacts?name=ساره", admin)) == [sara_ar]
    assert _ids(api.get("/contacts?name=JOHN", admin)) == [emily]
    assert _ids(api.get("/contacts?name=xy", admin)) == []


def test_search_by_email_prefix_and_by_company(api, admin) -> None:
    sara = _new("sara@example.com", company_name="Pars Soft")
    sarah = _new("sarah@acme.example", company_name="شركة النور")
    assert _ids(api.get("/contacts?email=sara", admin)) == [sara, sarah]  # by address
    assert _ids(api.get("/contacts?email=SARA@EX", admin)) == [sara]
    assert _ids(api.get("/contacts?email=sara@example.com", admin)) == [sara]
    assert _ids(api.get("/contacts?company=soft", admin)) == [sara]
    assert _ids(api.get("/contacts?company=شرکه الن", admin)) == [sarah]
    assert _ids(api.get("/contacts?company=النور", admin)) == [sarah]


def test_a_search_pages_with_a_cursor_of_its_own_partition(api, admin) -> None:
    ids = [_new(f"p{i}@example.com", first_name="Parisa", last_name=f"N{i}") for i in range(5)]
    pages, cursor = [], None
    while True:
        answer = api.get(
            "/contacts?name=pari&limit=2" + (f"&cursor={cursor}" if cursor else ""), admin
        )
        pages.append(_ids(answer))
        cursor = answer.body["next"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sorted(i for p in pages for i in p) == sorted(ids)
    first = api.get("/contacts?name=pari&limit=2", admin).body["next"]
    moved = api.get(f"/contacts?name=mo&cursor={first}", admin)
    assert (moved.status, moved.error["code"]) == (400, "BadRequest")


def test_one_letter_is_refused_with_a_message_and_two_filters_are_refused(api, admin) -> None:
    short = api.get("/contacts?name=%20s%20", admin)
    assert (short.status, short.error["message"]) == (
        400,
        "name: type at least 2 letters or digits to search",
    )
    both = api.get("/contacts?name=sa&email=sa", admin)
    assert both.status == 400 and "give at most one of" in both.error["message"]


# --- rows kept in step with the contact ---------------------------------------------------------


def test_search_rows_follow_changes_of_name_email_and_company_and_only_those(api, admin) -> None:
    sara = _new("sara@example.com", first_name="Sara", last_name="Karimi", company_name="Acme")
    before = _rows()
    assert before == search_rows(Contact.get(sara))
    assert {b for b, _ in before} == {"name#sa", "name#ka", "email#sa", "company#ac"}

    update_contact(sara, lambda c: setattr(c, "score", 10))  # not a searched field
    assert _rows() == before

    changed = api.patch(
        f"/contacts/{sara}",
        admin,
        {"last_name": "Rahimi", "email": "s.rahimi@example.com", "company_name": None},
    )
    assert changed.status == 200, changed.body
    assert _rows() == search_rows(Contact.get(sara))
    assert _ids(api.get("/contacts?name=karimi", admin)) == []
    assert _ids(api.get("/contacts?name=rahi", admin)) == [sara]
    assert _ids(api.get("/contacts?email=sara@", admin)) == []
    assert _ids(api.get("/contacts?email=s.rah", admin)) == [sara]
    assert _ids(api.get("/contacts?company=acme", admin)) == []


def test_a_refused_email_change_leaves_the_search_rows_as_they_were(api, admin) -> None:
    _new("taken@example.com")
    sara = _new("sara@example.com", first_name="Sara")
    before = _rows()
    answer = api.patch(
        f"/contacts/{sara}", admin, {"email": "taken@example.com", "first_name": "S"}
    )
    assert answer.status == 409
    assert _rows() == before


def test_imported_and_merged_contacts_are_found(api, admin) -> None:
    csv = (
        "Email,First Name,Last Name,Company\n"
        "ali@example.ir,علي,رضایی,پارس\n"
        "mina@example.com,Mina,Karimi,\n"
    )
    report = import_contacts(io.StringIO(csv))
    ali, mina = report.contact_ids
    assert _ids(api.get("/contacts?name=علی", admin)) == [ali]  # stored ي, typed ی
    assert _ids(api.get("/contacts?company=پار", admin)) == [ali]
    merged = import_contacts(io.StringIO("Email,Last Name\nMINA@example.com,Rostami\n"))
    assert merged.merged == 1
    assert _ids(api.get("/contacts?name=rost", admin)) == [mina]
    assert _ids(api.get("/contacts?name=karimi", admin)) == []


def test_the_backfill_writes_the_rows_of_contacts_stored_before_search(api, admin) -> None:
    sara = _new("sara@example.com", first_name="Sara", company_name="Acme")
    for row in ContactSearchKey.scan():
        row.delete()  # a store from before contacts had search rows
    assert _ids(api.get("/contacts?name=sa", admin)) == []
    assert backfill_search_keys() == 3
    assert _ids(api.get("/contacts?name=sa", admin)) == [sara]


# --- the list, newest first -------------------------------------------------------------------


def test_with_no_filter_every_contact_pages_newest_first(api, admin) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [_new(f"c{i}@example.com", created_at=base + timedelta(hours=i)) for i in range(11)]
    newest_first = list(reversed(ids))
    pages, cursor = [], None
    while True:
        answer = api.get("/contacts?limit=4" + (f"&cursor={cursor}" if cursor else ""), admin)
        pages.append(_ids(answer))
        assert answer.body["filter"] == {}
        cursor = answer.body["next"]
        if cursor is None:
            break
    assert pages == [newest_first[:4], newest_first[4:8], newest_first[8:]]
    edited = api.get("/contacts?cursor=eyIwIjp7IlMiOiJub3BlIn19", admin)  # {"0": {"S": "nope"}}
    assert (edited.status, edited.error["code"]) == (400, "BadRequest")


def test_the_page_names_the_owners_that_are_users(api, admin) -> None:
    User("usr-omar", email="omar@acme.example", name="Omar Haddad").save()
    _new("a@example.com", owner_id="usr-omar")
    _new("b@example.com", owner_id="usr-gone")
    answer = api.get("/contacts", admin).body
    assert answer["owners"] == {"usr-omar": "Omar Haddad"}


def test_a_sales_reps_name_search_leaves_out_the_contacts_of_others(api) -> None:
    rep = api.key("sales_rep", user_id="u_rep")
    mine = _new("sara@example.com", first_name="Sara", owner_id="u_rep")
    _new("sarah@example.com", first_name="Sarah", owner_id="u_other")
    assert _ids(api.get("/contacts?name=sar", rep)) == [mine]
    assert _ids(api.get("/contacts", rep)) == [mine]


# --- enroll and unenroll by hand ----------------------------------------------------------------


@pytest.fixture
def live(engine) -> Api:
    return Api()


def test_enroll_and_unenroll_by_hand(live) -> None:
    from functions.publish import publish
    from tests.functions.test_enrollments import waiting, waiting_in

    admin = live.key("admin")
    publish(waiting("nurture"))
    sara = _new("sara@example.com", first_name="Sara")
    started = live.post("/flows/nurture/enrollments", admin, {"contact_id": sara})
    assert started.status == 202, started.body
    assert started.body["enrolled"] is True and started.body["contact_id"] == sara
    again = live.post("/flows/nurture/enrollments", admin, {"contact_id": sara})
    assert (again.status, again.body["reason"]) == (200, "already in this flow")

    assert waiting_in(sara)  # moto cannot stop a run before its interpreter has started
    stopped = live.delete(f"/flows/nurture/enrollments/{sara}", admin)
    assert stopped.body == {"flow_id": "nurture", "contact_id": sara, "unenrolled": True}
    [enrollment] = live.get(f"/contacts/{sara}/enrollments", admin).body["enrollments"]
    assert enrollment["status"] == "unenrolled"
    assert live.delete(f"/flows/nurture/enrollments/{sara}", admin).body["unenrolled"] is False


def test_enrolling_names_what_is_missing_and_needs_flows_publish(live) -> None:
    admin = live.key("admin")
    sara = _new("sara@example.com")
    unknown_flow = live.post("/flows/nope/enrollments", admin, {"contact_id": sara})
    assert (unknown_flow.status, unknown_flow.error["message"]) == (404, "no flow has id 'nope'")
    unknown_contact = live.post("/flows/nope/enrollments", admin, {"contact_id": "c_nope"})
    assert unknown_contact.status == 404
    no_body = live.post("/flows/nope/enrollments", admin, {})
    assert no_body.status == 400 and "contact_id" in no_body.error["message"]
    rep = live.key("sales_rep", user_id="u_rep")
    assert live.post("/flows/nope/enrollments", rep, {"contact_id": sara}).status == 403
