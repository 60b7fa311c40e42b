"""Contact import over HTTP: a CSV body in, the importer's report out."""

from __future__ import annotations

import pytest

from functions.store.contacts import create_contact, find_by_email
from tests.functions.api_support import Api


@pytest.fixture
def api(store) -> Api:
    return Api()


def test_an_import_reports_every_rejected_row_with_its_field_and_reason(api) -> None:
    create_contact({"email": "taken@example.com"})
    csv = (
        "ایمیل,نام,Phone,Plan\n"
        "sara@example.com,سارا,+98 912 345 6789,pro\n"
        "not-an-email,Omid,,basic\n"
        "taken@example.com,Taken,,basic\n"
        "SARA@example.com,Again,,pro\n"
    )
    answer = api.post("/imports", api.key("marketer"), raw=csv.encode(), content_type="text/csv")
    assert answer.status == 200
    assert (answer.body["rows_read"], answer.body["imported"]) == (4, 1)
    assert answer.body["rejected"] == [
        {
            "row": 3,
            "field": "email",
            "reason": "'not-an-email' is not a valid email: An email address must have an @-sign.",
        },
        {"row": 4, "field": "email", "reason": "a contact with this email already exists"},
        {"row": 5, "field": "email", "reason": "duplicate of row 2"},
    ]
    assert answer.body["mapping"] == {
        "ایمیل": "email",
        "نام": "first_name",
        "Phone": "phone",
        "Plan": "custom.plan",
    }
    sara = find_by_email("sara@example.com")
    assert (sara.first_name, sara.phone, sara.custom) == ("سارا", "+989123456789", {"plan": "pro"})


def test_a_mapping_and_region_come_from_the_query(api) -> None:
    csv = "Correo,Móvil\nana@example.com,0151 23456789\n"
    answer = api.post(
        "/imports?map=Correo=email&map=M%C3%B3vil=phone&region=DE",
        api.key("admin"),
        raw=csv,
        content_type="text/csv; charset=utf-8",
    )
    assert (answer.status, answer.body["imported"]) == (200, 1)
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
