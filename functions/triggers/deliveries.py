"""Deliveries already handled (a hook's Idempotency-Key or signature, an event's id) and the
answer each got: a re-delivery gets the same answer and changes nothing.

Events look up and store their answer around the work (`delivered`, `remember`): their ids
make the work itself safe to repeat. Hooks claim the key first (`claim`, then `finish` or
`release`), so parallel deliveries with one key do the work once: a conditional put takes
the key; the others get the stored answer, or learn that the first is still at work. A
claim older than LEASE belonged to an attempt that died; the next delivery takes it over.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import PutError

from functions.errors import IdempotencyInProgress, IdempotencyKeyReused
from functions.store.contacts import cancelled_by_condition, now
from functions.store.models import Delivery

log = logging.getLogger("crmflow.deliveries")

KEEP = timedelta(days=7)  # senders retry for a day or more (Stripe keeps keys 24 h)
# The API Lambda's time limit (60 s, infra/aws/package.py) and a margin: a claim older than
# this cannot belong to an attempt still running.
LEASE = timedelta(seconds=90)
_TRIES = 3  # a put, at most a takeover or two that lose their race, then "in progress"


@dataclass(frozen=True)
class Claim:
    """A key this attempt holds: `finish` it with the answer, or `release` it on failure."""

    key: str
    token: str
    request_hash: str
    expires: int


def claim(
    key: str, request_hash: str, *, label: str, expires: int | None = None
) -> Claim | tuple[int, dict[str, Any]]:
    """Take `key` for this attempt, or get (status, answer) of the delivery that had it.

    IdempotencyKeyReused when that delivery's `request_hash` differs, and
    IdempotencyInProgress while another attempt holds the key (for up to LEASE); `label`
    names the key in their messages. `expires` (epoch seconds) defaults to now + KEEP."""
    at = now()
    expires = int((at + KEEP).timestamp()) if expires is None else expires
    mine = Claim(key, uuid.uuid4().hex, request_hash, expires)
    condition = Delivery.key.does_not_exist()
    for _ in range(_TRIES):
        record = Delivery(
            key, at=at, expires=expires, request_hash=request_hash, pending=mine.token
        )
        try:
            record.save(condition=condition)
            return mine
        except PutError as exc:
            if not cancelled_by_condition(exc):
                raise
        try:
            seen = Delivery.get(key, consistent_read=True)
        except Delivery.DoesNotExist:  # released in between: try to take it afresh
            condition = Delivery.key.does_not_exist()
            continue
        if seen.request_hash is not None and seen.request_hash != request_hash:
            raise IdempotencyKeyReused(f"{label} was already used with a different request body")
        if seen.pending is None:
            return int(seen.status), seen.answer
        if seen.at > at - LEASE:
            break
        condition = Delivery.pending == seen.pending  # the attempt that held it died
    raise IdempotencyInProgress(f"a delivery with {label} is still in progress; retry shortly")


def finish(held: Claim, status: int, answer: dict[str, Any]) -> None:
    """Store the answer under a claimed key. A claim taken over meanwhile (this attempt
    outlived its lease) keeps the answer of the attempt that took it."""
    delivery = Delivery(
        held.key,
        answer=answer,
        status=status,
        at=now(),
        expires=held.expires,
        request_hash=held.request_hash,
    )
    try:
        delivery.save(condition=Delivery.pending == held.token)
    except PutError as exc:
        if not cancelled_by_condition(exc):
            raise


def release(held: Claim) -> None:
    """Give a claimed key back after a failure, so a retry need not wait out the lease.
    Best effort: a claim left behind is taken over once its lease has run out."""
    try:
        Delivery(held.key).delete(condition=Delivery.pending == held.token)
    except Exception as exc:  # never hide the failure that is being reported
        if not cancelled_by_condition(exc):
            log.warning("could not release delivery claim %s: %s", held.key, exc)


def delivered(key: str) -> tuple[int, dict[str, Any]] | None:
    """(status, answer) of an earlier delivery with this key, or None."""
    try:
        seen = Delivery.get(key, consistent_read=True)
    except Delivery.DoesNotExist:
        return None
    if seen.pending is not None:  # claimed, not answered yet
        return None
    return int(seen.status), seen.answer


def remember(key: str, status: int, answer: dict[str, Any]) -> None:
    """Keep the answer; a concurrent re-delivery that stored first wins (same answer)."""
    at = now()
    delivery = Delivery(
        key, answer=answer, status=status, at=at, expires=int((at + KEEP).timestamp())
    )
    try:
        delivery.save(condition=Delivery.key.does_not_exist())
    except PutError as exc:
        if not cancelled_by_condition(exc):
            raise
