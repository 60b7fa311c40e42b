"""Deals and tasks over HTTP on moto's DynamoDB: create, read, change, list by the store's
access patterns; a stage move seen in the by-stage list, a task done leaving the open
list; bad input answered 4xx naming the problem; sales reps kept to their own records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.store import records
from functions.store.contacts import create_contact
from tests.functions.api_support import Api


@pytest.fixture
def api(store) -> Api:
    return Api()


@pytest.fixture
def admin(api) -> str:
    return api.key("admin")


@pytest.fixture
def rep(api) -> str:
    return api.key("sales_rep", user_id="u_rep")


def _contact(email: str = "sara@example.com", **fields) -> str:
    return create_contact({"email": email, **fields}).contact_id


def _deal(name: str = "Renewal", **fields) -> str:
    return records.create_deal(
        {"name": name, "pipeline": "sales", "stage": "qualified", **fields}
    ).deal_id


def _ids(answer, kind: str = "deals") -> list[str]:
    assert answer.status == 200, answer.body
    return [d[f"{kind[:-1]}_id"] for d in answer.body[kind]]


# --- deals: create and read ---------------------------------------------------------------------


def test_a_deal_with_persian_and_arabic_names_round_trips_intact(api, admin) -> None:
    contact_id = _contact(first_name="سارا")
    company = records.create_company({"name": "شركة النور"})
    sent = {
        "name": "تمدید قرارداد سالانه — شركة النور",
        "pipeline": "فروش",
        "stage": "پیشنهاد",
        "amount": 12500.0,
        "currency": "irr",
        "contact_id": contact_id,
        "company_id": company.company_id,
        "close_date": "2027-03-21",
        "custom": {"منبع": "نمایشگاه"},
    }
    created = api.post("/deals", admin, sent)
    assert created.status == 201, created.body
    deal_id = created.body["deal_id"]
    assert created.headers["Location"] == f"/deals/{deal_id}"
    shown = api.get(f"/deals/{deal_id}", admin).body
    assert (shown["name"], shown["pipeline"], shown["stage"]) == (
        "تمدید قرارداد سالانه — شركة النور",
        "فروش",
        "پیشنهاد",
    )
    assert (shown["amount"], shown["currency"], shown["close_date"]) == (12500, "IRR", "2027-03-21")
    assert shown["custom"] == {"منبع": "نمایشگاه"} and shown["version"] == 1
    assert "pipeline_stage" not in shown
    listed = api.get("/deals?pipeline=فروش&stage=پیشنهاد", admin)
    assert _ids(listed) == [deal_id]
    assert listed.body["filter"] == {"pipeline": "فروش", "stage": "پیشنهاد"}
    assert _ids(api.get(f"/deals?contact_id={contact_id}", admin)) == [deal_id]


def test_a_deal_without_a_close_date_shows_none_and_sorts_last(api, admin) -> None:
    later = _deal("Later", close_date="2027-06-01")
    unknown = api.post("/deals", admin, {"name": "?", "pipeline": "sales", "stage": "qualified"})
    assert (unknown.body["close_date"], unknown.body["currency"]) == (None, "USD")
    sooner = _deal("Sooner", close_date="2027-01-15")
    listed = api.get("/deals?pipeline=sales&stage=qualified", admin)
    assert _ids(listed) == [sooner, later, unknown.body["deal_id"]]


def test_an_unknown_deal_is_a_404(api, admin) -> None:
    answer = api.get("/deals/d_nope", admin)
    assert (answer.status, answer.error) == (
        404,
        {"code": "RecordNotFound", "message": "no deal has id 'd_nope'"},
    )
    assert api.patch("/deals/d_nope", admin, {"stage": "won"}).status == 404


# --- deals: bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fields", "message"),
    [
        (
            {"pipeline": "sales", "stage": "qualified"},
            ["name"],
            "name is required",
        ),
        (
            {"name": "X", "pipeline": "sales", "stage": "  ", "amount": -5},
            ["amount", "stage"],
            "amount: input should be greater than or equal to 0, got -5",
        ),
        (
            {"name": "X", "pipeline": "a#b", "stage": "c"},
            ["pipeline"],
            "pipeline: cannot hold '#': it joins pipeline and stage in the deals' index",
        ),
        (
            {"name": "X", "pipeline": "sales", "stage": "won", "close_date": "next week"},
            ["close_date"],
            None,
        ),
        (
            {"name": "X", "pipeline": "sales", "stage": "won", "currency": "dollars"},
            ["currency"],
            "currency: 'dollars' is not a currency code: give three letters, e.g. EUR, IRR",
        ),
        (
            {"name": "X", "pipeline": "sales", "stage": "won", "contact_id": "c_nope"},
            ["contact_id"],
            "contact_id: no contact has id 'c_nope'",
        ),
        (
            {"name": "X", "pipeline": "sales", "stage": "won", "company_id": "co_nope"},
            ["company_id"],
            "company_id: no company has id 'co_nope'",
        ),
        (
            {"name": "X", "pipeline": "sales", "stage": "won", "stgae": "lost"},
            ["stgae"],
            "unknown field 'stgae'; did you mean 'stage'?",
        ),
    ],
)
def test_bad_deal_input_is_a_400_naming_the_field(api, admin, body, fields, message) -> None:
    answer = api.post("/deals", admin, body)
    assert answer.status == 400, answer.body
    assert [f["field"] for f in answer.error["fields"]] == fields
    if message:
        assert answer.error["fields"][0]["message"] == message


def test_a_bad_deal_search_is_a_400_naming_the_problem(api, admin) -> None:
    for query, message in [
        ("", "give pipeline and stage, or contact_id"),
        ("pipeline=sales", "give stage too"),
        ("stage=won&contact_id=c_1", "give pipeline and stage, or contact_id"),
    ]:
        answer = api.get(f"/deals?{query}", admin)
        assert (answer.status, answer.error["message"]) == (
            400,
            f"the query has 1 problem(s): {message}",
        )
    cursor = api.get("/deals?contact_id=c_1&cursor=bm9wZQ", admin)
    assert (cursor.status, cursor.error["message"]) == (
        400,
        "cursor: not a cursor this list gave out; start again without one",
    )


# --- deals: change ------------------------------------------------------------------------------


def test_a_stage_move_shows_in_the_by_stage_lists(api, admin) -> None:
    deal_id = _deal(amount=900, custom={"a": 1, "b": 2})
    moved = api.patch(
        f"/deals/{deal_id}", admin, {"stage": "proposal", "custom": {"a": None, "c": 3}}
    )
    assert moved.status == 200, moved.body
    assert (moved.body["stage"], moved.body["amount"], moved.body["custom"]) == (
        "proposal",
        900,
        {"b": 2, "c": 3},
    )
    assert moved.body["version"] == 2
    assert _ids(api.get("/deals?pipeline=sales&stage=proposal", admin)) == [deal_id]
    assert _ids(api.get("/deals?pipeline=sales&stage=qualified", admin)) == []
    assert records.get_deal(deal_id).pipeline_stage == "sales#proposal"

    other_pipeline = api.patch(f"/deals/{deal_id}", admin, {"pipeline": "renewals"}).body
    assert (other_pipeline["pipeline"], other_pipeline["stage"]) == ("renewals", "proposal")
    assert _ids(api.get("/deals?pipeline=renewals&stage=proposal", admin)) == [deal_id]


def test_patch_refuses_an_empty_change_nulls_of_required_fields_and_clears_others(
    api, admin
) -> None:
    deal_id = _deal(close_date="2027-01-01", amount=5)
    empty = api.patch(f"/deals/{deal_id}", admin, {})
    assert (empty.status, empty.error["message"]) == (
        400,
        "the body changes nothing: name at least one field",
    )
    for field in ("name", "pipeline", "stage", "currency"):
        nulled = api.patch(f"/deals/{deal_id}", admin, {field: None})
        assert (nulled.status, nulled.error["message"]) == (
            400,
            f"{field}: cannot be null; every deal has one",
        )
    cleared = api.patch(f"/deals/{deal_id}", admin, {"close_date": None, "amount": None}).body
    assert (cleared["close_date"], cleared["amount"]) == (None, None)
    assert records.get_deal(deal_id).close_date == "9999-12-31"  # still in the index, last


def test_deals_page_with_a_cursor(api, admin) -> None:
    contact_id = _contact()
    ids = [_deal(f"D{i}", contact_id=contact_id, close_date=f"2027-01-0{i + 1}") for i in range(5)]
    pages, cursor = [], None
    while True:
        answer = api.get(
            "/deals?pipeline=sales&stage=qualified&limit=2"
            + (f"&cursor={cursor}" if cursor else ""),
            admin,
        )
        pages.append(_ids(answer))
        cursor = answer.body["next"]
        if cursor is None:
            break
    assert [i for page in pages for i in page] == ids
    first = api.get(f"/deals?contact_id={contact_id}&limit=3", admin).body
    rest = api.get(f"/deals?contact_id={contact_id}&cursor={first['next']}", admin).body
    newest_first = [d["deal_id"] for d in first["deals"] + rest["deals"]]
    assert newest_first == list(reversed(ids))


# --- deals: sales reps --------------------------------------------------------------------------


def test_a_sales_rep_reads_and_changes_only_their_own_deals(api, rep) -> None:
    mine = _deal("Mine", owner_id="u_rep")
    theirs = _deal("Theirs", owner_id="u_other")
    unowned = _deal("Nobody's")
    assert api.get(f"/deals/{mine}", rep).status == 200
    for deal_id in (theirs, unowned):
        answer = api.get(f"/deals/{deal_id}", rep)
        assert (answer.status, answer.error["message"]) == (
            403,
            "this key (role sales_rep) lacks deals:read on records owned by others",
        )
    refused = api.patch(f"/deals/{theirs}", rep, {"stage": "won"})
    assert (refused.status, refused.error["message"]) == (
        403,
        "this key (role sales_rep) lacks deals:write on records owned by others",
    )
    assert records.get_deal(theirs).stage == "qualified"
    assert api.patch(f"/deals/{mine}", rep, {"owner_id": "u_other"}).status == 403
    assert api.patch(f"/deals/{mine}", rep, {"stage": "won"}).body["stage"] == "won"
    listed = api.get("/deals?pipeline=sales&stage=qualified", rep)
    assert _ids(listed) == []  # theirs and nobody's are left out


def test_a_sales_reps_new_deal_is_theirs_and_links_only_their_contacts(api, rep) -> None:
    own_contact = _contact("mine@example.com", owner_id="u_rep")
    other_contact = _contact("theirs@example.com", owner_id="u_other")
    created = api.post(
        "/deals", rep, {"name": "X", "pipeline": "sales", "stage": "new", "contact_id": own_contact}
    )
    assert (created.status, created.body["owner_id"]) == (201, "u_rep")
    for_someone_else = {"name": "X", "pipeline": "sales", "stage": "new", "owner_id": "u_other"}
    assert api.post("/deals", rep, for_someone_else).status == 403
    linked = api.post(
        "/deals",
        rep,
        {"name": "X", "pipeline": "sales", "stage": "new", "contact_id": other_contact},
    )
    assert (linked.status, linked.error["message"]) == (
        403,
        "this key (role sales_rep) lacks contacts:read on records owned by others",
    )


def test_marketers_and_read_only_keys_read_deals_but_do_not_change_them(api) -> None:
    deal_id = _deal()
    for role in ("marketer", "read_only"):
        key = api.key(role)
        assert api.get(f"/deals/{deal_id}", key).status == 200
        answer = api.patch(f"/deals/{deal_id}", key, {"stage": "won"})
        assert (answer.status, answer.error["message"]) == (
            403,
            f"this key (role {role}) lacks deals:write",
        )


# --- tasks --------------------------------------------------------------------------------------


def _due(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def test_open_tasks_by_due_date_and_a_task_done_leaves_the_list(api, admin) -> None:
    contact_id = _contact()
    deal_id = _deal()
    later = api.post(
        "/tasks",
        admin,
        {"title": "پیگیری تلفنی با سارا", "due_at": _due(3), "assignee_id": "u_rep",
         "task_type": "call", "priority": "high", "contact_id": contact_id, "deal_id": deal_id},
    )  # fmt: skip
    assert later.status == 201, later.body
    task = later.body
    assert later.headers["Location"] == f"/tasks/{task['task_id']}"
    assert (task["title"], task["status"], task["task_type"], task["priority"]) == (
        "پیگیری تلفنی با سارا",
        "open",
        "call",
        "high",
    )
    assert "assignee_open" not in task
    sooner = api.post(
        "/tasks", admin, {"title": "Send quote", "due_at": _due(1), "assignee_id": "u_rep"}
    )
    listed = api.get("/tasks?assignee=u_rep", admin)
    assert _ids(listed, "tasks") == [sooner.body["task_id"], task["task_id"]]
    assert listed.body["filter"] == {"assignee": "u_rep"}

    done = api.post(f"/tasks/{sooner.body['task_id']}/done", admin)
    assert (done.status, done.body["status"]) == (200, "done")
    assert _ids(api.get("/tasks?assignee=u_rep", admin), "tasks") == [task["task_id"]]
    again = api.post(f"/tasks/{sooner.body['task_id']}/done", admin)
    assert (again.status, again.body["status"]) == (200, "done")
    assert api.post("/tasks/t_nope/done", admin).status == 404


def test_tasks_default_to_the_keys_user_and_page_with_a_cursor(api, admin) -> None:
    made = [api.post("/tasks", admin, {"title": f"T{i}", "due_at": _due(i + 1)}) for i in range(3)]
    assert {m.body["assignee_id"] for m in made} == {"u_ana"}
    first = api.get("/tasks?limit=2", admin).body
    rest = api.get(f"/tasks?limit=2&cursor={first['next']}", admin).body
    assert [t["title"] for t in first["tasks"] + rest["tasks"]] == ["T0", "T1", "T2"]
    assert rest["next"] is None


def test_bad_task_input_is_a_400_naming_the_field(api, admin) -> None:
    naive = api.post("/tasks", admin, {"title": "X", "due_at": "2027-03-01T09:00:00"})
    assert (naive.status, [f["field"] for f in naive.error["fields"]]) == (400, ["due_at"])
    assert "timezone" in naive.error["message"]
    missing = api.post("/tasks", admin, {"title": " ", "task_type": "nap"})
    assert [f["field"] for f in missing.error["fields"]] == ["title", "task_type", "due_at"]
    no_contact = api.post("/tasks", admin, {"title": "X", "due_at": _due(1), "contact_id": "c_no"})
    assert (no_contact.status, no_contact.error["fields"]) == (
        400,
        [{"field": "contact_id", "message": "contact_id: no contact has id 'c_no'"}],
    )
    no_deal = api.post("/tasks", admin, {"title": "X", "due_at": _due(1), "deal_id": "d_no"})
    assert no_deal.error["fields"][0]["message"] == "deal_id: no deal has id 'd_no'"


def test_a_sales_rep_sees_and_closes_only_their_own_tasks(api, rep) -> None:
    mine = records.create_task({"title": "Mine", "assignee_id": "u_rep"}, datetime.now(UTC))
    theirs = records.create_task({"title": "Theirs", "assignee_id": "u_other"}, datetime.now(UTC))
    listed = api.get("/tasks?assignee=u_other", rep)
    assert listed.body["filter"] == {"assignee": "u_rep"}  # forced to their own
    assert _ids(listed, "tasks") == [mine.task_id]
    refused = api.post(f"/tasks/{theirs.task_id}/done", rep)
    assert (refused.status, refused.error["message"]) == (
        403,
        "this key (role sales_rep) lacks tasks:write on records owned by others",
    )
    assert records.get_task(theirs.task_id).status == "open"
    for_other = api.post("/tasks", rep, {"title": "X", "due_at": _due(1), "assignee_id": "u_other"})
    assert for_other.status == 403
    own = api.post("/tasks", rep, {"title": "X", "due_at": _due(1)})
    assert (own.status, own.body["assignee_id"]) == (201, "u_rep")
    assert api.post(f"/tasks/{mine.task_id}/done", rep).status == 200
