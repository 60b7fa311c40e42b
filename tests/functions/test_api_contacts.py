"""Contacts over HTTP on moto's DynamoDB: create, read, change, search by every access
pattern, the timeline; bad input answered 4xx naming the problem; sales reps kept to
their own contacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.store.contacts import add_activity, create_contact, get_contact, update_contact
from tests.functions.api_support import Api


@pytest.fixture
def api(store) -> Api:
    return Api()


@pytest.fixture
def admin(api) -> str:
    return api.key("admin")


def _new(email: str, **fields) -> str:
    return create_contact({"email": email, **fields}).contact_id


# --- create and read ----------------------------------------------------------------------------


def test_a_contact_with_persian_and_arabic_names_round_trips_intact(api, admin) -> None:
    sent = {
        "email": " Sara.Mohammadi@Example.COM ",
        "first_name": "سارا",
        "last_name": "محمدی",
        "company_name": "شركة النور",
        "city": "تهران",
        "country": "ir",
        "phone": "۰۹۱۲ ۳۴۵ ۶۷۸۹",
        "tags": ["مشتری ویژه", "VIP"],
        "custom": {"یادداشت": "تماس بعد از ساعت ۵"},
    }
    created = api.post("/contacts", admin, sent)
    assert created.status == 201
    contact_id = created.body["contact_id"]
    assert created.headers["Location"] == f"/contacts/{contact_id}"
    shown = api.get(f"/contacts/{contact_id}", admin).body
    assert (shown["first_name"], shown["last_name"], shown["company_name"], shown["city"]) == (
        "سارا",
        "محمدی",
        "شركة النور",
        "تهران",
    )
    assert shown["email"] == "sara.mohammadi@example.com"
    assert (shown["country"], shown["phone"]) == ("IR", "+989123456789")
    assert shown["tags"] == ["vip", "مشتری ویژه"]
    assert shown["custom"] == {"یادداشت": "تماس بعد از ساعت ۵"}
    assert "contact_shard" not in shown and shown["version"] == 1
    found = api.get("/contacts?tag=مشتری%20ویژه", admin).body["contacts"]
    assert [c["contact_id"] for c in found] == [contact_id]


def test_a_second_contact_with_the_same_email_is_a_409(api, admin) -> None:
    assert api.post("/contacts", admin, {"email": "sara@example.com"}).status == 201
    answer = api.post("/contacts", admin, {"email": "SARA@example.com "})
    assert (answer.status, answer.error) == (
        409,
        {
            "code": "DuplicateEmail",
            "message": "a contact with email sara@example.com already exists",
        },
    )


def test_an_unknown_contact_is_a_404(api, admin) -> None:
    answer = api.get("/contacts/c_nope", admin)
    assert (answer.status, answer.error) == (
        404,
        {"code": "ContactNotFound", "message": "no contact has id 'c_nope'"},
    )
    assert api.patch("/contacts/c_nope", admin, {"city": "Shiraz"}).status == 404
    assert api.get("/contacts/c_nope/timeline", admin).status == 404


# --- bad input ------------------------------------------------------------------------------------


def test_a_body_that_is_not_json_gets_the_parsers_message(api, admin) -> None:
    answer = api.post("/contacts", admin, raw='{"email": "a@b.co" "x": 1}')
    assert (answer.status, answer.error) == (
        400,
        {
            "code": "BadRequest",
            "message": "the body is not JSON: Expecting ',' delimiter at line 1 column 20",
        },
    )
    assert (
        api.post("/contacts", admin, raw="").error["message"]
        == "the body is empty: send a JSON object"
    )
    assert api.post("/contacts", admin, raw="[1, 2]").error["message"] == (
        "the body has 1 problem(s): the body must be a JSON object"
    )


def test_a_missing_or_wrong_typed_field_is_a_400_naming_it(api, admin) -> None:
    answer = api.post("/contacts", admin, {"first_name": 7, "score": "lots", "nickname": "S"})
    assert answer.status == 400
    assert answer.error["fields"] == [
        {"field": "first_name", "message": "first_name: input should be a valid string, got 7"},
        {
            "field": "score",
            "message": "score: input should be a valid number, unable to parse string as a number, got 'lots'",
        },
        {"field": "email", "message": "email is required"},
        {"field": "nickname", "message": "unknown field 'nickname'"},
    ]
    assert answer.error["message"].startswith("the body has 4 problem(s): first_name: input should")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"email": "not-an-email"},
            "email",
            "'not-an-email' is not a valid email: An email address must have an @-sign.",
        ),
        (
            {"email": "a@example.com", "phone": "12"},
            "phone",
            "'12' is not a phone number: it has no country code; write it with one, e.g. +49…, or give the country",
        ),
        (
            {"email": "a@example.com", "time_zone": "Mars/Olympus"},
            "time_zone",
            "'Mars/Olympus' is not a time zone such as Asia/Tehran",
        ),
        (
            {"email": "a@example.com", "temperature": "tepid"},
            "temperature",
            "temperature: 'tepid' is not allowed: input should be 'cold', 'warm' or 'hot'",
        ),
    ],
)
def test_a_field_the_store_cannot_keep_is_a_400_naming_it(
    api, admin, fields, field, message
) -> None:
    answer = api.post("/contacts", admin, fields)
    assert answer.status == 400
    expected = message if message.startswith(f"{field}: ") else f"{field}: {message}"
    assert answer.error["fields"] == [{"field": field, "message": expected}]


# --- change -------------------------------------------------------------------------------------------


def test_patch_changes_the_named_fields_and_leaves_the_rest(api, admin) -> None:
    contact_id = _new("omid@example.com", first_name="Omid", tags={"lead"}, custom={"a": 1, "b": 2})
    answer = api.patch(
        f"/contacts/{contact_id}",
        admin,
        {
            "last_name": "رضایی",
            "add_tags": ["Hot"],
            "remove_tags": ["LEAD"],
            "custom": {"a": None, "c": 3},
        },
    )
    assert answer.status == 200
    body = answer.body
    assert (body["first_name"], body["last_name"], body["tags"], body["custom"]) == (
        "Omid",
        "رضایی",
        ["hot"],
        {"b": 2, "c": 3},
    )
    assert body["version"] == 2
    stored = get_contact(contact_id)
    assert (stored.last_name, stored.tags) == ("رضایی", {"hot"})


def test_patch_refuses_unknown_fields_an_empty_change_and_a_taken_email(api, admin) -> None:
    contact_id = _new("omid@example.com")
    _new("taken@example.com")
    unknown = api.patch(f"/contacts/{contact_id}", admin, {"frist_name": "O"})
    assert (unknown.status, unknown.error["message"]) == (
        400,
        "the body has 1 problem(s): unknown field 'frist_name'; did you mean 'first_name'?",
    )
    empty = api.patch(f"/contacts/{contact_id}", admin, {})
    assert (empty.status, empty.error["message"]) == (
        400,
        "the body changes nothing: name at least one field",
    )
    for field in ("email", "lifecycle_stage", "score", "email_consent"):
        nulled = api.patch(f"/contacts/{contact_id}", admin, {field: None})
        assert (nulled.status, nulled.error["message"]) == (
            400,
            f"{field}: cannot be null; every contact has one",
        )
    cleared = api.patch(f"/contacts/{contact_id}", admin, {"tags": None, "city": None})
    assert (cleared.status, cleared.body["tags"], cleared.body["city"]) == (200, [], None)
    taken = api.patch(f"/contacts/{contact_id}", admin, {"email": "Taken@example.com"})
    assert (taken.status, taken.error["code"]) == (409, "DuplicateEmail")
    moved = api.patch(
        f"/contacts/{contact_id}", admin, {"email": "omid.new@example.com", "score": 10}
    )
    assert (moved.body["email"], moved.body["score"]) == ("omid.new@example.com", 10)
    assert isinstance(get_contact(contact_id).score, int)


def test_patch_reads_a_local_phone_with_the_stored_country(api, admin) -> None:
    contact_id = _new("omid@example.com", country="IR")
    answer = api.patch(f"/contacts/{contact_id}", admin, {"phone": "0912 345 6789"})
    assert answer.body["phone"] == "+989123456789"


# --- sales reps: their own contacts only ------------------------------------------------------------


def test_a_sales_rep_reads_and_changes_only_their_own_contacts(api) -> None:
    rep = api.key("sales_rep", user_id="u_rep")
    mine = _new("mine@example.com", owner_id="u_rep")
    theirs = _new("theirs@example.com", owner_id="u_other")
    unowned = _new("nobody@example.com")
    assert api.get(f"/contacts/{mine}", rep).status == 200
    for contact_id in (theirs, unowned):
        answer = api.get(f"/contacts/{contact_id}", rep)
        assert (answer.status, answer.error["message"]) == (
            403,
            "this key (role sales_rep) lacks contacts:read on records owned by others",
        )
    refused = api.patch(f"/contacts/{theirs}", rep, {"city": "Yazd"})
    assert (refused.status, refused.error["message"]) == (
        403,
        "this key (role sales_rep) lacks contacts:write on records owned by others",
    )
    assert get_contact(theirs).city is None
    assert api.get(f"/contacts/{theirs}/timeline", rep).status == 403
    assert api.get(f"/contacts/{theirs}/enrollments", rep).status == 403
    given_away = api.patch(f"/contacts/{mine}", rep, {"owner_id": "u_other"})
    assert given_away.status == 403
    assert get_contact(mine).owner_id == "u_rep"


def test_nulls_in_a_new_contact_leave_the_defaults(api, admin) -> None:
    sent = {"email": "n@example.com", "lifecycle_stage": None, "score": None, "tags": None}
    answer = api.post("/contacts", admin, sent)
    assert answer.status == 400  # tags: a list, not null
    del sent["tags"]
    created = api.post("/contacts", admin, sent).body
    assert (created["lifecycle_stage"], created["score"]) == ("subscriber", 0)


def test_a_sales_reps_new_contact_is_theirs(api) -> None:
    rep = api.key("sales_rep", user_id="u_rep")
    created = api.post("/contacts", rep, {"email": "lead@example.com"})
    assert (created.status, created.body["owner_id"]) == (201, "u_rep")
    for_someone_else = api.post("/contacts", rep, {"email": "b@example.com", "owner_id": "u_other"})
    assert for_someone_else.status == 403


def test_a_sales_reps_search_covers_only_their_own_contacts(api) -> None:
    rep = api.key("sales_rep", user_id="u_rep")
    mine = _new("mine@example.com", owner_id="u_rep", tags={"vip"})
    _new("theirs@example.com", owner_id="u_other", tags={"vip"})
    by_owner = api.get("/contacts?owner=u_other", rep).body
    assert by_owner["filter"] == {"owner": "u_rep"}  # forced to their own
    assert [c["contact_id"] for c in by_owner["contacts"]] == [mine]
    by_tag = api.get("/contacts?tag=vip", rep).body["contacts"]
    assert [c["contact_id"] for c in by_tag] == [mine]
    assert api.get("/contacts?email=theirs@example.com", rep).body["contacts"] == []


# --- search -------------------------------------------------------------------------------------------


def _ids(answer) -> list[str]:
    return [c["contact_id"] for c in answer.body["contacts"]]


def _all_pages(api: Api, key: str, query: str) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        answer = api.get(f"/contacts?{query}" + (f"&cursor={cursor}" if cursor else ""), key)
        assert answer.status == 200, answer.body
        pages.append(_ids(answer))
        cursor = answer.body["next"]
        if cursor is None:
            return pages


def _flat(pages: list[list[str]]) -> list[str]:
    return [i for page in pages for i in page]


def test_search_by_each_access_pattern_pages_with_a_cursor(api, admin) -> None:
    ids = [
        _new(
            f"p{i}@example.com",
            owner_id="u_1",
            lifecycle_stage="lead",
            tags={"vip"},
            products={"pro"},
        )
        for i in range(5)
    ]
    _new("other@example.com", owner_id="u_2", lifecycle_stage="customer")
    newest_first = list(reversed(ids))

    assert _ids(api.get("/contacts?email=P3@Example.com", admin)) == [ids[3]]
    assert _ids(api.get("/contacts?email=nobody@example.com", admin)) == []
    assert _all_pages(api, admin, "owner=u_1&limit=2") == [
        newest_first[:2],
        newest_first[2:4],
        newest_first[4:],
    ]
    assert _flat(_all_pages(api, admin, "stage=lead&limit=3")) == newest_first
    assert _all_pages(api, admin, "tag=VIP&limit=2") == [
        sorted(ids)[:2],
        sorted(ids)[2:4],
        sorted(ids)[4:],
    ]
    assert _flat(_all_pages(api, admin, "product=pro&limit=4")) == sorted(ids)
    stale = _flat(_all_pages(api, admin, "not_contacted_days=0&limit=2"))
    assert sorted(stale) == sorted([*ids, *_ids(api.get("/contacts?owner=u_2", admin))])


def test_not_contacted_finds_those_last_contacted_long_ago(api, admin) -> None:
    old = _new("old@example.com")
    _new("fresh@example.com")
    update_contact(
        old, lambda c: setattr(c, "last_contacted_at", datetime.now(UTC) - timedelta(days=40))
    )
    assert _ids(api.get("/contacts?not_contacted_days=30", admin)) == [old]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "tag=a&stage=lead",
            "the query has 1 problem(s): give at most one of name, email, company, owner, stage, tag, product, not_contacted_days; got stage, tag",
        ),
        ("name=s", "name: type at least 2 letters or digits to search"),
        (
            "not_contacted_days=soon",
            "the query has 1 problem(s): not_contacted_days: input should be a valid integer, unable to parse string as an integer, got 'soon'",
        ),
        (
            "tag=a&limit=0",
            "the query has 1 problem(s): limit: input should be greater than or equal to 1, got '0'",
        ),
        ("tag=a&colour=red", "the query has 1 problem(s): unknown field 'colour'"),
        ("tag=a&cursor=bm9wZQ", "cursor: not a cursor this list gave out; start again without one"),
        (
            "owner=u_1&cursor=%%%",
            "cursor: not a cursor this list gave out; start again without one",
        ),
        # Edited cursors: {"offset": {"N": "-1"}} and {"offset": {"N": "x"}}
        (
            "not_contacted_days=1&cursor=eyJvZmZzZXQiOnsiTiI6Ii0xIn19",
            "cursor: not a cursor this list gave out; start again without one",
        ),
        (
            "not_contacted_days=1&cursor=eyJvZmZzZXQiOnsiTiI6IngifX0",
            "cursor: not a cursor this list gave out; start again without one",
        ),
    ],
)
def test_a_bad_search_is_a_400_naming_the_problem(api, admin, query, message) -> None:
    answer = api.get(f"/contacts?{query}", admin)
    assert (answer.status, answer.error["message"]) == (400, message)


def test_a_cursor_of_another_list_is_refused(api, admin) -> None:
    for i in range(3):
        _new(f"p{i}@example.com", owner_id="u_1")
    cursor = api.get("/contacts?owner=u_1&limit=1", admin).body["next"]
    answer = api.get(f"/contacts?owner=u_2&cursor={cursor}", admin)
    assert (answer.status, answer.error["code"]) == (400, "BadRequest")


# --- timeline -------------------------------------------------------------------------------------------


def test_the_timeline_pages_newest_first_with_an_opaque_cursor(api, admin) -> None:
    contact_id = _new("t@example.com")
    other = _new("u@example.com")
    for n in range(5):
        add_activity(contact_id, "note", {"body": f"یادداشت {n}"})
    first = api.get(f"/contacts/{contact_id}/timeline?limit=2", admin).body
    assert [a["data"]["body"] for a in first["activities"]] == ["یادداشت 4", "یادداشت 3"]
    assert first["activities"][0]["kind"] == "note"
    seen = [a["id"] for a in first["activities"]]
    cursor = first["next"]
    while cursor:
        page = api.get(f"/contacts/{contact_id}/timeline?limit=2&cursor={cursor}", admin).body
        seen += [a["id"] for a in page["activities"]]
        cursor = page["next"]
    assert len(seen) == len(set(seen)) == 5
    # A cursor names the contact it belongs to: it cannot page someone else's timeline.
    wrong = api.get(f"/contacts/{other}/timeline?cursor={first['next']}", admin)
    assert (wrong.status, wrong.error["message"]) == (
        400,
        "cursor: not a cursor this list gave out; start again without one",
    )
