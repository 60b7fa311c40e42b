"""Test runs: the real step handlers, with nothing sent and nothing written.

While a Sandbox is active (a context variable, so concurrent requests and threads never
share one), the few places where a step's work leaves the process ask it first: the
contact's reads and writes, deal and company updates, new tasks and timeline entries,
`once`'s claim, round-robin turns, enrollments, SES, SNS and every other AWS call made
through `functions.aws.call`, and outbound HTTP. Each records what would have happened and
hands the step what it needs to carry on, so the handler code that runs in a test run is
the code that runs in production, on the local stack and on AWS alike.

Reads of everything else (owners, teams, suppressions, deals) pass through: a test run
sees the CRM as it is. The contact is a copy held here, so a step's change is seen by the
next step's decision, and the clock is the sandbox's own, so waits take no time.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.store.plain import plain

_ACTIVE: ContextVar[Sandbox | None] = ContextVar("crmflow_sandbox", default=None)

# Ids a test run makes up start so: nothing real ever has one (functions.triggers.tracking
# refuses links that carry one, from before test-run emails went untracked).
TEST_ID_PREFIX = "testrun-"

# AWS operations a test run may really make: they only read.
READ_OPERATIONS = ("get_", "describe_", "list_", "batch_get_")


@dataclass
class Effect:
    """Something a step would have done: which node, what kind, and its details."""

    node: str
    kind: str  # email, sms, task, timeline, http, aws, enroll, unenroll, deal, company, ...
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"node": self.node, "kind": self.kind, **self.data}


@dataclass
class Sandbox:
    """One test run's world: its contact, its clock and what its steps would have done."""

    contact: Any  # functions.store.models.Contact, never saved
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    elapsed: timedelta = timedelta(0)
    node: str = ""
    effects: list[Effect] = field(default_factory=list)
    records: dict[tuple[str, str], Any] = field(default_factory=dict)  # (kind, id) -> copy
    activities: list[Any] = field(default_factory=list)  # the contact's timeline, this run
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def now(self) -> datetime:
        return self.started + self.elapsed

    def advance(self, seconds: float) -> None:
        self.elapsed += timedelta(seconds=max(0.0, seconds))

    def record(self, kind: str, **data: Any) -> Effect:
        effect = Effect(self.node, kind, data)
        self.effects.append(effect)
        return effect

    def fake_id(self, prefix: str) -> str:
        return f"{TEST_ID_PREFIX}{prefix}-{next(self._ids)}"

    def owns(self, contact_id: str) -> bool:
        return contact_id == self.contact.contact_id

    def record_copy(self, kind: str, record_id: str, read: Any) -> Any:
        """This run's copy of a deal or company: read once, then changed here only."""
        key = (kind, record_id)
        if key not in self.records:
            self.records[key] = copy.deepcopy(read())
        return self.records[key]


def active() -> Sandbox | None:
    """The sandbox of the test run in progress here, or None (a real run)."""
    return _ACTIVE.get()


@contextmanager
def sandboxed(sandbox: Sandbox) -> Iterator[Sandbox]:
    token = _ACTIVE.set(sandbox)
    try:
        yield sandbox
    finally:
        _ACTIVE.reset(token)


def intercept_aws(operation: Any, request: dict[str, Any]) -> dict[str, Any] | None:
    """In a test run, the answer to an AWS call that would change something (recorded, not
    made); None when the call may go ahead (not in a test run, or it only reads)."""
    sandbox = active()
    name = getattr(operation, "__name__", str(operation))
    if sandbox is None or name.startswith(READ_OPERATIONS):
        return None
    if name == "publish" and "PhoneNumber" in request:  # SNS SMS, as send_sms sends it
        sandbox.record("sms", to=request["PhoneNumber"], message=request.get("Message", ""))
        return {"MessageId": sandbox.fake_id("sms")}
    service = getattr(getattr(operation, "__self__", None), "meta", None)
    service_name = service.service_model.service_name if service else "aws"
    sandbox.record("aws", service=service_name, operation=name, request=_shown(request))
    fake = sandbox.fake_id(name)
    return {"MessageId": fake, "executionArn": fake, "startDate": sandbox.now()}


def fields_of(record: Any) -> dict[str, Any]:
    """A record's fields to compare and show: as the API shows them, and a set DynamoDB
    stores as nothing (it has no empty set) as an empty list."""
    shown = plain(record)
    for name, attribute in record.get_attributes().items():
        if "Set" in type(attribute).__name__ and shown[name] is None:
            shown[name] = []
    return shown


def changes(
    before: dict[str, Any], after: dict[str, Any], ignore: frozenset[str] = frozenset()
) -> dict[str, list[Any]]:
    """field: [before, after] for every field that differs."""
    return {
        name: [before.get(name), after.get(name)]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name) and name not in ignore
    }


def _shown(request: dict[str, Any]) -> dict[str, Any]:
    # Raw message bytes are reported by the email effect; here they would only be noise.
    return {k: ("<raw message>" if k == "Content" else v) for k, v in request.items()}
