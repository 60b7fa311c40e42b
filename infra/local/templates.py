"""The shipped templates (flows/templates/*.flow.json) on the local stack: finding one by
id, publishing the ones the store does not have yet, and the sender domains SES must know."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from infra.local.env import NOTIFY_FROM

TEMPLATES = Path(__file__).resolve().parents[2] / "flows" / "templates"
SUFFIX = ".flow.json"


def template_paths() -> list[Path]:
    return sorted(TEMPLATES.glob(f"*{SUFFIX}"))


def template_ids() -> list[str]:
    return [path.name.removesuffix(SUFFIX) for path in template_paths()]


def template_path(flow_id: str) -> Path | None:
    path = TEMPLATES / f"{flow_id}{SUFFIX}"
    return path if path.exists() else None


def publish_missing(paths: Iterable[Path] | None = None, *, by: str = "crmflow up") -> list[str]:
    """Publish every flow file (the shipped templates by default) whose flow id the store
    does not know; the ids published. A flow the user has (edited, unpublished, or
    published in another version) is left alone, so a restart never overwrites their work."""
    from functions.publish import publish
    from functions.store.models import FlowRecord

    published = []
    for path in template_paths() if paths is None else paths:
        document = json.loads(path.read_text(encoding="utf-8"))
        try:
            FlowRecord.get(document["id"], consistent_read=True)
            continue
        except FlowRecord.DoesNotExist:
            pass
        publish(document, note=f"published by {by} from {path.name}", by=by)
        published.append(document["id"])
    return published


def sender_domains(documents: Iterable[Any]) -> set[str]:
    """The domains of every `from_email` in these flow documents, and of the notifications'
    sender: SES (and moto) refuse to send from a domain that is not verified."""
    domains = {_domain(NOTIFY_FROM)}
    for document in documents:
        domains.update(_domain(value) for value in _values_of(document, "from_email"))
    return {d for d in domains if d}


def verify_senders(documents: Iterable[Any]) -> set[str]:
    """Verify the sender domains of `documents` in (moto's) SES; the domains."""
    from functions import aws

    ses = aws.client("sesv2")
    domains = sender_domains(documents)
    for domain in sorted(domains):
        with contextlib.suppress(ses.exceptions.AlreadyExistsException):
            ses.create_email_identity(EmailIdentity=domain)
    return domains


def stored_documents() -> Iterator[Any]:
    """The documents of every flow version in the store (local tables: a scan is fine)."""
    from functions.store.models import FlowVersion

    for version in FlowVersion.scan():
        yield version.document


def template_documents() -> Iterator[Any]:
    for path in template_paths():
        yield json.loads(path.read_text(encoding="utf-8"))


def _values_of(node: Any, key: str) -> Iterator[str]:
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key and isinstance(value, str):
                yield value
            else:
                yield from _values_of(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from _values_of(value, key)


def _domain(mailbox: str) -> str:
    address = parseaddr(mailbox)[1]
    return address.rpartition("@")[2].lower() if "@" in address else ""
