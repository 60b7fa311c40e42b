"""Task payloads as the compiler emits them (docs/compiler.md), for calling step handlers
directly in tests."""

from __future__ import annotations

from typing import Any

EXECUTION = "arn:aws:states:us-east-1:1:execution:f:enr-1"


def payload(kind: str, params: dict[str, Any], contact_id: str, **extra: Any) -> dict[str, Any]:
    """The payload of node `node` (default "step1") of flow "f", enrollment "enr-1";
    `trigger`, `execution`, `state` and `bucket` may be given, anything else is added."""
    node = extra.pop("node", "step1")
    return {
        "node": node,
        "kind": kind,
        "params": params,
        "enrollment": {
            "id": "enr-1",
            "flow_id": "f",
            "flow_version": 1,
            "contact_id": contact_id,
            "bucket": extra.pop("bucket", 7),
        },
        "trigger": extra.pop("trigger", {}),
        "execution": extra.pop("execution", EXECUTION),
        "state": extra.pop("state", node),
        "attempt": 0,
        **extra,
    }
