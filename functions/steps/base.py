"""What every step handler shares: reading the Task payload the compiler emits (see
docs/compiler.md), validating params with the node kind's own model from flows/, and
doing a side effect exactly once per execution and state, whatever Step Functions and
Lambda retry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from pynamodb.exceptions import PutError, UpdateError

from flows.errors import UnknownNodeKind
from flows.issues import issues_from
from flows.nodes import load_kind
from functions import sandbox
from functions.errors import InvalidParams, Transient
from functions.store.models import SideEffect

# A claim older than this whose effect never finished is taken over by the next retry
# (its Lambda died mid-way); younger ones mean another invocation is still at it.
STALE_CLAIM = timedelta(minutes=15)
KEEP_EFFECTS = timedelta(days=400)  # longer than any execution (one year)


@dataclass(frozen=True)
class Step:
    """One Task invocation: which node, its validated params, and whose enrollment."""

    node: str
    kind: str
    params: Any
    enrollment: dict[str, Any]
    trigger: dict[str, Any]
    execution: str
    state: str
    attempt: int
    event: dict[str, Any]

    @property
    def contact_id(self) -> str:
        return self.enrollment["contact_id"]

    @property
    def effect_key(self) -> str:
        return f"{self.execution}#{self.state}"


def parse(event: Any, kind: str) -> Step:
    """The payload as a Step; InvalidParams naming the field when it does not fit."""
    if not isinstance(event, dict):
        raise InvalidParams(f"a {kind} step expects a JSON object, got {type(event).__name__}")
    missing = [k for k in ("node", "enrollment", "execution", "state") if k not in event]
    if missing:
        raise InvalidParams(f"the {kind} payload lacks {', '.join(missing)}")
    try:
        node_kind = load_kind(event.get("kind", kind))
    except UnknownNodeKind:
        node_kind = None  # finish and the other internal steps have no node kind
    params: Any = event.get("params", {})
    if node_kind is not None:
        try:
            params = node_kind.Params.model_validate(params)
        except ValidationError as exc:
            problems = "; ".join(str(i) for i in issues_from(exc, "params", event["node"]))
            raise InvalidParams(problems) from None
    return Step(
        node=event["node"],
        kind=event.get("kind", kind),
        params=params,
        enrollment=event["enrollment"],
        trigger=event.get("trigger") or {},
        execution=event["execution"],
        state=event["state"],
        attempt=int(event.get("attempt") or 0),
        event=event,
    )


def once(step: Step, effect: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run `effect` once for this execution and state; a repeat returns the first result.

    A conditional put claims the key before the effect; the claim is marked done with the
    result after. A duplicate that finds a fresh unfinished claim raises Crm.Transient so
    Step Functions retries it later; a stale one (its Lambda died) is taken over.
    """
    if sandbox.active():
        return effect()  # a test run claims nothing: its effects are only recorded
    now = datetime.now(UTC)
    claim = SideEffect(step.effect_key, status="pending", at=now, expires=_expiry(now))
    try:
        claim.save(condition=SideEffect.key.does_not_exist())
    except PutError as exc:
        if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
        claim = _existing_claim(step, now)
        if claim.status == "done":
            return claim.result
    try:
        result = effect()
    except Exception:
        claim.delete()  # nothing was done: let a retry try again
        raise
    claim.update(actions=[SideEffect.status.set("done"), SideEffect.result.set(result)])
    return result


def _existing_claim(step: Step, now: datetime) -> SideEffect:
    claim = SideEffect.get(step.effect_key, consistent_read=True)
    if claim.status == "done" or now - claim.at > STALE_CLAIM:
        if claim.status != "done":
            try:  # take the stale claim over, unless someone else just did
                claim.update(actions=[SideEffect.at.set(now)], condition=SideEffect.at == claim.at)
            except UpdateError:
                raise Transient(f"step {step.state} is being retried elsewhere") from None
        return claim
    raise Transient(f"step {step.state} of this execution is still running elsewhere")


def _expiry(now: datetime) -> int:
    return int((now + KEEP_EFFECTS).timestamp())
