"""A flow's activity list: who published, rolled back or unpublished it, and when. Written
by the service functions (functions/publish.py), so the API, the CLI and the editor all
leave the same trace; read newest first, each entry also said in words ("Mia Karimi
rolled back to version 2")."""

from __future__ import annotations

import secrets
from typing import Any

from functions.people import display_names
from functions.store.contacts import now
from functions.store.models import FlowAudit

SHOWN = 100  # entries a listing returns


def record(
    flow_id: str, action: str, by: str | None, version: int | None = None, **detail: Any
) -> None:
    at = now()
    FlowAudit(
        flow_id,
        f"{at.isoformat()}#{secrets.token_hex(4)}",
        action=action,
        actor=by,
        version=version,
        detail=detail or None,
        at=at,
    ).save()


def entries(flow_id: str, limit: int = SHOWN) -> list[dict[str, Any]]:
    """The newest `limit` entries, newest first, each with `said`: the entry in words."""
    found = list(FlowAudit.query(flow_id, scan_index_forward=False, limit=limit))
    names = display_names(e.actor for e in found)
    listed = []
    for entry in found:
        who = names.get(entry.actor or "", "someone") if entry.actor else "someone"
        listed.append(
            {
                "at": entry.at.isoformat(),
                "action": entry.action,
                "actor": entry.actor,
                "actor_name": who,
                "version": int(entry.version) if entry.version is not None else None,
                "detail": entry.detail or {},
                "said": f"{who} {_what(entry)}",
            }
        )
    return listed


def _what(entry: FlowAudit) -> str:
    version = int(entry.version) if entry.version is not None else None
    detail = entry.detail or {}
    if entry.action == "published":
        return f"published version {version}"
    if entry.action == "rolled_back":
        return f"rolled back to version {version} (from version {detail.get('from')})"
    if entry.action == "unpublished":
        stopped = int(detail.get("stopped", 0))
        return "unpublished the flow" + (f" and stopped {stopped} contacts" if stopped else "")
    return entry.action.replace("_", " ")
