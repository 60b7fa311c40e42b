"""Contacts: create with a unique email, read, update without lost updates, search by the
access patterns in functions/store/models.py, and the activity timeline."""

from __future__ import annotations

import functools
import random
import time
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
    EmailClaim,
)

UPDATE_RETRIES = 25
# Fields every write changes: a test run does not report them as the step's changes.
BOOKKEEPING = frozenset({"updated_at", "version", "last_touch_at", "changed_by"})
MAX_BACKOFF = 0.2  # seconds: keep the worst case well inside a Lambda's time


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
        old_email = contact.email
        old_tags, old_products = set(contact.tags or ()), set(contact.products or ())
        _apply(contact, change, changed_by)
        try:
            if contact.email != old_email:
                _move_email(contact, old_email)
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


def contact_ids_by_tag(tag: str, after: str | None = None) -> Iterator[str]:
    """Ids of contacts with the tag, in id order; from the first id past `after`."""
    return _indexed(f"tag#{normalize.tag(tag)}", after)


def contact_ids_by_product(product: str, after: str | None = None) -> Iterator[str]:
    return _indexed(f"product#{product}", after)


def contact_ids_not_contacted_since(days: int) -> Iterator[str]:
    """Contacts whose last contact (or creation, if never contacted) is over `days` ago."""
    cutoff = now() - timedelta(days=days)
    for shard in range(LAST_CONTACT_SHARDS):
        for row in Contact.by_last_touch.query(shard, Contact.last_touch_at < cutoff):
            yield row.contact_id


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


def _indexed(key: str, after: str | None) -> Iterator[str]:
    condition = ContactIndex.contact_id > after if after is not None else None
    return (row.contact_id for row in ContactIndex.query(key, condition))


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


def _move_email(contact: Contact, old_email: str) -> None:
    """Change a contact's email: claim the new address, release the old, in one transaction."""
    with TransactWrite(connection=_connection()) as tx:
        tx.save(
            EmailClaim(contact.email, contact_id=contact.contact_id),
            condition=EmailClaim.email.does_not_exist(),
        )
        tx.delete(EmailClaim(old_email), condition=EmailClaim.contact_id == contact.contact_id)
        tx.save(contact)


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
