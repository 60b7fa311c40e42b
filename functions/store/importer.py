"""Contact import from CSV: header mapping, normalisation, dedupe, batched writes.

Every row read ends up either imported or in `ImportReport.rejected` with its row number
(the header is row 1), the field at fault and a reason: `imported + len(rejected) ==
rows_read` always. A row is reported once, for the first field that fails.

Writes go through BatchWriteItem (25 items a request, Contact + EmailClaim + ContactIndex
rows mixed), not one transaction per contact, because a transaction per row costs one round
trip each (~2.5 ms on moto) and twice the write units on AWS. BatchWriteItem cannot be
conditional, so email uniqueness is guarded by reading the claims of each chunk with
BatchGetItem right before writing it.

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

Existing contacts are never overwritten: a row whose email is already claimed is rejected.
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
from functions.store import normalize
from functions.store.contacts import build_contact, now, shard_of
from functions.store.ids import new_id
from functions.store.models import Contact, ContactIndex, EmailClaim

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
    row: int  # 1-based; the header is row 1
    field: str  # a contact field, or "row" for the row as a whole
    reason: str


@dataclass
class ImportReport:
    rows_read: int = 0
    imported: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)  # column → field or custom.<key>
    contact_ids: list[str] = field(default_factory=list)


@dataclass
class _Row:
    number: int
    fields: dict[str, Any]


def import_contacts(
    source: str | Path | IO[str] | IO[bytes],
    *,
    mapping: dict[str, str] | None = None,
    default_region: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import contacts from a CSV file (path) or stream; see the module doc for the rules.

    Raises UnreadableFile or BadMapping before writing anything when the file cannot be used.
    """
    header, records = _read_csv(source)
    columns = map_columns(header, mapping)
    report = ImportReport(mapping={h: f for h, f in zip(header, columns, strict=True) if f})
    seen: dict[str, int] = {}  # normalised email → row that holds it
    for chunk in _chunks(_numbered(records), CHUNK):
        accepted = []
        for number, cells in chunk:
            row = _check_row(number, cells, header, columns, default_region, seen, report)
            if row is not None:
                accepted.append(row)
        _write_chunk(accepted, report)
        report.rows_read += len(chunk)
        if progress:
            progress(len(chunk))
    assert report.imported + len(report.rejected) == report.rows_read, "a row went missing"
    report.rejected.sort(key=lambda r: r.row)
    return report


def write_rejections(report: ImportReport, path: str | Path) -> None:
    """The rejected rows as CSV (with a BOM, so spreadsheet apps show Arabic and Persian)."""
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["row", "field", "reason"])
        writer.writerows((r.row, r.field, r.reason) for r in report.rejected)


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


def _check_row(
    number: int,
    cells: list[str],
    header: list[str],
    columns: list[str | None],
    region: str | None,
    seen: dict[str, int],
    report: ImportReport,
) -> _Row | None:
    """The row's normalised fields, or None after recording why it was rejected."""
    try:
        fields = _row_fields(cells, header, columns, region)
        email = fields["email"]
        if email in seen:
            raise _Reject("email", f"duplicate of row {seen[email]}")
    except _Reject as exc:
        report.rejected.append(Rejection(number, exc.field, exc.reason))
        return None
    seen[email] = number
    return _Row(number, fields)


class _Reject(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


def _row_fields(
    cells: list[str], header: list[str], columns: list[str | None], region: str | None
) -> dict[str, Any]:
    if not any(c.strip() for c in cells):
        raise _Reject("row", "empty row")
    if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
        raise _Reject("row", f"{len(cells)} cells but the header has {len(header)} columns")
    raw = {f: c.strip() for f, c in zip(columns, cells, strict=False) if f and c.strip()}
    if not raw.get("email"):
        raise _Reject("email", "email is missing")
    fields: dict[str, Any] = {"custom": {}}
    for name in sorted(raw, key=_field_order):  # email first: its error matters most
        try:
            _set_field(fields, name, raw[name], raw.get("country") or region)
        except InvalidRecord as exc:
            raise _Reject(name.removeprefix("custom."), str(exc)) from None
    return fields


_FIELD_ORDER = {name: i for i, name in enumerate(SYNONYMS)}


def _field_order(name: str) -> int:
    return _FIELD_ORDER.get(name, len(_FIELD_ORDER))  # custom.* last


def _set_field(fields: dict[str, Any], name: str, value: str, region: str | None) -> None:
    if name.startswith("custom."):
        fields["custom"][name[7:]] = value
    elif name == "full_name":
        first, _, last = value.partition(" ")
        fields.setdefault("first_name", first)
        fields.setdefault("last_name", last.strip() or None)
    else:
        fields[name] = _PARSERS.get(name, _text)(value, region)


def _text(value: str, region: str | None) -> str:
    return value


def _email(value: str, region: str | None) -> str:
    return normalize.email(value)


def _phone(value: str, region: str | None) -> str:
    # Only a two-letter code is a region phonenumbers knows; "Germany" is not.
    code = region if region and len(region) == 2 and region.isascii() else None
    return normalize.phone(value, code)


def _split(value: str) -> list[str]:
    return [part for part in re.split(r"[,;،]", value) if part.strip()]


def _tags(value: str, region: str | None) -> set[str]:
    return {normalize.tag(t) for t in _split(value)}


def _products(value: str, region: str | None) -> set[str]:
    return {" ".join(p.split()) for p in _split(value)}


def _boolean(value: str, region: str | None) -> bool:
    word = value.casefold()
    word = str(int(word)) if word.isdigit() else word  # Persian and Arabic-Indic digits too
    if word in TRUE or word in FALSE:
        return word in TRUE
    raise InvalidRecord(f"'{value}' is not yes or no")


def _score(value: str, region: str | None) -> int | float:
    try:
        number = float(value)  # float() reads Persian and Arabic-Indic digits
    except ValueError:
        raise InvalidRecord(f"'{value}' is not a number") from None
    return int(number) if number.is_integer() else number


def _time_zone(value: str, region: str | None) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRecord(f"'{value}' is not a time zone such as Asia/Tehran") from None
    return value


def _country(value: str, region: str | None) -> str:
    return value.upper() if len(value) == 2 else value


_PARSERS: dict[str, Callable[[str, str | None], Any]] = {
    "email": _email,
    "phone": _phone,
    "tags": _tags,
    "products": _products,
    "email_consent": _boolean,
    "sms_opt_out": _boolean,
    "score": _score,
    "time_zone": _time_zone,
    "country": _country,
}


# --- writing ---------------------------------------------------------------------------------


def _write_chunk(rows: list[_Row], report: ImportReport) -> None:
    """Reject rows whose email is already claimed, then write the rest in batches."""
    if not rows:
        return
    claimed = _claimed_emails([r.fields["email"] for r in rows])
    items: list[tuple[str, dict]] = []
    for row in rows:
        if row.fields["email"] in claimed:
            report.rejected.append(
                Rejection(row.number, "email", "a contact with this email already exists")
            )
            continue
        items += _items(row.fields, report)
    _batch_write(items)


def _items(fields: dict[str, Any], report: ImportReport) -> list[tuple[str, dict]]:
    item = contact_item(fields)
    cid, email = item["contact_id"]["S"], item["email"]["S"]
    report.imported += 1
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
    ]


def contact_item(fields: dict[str, Any]) -> dict[str, Any]:
    """The stored form of `build_contact(fields)` after its first save (version 1), for
    fields already normalised here. Building and serialising a PynamoDB model costs ~230 µs
    a row (and validates the email a second time); this costs a tenth of that. A test pins
    it to build_contact so the two cannot drift apart."""
    item = dict(_template())
    cid = new_id("c")
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


def _claimed_emails(emails: list[str]) -> set[str]:
    table = EmailClaim.Meta.table_name
    request: dict[str, Any] = {
        table: {
            "Keys": [{"email": {"S": e}} for e in emails],
            "ConsistentRead": True,
            "ProjectionExpression": "email",
        }
    }
    found: set[str] = set()
    for attempt in range(MAX_ATTEMPTS):
        answer = _client().batch_get_item(RequestItems=request)
        found |= {item["email"]["S"] for item in answer["Responses"].get(table, [])}
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
