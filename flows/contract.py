"""The execution's data contract: what every state machine of crmflow starts with.

    {
      "enrollment": {"id", "flow_id", "flow_version", "contact_id", "bucket"},
      "trigger": {...}            # the starting event's data, at most MAX_TRIGGER_BYTES
    }

Along the way only `$.last` (the latest step's small result) and, on failure, `$.error`
are added; contact data is never copied in: handlers read it fresh from DynamoDB.
So the state document stays a few KB, far below Step Functions' 256 KiB limit.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

MAX_TRIGGER_BYTES = 8 * 1024
BUCKETS = 100
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class ContractError(ValueError):
    """The execution input breaks the contract (e.g. a trigger payload that is too big)."""


def bucket(flow_id: str, contact_id: str) -> int:
    """The contact's stable A/B bucket (0-99) in this flow: same contact, same variant."""
    digest = hashlib.sha256(f"{flow_id}:{contact_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def execution_name(enrollment_id: str) -> str:
    """Execution names come from the enrollment id, so a duplicate start is refused by AWS."""
    return _NAME_UNSAFE.sub("-", enrollment_id)[:80]


def execution_input(
    *,
    enrollment_id: str,
    flow_id: str,
    flow_version: int,
    contact_id: str,
    trigger: dict[str, Any] | None = None,
) -> dict[str, Any]:
    trigger = trigger or {}
    size = len(json.dumps(trigger, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_TRIGGER_BYTES:
        raise ContractError(
            f"the trigger data is {size:,} bytes; at most {MAX_TRIGGER_BYTES:,} travel with a "
            "contact — store large payloads on the record instead"
        )
    return {
        "enrollment": {
            "id": enrollment_id,
            "flow_id": flow_id,
            "flow_version": flow_version,
            "contact_id": contact_id,
            "bucket": bucket(flow_id, contact_id),
        },
        "trigger": trigger,
    }
