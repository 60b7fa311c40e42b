"""Deliveries already handled (a hook's Idempotency-Key, an event's id) and the answer each
got: a re-delivery within a week gets the same answer and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pynamodb.exceptions import PutError

from functions.store.contacts import cancelled_by_condition, now
from functions.store.models import Delivery

KEEP = timedelta(days=7)


def delivered(key: str) -> tuple[int, dict[str, Any]] | None:
    """(status, answer) of an earlier delivery with this key, or None."""
    try:
        seen = Delivery.get(key, consistent_read=True)
    except Delivery.DoesNotExist:
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
