"""Contact import from CSV: header mapping, normalisation, merging, batched writes.

A CRM import never throws a person away over a secondary field. A row is **rejected** only
when it cannot become a contact: it has no email, or its email is not an address. Every
other row imports:

- a row with no text in any cell (blank, or only delimiters) is skipped and counted as
  **empty**;
- a row whose address (compared after normalising: case and spacing ignored) was seen
  earlier in the file, or belongs to a stored contact, is **merged** into that contact:
  its non-empty values fill or replace fields, its tags and products are added;
- any other row is a **new** contact.

Every row read is counted once: `new + merged + len(rejected) + empty == rows_read`.
A value that cannot be read is a **warning** (row, field, reason) and never costs the
row; see `_set_field` for what happens to each field. Warnings are listed apart from
rejections: a row with warnings was imported.

Phone numbers: a number of a possible length is stored in E.164 (with a warning when it is
outside the ranges libphonenumber knows as allocated); one that cannot be read is kept as
typed in `custom.phone_as_typed`. `00` before a country code is international, like `+`,
in any script's digits. Numbers written the national way are read with the row's
`country` (a two-letter code), else `default_region` (--region, `region=`), else the
workspace's `default_region` setting (functions/store/settings.py).

New contacts are written through BatchWriteItem (25 items a request, Contact + EmailClaim +
ContactIndex rows mixed), not one transaction per contact, because a transaction per row
costs one round trip each (~2.5 ms on moto) and twice the write units on AWS. BatchWriteItem
cannot be conditional, so email uniqueness is guarded by reading the claims of each chunk
with BatchGetItem right before writing it. Rows of one address within a chunk are folded
into one contact before anything is written.

Merges into stored contacts (or into a contact an earlier chunk of this import created) go
through `update_contact`: a fresh read, the change, a save under the version check, retried
when someone else saved in between, and the tag/product index kept in step. A merge that
would change nothing is not written (a re-imported file fires no record triggers). A merge
never creates a second contact for an address, so it cannot break email uniqueness. A
claim whose contact is missing (an import cut off between its writes) gets its contact
written under the claimed id.

Remaining race: a single `create_contact` of the same address that lands between our
BatchGetItem and our BatchWriteItem (one round trip, a few ms) succeeds, and our
unconditional put then overwrites its EmailClaim. Both contacts exist; `find_by_email`
returns the imported one, and the other contact's claim no longer points back to it. The
import does not detect this itself. It shows up in the back-pointer check
`find_by_email(c.email).contact_id != c.contact_id`, run over the contacts created while
the import ran (by_last_touch GSI with a created_at window: a Query per shard, not a Scan).
The same holds for two imports of one address at once. Closing the race would take
conditional claim writes (TransactWriteItems, up to 100 actions each, twice the write
units), which cost throughput.
"""

from __future__ import annotations

import csv
import functools
import io
import random
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from functions.errors import BadMapping, InvalidRecord, Transient, UnreadableFile
from functions.store import normalize, settings
from functions.store.contacts import (
    build_contact,
    now,
    search_rows_of,
    shard_of,
    update_contact,
)
from functions.store.ids import new_id
from functions.store.models import Contact, ContactIndex, ContactSearchKey, EmailClaim

BATCH_WRITE_LIMIT = 25  # DynamoDB's cap per BatchWriteItem request
CHUNK = 100  # rows per claim check: BatchGetItem's cap of 100 keys
MAX_ATTEMPTS = 10
DELIMITERS = ",;\t"

# Header synonyms per field, compared after _header_key() (case, spaces, punctuation,
# Arabic/Persian letter variants ignored).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": (
        "email",
        "e-mail",
        "email address",
        "e-mail address",
        "mail",
        "ایمیل",
        "پست الکترونیک",
        "پست الکترونیکی",
        "رایانامه",
        "البريد الإلكتروني",
        "البريد",
        "الإيميل",
        "ايميل",
    ),
    "first_name": (
        "first name",
        "given name",
        "forename",
        "first",
        "نام",
        "نام کوچک",
        "الاسم",
        "الاسم الأول",
        "اسم",
    ),
    "last_name": (
        "last name",
        "surname",
        "family name",
        "last",
        "نام خانوادگی",
        "اسم العائلة",
        "العائلة",
        "الكنية",
        "اللقب",
    ),
    "full_name": ("name", "full name", "contact name", "نام کامل", "الاسم الكامل"),
    "phone": (
        "phone",
        "phone number",
        "mobile",
        "mobile phone",
        "mobile number",
        "cell",
        "cell phone",
        "telephone",
        "tel",
        "تلفن",
        "شماره تلفن",
        "موبایل",
        "تلفن همراه",
        "شماره موبایل",
        "الهاتف",
        "رقم الهاتف",
        "الجوال",
        "هاتف",
    ),
    "company_name": (
        "company",
        "company name",
        "organization",
        "organisation",
        "شرکت",
        "نام شرکت",
        "الشركة",
        "اسم الشركة",
    ),
    "job_title": (
        "job title",
        "title",
        "position",
        "سمت",
        "عنوان شغلی",
        "المسمى الوظيفي",
        "الوظيفة",
    ),
    "tags": ("tags", "tag", "labels", "برچسب", "برچسب ها", "الوسوم", "وسوم"),
    "products": ("products", "product", "purchased products", "محصولات", "المنتجات"),
    "country": ("country", "country code", "کشور", "البلد", "الدولة"),
    "city": ("city", "town", "شهر", "المدينة"),
    "owner_id": ("owner", "owner id", "contact owner"),
    "lifecycle_stage": ("lifecycle stage", "lifecycle", "stage"),
    "lead_status": ("lead status", "status"),
    "score": ("score", "lead score"),
    "temperature": ("temperature",),
    "source": ("source", "lead source", "منبع", "المصدر"),
    "time_zone": ("time zone", "timezone", "tz"),
    "locale": ("locale", "language", "زبان", "اللغة"),
    "email_consent": ("email consent", "consent", "marketing consent", "opt in", "opted in"),
    "subscription_status": ("subscription status", "subscription"),
    "sms_opt_out": ("sms opt out", "sms optout"),
}
FIELDS = frozenset(SYNONYMS)
TRUE = frozenset({"yes", "y", "true", "t", "1", "on", "x", "نعم", "بله", "بلی", "آره"})
FALSE = frozenset({"no", "n", "false", "f", "0", "off", "", "لا", "خیر", "نه"})
_LETTER_VARIANTS = str.maketrans(
    {
        "ي": "ی",
        "ى": "ی",
        "ك": "ک",
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ة": "ه",
        "ـ": None,
        "\u200c": None,
    }
)


@dataclass(frozen=True)
class Rejection:
    """A row that did not become a contact: its email is missing or not an address."""

    row: int  # 1-based; the header is row 1
    field: str  # "email"
    reason: str


@dataclass(frozen=True)
class RowWarning:
    """A value of an imported row that could not be kept as it was, and what was done."""

    row: int  # 1-based; the header is row 1
    field: str  # a contact field, or "row" for the row as a whole
    reason: str


@dataclass
class ImportReport:
    rows_read: int = 0
    new: int = 0  # contacts created
    merged: int = 0  # rows folded into a contact seen earlier in the file or stored
    empty: int = 0  # rows with no text: skipped
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)  # column → field or custom.<key>
    contact_ids: list[str] = field(default_factory=list)  # of the new contacts

    @property
    def imported(self) -> int:
        """Rows that are in a contact now: new and merged."""
        return self.new + self.merged

    def summary(self) -> str:
        """`N new, M merged, R rejected, E empty rows skipped, W warnings`."""
        return (
            f"{self.new:,} new, {self.merged:,} merged, {len(self.rejected):,} rejected, "
            f"{_count(self.empty, 'empty row')} skipped, {_count(len(self.warnings), 'warning')}"
        )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def import_contacts(
    source: str | Path | IO[str] | IO[bytes],
    *,
    mapping: dict[str, str] | None = None,
    default_region: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import contacts from a CSV file (path) or stream; see the module doc for the rules.
    `default_region` (ISO 3166, e.g. IR) reads phones written without a country code;
    without it, the workspace's default_region setting does.

    Raises UnreadableFile or BadMapping before writing anything when the file cannot be
    used, InvalidRecord when `default_region` is not a country code.
    """
    region = _region(default_region)
    header, records = _read_csv(source)
    columns = map_columns(header, mapping)
    report = ImportReport(mapping={h: f for h, f in zip(header, columns, strict=True) if f})
    known: dict[str, str] = {}  # email → id of the contact it went into, chunks before this
    for chunk in _chunks(_numbered(records), CHUNK):
        rows: dict[str, dict[str, Any]] = {}  # this chunk's fields, one set per address
        for number, cells in chunk:
            fields = _read_row(number, cells, header, columns, region, report)
            if fields is not None:
                _fold(rows, fields, report)
        _write_chunk(rows, known, report)
        report.rows_read += len(chunk)
        if progress:
            progress(len(chunk))
    counted = report.new + report.merged + len(report.rejected) + report.empty
    assert counted == report.rows_read, "a row went missing"
    report.rejected.sort(key=lambda r: r.row)
    report.warnings.sort(key=lambda w: w.row)
    return report


def _region(given: str | None) -> str | None:
    return normalize.region_code(given) if given else settings.default_region()


def write_report(report: ImportReport, path: str | Path) -> None:
    """Rejected rows and warnings as CSV, in row order: row, outcome (rejected, or
    imported with a warning), field, reason. With a BOM, so spreadsheet apps show Arabic
    and Persian."""
    found = [(r.row, "rejected", r.field, r.reason) for r in report.rejected]
    found += [(w.row, "warning", w.field, w.reason) for w in report.warnings]
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["row", "outcome", "field", "reason"])
        writer.writerows(sorted(found, key=lambda r: (r[0], r[1] == "warning")))


# --- reading and mapping -----------------------------------------------------------------


def _read_csv(source: str | Path | IO[str] | IO[bytes]) -> tuple[list[str], Iterator[list[str]]]:
    text = _read_text(source)
    if "\x00" in text:
        raise UnreadableFile("the file is binary, not a CSV text file")
    if not text.strip():
        raise UnreadableFile("the file is empty")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    header = [h.strip() for h in next(reader)]
    if not any(header):
        raise UnreadableFile("the first row (the header) is empty")
    return header, reader


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(text[: 64 * 1024], delimiters=DELIMITERS).delimiter
        if delimiter in first_line:
            return delimiter
    except csv.Error:
        pass
    # One-column files and odd samples: the header's most frequent delimiter decides.
    return max(DELIMITERS, key=first_line.count)


def _read_text(source: str | Path | IO[str] | IO[bytes]) -> str:
    try:
        data = Path(source).read_bytes() if isinstance(source, str | Path) else source.read()
    except OSError as exc:
        raise UnreadableFile(f"cannot read {source}: {exc.strerror or exc}") from None
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnreadableFile(
                f"not UTF-8 text (byte {exc.start}); save the file as CSV UTF-8"
            ) from None
    return data.removeprefix("\ufeff")


def _header_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().translate(_LETTER_VARIANTS)
    return re.sub(r"[\W_]+", "", text)


_GUESS = {_header_key(s): name for name, synonyms in SYNONYMS.items() for s in synonyms}


def map_columns(header: list[str], mapping: dict[str, str] | None = None) -> list[str | None]:
    """The field each column fills: given in `mapping` (column → field, `custom.<key>`, or
    `ignore`), else guessed from the header name; unknown columns go to custom.<snake_key>."""
    given = {_header_key(c): f for c, f in (mapping or {}).items()}
    missing = set(given) - {_header_key(h) for h in header}
    if missing:
        names = [c for c in mapping or {} if _header_key(c) in missing]
        raise BadMapping(f"no column named {', '.join(map(repr, names))} in the header")
    columns: list[str | None] = []
    for position, name in enumerate(header, 1):
        target = given.get(_header_key(name)) or _GUESS.get(_header_key(name))
        if target is None or target in columns:  # a second "email" column keeps its data
            target = f"custom.{_snake(name) or f'column_{position}'}"
        columns.append(_check_target(target))
    if "email" not in columns:
        raise BadMapping("no column holds the email; name one with --map COLUMN=email")
    return columns


def _check_target(target: str) -> str | None:
    if target == "ignore":
        return None
    if target in FIELDS or (target.startswith("custom.") and len(target) > 7):
        return target
    raise BadMapping(
        f"unknown field '{target}'; fields: {', '.join(sorted(FIELDS))}, custom.<name>, ignore"
    )


def _snake(text: str) -> str:
    return re.sub(r"[\W_]+", "_", unicodedata.normalize("NFKC", text).casefold()).strip("_")


# --- one row --------------------------------------------------------------------------------


def _read_row(
    number: int,
    cells: list[str],
    header: list[str],
    columns: list[str | None],
    region: str | None,
    report: ImportReport,
) -> dict[str, Any] | None:
    """The row's normalised fields; None for an empty row (counted) or a rejected one
    (recorded with why)."""
    if not any(c.strip() for c in cells):
        report.empty += 1
        return None
    raw = {f: c.strip() for f, c in zip(columns, cells, strict=False) if f and c.strip()}
    try:
        address = _email(raw.get("email", ""))
    except InvalidRecord as exc:
        report.rejected.append(Rejection(number, "email", str(exc)))
        return None

    def warn(name: str, reason: str) -> None:
        report.warnings.append(RowWarning(number, name, reason))

    fields: dict[str, Any] = {"email": address, "custom": {}}
    phone_region = _phone_region(raw.get("country"), region)
    for name in sorted(raw, key=_field_order):  # custom.* last: a column named so wins
        if name != "email":
            _set_field(fields, name, raw[name], phone_region, warn)
    _keep_extra_cells(fields, cells[len(header) :], len(header), warn)
    return fields


def _email(value: str) -> str:
    if not value:
        raise InvalidRecord("email is missing")
    return normalize.email(value)


def _phone_region(country: str | None, region: str | None) -> str | None:
    # The row's own country wins for its phone, when it is a code phonenumbers knows;
    # "Germany" is not one, and then the import's region applies.
    code = (country or "").strip().upper()
    return code if code in normalize.REGIONS else region


def _keep_extra_cells(
    fields: dict[str, Any], extra: list[str], width: int, warn: Callable[[str, str], None]
) -> None:
    # Usually a delimiter typed inside a value: the text is kept, not thrown away.
    kept = []
    for position, cell in enumerate(extra, width + 1):
        if cell.strip():
            fields["custom"][f"column_{position}"] = cell.strip()
            kept.append(f"custom.column_{position}")
    if kept:
        warn(
            "row",
            f"{width + len(extra)} cells but the header has {width} columns; "
            f"the extra text is kept in {', '.join(kept)}",
        )


_FIELD_ORDER = {name: i for i, name in enumerate(SYNONYMS)}


def _field_order(name: str) -> int:
    return _FIELD_ORDER.get(name, len(_FIELD_ORDER))  # custom.* last


# What an unreadable value does to its field, besides being kept as typed. An unreadable
# consent never counts as one: email consent stays as it was (none, for a new contact),
# and an unreadable SMS opt-out counts as opted out, so nobody who may have said stop is
# texted. Other fields stay as they were.
_UNREADABLE = {
    "email_consent": ("not taken as consent", None),
    "sms_opt_out": ("taken as opted out", True),
}


def _set_field(
    fields: dict[str, Any],
    name: str,
    value: str,
    region: str | None,
    warn: Callable[[str, str], None],
) -> None:
    """Put one cell into `fields`. A value that cannot be read leaves its field as it
    would be without it (see _UNREADABLE for the consent fields), is kept as typed in
    custom.<field>_as_typed, and is a warning. Phones: see _set_phone."""
    if name.startswith("custom."):
        fields["custom"][name[7:]] = value
    elif name == "full_name":
        first, _, last = value.partition(" ")
        fields.setdefault("first_name", first)
        if last.strip():
            fields.setdefault("last_name", last.strip())
    elif name == "phone":
        _set_phone(fields, value, region, warn)
    else:
        try:
            fields[name] = _PARSERS.get(name, _text)(value)
        except InvalidRecord as exc:
            effect, stored = _UNREADABLE.get(name, ("", None))
            if stored is not None:
                fields[name] = stored
            _keep_as_typed(fields, name, value, str(exc), warn, effect)


def _set_phone(
    fields: dict[str, Any], value: str, region: str | None, warn: Callable[[str, str], None]
) -> None:
    try:
        found = normalize.read_phone(value, region)
    except InvalidRecord as exc:
        _keep_as_typed(fields, "phone", value, str(exc), warn)
        return
    fields["phone"] = found.e164
    if not found.allocated:
        where = f" in {found.region}" if found.region else ""
        warn(
            "phone",
            f"'{value}' is outside the number ranges known to be in use{where}; "
            f"stored as {found.e164}, check it",
        )


def _keep_as_typed(
    fields: dict[str, Any],
    name: str,
    value: str,
    problem: str,
    warn: Callable[[str, str], None],
    effect: str = "",
) -> None:
    """Keep an unreadable value in custom.<name>_as_typed and warn, saying what was done."""
    key = f"{name}_as_typed"
    fields["custom"][key] = value
    done = f"{effect}, kept" if effect else "kept"
    warn(name, f"{problem}; {done} as typed in custom.{key}")


def _text(value: str) -> str:
    return value


def _split(value: str) -> list[str]:
    return [part for part in re.split(r"[,;،]", value) if part.strip()]


def _tags(value: str) -> set[str]:
    return {normalize.tag(t) for t in _split(value)}


def _products(value: str) -> set[str]:
    return {" ".join(p.split()) for p in _split(value)}


def _boolean(value: str) -> bool:
    word = value.casefold()
    word = str(int(word)) if word.isdigit() else word  # Persian and Arabic-Indic digits too
    if word in TRUE or word in FALSE:
        return word in TRUE
    raise InvalidRecord(f"'{value}' is not yes or no")


def _score(value: str) -> int | float:
    try:
        number = float(value)  # float() reads Persian and Arabic-Indic digits
    except ValueError:
        raise InvalidRecord(f"'{value}' is not a number") from None
    return int(number) if number.is_integer() else number


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRecord(f"'{value}' is not a time zone such as Asia/Tehran") from None
    return value


def _country(value: str) -> str:
    return value.upper() if len(value) == 2 else value


_PARSERS: dict[str, Callable[[str], Any]] = {
    "tags": _tags,
    "products": _products,
    "email_consent": _boolean,
    "sms_opt_out": _boolean,
    "score": _score,
    "time_zone": _time_zone,
    "country": _country,
}


# --- merging ---------------------------------------------------------------------------------

_SETS = frozenset({"tags", "products"})


def _merged(name: str, old: Any, new: Any) -> Any:
    """A field after a later row's value: sets add up, custom fields add and replace
    key by key, anything else takes the later value."""
    if name in _SETS:
        return set(old or ()) | new
    if name == "custom":
        return {**(old or {}), **new}
    return new


def _fold(rows: dict[str, dict[str, Any]], fields: dict[str, Any], report: ImportReport) -> None:
    """Add a row's fields to its chunk's; a later row of an address merges into the first."""
    first = rows.setdefault(fields["email"], fields)
    if first is fields:
        return
    for name, value in fields.items():
        first[name] = _merged(name, first.get(name), value)
    report.merged += 1


def _changes(contact: Contact, fields: dict[str, Any]) -> bool:
    """Would merging `fields` into the stored contact change it?"""
    for name, value in fields.items():
        current = getattr(contact, name)
        if name in _SETS:
            current = set(current or ())
        elif name == "custom":
            current = dict(current or {})
        if _merged(name, current, value) != current:
            return True
    return False


def _merge_into(fields: dict[str, Any]) -> Callable[[Contact], None]:
    def change(contact: Contact) -> None:
        for name, value in fields.items():
            setattr(contact, name, _merged(name, getattr(contact, name), value))

    return change


# --- writing ---------------------------------------------------------------------------------


def _write_chunk(
    rows: dict[str, dict[str, Any]], known: dict[str, str], report: ImportReport
) -> None:
    """Write a chunk's rows (one per address): new addresses in batches, the rest merged
    into the contact that has the address. `known` holds the contacts of earlier chunks."""
    if not rows:
        return
    owners = {e: known[e] for e in rows if e in known}
    owners |= _claims([e for e in rows if e not in known])
    stored = _stored(set(owners.values()))
    items: list[tuple[str, dict]] = []
    merges: list[tuple[Contact, dict[str, Any]]] = []
    for email, fields in rows.items():
        contact = stored.get(owners.get(email, ""))
        if contact is None:  # a new address, or a claim whose contact was never written
            items += _items(fields, owners.get(email), report)
            known[email] = report.contact_ids[-1]
        else:
            merges.append((contact, fields))
            known[email] = contact.contact_id
            report.merged += 1
    _batch_write(items)
    for contact, fields in merges:
        _merge(contact, fields)


def _merge(contact: Contact, fields: dict[str, Any]) -> None:
    # update_contact reads afresh and saves under the version check, so a flow or a
    # person changing the contact meanwhile loses nothing; it also keeps the tag and
    # product index in step. An unchanged contact is not written at all.
    if _changes(contact, fields):
        update_contact(contact.contact_id, _merge_into(fields))


def _stored(contact_ids: set[str]) -> dict[str, Contact]:
    if not contact_ids:
        return {}
    return {c.contact_id: c for c in Contact.batch_get(contact_ids, consistent_read=True)}


def _items(
    fields: dict[str, Any], contact_id: str | None, report: ImportReport
) -> list[tuple[str, dict]]:
    item = contact_item(fields, contact_id)
    cid, email = item["contact_id"]["S"], item["email"]["S"]
    report.new += 1
    report.contact_ids.append(cid)
    keys = [f"tag#{t}" for t in fields.get("tags", ())]
    keys += [f"product#{p}" for p in fields.get("products", ())]
    return [
        (Contact.Meta.table_name, item),
        (EmailClaim.Meta.table_name, {"email": {"S": email}, "contact_id": {"S": cid}}),
        *(
            (ContactIndex.Meta.table_name, {"key": {"S": k}, "contact_id": {"S": cid}})
            for k in keys
        ),
        # Search as people type finds imported contacts too (functions/store/contacts.py).
        *(
            (ContactSearchKey.Meta.table_name, {"bucket": {"S": b}, "token": {"S": t}})
            for b, t in search_rows_of(cid, {**fields, "email": email})
        ),
    ]


def contact_item(fields: dict[str, Any], contact_id: str | None = None) -> dict[str, Any]:
    """The stored form of `build_contact(fields)` after its first save (version 1), for
    fields already normalised here. Building and serialising a PynamoDB model costs ~230 µs
    a row (and validates the email a second time); this costs a tenth of that. A test pins
    it to build_contact so the two cannot drift apart."""
    item = dict(_template())
    cid = contact_id or new_id("c")
    stamp = _ATTRS["created_at"].serialize(now())
    item.update(
        contact_id={"S": cid},
        contact_shard={"N": str(shard_of(cid))},
        created_at={"S": stamp},
        updated_at={"S": stamp},
        last_touch_at={"S": stamp},
    )
    for name, value in fields.items():
        if value or value is False:  # DynamoDB stores no empty set or string
            attr = _ATTRS[name]
            item[attr.attr_name] = {attr.attr_type: attr.serialize(value)}
    return item


_ATTRS = Contact.get_attributes()


@functools.cache
def _template() -> dict[str, Any]:
    # The model's defaults, serialised once: lifecycle stage, consent flags, score, custom.
    item = build_contact({"email": "template@example.com"}).serialize()
    return {**item, "version": {"N": "1"}}


def _claims(emails: list[str]) -> dict[str, str]:
    """The contact id each of these addresses is claimed by, for those claimed."""
    if not emails:
        return {}
    table = EmailClaim.Meta.table_name
    request: dict[str, Any] = {
        table: {
            "Keys": [{"email": {"S": e}} for e in emails],
            "ConsistentRead": True,
            "ProjectionExpression": "email, contact_id",
        }
    }
    found: dict[str, str] = {}
    for attempt in range(MAX_ATTEMPTS):
        answer = _client().batch_get_item(RequestItems=request)
        for item in answer["Responses"].get(table, []):
            found[item["email"]["S"]] = item["contact_id"]["S"]
        request = answer.get("UnprocessedKeys") or {}
        if not request:
            return found
        _back_off(attempt)
    raise Transient("DynamoDB kept throttling the email check; try the import again")


def _batch_write(items: list[tuple[str, dict]]) -> None:
    for start in range(0, len(items), BATCH_WRITE_LIMIT):
        request: dict[str, list] = {}
        for table, item in items[start : start + BATCH_WRITE_LIMIT]:
            request.setdefault(table, []).append({"PutRequest": {"Item": item}})
        _send(request)


def _send(request: dict[str, list]) -> None:
    """One BatchWriteItem, resending UnprocessedItems with jittered exponential back-off
    (PynamoDB's BatchWrite resends at once, which under throttling just fails again)."""
    for attempt in range(MAX_ATTEMPTS):
        request = _client().batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        if not request:
            return
        _back_off(attempt)
    raise Transient("DynamoDB kept throttling the import; rows up to here may be written")


def _back_off(attempt: int) -> None:
    time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))


def _client() -> Any:
    # The low-level client lets one request mix the three tables; PynamoDB's per-model
    # connection carries the region and endpoint settings (AWS_ENDPOINT_URL included).
    return Contact._get_connection().connection.client


def _numbered(records: Iterable[list[str]]) -> Iterator[tuple[int, list[str]]]:
    number = 1  # the header is row 1
    try:
        for number, cells in enumerate(records, start=2):
            yield number, cells
    except csv.Error as exc:  # e.g. a field over csv.field_size_limit(): stop, say where
        raise UnreadableFile(
            f"row {number + 1} cannot be read ({exc}); rows before it were processed"
        ) from None


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
