"""Contact import from CSV on moto: exact counts and rejections of a messy file, dedupe
against stored contacts, and the `crmflow import` command."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from functions.errors import BadMapping, InvalidRecord, UnreadableFile
from functions.store import normalize
from functions.store.contacts import contact_ids_by_tag, create_contact, find_by_email
from functions.store.importer import (
    ImportReport,
    Rejection,
    import_contacts,
    map_columns,
)

ROOT = Path(__file__).parents[2]
SCRIPT = Path(sys.executable).parent / "crmflow"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "infra.cli"]

# Semicolons, a BOM, Persian and Arabic text and digits, duplicates differing in case and
# spaces, bad and missing emails, empty rows, a quoted tag list holding the delimiter.
MESSY = "\n".join([
    "E-mail;First Name;نام خانوادگی;Mobile;Country;Tags;Email Consent;Favourite Colour",
    "ali@example.com;علی;رضایی;۰۹۱۲ ۳۴۵ ۶۷۸۹;IR;VIP, Lead;بله;آبی",    # 2 imported
    "  ALI@Example.com ;Ali;R;;;;;",                                    # 3 duplicate of 2
    "sara@example.com;سارة;العلي;٠١٠٠ ١٢٣ ٤٥٦٧;EG;lead;نعم;",          # 4 imported
    "",                                                                 # 5 empty
    "not-an-email;Bob;;;;;;",                                           # 6 bad email
    ";NoEmail;;;;;;",                                                   # 7 missing email
    ";;;;;;;",                                                          # 8 empty
    "john@example.com;John;Smith;030 1234567;;Customer;yes;",          # 9 imported, --region DE
    "bad-phone@example.com;X;;12;;;;",                                  # 10 bad phone
    "existing@example.com;Old;;;;;;",                                   # 11 already stored
    'mina@example.com;مینا;;;;"a;b";maybe;',                            # 12 bad consent
    "john@example.com ;Johnny;;;;;;",                                   # 13 duplicate of 9
    "nora@example.com;Nora;;;;;0;سبز",                                  # 14 imported
]) + "\n"


def reason(check, *args: str) -> str:
    """The message normalize gives, so a reworded message there does not break this test."""
    with pytest.raises(InvalidRecord) as caught:
        check(*args)
    return str(caught.value)


def messy_file(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"\xef\xbb\xbf" + MESSY.encode("utf-8"))
    return path


def expected_rejections() -> list[Rejection]:
    return [
        Rejection(3, "email", "duplicate of row 2"),
        Rejection(5, "row", "empty row"),
        Rejection(6, "email", reason(normalize.email, "not-an-email")),
        Rejection(7, "email", "email is missing"),
        Rejection(8, "row", "empty row"),
        Rejection(10, "phone", reason(normalize.phone, "12", "DE")),
        Rejection(11, "email", "a contact with this email already exists"),
        Rejection(12, "email_consent", "'maybe' is not yes or no"),
        Rejection(13, "email", "duplicate of row 9"),
    ]


def run_messy(tmp_path: Path) -> ImportReport:
    create_contact({"email": "Existing@example.com", "first_name": "Stored"})
    ticks: list[int] = []
    report = import_contacts(messy_file(tmp_path), default_region="DE", progress=ticks.append)
    assert sum(ticks) == report.rows_read
    return report


def test_messy_csv_exact_counts_and_rejections(store, tmp_path: Path) -> None:
    report = run_messy(tmp_path)
    assert (report.rows_read, report.imported, len(report.rejected)) == (13, 4, 9)
    assert report.rejected == expected_rejections()
    assert report.imported + len(report.rejected) == report.rows_read


def test_imported_fields_are_normalised_and_scripts_intact(store, tmp_path: Path) -> None:
    run_messy(tmp_path)
    ali = find_by_email("ALI@example.com")
    assert ali is not None
    assert (ali.first_name, ali.last_name, ali.phone) == ("علی", "رضایی", "+989123456789")
    assert (ali.tags, ali.email_consent, ali.custom) == ({"vip", "lead"}, True, {"favourite_colour": "آبی"})
    sara = find_by_email("sara@example.com")
    assert (sara.first_name, sara.last_name, sara.phone) == ("سارة", "العلي", "+201001234567")
    john = find_by_email("john@example.com")
    assert (john.first_name, john.phone, john.tags) == ("John", "+49301234567", {"customer"})
    nora = find_by_email("nora@example.com")
    assert (nora.email_consent, nora.custom) == (False, {"favourite_colour": "سبز"})
    assert find_by_email("existing@example.com").first_name == "Stored"  # not overwritten


def test_imported_contacts_are_found_by_tag(store, tmp_path: Path) -> None:
    run_messy(tmp_path)
    by_email = {e: find_by_email(e).contact_id for e in ("ali@example.com", "sara@example.com")}
    assert set(contact_ids_by_tag("Lead")) == set(by_email.values())
    assert list(contact_ids_by_tag("vip")) == [by_email["ali@example.com"]]


def test_reimporting_the_same_file_rejects_every_row(store, tmp_path: Path) -> None:
    first = run_messy(tmp_path)
    again = import_contacts(messy_file(tmp_path), default_region="DE")
    assert (again.rows_read, again.imported) == (13, 0)
    exists = {r.row for r in again.rejected if r.reason.endswith("already exists")}
    assert exists == {2, 4, 9, 14} | {11}
    assert len(first.contact_ids) == 4


def test_headers_are_guessed_in_english_persian_and_arabic() -> None:
    header = ["Email Address", "Given name", "نام", "نام خانوادگی", "تلفن",
              "البريد الإلكتروني", "الاسم", "الهاتف", "Company", "Phone Number", "Shoe Size"]
    assert map_columns(header) == [
        "email", "first_name", "custom.نام", "last_name", "phone",
        "custom.البريد_الإلكتروني", "custom.الاسم", "custom.الهاتف", "company_name",
        "custom.phone_number", "custom.shoe_size",
    ]
    assert map_columns(["ایمیل", "نام", "تلفن"]) == ["email", "first_name", "phone"]
    assert map_columns(["البريد الإلكتروني", "الاسم", "الهاتف"]) == ["email", "first_name", "phone"]


def test_given_mapping_wins_and_bad_mappings_are_refused(store) -> None:
    text = "Kontakt,Vorname,Notiz\nx@example.com,Xaver,hallo\n"
    report = import_contacts(io.StringIO(text), mapping={"Kontakt": "email", "Vorname": "first_name"})
    assert (report.imported, find_by_email("x@example.com").custom) == (1, {"notiz": "hallo"})
    with pytest.raises(BadMapping, match="no column holds the email"):
        import_contacts(io.StringIO(text))
    with pytest.raises(BadMapping, match="no column named 'Nope'"):
        import_contacts(io.StringIO(text), mapping={"Nope": "email"})
    with pytest.raises(BadMapping, match="unknown field 'mail'"):
        import_contacts(io.StringIO(text), mapping={"Kontakt": "mail"})


def test_more_rows_than_a_claim_check_and_a_write_batch(store) -> None:
    rows = [f"user{i}@example.com,tag{i % 3}" for i in range(260)]
    report = import_contacts(io.StringIO("email,tags\n" + "\n".join(rows) + "\n"))
    assert (report.rows_read, report.imported, report.rejected) == (260, 260, [])
    assert len(set(contact_ids_by_tag("tag1"))) == 87


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8 text"),
        (b"email\x00,name\n", "binary"),
        (b"", "empty"),
    ],
)
def test_unreadable_files_are_refused(store, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=message):
        import_contacts(path)


def crmflow(*args: str | Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*COMMAND, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
        encoding="utf-8", timeout=120,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def test_cli_import_prints_summary_and_writes_report(tmp_path: Path) -> None:
    report_csv = tmp_path / "rejected.csv"
    result = crmflow("import", "--local", messy_file(tmp_path), "--region", "DE",
                     "--report", report_csv)
    assert result.returncode == 0, result.stderr
    # --local starts empty, so row 11 (stored in the other tests) is imported here.
    assert "imported 5 of 13 rows; 8 rejected — see" in result.stdout
    with open(report_csv, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    expected = [r for r in expected_rejections() if r.row != 11]
    assert rows == [["row", "field", "reason"]] + [[str(r.row), r.field, r.reason] for r in expected]


def test_cli_import_refuses_a_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(bytes(range(256)) * 4)
    result = crmflow("import", "--local", path)
    assert result.returncode == 1
    assert "not UTF-8 text" in result.stderr


def test_cli_import_help_mentions_local() -> None:
    result = crmflow("import", "--help")
    assert result.returncode == 0 and "--local" in result.stdout


def test_fast_contact_items_match_build_contact(store) -> None:
    from functions.store.contacts import build_contact
    from functions.store.importer import contact_item

    fields = {"email": "a@example.com", "first_name": "علی", "last_name": None, "score": 7,
              "phone": "+989123456789", "tags": {"vip"}, "email_consent": True,
              "custom": {"colour": "آبی"}}
    fast, slow = contact_item(fields), build_contact(fields).serialize()
    moving = {"contact_id", "contact_shard", "created_at", "updated_at", "last_touch_at"}
    assert {k: v for k, v in fast.items() if k not in moving} == {
        **{k: v for k, v in slow.items() if k not in moving}, "version": {"N": "1"}
    }


def test_imported_contacts_can_be_updated(store) -> None:
    from functions.store.contacts import update_contact

    report = import_contacts(io.StringIO("email,tags\nu@example.com,old\n"))
    contact = update_contact(report.contact_ids[0], lambda c: setattr(c, "tags", {"new"}))
    assert (contact.version, contact.tags) == (2, {"new"})
    assert (list(contact_ids_by_tag("old")), list(contact_ids_by_tag("new"))) == ([], [contact.contact_id])
