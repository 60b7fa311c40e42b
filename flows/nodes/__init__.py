"""The registry of node kinds: one line per kind, one module per kind.

The registry is built on first use, and `load_kind` imports a single kind's module: a
step Lambda that runs one kind should not pay for importing all thirty at cold start.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from flows.errors import UnknownNodeKind

if TYPE_CHECKING:
    from flows.nodes.base import NodeKind

KIND_MODULES = (
    # triggers
    "webhook", "record_created", "record_updated", "field_changed", "stage_changed",
    "owner_assigned", "record_deleted", "schedule", "date_relative", "event", "segment",
    # actions
    "send_email", "send_sms", "send_notification", "update_record", "create_record",
    "create_task", "assign_owner", "score_lead", "http_request", "enroll_in_flow",
    "remove_from_flow",
    # control
    "wait", "wait_until", "wait_for_event", "branch", "switch", "ab_split", "goal", "end",
)  # fmt: skip
_registry: dict[str, NodeKind] | None = None


def load_kind(name: str) -> NodeKind:
    """One kind, importing only its own module."""
    if name not in KIND_MODULES:
        raise UnknownNodeKind(name)
    return import_module(f"flows.nodes.{name}").KIND


def registry() -> dict[str, NodeKind]:
    global _registry
    if _registry is None:
        _registry = {name: load_kind(name) for name in KIND_MODULES}
    return _registry


def get_kind(name: str) -> NodeKind:
    try:
        return registry()[name]
    except KeyError:
        raise UnknownNodeKind(name) from None


def kinds_in(category: str) -> list[NodeKind]:
    return [k for k in registry().values() if k.category == category]


def __getattr__(name: str) -> Any:
    if name == "REGISTRY":  # `from flows.nodes import REGISTRY` builds it on first use
        return registry()
    raise AttributeError(f"module 'flows.nodes' has no attribute {name!r}")
