"""Contact import over HTTP: a CSV body in, the importer's report out, with the same counts,
rejections and warnings as the command line; the region from the query or the workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from functions.store.contacts import contact_ids_by_tag, create_contact, find_by_email
from tests.functions.api_support import Api

MENA = Path(__file__).parents[1] / "fixtures" / "mena_export.csv"


@pytest.fixture
def api(store) -> Api:
    return Api()


def test_an_import_counts_every_row_and_merges_repeated_addresses(api) -> None:
    taken = create_contact({"email": "taken@example.com"})
    csv = (
        "ایمیل,نام,Phone,Plan\n"
        "sara@example.com,سارا,+98 912 345 6789,pro\n"
        "not-an-email,Omid,,basic\n"
        "taken@example.com,Taken,,basic\n"
        "SARA@example.com,Again,,pro\n"
    )
    answer = api.post("/imports", api.key("marketer"), raw=csv.encode(), content_type="text/csv")
    assert answer.status == 200
    counts = ("rows_read", "new", "merged", "empty", "imported", "warnings")
    assert {k: answer.body[k] for k in counts} == {
        "rows_read": 4,
        "new": 1,
        "merged": 2,
        "empty": 0,
        "imported": 3,  # new + merged, as clients read it before merging existed
        "warnings": [],
    }
    assert answer.body["rejected"] == [
        {
            "row": 3,
            "field": "email",
            "reason": "'not-an-email' is not a valid email: An email address must have an @-sign.",
        },
    ]
    assert answer.body["summary"] == "1 new, 2 merged, 1 rejected, 0 empty rows skipped, 0 warnings"
    assert find_by_email("taken@example.com").first_name == "Taken"
    assert find_by_email("taken@example.com").contact_id == taken.contact_id
    assert answer.body["mapping"] == {
        "ایمیل": "email",
        "نام": "first_name",
        "Phone": "phone",
        "Plan": "custom.plan",
    }
    sara = find_by_email("sara@example.com")  # row 5's name replaces row 2's
    assert (sara.first_name, sara.phone, sara.custom) == ("Again", "+989123456789", {"plan": "pro"})


def test_a_mapping_and_region_come_from_the_query(api) -> None:
    csv = "Correo,Móvil\nana@example.com,0151 23456789\n"
    answer = api.post(
        "/imports?map=Correo=email&map=M%C3%B3vil=phone&region=DE",
        api.key("admin"),
        raw=csv,
        content_type="text/csv; charset=utf-8",
    )
    assert (answer.status, answer.body["new"], answer.body["imported"]) == (200, 1, 1)
    assert find_by_email("ana@example.com").phone == "+4915123456789"


@pytest.mark.parametrize(
    ("query", "body", "status", "message"),
    [
        ("map=Correo", b"Correo\na@example.com\n", 400, "map: 'Correo' is not COLUMN=FIELD"),
        ("map=Nope=email", b"email\na@example.com\n", 400, "no column named 'Nope' in the header"),
        (
            "",
            b"first name\nAna\n",
            400,
            "no column holds the email; name one with --map COLUMN=email",
        ),
        ("", b"", 400, "the file is empty"),
        ("", b"email\n\xff\xfe\n", 400, "not UTF-8 text (byte 6); save the file as CSV UTF-8"),
        (
            "region=Iran",
            b"email\na@example.com\n",
            400,
            "the query has 1 problem(s): region: 'Iran' is not a two-letter country code "
            "(ISO 3166), e.g. IR, AE, DE",
        ),
    ],
)
def test_a_file_that_cannot_be_imported_is_a_400_saying_why(
    api, query, body, status, message
) -> None:
    answer = api.post(f"/imports?{query}", api.key("admin"), raw=body, content_type="text/csv")
    assert (answer.status, answer.error["message"]) == (status, message)


def test_an_import_needs_imports_write(api) -> None:
    answer = api.post(
        "/imports", api.key("read_only"), raw="email\na@b.co\n", content_type="text/csv"
    )
    assert (answer.status, answer.error["message"]) == (
        403,
        "this key (role read_only) lacks imports:write",
    )


def mena_answer(api: Api, key: str, query: str = "") -> dict:
    answer = api.post(f"/imports{query}", key, raw=MENA.read_bytes(), content_type="text/csv")
    assert answer.status == 200, answer.body
    return answer.body


def test_the_mena_export_over_http_counts_merges_and_warns_exactly(api) -> None:
    existing = create_contact({"email": "existing@example.com", "tags": {"old"}})
    admin = api.key("admin")
    assert api.put("/settings", admin, {"default_region": "IR"}).status == 200
    body = mena_answer(api, api.key("marketer"))
    assert {k: body[k] for k in ("rows_read", "new", "merged", "empty", "imported")} == {
        "rows_read": 15,
        "new": 8,
        "merged": 3,
        "empty": 2,
        "imported": 11,
    }
    assert body["rejected"] == [
        {"row": 9, "field": "email", "reason": "email is missing"},
        {
            "row": 10,
            "field": "email",
            "reason": "'not-an-email' is not a valid email: An email address must have an @-sign.",
        },
    ]
    assert [(w["row"], w["field"]) for w in body["warnings"]] == [
        (5, "phone"),
        (13, "phone"),
        (13, "score"),
        (13, "time_zone"),
        (13, "email_consent"),
    ]
    assert body["warnings"][0]["reason"] == (
        "'+98 955 123 4567' is outside the number ranges known to be in use in IR; "
        "stored as +989551234567, check it"
    )
    assert body["summary"] == "8 new, 3 merged, 2 rejected, 2 empty rows skipped, 5 warnings"
    assert find_by_email("omid@example.com").phone == "+989121112233"  # the workspace's IR
    assert find_by_email("reza@example.com").phone == "+989551234567"
    assert find_by_email("sara@example.ae").phone == "+971501234567"
    merged = find_by_email("existing@example.com")
    assert (merged.contact_id, merged.tags) == (existing.contact_id, {"old", "new-tag"})
    assert list(contact_ids_by_tag("new-tag")) == [existing.contact_id]


def test_the_query_region_beats_the_workspace_setting(api) -> None:
    api.put("/settings", api.key("admin"), {"default_region": "FR"})
    csv = "email,phone\nomid@example.com,0912 111 2233\n"
    key = api.key("marketer")
    by_setting = api.post("/imports", key, raw=csv, content_type="text/csv").body
    assert by_setting["warnings"] == [
        {
            "row": 2,
            "field": "phone",
            "reason": "'0912 111 2233' is not a phone number: too long; "
            "kept as typed in custom.phone_as_typed",
        }
    ]
    by_query = api.post("/imports?region=ir", key, raw=csv, content_type="text/csv").body
    assert (by_query["merged"], by_query["warnings"]) == (1, [])
    assert find_by_email("omid@example.com").phone == "+989121112233"
