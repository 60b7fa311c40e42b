"""Contact import from CSV on moto: exact counts, rejections and warnings of messy files
(a real-world MENA export among them), merging within the file and into stored contacts,
and the `crmflow import` command."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from functions.errors import BadMapping, InvalidRecord, UnreadableFile
from functions.store import normalize
from functions.store.contacts import (
    contact_ids_by_product,
    contact_ids_by_tag,
    create_contact,
    find_by_email,
    update_contact,
)
from functions.store.importer import (
    ImportReport,
    Rejection,
    RowWarning,
    import_contacts,
    map_columns,
)
from functions.store.models import Contact, EmailClaim
from functions.store.settings import update_settings

ROOT = Path(__file__).parents[2]
MENA = ROOT / "tests" / "fixtures" / "mena_export.csv"
SCRIPT = Path(sys.executable).parent / "crmflow"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "infra.cli"]

# Semicolons, a BOM, Persian and Arabic text and digits, duplicates differing in case and
# spaces (merged), bad and missing emails (rejected), empty rows (skipped), a quoted tag list
# holding the delimiter, a phone and a consent that cannot be read (warnings).
MESSY = "\n".join([
    "E-mail;First Name;نام خانوادگی;Mobile;Country;Tags;Email Consent;Favourite Colour",
    "ali@example.com;علی;رضایی;۰۹۱۲ ۳۴۵ ۶۷۸۹;IR;VIP, Lead;بله;آبی",    # 2 new
    "  ALI@Example.com ;Ali;R;;;;;",                                    # 3 merged into 2
    "sara@example.com;سارة;العلي;٠١٠٠ ١٢٣ ٤٥٦٧;EG;lead;نعم;",          # 4 new
    "",                                                                 # 5 empty
    "not-an-email;Bob;;;;;;",                                           # 6 rejected: bad email
    ";NoEmail;;;;;;",                                                   # 7 rejected: no email
    ";;;;;;;",                                                          # 8 empty
    "john@example.com;John;Smith;030 1234567;;Customer;yes;",          # 9 new, --region DE
    "bad-phone@example.com;X;;12;;;;",                                  # 10 new, phone warning
    "existing@example.com;Old;;;;;;",                                   # 11 merged: stored
    'mina@example.com;مینا;;;;"a;b";maybe;',                            # 12 new, consent warning
    "john@example.com ;Johnny;;;;;;",                                   # 13 merged into 9
    "nora@example.com;Nora;;;;;0;سبز",                                  # 14 new
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
        Rejection(6, "email", reason(normalize.email, "not-an-email")),
        Rejection(7, "email", "email is missing"),
    ]


def expected_warnings() -> list[RowWarning]:
    return [
        RowWarning(
            10,
            "phone",
            reason(normalize.phone, "12", "DE") + "; kept as typed in custom.phone_as_typed",
        ),
        RowWarning(
            12,
            "email_consent",
            "'maybe' is not yes or no; not taken as consent, kept as typed in "
            "custom.email_consent_as_typed",
        ),
    ]


def run_messy(tmp_path: Path) -> ImportReport:
    create_contact({"email": "Existing@example.com", "first_name": "Stored"})
    ticks: list[int] = []
    report = import_contacts(messy_file(tmp_path), default_region="DE", progress=ticks.append)
    assert sum(ticks) == report.rows_read
    return report


def test_messy_csv_exact_counts_rejections_and_warnings(store, tmp_path: Path) -> None:
    report = run_messy(tmp_path)
    assert (report.rows_read, report.new, report.merged, report.empty) == (13, 6, 3, 2)
    assert report.rejected == expected_rejections()
    assert report.warnings == expected_warnings()
    assert report.new + report.merged + len(report.rejected) + report.empty == report.rows_read
    assert report.imported == report.new + report.merged == 9
    assert report.summary() == "6 new, 3 merged, 2 rejected, 2 empty rows skipped, 2 warnings"


def test_imported_fields_are_normalised_and_scripts_intact(store, tmp_path: Path) -> None:
    run_messy(tmp_path)
    ali = find_by_email("ALI@example.com")
    assert ali is not None
    # Row 3 repeats the address: its non-empty values replace row 2's, the empty keep them.
    assert (ali.first_name, ali.last_name, ali.phone) == ("Ali", "R", "+989123456789")
    assert (ali.tags, ali.email_consent, ali.custom) == ({"vip", "lead"}, True, {"favourite_colour": "آبی"})
    sara = find_by_email("sara@example.com")
    assert (sara.first_name, sara.last_name, sara.phone) == ("سارة", "العلي", "+201001234567")
    john = find_by_email("john@example.com")
    assert (john.first_name, john.phone, john.tags) == ("Johnny", "+49301234567", {"customer"})
    nora = find_by_email("nora@example.com")
    assert (nora.email_consent, nora.custom) == (False, {"favourite_colour": "سبز"})
    existing = find_by_email("existing@example.com")
    assert (existing.first_name, existing.version) == ("Old", 2)  # merged, under its version
    bad_phone = find_by_email("bad-phone@example.com")
    assert (bad_phone.phone, bad_phone.custom) == (None, {"phone_as_typed": "12"})
    mina = find_by_email("mina@example.com")
    assert (mina.email_consent, mina.tags) == (False, {"a", "b"})  # unreadable: no consent
    assert mina.custom == {"email_consent_as_typed": "maybe"}


def test_imported_contacts_are_found_by_tag(store, tmp_path: Path) -> None:
    run_messy(tmp_path)
    by_email = {e: find_by_email(e).contact_id for e in ("ali@example.com", "sara@example.com")}
    assert set(contact_ids_by_tag("Lead")) == set(by_email.values())
    assert list(contact_ids_by_tag("vip")) == [by_email["ali@example.com"]]


def test_reimporting_the_same_file_merges_every_row_and_writes_nothing(
    store, tmp_path: Path
) -> None:
    first = run_messy(tmp_path)
    versions = {c.contact_id: c.version for c in Contact.scan()}
    again = import_contacts(messy_file(tmp_path), default_region="DE")
    assert (again.rows_read, again.new, again.merged, again.empty) == (13, 0, 9, 2)
    assert again.rejected == expected_rejections()
    assert len(first.contact_ids) == 6 and again.contact_ids == []
    # Every merge would change nothing: no write, so no record trigger fires.
    assert {c.contact_id: c.version for c in Contact.scan()} == versions


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
    assert (report.new, find_by_email("x@example.com").custom) == (1, {"notiz": "hallo"})
    with pytest.raises(BadMapping, match="no column holds the email"):
        import_contacts(io.StringIO(text))
    with pytest.raises(BadMapping, match="no column named 'Nope'"):
        import_contacts(io.StringIO(text), mapping={"Nope": "email"})
    with pytest.raises(BadMapping, match="unknown field 'mail'"):
        import_contacts(io.StringIO(text), mapping={"Kontakt": "mail"})


def test_more_rows_than_a_claim_check_and_a_write_batch(store) -> None:
    rows = [f"user{i}@example.com,tag{i % 3}" for i in range(260)]
    report = import_contacts(io.StringIO("email,tags\n" + "\n".join(rows) + "\n"))
    assert (report.rows_read, report.new, report.merged, report.rejected) == (260, 260, 0, [])
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
    report_csv = tmp_path / "report.csv"
    result = crmflow("import", "--local", messy_file(tmp_path), "--region", "DE",
                     "--report", report_csv)
    assert result.returncode == 0, result.stderr
    # --local starts empty, so row 11 (stored in the other tests) is new here.
    assert result.stdout == (
        "13 rows read: 7 new, 2 merged, 2 rejected, 2 empty rows skipped, 2 warnings"
        f" — see {report_csv}\n"
    )
    with open(report_csv, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["row", "outcome", "field", "reason"],
        *([str(r.row), "rejected", r.field, r.reason] for r in expected_rejections()),
        *([str(w.row), "warning", w.field, w.reason] for w in expected_warnings()),
    ]


def test_cli_import_without_a_report_lists_rejections_and_warnings(tmp_path: Path) -> None:
    result = crmflow("import", "--local", messy_file(tmp_path), "--region", "DE")
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("7 new, 2 merged, 2 rejected, 2 empty rows skipped, 2 warnings\n")
    assert "  row 7: rejected: email: email is missing" in result.stderr
    assert "  row 12: imported, with a warning: email_consent: 'maybe' is not yes or no" in result.stderr


def test_cli_import_refuses_a_region_that_is_not_a_country_code(tmp_path: Path) -> None:
    result = crmflow("import", "--local", messy_file(tmp_path), "--region", "Iran")
    assert result.returncode == 2
    assert "Invalid value for '--region': 'Iran' is not a two-letter country code" in result.stderr


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


# --- a real-world MENA export: nobody is thrown away over a phone -----------------------------

UNALLOCATED = "'+98 955 123 4567' is outside the number ranges known to be in use in IR; stored as +989551234567, check it"


def mena_warnings(omid_phone_warning: bool = False) -> list[RowWarning]:
    """The fixture's warnings; row 6's national number needs a default region."""
    kept = "; kept as typed in custom.{}_as_typed"
    omid = [
        RowWarning(
            6,
            "phone",
            reason(normalize.phone, "0912 111 2233") + kept.format("phone"),
        )
    ]
    return [
        RowWarning(5, "phone", UNALLOCATED),
        *(omid if omid_phone_warning else []),
        RowWarning(13, "phone", reason(normalize.phone, "call me") + kept.format("phone")),
        RowWarning(13, "score", "'high' is not a number" + kept.format("score")),
        RowWarning(
            13,
            "time_zone",
            "'Mars/Olympus' is not a time zone such as Asia/Tehran" + kept.format("time_zone"),
        ),
        RowWarning(
            13,
            "email_consent",
            "'maybe' is not yes or no; not taken as consent, kept as typed in "
            "custom.email_consent_as_typed",
        ),
    ]


MENA_REJECTIONS = [
    Rejection(9, "email", "email is missing"),
    Rejection(10, "email", "'not-an-email' is not a valid email: An email address must have an @-sign."),
]


def stored(email: str) -> Contact:
    contact = find_by_email(email)
    assert contact is not None, f"{email} was lost"
    return contact


def test_mena_export_exact_counts_and_nothing_lost(store) -> None:
    existing = create_contact({"email": "existing@example.com", "first_name": "Stored", "tags": {"old"}})
    update_settings({"default_region": "IR"})  # row 6 is written the Iranian national way
    report = import_contacts(MENA)
    assert (report.rows_read, report.new, report.merged, report.empty) == (15, 8, 3, 2)
    assert report.rejected == MENA_REJECTIONS
    assert report.warnings == mena_warnings()
    assert report.summary() == "8 new, 3 merged, 2 rejected, 2 empty rows skipped, 5 warnings"
    assert report.new + report.merged + len(report.rejected) + report.empty == report.rows_read
    # Nothing lost: every row with an address is a contact, and there is no other.
    with open(MENA, encoding="utf-8-sig", newline="") as handle:
        addresses = {row[2].strip().lower() for row in list(csv.reader(handle))[1:] if len(row) > 2}
    kept = addresses - {"", "not-an-email"}
    assert {stored(a).email for a in kept} == kept
    assert Contact.count() == len(kept) == 9
    assert stored("existing@example.com").contact_id == existing.contact_id  # merged, not doubled
    assert EmailClaim.count() == 9


def test_mena_export_stores_e164_phones_merged_tags_and_filled_fields(store) -> None:
    existing = create_contact({"email": "existing@example.com", "first_name": "Stored", "tags": {"old"}})
    import_contacts(MENA, default_region="IR")
    phones = {
        "ali.rezaei@example.com": "+989123456789",  # Persian digits, national, country IR
        "sara@example.ae": "+971501234567",  # 00 in Arabic-Indic digits
        "mina@example.com": "+989351234567",  # 00 in Persian digits
        "reza@example.com": "+989551234567",  # possible, not a known range: kept, warned
        "omid@example.com": "+989121112233",  # national, the import's region
        "existing@example.com": "+971507654321",
        "john@example.com": "+4930901820",  # 00 in ASCII digits
        "fatima@example.sa": "+966501234567",  # Arabic-Indic digits, the row's country SA
    }
    assert {e: stored(e).phone for e in phones} == phones
    ali = stored("ali.rezaei@example.com")  # rows 2 and 7
    assert (ali.first_name, ali.last_name, ali.city, ali.score) == ("علی", "رضایی", "تهران", 90)
    assert (ali.tags, ali.products, ali.email_consent) == ({"vip", "lead", "customer"}, {"Pro Plan"}, True)
    assert (ali.time_zone, ali.country, ali.version) == ("Asia/Tehran", "IR", 1)
    sara = stored("sara@example.ae")  # rows 3 and 14: the later city replaces the first
    assert (sara.first_name, sara.last_name, sara.city) == ("سارة", "العلي", "أبوظبي")
    assert (sara.tags, sara.products, sara.email_consent) == ({"lead", "customer"}, {"Pro Plan"}, True)
    hoda = stored("existing@example.com")  # row 8 into the stored contact
    assert (hoda.contact_id, hoda.first_name, hoda.tags, hoda.version) == (
        existing.contact_id, "Hoda", {"old", "new-tag"}, 2
    )
    laleh = stored("laleh@example.com")
    assert (laleh.phone, laleh.score, laleh.time_zone, laleh.email_consent) == (None, 0, None, False)
    assert laleh.custom == {
        "phone_as_typed": "call me",
        "score_as_typed": "high",
        "time_zone_as_typed": "Mars/Olympus",
        "email_consent_as_typed": "maybe",
    }
    john = stored("john@example.com")
    assert (john.email_consent, john.city) == (False, "Berlin")
    # The tag and product index follows new contacts and merges alike.
    assert set(contact_ids_by_tag("new-tag")) == {existing.contact_id}
    assert set(contact_ids_by_tag("old")) == {existing.contact_id}
    assert set(contact_ids_by_tag("customer")) == {ali.contact_id, sara.contact_id}
    assert set(contact_ids_by_product("Pro Plan")) == {ali.contact_id, sara.contact_id}


def test_national_numbers_read_with_the_flag_else_the_workspace_setting(store) -> None:
    no_region = import_contacts(MENA)  # no flag, no setting: kept as typed, with a warning
    assert no_region.warnings == mena_warnings(omid_phone_warning=True)
    omid = stored("omid@example.com")
    assert (omid.phone, omid.custom) == (None, {"phone_as_typed": "0912 111 2233"})
    update_settings({"default_region": "IR"})
    again = import_contacts(MENA)  # the setting reads it now; the merge fills the phone
    assert (again.new, again.merged) == (0, 11)
    assert again.warnings == mena_warnings()
    assert stored("omid@example.com").phone == "+989121112233"
    text = "email,phone,country\nde@example.com,030 901820,\nrow@example.com,0912 345 6789,IR\n"
    flag = import_contacts(io.StringIO(text), default_region="de")  # the flag beats the setting
    assert (flag.new, flag.warnings) == (2, [])
    assert stored("de@example.com").phone == "+4930901820"
    assert stored("row@example.com").phone == "+989123456789"  # the row's country beats both


def test_an_unknown_region_is_refused_before_anything_is_read(store) -> None:
    with pytest.raises(InvalidRecord, match="'Persia' is not a two-letter country code"):
        import_contacts(MENA, default_region="Persia")
    assert Contact.count() == 0


def test_a_merge_keeps_a_concurrent_update_of_the_stored_contact(store, monkeypatch) -> None:
    from functions.store import importer

    stored_contact = create_contact({"email": "busy@example.com", "tags": {"old"}})
    read = importer._stored

    def read_then_someone_writes(ids: set[str]) -> dict[str, Contact]:
        found = read(ids)  # the import has read version 1 ...
        update_contact(stored_contact.contact_id, lambda c: setattr(c, "score", 42))  # ... v2
        return found

    monkeypatch.setattr(importer, "_stored", read_then_someone_writes)
    report = import_contacts(io.StringIO("email,tags,city\nBUSY@example.com,new,Shiraz\n"))
    assert (report.new, report.merged) == (0, 1)
    busy = stored("busy@example.com")
    assert (busy.score, busy.tags, busy.city, busy.version) == (42, {"old", "new"}, "Shiraz", 3)
    assert list(contact_ids_by_tag("new")) == [stored_contact.contact_id]


def test_rows_of_one_address_in_different_chunks_merge_into_one_contact(store) -> None:
    rows = [f"user{i}@example.com,t{i % 2}," for i in range(150)]
    rows[120] = " USER5@Example.com ,late,Tabriz"  # row 122, a chunk after row 7's
    report = import_contacts(io.StringIO("email,tags,city\n" + "\n".join(rows) + "\n"))
    assert (report.rows_read, report.new, report.merged) == (150, 149, 1)
    user5 = stored("user5@example.com")
    assert (user5.tags, user5.city, user5.version) == ({"t1", "late"}, "Tabriz", 2)
    assert list(contact_ids_by_tag("late")) == [user5.contact_id]
    assert Contact.count() == 149


def test_extra_cells_and_an_unreadable_sms_opt_out_are_kept_with_warnings(store) -> None:
    text = "email,first name,sms opt out\nx@example.com,Smith, John,STOP please\ny@example.com,Y,no,\n"
    report = import_contacts(io.StringIO(text))
    assert (report.new, report.rejected) == (2, [])
    assert report.warnings == [
        RowWarning(
            2,
            "sms_opt_out",
            "'John' is not yes or no; taken as opted out, kept as typed in "
            "custom.sms_opt_out_as_typed",
        ),
        RowWarning(2, "row", "4 cells but the header has 3 columns; the extra text is kept in custom.column_4"),
    ]
    x = stored("x@example.com")
    assert (x.first_name, x.sms_opt_out) == ("Smith", True)  # nobody who may have said stop
    assert x.custom == {"sms_opt_out_as_typed": "John", "column_4": "STOP please"}
    assert stored("y@example.com").sms_opt_out is False


def test_an_unreadable_consent_never_grants_one_on_a_merge_either(store) -> None:
    create_contact({"email": "yes@example.com", "email_consent": False})
    create_contact({"email": "kept@example.com", "email_consent": True})
    text = "email,consent\nyes@example.com,ok?\nkept@example.com,ok?\n"
    report = import_contacts(io.StringIO(text))
    assert (report.merged, len(report.warnings)) == (2, 2)
    assert stored("yes@example.com").email_consent is False
    assert stored("kept@example.com").email_consent is True


def test_a_claim_without_its_contact_gets_the_contact_under_the_claimed_id(store) -> None:
    EmailClaim("lost@example.com", contact_id="c_cut_off").save()  # an import cut off mid-batch
    report = import_contacts(io.StringIO("email,first name\nLost@example.com,Leila\n"))
    assert (report.new, report.merged, report.contact_ids) == (1, 0, ["c_cut_off"])
    assert (stored("lost@example.com").contact_id, stored("lost@example.com").first_name) == (
        "c_cut_off",
        "Leila",
    )


def test_cli_settings_and_an_import_that_reads_the_default_region(store, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from infra.cli import main

    runner = CliRunner()
    shown = runner.invoke(main, ["settings"])
    assert (shown.exit_code, shown.stdout) == (0, "default_region: not set\n")
    refused = runner.invoke(main, ["settings", "set", "--default-region", "Persia"])
    assert refused.exit_code == 1
    assert "default_region: 'Persia' is not a two-letter country code" in refused.output
    changed = runner.invoke(main, ["settings", "set", "--default-region", "ir"])
    assert changed.exit_code == 0, changed.output
    assert changed.stdout.startswith("default_region: IR\nchanged ")
    as_json = runner.invoke(main, ["settings", "show", "--json"])
    assert json.loads(as_json.stdout)["default_region"] == "IR"
    create_contact({"email": "existing@example.com", "first_name": "Stored", "tags": {"old"}})
    report_csv = tmp_path / "report.csv"
    result = runner.invoke(main, ["import", str(MENA), "--report", str(report_csv)])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "15 rows read: 8 new, 3 merged, 2 rejected, 2 empty rows skipped, 5 warnings"
        f" — see {report_csv}\n"
    )
    assert stored("omid@example.com").phone == "+989121112233"  # from the setting
    with open(report_csv, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    found = [(r.row, "rejected", r.field, r.reason) for r in MENA_REJECTIONS]
    found += [(w.row, "warning", w.field, w.reason) for w in mena_warnings()]
    assert rows[1:] == [[str(n), *rest] for n, *rest in sorted(found, key=lambda f: f[0])]
    unset = runner.invoke(main, ["settings", "set", "--default-region", ""])
    assert unset.stdout.startswith("default_region: not set\n")
