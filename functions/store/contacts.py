"""Contacts: create with a unique email, read, update without lost updates, search by the
access patterns in functions/store/models.py, and the activity timeline.

Search as people type: each contact has a few ContactSearchKey rows (its name from each
word on, its email, its company from each word on), folded so that case, accents and the
Arabic and Persian forms of a letter (ي/ی, ك/ک, ة/ه, hamza carriers) do not matter. They are
written in the same transaction as the contact, and changed only when its name, email or
company changes, so the rows always say what the contact says."""

from __future__ import annotations

import functools
import random
import re
import time
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from functions import sandbox
from functions.errors import ConflictRetriesExhausted, ContactNotFound, DuplicateEmail
from functions.reports.feed import count_activity
from functions.store import normalize
from functions.store.ids import new_id
from functions.store.models import (
    LAST_CONTACT_SHARDS,
    Activity,
    Contact,
    ContactIndex,
    ContactSearchKey,
    EmailClaim,
    User,
)

UPDATE_RETRIES = 25
# Fields every write changes: a test run does not report them as the step's changes.
BOOKKEEPING = frozenset({"updated_at", "version", "last_touch_at", "changed_by"})
MAX_BACKOFF = 0.2  # seconds: keep the worst case well inside a Lambda's time

SEARCH_KINDS = ("name", "email", "company")
MIN_SEARCH = 2  # letters: a search row's partition is named by the first two
MAX_WORDS = 6  # words of a name or company that each start a search row
MAX_TOKEN = 200  # characters of a search row's text (a sort key holds 1 KB of UTF-8)
END = "end"  # a shard of the newest-first list with nothing more to give


def now() -> datetime:
    """Now, in UTC; in a test run, the run's own clock (its waits take no time)."""
    test_run = sandbox.active()
    return test_run.now() if test_run else datetime.now(UTC)


def shard_of(contact_id: str) -> int:
    return zlib.crc32(contact_id.encode()) % LAST_CONTACT_SHARDS


def build_contact(fields: dict[str, Any], contact_id: str | None = None) -> Contact:
    """A new, unsaved Contact from normalised fields (see functions.store.importer)."""
    at = now()
    contact_id = contact_id or new_id("c")
    contact = Contact(
        contact_id,
        created_at=at,
        updated_at=at,
        last_touch_at=at,
        contact_shard=shard_of(contact_id),
    )
    for name, value in fields.items():
        setattr(contact, name, value)
    contact.email = normalize.email(fields.get("email"))
    contact.tags = _tags(contact.tags)
    # Fields may carry created_at / last_contacted_at (imports): the index key follows them.
    contact.last_touch_at = contact.last_contacted_at or contact.created_at
    return contact


def create_contact(fields: dict[str, Any]) -> Contact:
    """Save a new contact; DuplicateEmail if another contact has its email."""
    contact = build_contact(fields)
    claim = EmailClaim(contact.email, contact_id=contact.contact_id)
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.save(claim, condition=EmailClaim.email.does_not_exist())
            for bucket, token in search_rows(contact):
                tx.save(ContactSearchKey(bucket, token))
            tx.save(contact, condition=Contact.contact_id.does_not_exist())
    except TransactWriteError as exc:
        if cancelled_by_condition(exc):
            raise DuplicateEmail(f"a contact with email {contact.email} already exists") from None
        raise
    _sync_index(contact.contact_id, set(), set(), contact.tags, contact.products)
    return contact


def get_contact(contact_id: str) -> Contact:
    test_run = sandbox.active()
    if test_run and test_run.owns(contact_id):
        return test_run.contact
    try:
        return Contact.get(contact_id, consistent_read=True)
    except Contact.DoesNotExist:
        raise ContactNotFound(f"no contact has id '{contact_id}'") from None


def find_by_email(address: str) -> Contact | None:
    try:
        claim = EmailClaim.get(normalize.email(address), consistent_read=True)
    except EmailClaim.DoesNotExist:
        return None
    return get_contact(claim.contact_id)


def update_contact(
    contact_id: str, change: Callable[[Contact], None], *, changed_by: str | None = None
) -> Contact:
    """Apply `change` to a fresh read and save it if nobody saved in between; otherwise
    read again and re-apply (optimistic locking on `version`). Concurrent writers both land."""
    test_run = sandbox.active()
    if test_run is not None:
        return _update_in_test_run(test_run, contact_id, change, changed_by)
    for attempt in range(UPDATE_RETRIES):
        contact = get_contact(contact_id)
        old_email, old_rows = contact.email, search_rows(contact)
        old_tags, old_products = set(contact.tags or ()), set(contact.products or ())
        _apply(contact, change, changed_by)
        rows = search_rows(contact)
        try:
            if contact.email != old_email or rows != old_rows:
                _save_with_keys(contact, old_email, rows - old_rows, old_rows - rows)
            else:
                contact.save()
        except (PutError, TransactWriteError) as exc:
            if cancelled_by_condition(exc) and contact.email != old_email and _claimed(contact):
                raise DuplicateEmail(
                    f"a contact with email {contact.email} already exists"
                ) from None
            if not cancelled_by_condition(exc):
                raise
            backoff(attempt)
            continue
        _sync_index(contact_id, old_tags, old_products, contact.tags, contact.products)
        return contact
    raise ConflictRetriesExhausted(f"contact '{contact_id}' kept changing; try again")


def _apply(contact: Contact, change: Callable[[Contact], None], changed_by: str | None) -> None:
    # DynamoDB stores no empty set, so a tagless contact reads back None: hand out sets.
    contact.tags, contact.products = set(contact.tags or ()), set(contact.products or ())
    change(contact)
    contact.changed_by = changed_by  # whose change this is: a flow step's enrollment, or None
    contact.email = normalize.email(contact.email)
    contact.tags = _tags(contact.tags)
    contact.updated_at = now()
    contact.last_touch_at = contact.last_contacted_at or contact.created_at


def _update_in_test_run(
    test_run: sandbox.Sandbox,
    contact_id: str,
    change: Callable[[Contact], None],
    changed_by: str | None,
) -> Contact:
    """The test run's copy changed as a save would change it; nothing is written."""
    if not test_run.owns(contact_id):
        test_run.record("contact_update", contact_id=contact_id, note="another contact")
        return get_contact(contact_id)
    contact = test_run.contact
    before = sandbox.fields_of(contact)
    _apply(contact, change, changed_by)
    contact.version = (contact.version or 0) + 1
    changed = sandbox.changes(before, sandbox.fields_of(contact), BOOKKEEPING)
    if changed:
        test_run.record("contact_update", contact_id=contact_id, changes=changed)
    return contact


def get_contacts(contact_ids: Iterable[str]) -> list[Contact]:
    """The contacts with these ids, in the order given; ids with no contact are left out."""
    ids = list(dict.fromkeys(contact_ids))
    found = {c.contact_id: c for c in Contact.batch_get(ids, consistent_read=True)}
    return [found[i] for i in ids if i in found]


# The paged queries return PynamoDB's result iterator: once read, its `last_evaluated_key`
# is the cursor of the next page (None at the end), to pass back as `cursor`.


def contacts_by_owner(
    owner_id: str, limit: int = 50, cursor: dict[str, Any] | None = None
) -> Iterator[Contact]:
    return Contact.by_owner.query(
        owner_id, scan_index_forward=False, limit=limit, last_evaluated_key=cursor
    )


def contacts_by_stage(
    stage: str, limit: int = 50, cursor: dict[str, Any] | None = None
) -> Iterator[Contact]:
    return Contact.by_stage.query(
        stage, scan_index_forward=False, limit=limit, last_evaluated_key=cursor
    )


def contact_ids_by_tag(
    tag: str, after: str | None = None, page_size: int | None = None
) -> Iterator[str]:
    """Ids of contacts with the tag, in id order; from the first id past `after`. A caller
    that wants one page gives its size: each Query then reads that many, not up to 1 MB."""
    return _indexed(f"tag#{normalize.tag(tag)}", after, page_size)


def contact_ids_by_product(
    product: str, after: str | None = None, page_size: int | None = None
) -> Iterator[str]:
    return _indexed(f"product#{product}", after, page_size)


def contact_ids_not_contacted_since(days: int) -> Iterator[str]:
    """Contacts whose last contact (or creation, if never contacted) is over `days` ago."""
    cutoff = now() - timedelta(days=days)
    for shard in range(LAST_CONTACT_SHARDS):
        for row in Contact.by_last_touch.query(shard, Contact.last_touch_at < cutoff):
            yield row.contact_id


def contact_ids_newest(
    limit: int, positions: list[str] | None = None
) -> tuple[list[str], list[str] | None]:
    """A page of every contact, newest first, and where each of the 8 shards of by_created
    goes on from for the next page (None after the last page). A position is "" (from the
    start), END, or "<created_at>#<contact id>" of the last contact the shard gave."""
    positions = list(positions or [""] * LAST_CONTACT_SHARDS)
    seen: list[tuple[str, str, int]] = []
    exhausted: set[int] = set()
    for shard, position in enumerate(positions):
        if position == END:
            continue
        result = Contact.by_created.query(
            shard, scan_index_forward=False, limit=limit, last_evaluated_key=_start(shard, position)
        )
        seen += [(_stamp(row.created_at), row.contact_id, shard) for row in result]
        if result.last_evaluated_key is None:
            exhausted.add(shard)
    seen.sort(reverse=True)
    page, rest = seen[:limit], seen[limit:]
    for stamp, contact_id, shard in page:  # newest first: the last one of a shard wins
        positions[shard] = f"{stamp}#{contact_id}"
    left = {shard for _, _, shard in rest}
    for shard in exhausted - left:
        positions[shard] = END
    more = any(p != END for p in positions)
    return [contact_id for _, contact_id, _ in page], positions if more else None


def search_contact_ids(
    kind: str, text: str, limit: int = 50, cursor: dict[str, Any] | None = None
) -> tuple[list[str], dict[str, Any] | None]:
    """Ids of contacts whose name (from any word on), email or company (from any word on)
    starts with `text`, in the order of that text, and the cursor of the next page. Text
    shorter than MIN_SEARCH letters finds nothing. A contact with two matching words shows
    once a page, and may show again on a later one."""
    folded = fold(text)
    if len(folded) < MIN_SEARCH:
        return [], None
    result = ContactSearchKey.query(
        f"{kind}#{folded[:MIN_SEARCH]}",
        ContactSearchKey.token.startswith(folded),
        limit=limit,
        last_evaluated_key=cursor,
        consistent_read=True,
    )
    ids = [row.token.rsplit("#", 1)[1] for row in result]
    return list(dict.fromkeys(ids)), result.last_evaluated_key


def fold(text: str | None) -> str:
    """Text as search compares it: accents and case ignored, Arabic and Persian letter
    forms made one (ي ى→ی, ك→ک, ة→ه, أ إ آ→ا), tatweel and zero-width joiners dropped,
    punctuation other than @ . + - _ read as a space, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    text = unicodedata.normalize("NFC", bare).casefold().translate(_LETTER_FORMS)
    return " ".join(_PUNCTUATION.sub(" ", text).split())[:MAX_TOKEN]


def search_rows(contact: Contact) -> set[tuple[str, str]]:
    """The contact's ContactSearchKey rows, as (bucket, token)."""
    return search_rows_of(contact.contact_id, contact.attribute_values)


def search_rows_of(contact_id: str, fields: dict[str, Any]) -> set[tuple[str, str]]:
    """The search rows of a contact with these fields (the importer writes them itself)."""
    name = f"{fields.get('first_name') or ''} {fields.get('last_name') or ''}"
    email = fields.get("email")
    texts = {
        "name": _from_each_word(name),
        "email": {fold(email)} if email else set(),
        "company": _from_each_word(fields.get("company_name")),
    }
    return {
        (f"{kind}#{text[:MIN_SEARCH]}", f"{text}#{contact_id}")
        for kind, found in texts.items()
        for text in found
        if text
    }


def backfill_search_keys() -> int:
    """Write the search rows of every contact; how many were written. For stores made
    before contacts had them (a local stack's snapshot): a Scan, run once at start, never
    on a request. Rows that exist are written again, unchanged."""
    written = 0
    with ContactSearchKey.batch_write() as batch:
        for contact in Contact.scan():
            for bucket, token in search_rows(contact):
                batch.save(ContactSearchKey(bucket, token))
                written += 1
    return written


def owner_names(owner_ids: Iterable[str | None]) -> dict[str, str]:
    """user id → the user's name, for the owners that are users (others are left out)."""
    wanted = list({o for o in owner_ids if o})
    if not wanted:
        return {}
    return {
        u.user_id: u.name for u in User.batch_get(wanted, attributes_to_get=["user_id", "name"])
    }


def add_activity(contact_id: str, kind: str, data: dict[str, Any] | None = None) -> Activity:
    at = now()
    item = Activity(
        contact_id, f"{at.isoformat()}#{new_id('a')}", kind=kind, at=at, data=data or {}
    )
    test_run = sandbox.active()
    if test_run is not None:
        test_run.record("timeline", activity=kind, data=data or {})
        if test_run.owns(contact_id):
            test_run.activities.append(item)  # what the run's later decisions read
    else:
        item.save()
        count_activity(item)  # report counters: why here, see functions/reports/feed.py
    return item


def timeline(
    contact_id: str, limit: int = 50, cursor: dict[str, Any] | None = None
) -> tuple[list[Activity], dict[str, Any] | None]:
    """A page of the contact's timeline, newest first, and the cursor of the next page.
    In a test run, the contact's timeline is what the run added (one page)."""
    test_run = sandbox.active()
    if test_run and test_run.owns(contact_id):
        return list(reversed(test_run.activities))[:limit], None
    result = Activity.query(
        contact_id, scan_index_forward=False, limit=limit, last_evaluated_key=cursor
    )
    items = list(result)
    return items, result.last_evaluated_key


# --- helpers ---------------------------------------------------------------------------


@functools.cache
def _connection() -> Connection:
    # The models' own region (fixed at import), and one client for all transactions.
    return Connection(region=Contact.Meta.region)


def _indexed(key: str, after: str | None, page_size: int | None = None) -> Iterator[str]:
    condition = ContactIndex.contact_id > after if after is not None else None
    return (row.contact_id for row in ContactIndex.query(key, condition, page_size=page_size))


def _tags(tags: set | None) -> set[str]:
    # Stored as the index keys them, so contact_ids_by_tag("VIP") finds a contact tagged "vip".
    return {t for t in (normalize.tag(x) for x in tags or ()) if t}


def backoff(attempt: int) -> None:
    """Sleep before retrying an optimistic update: full jitter, so losers do not collide again."""
    time.sleep(random.uniform(0, min(MAX_BACKOFF, 0.005 * 2**attempt)))


def cancelled_by_condition(exc: Exception) -> bool:
    """Did a save or transaction fail on its condition (a version check, a claim)?"""
    code = getattr(exc, "cause_response_code", None)
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return code == "ConditionalCheckFailedException" or any(
        r is not None and r.code == "ConditionalCheckFailed" for r in reasons
    )


def _claimed(contact: Contact) -> bool:
    try:
        return EmailClaim.get(contact.email).contact_id != contact.contact_id
    except EmailClaim.DoesNotExist:
        return False


def _save_with_keys(
    contact: Contact, old_email: str, added: set[tuple[str, str]], removed: set[tuple[str, str]]
) -> None:
    """Save the contact with its search rows changed and, if its email changed, the new
    address claimed and the old one released: one transaction, so they never disagree."""
    with TransactWrite(connection=_connection()) as tx:
        if contact.email != old_email:
            tx.save(
                EmailClaim(contact.email, contact_id=contact.contact_id),
                condition=EmailClaim.email.does_not_exist(),
            )
            tx.delete(EmailClaim(old_email), condition=EmailClaim.contact_id == contact.contact_id)
        for bucket, token in added:
            tx.save(ContactSearchKey(bucket, token))
        for bucket, token in removed:
            tx.delete(ContactSearchKey(bucket, token))
        tx.save(contact)


def _from_each_word(text: str | None) -> set[str]:
    # "sara al kandari" → itself, "al kandari", "kandari": a search may start at any word,
    # and one typed across words ("sara al") still reads as a prefix.
    words = fold(text).split()[:MAX_WORDS]
    return {" ".join(words[i:]) for i in range(len(words))}


_LETTER_FORMS = str.maketrans(
    {"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "ۀ": "ه", "ـ": None, "\u200c": None, "\u200d": None}
)
_PUNCTUATION = re.compile(r"[^\w@.+-]+")


def _stamp(at: datetime) -> str:
    return Contact.created_at.serialize(at)


def _start(shard: int, position: str) -> dict[str, Any] | None:
    """The by_created key a shard goes on after; ValueError for a position not ours."""
    if not position:
        return None
    stamp, contact_id = position.rsplit("#", 1)
    Contact.created_at.deserialize(stamp)  # ValueError unless a time as we write them
    return {
        "contact_id": {"S": contact_id},
        "contact_shard": {"N": str(shard)},
        "created_at": {"S": stamp},
    }


def _sync_index(
    contact_id: str, old_tags: set, old_products: set, tags: set | None, products: set | None
) -> None:
    wanted = {f"tag#{t}" for t in tags or ()} | {f"product#{p}" for p in products or ()}
    had = {f"tag#{t}" for t in old_tags} | {f"product#{p}" for p in old_products}
    with ContactIndex.batch_write() as batch:
        for key in wanted - had:
            batch.save(ContactIndex(key, contact_id))
        for key in had - wanted:
            batch.delete(ContactIndex(key, contact_id))
