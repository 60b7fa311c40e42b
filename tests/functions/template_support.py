"""Running the shipped templates end to end on the engine: publishing them, the people and
systems they talk to, reading what they did (SES, tasks, enrollments, execution
histories), driving contacts through their waits, and the proof that every branch ran.

Used by tests/functions/test_template_*.py; their fixtures are in template_fixtures.py.
"""

from __future__ import annotations

import email
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import getaddresses
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from flows import compile_flow
from flows.contract import bucket
from functions import email as mail
from functions import net
from functions.enrollments import enrollments_of
from functions.publish import Saved, publish
from functions.store import records
from functions.store.contacts import timeline
from functions.store.models import Enrollment, EventWait, Team, User
from functions.triggers import tracking
from infra.local import moto_patches
from infra.local.lambdas import function_prefix
from infra.local.seed import TEAMS, USERS
from infra.local.templates import verify_senders

REGION = "us-east-1"
TEMPLATES = Path(__file__).resolve().parents[2] / "flows" / "templates"
POLL = 0.02  # seconds between looks: polling competes with the flows for the one GIL
EMAIL_OF = {user_id: address for user_id, _, address, _ in USERS}
MEMBERS = {team_id: list(members) for team_id, _, members in TEAMS}


# --- flows ---------------------------------------------------------------------------------


def template(flow_id: str) -> dict[str, Any]:
    return json.loads((TEMPLATES / f"{flow_id}.flow.json").read_text(encoding="utf-8"))


def publish_template(flow_id: str) -> Saved:
    """Publish the shipped template as it is, its senders' domains verified in SES."""
    document = template(flow_id)
    verify_senders([document])
    return publish(document, note="end-to-end test", by="usr-dana")


def world() -> dict[str, Any]:
    """Everything a test run must leave alone: every table's items, SES, SNS, executions."""
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    tables = {}
    for name in dynamodb.list_tables()["TableNames"]:
        pages = dynamodb.get_paginator("scan").paginate(TableName=name)
        items = [item for page in pages for item in page["Items"]]
        tables[name] = sorted(repr(sorted(item.items())) for item in items)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    executions = [
        e["executionArn"]
        for m in sfn.list_state_machines()["stateMachines"]
        for e in sfn.list_executions(stateMachineArn=m["stateMachineArn"])["executions"]
    ]
    return {
        "tables": tables,
        "emails": len(sent_mail()),
        "sms": len(sms_sent()),
        "executions": executions,
    }


def seed_people() -> None:
    """The users and teams the templates name (the local stack's demo seed)."""
    for user_id, name, address, role in USERS:
        teams = {team_id for team_id, _, members in TEAMS if user_id in members}
        User(user_id, email=address, name=name, role=role, teams=teams, active=True).save()
    for team_id, name, members in TEAMS:
        Team(team_id, name=name, members=list(members)).save()


def variant_of(flow_id: str, node: str, contact_id: str) -> str:
    """The ab_split output the compiled Choice gives this contact (its bucket evaluated
    against the state machine's own rules, not a copy of them)."""
    definition = compile_flow(template(flow_id)).definition
    state = definition["States"][node]
    value = bucket(flow_id, contact_id)
    targets = {
        edge["to"]: edge["output"] for edge in template(flow_id)["edges"] if edge["from"] == node
    }
    for choice in state["Choices"]:
        if _numeric_rule(choice, value):
            return targets[choice["Next"]]
    return targets[state["Default"]]


def _numeric_rule(rule: dict[str, Any], value: int) -> bool:
    if "And" in rule:
        return all(_numeric_rule(r, value) for r in rule["And"])
    if "Or" in rule:
        return any(_numeric_rule(r, value) for r in rule["Or"])
    if "Not" in rule:
        return not _numeric_rule(rule["Not"], value)
    assert rule["Variable"] == "$.enrollment.bucket", rule
    tests = {
        "NumericGreaterThanEquals": lambda b: value >= b,
        "NumericGreaterThan": lambda b: value > b,
        "NumericLessThan": lambda b: value < b,
        "NumericLessThanEquals": lambda b: value <= b,
        "NumericEquals": lambda b: value == b,
    }
    [(name, bound)] = [(k, v) for k, v in rule.items() if k in tests]
    return tests[name](bound)


# --- every branch --------------------------------------------------------------------------


def branch_points(definition: dict[str, Any]) -> dict[str, set[str]]:
    """Each state that chooses a path, and the states it can go to: every Choice (its
    Choices' Next and its Default) and every Task whose Catch leads somewhere other than
    the synthetic failure state (wait_for_event's timed_out, an action's error output)."""
    points: dict[str, set[str]] = {}
    for name, state in definition["States"].items():
        if state["Type"] == "Choice":
            targets = {choice["Next"] for choice in state["Choices"]}
            if "Default" in state:
                targets.add(state["Default"])
        else:
            caught = {c["Next"] for c in state.get("Catch", []) if c["Next"] != "crmflow.failed"}
            if not caught:
                continue
            targets = caught | {state["Next"]}
        points[name] = targets
    return points


def entered_states(execution_arn: str) -> list[str]:
    """The states an execution entered, in order (its history's stateEntered events)."""
    sfn = boto3.client("stepfunctions")
    names: list[str] = []
    request: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**request)
        for event in page["events"]:
            details = event.get("stateEnteredEventDetails")
            if details:
                names.append(details["name"])
        if not page.get("nextToken"):
            return names
        request["nextToken"] = page["nextToken"]


def transitions(execution_arns: Iterable[str]) -> set[tuple[str, str]]:
    taken: set[tuple[str, str]] = set()
    for arn in execution_arns:
        path = entered_states(arn)
        taken.update(pairwise(path))
    return taken


def assert_every_branch(flow_id: str, execution_arns: Iterable[str]) -> set[tuple[str, str]]:
    """Every way out of every branch point of the template's state machine was taken by at
    least one of these executions (read from their histories); the transitions taken."""
    arns = list(execution_arns)
    points = branch_points(compile_flow(template(flow_id)).definition)
    taken = transitions(arns)
    missing = sorted(
        f"{state} → {target}"
        for state, targets in points.items()
        for target in targets
        if (state, target) not in taken
    )
    assert points, f"{flow_id} has no branch point: nothing to prove"
    assert not missing, f"{flow_id}: branches never taken in {len(arns)} runs: {missing}"
    return taken


# --- enrollments and executions ------------------------------------------------------------


def enrollment_in(flow_id: str, contact_id: str, timeout: float = 10.0) -> Enrollment:
    """The contact's newest enrollment in the flow (waiting for it to appear)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in enrollments_of(contact_id) if e.flow_id == flow_id]
        if found and found[0].execution_arn:
            return found[0]
        assert time.monotonic() < deadline, f"{contact_id} never entered {flow_id}"
        time.sleep(POLL)


def finished(enrollment_id: str, timeout: float = 30.0) -> tuple[Enrollment, str]:
    """(the enrollment once it has left, its execution's final status)."""
    sfn = boto3.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        record = Enrollment.get(enrollment_id, consistent_read=True)
        status = (
            sfn.describe_execution(executionArn=record.execution_arn)["status"]
            if record.execution_arn
            else "STARTING"
        )
        if record.status not in ("starting", "active") and status != "RUNNING":
            return record, status
        assert time.monotonic() < deadline, (
            f"enrollment {enrollment_id} still {record.status} / {status} after {timeout}s"
        )
        time.sleep(0.05)


def waiting_at(contact_id: str, node: str, timeout: float = 30.0) -> EventWait:
    """The contact's wait row once it is parked in `node` (a wait_for_event)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [w for w in EventWait.query(contact_id, consistent_read=True) if w.node == node]
        if rows:
            return rows[0]
        assert time.monotonic() < deadline, f"{contact_id} never waited in {node}"
        time.sleep(POLL)


class Scripts:
    """One script per contact, each driving its own contact through its waits (it polls
    for the wait or the email it needs, so it can start before the trigger fires), all at
    once, so no contact's timeout depends on another's or on the test's main thread."""

    def __init__(self, scripts: dict[str, Callable[[], Any]]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(scripts)))
        self._futures = {name: self._pool.submit(script) for name, script in scripts.items()}

    def join(self, timeout: float = 120.0) -> dict[str, Any]:
        """Each script's result; the first failure re-raised."""
        try:
            return {name: future.result(timeout=timeout) for name, future in self._futures.items()}
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)


def activities(contact_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The contact's timeline, oldest first: (kind, data)."""
    items, _ = timeline(contact_id, limit=500)
    return [(a.kind, a.data) for a in reversed(items)]


def open_tasks(user_id: str) -> list[Any]:
    return list(records.open_tasks(user_id))


def sms_sent() -> list[tuple[str, str]]:
    return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())


# --- email ---------------------------------------------------------------------------------

_OPEN = re.compile(r"/t/o/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)")
_CLICK = re.compile(r"/t/c/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)")


_ISOLATES = re.compile("</?bdi>|[\u2068\u2069]")


def as_read(text: str) -> str:
    """Text as a person reads it: the bidi isolates around interpolated values (which
    tests/functions/test_messaging.py checks) are invisible."""
    return _ISOLATES.sub("", text)


@dataclass
class Mail:
    """One message SES accepted, parsed back from its raw MIME; subject, text and HTML as
    a person reads them (`as_read`), the message as sent in `raw`."""

    sender: str
    to: list[str]
    subject: str
    reply_to: str | None
    text: str
    html: str | None
    headers: dict[str, str]
    node: str | None = None  # the flow node that sent it (from its signed open pixel)
    enrollment: str | None = None
    clicks: list[str] = field(default_factory=list)  # tracked-link tokens, in order
    raw: str = ""

    @property
    def open_token(self) -> str:
        assert self.html, "a plain-text email has no open pixel"
        return _OPEN.search(self.html)[1]  # type: ignore[index]


def parse_mail(raw: str) -> Mail:
    message: EmailMessage = email.message_from_string(raw, policy=default_policy)  # type: ignore[assignment]
    html_part = message.get_body(("html",))
    text_part = message.get_body(("plain",))
    html = html_part.get_content() if html_part is not None else None
    found = Mail(
        sender=str(message["From"]),
        to=[address.lower() for _, address in getaddresses([str(message["To"])])],
        subject=as_read(str(message["Subject"])),
        reply_to=str(message["Reply-To"]) if message["Reply-To"] else None,
        text=as_read(text_part.get_content()) if text_part is not None else "",
        html=as_read(html) if html is not None else None,
        headers={k: str(v) for k, v in message.items()},
        raw=raw,
    )
    if html:
        pixel = _OPEN.search(html)
        value = mail.verify(mail.OPEN, pixel[1]) if pixel else None
        if value:
            _, found.enrollment, found.node = value.split("|", 2)
        found.clicks = _CLICK.findall(html)
    return found


_PARSED: dict[str, Mail] = {}  # by SES message id: each message is parsed once


def sent_mail() -> list[Mail]:
    """Every message SES accepted, oldest first."""
    found = []
    for message in list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages):
        if message.id not in _PARSED:
            _PARSED[message.id] = parse_mail(message.raw_data)
        found.append(_PARSED[message.id])
    return found


def mail_to(address: str) -> list[Mail]:
    return [m for m in sent_mail() if address.lower() in m.to]


def flow_mail_to(address: str) -> list[Mail]:
    """The emails flows sent to a contact (not notifications to users)."""
    return [m for m in mail_to(address) if m.node]


def email_from_node(address: str, node: str, timeout: float = 30.0) -> Mail:
    """The email `node` sent to `address`, once it has been sent."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in mail_to(address) if m.node == node]
        if found:
            assert len(found) == 1, f"{node} emailed {address} {len(found)} times"
            return found[0]
        assert time.monotonic() < deadline, f"{node} never emailed {address}"
        time.sleep(POLL)


def link_targets(message: Mail) -> list[str]:
    """Where the email's tracked links lead (read from their signed click tokens)."""
    return [mail.read_click(token)[3] for token in message.clicks]  # type: ignore[index]


def open_email(message: Mail) -> None:
    """The contact's mail client loads the open pixel (GET /t/o/<token>)."""
    assert tracking.opened(message.open_token)


def click_email(message: Mail, index: int = 0) -> str:
    """The contact clicks a tracked link (GET /t/c/<token>); where it redirects."""
    target = tracking.clicked(message.clicks[index])
    assert target, "the click token did not verify"
    return target


# --- the step Lambdas, observed --------------------------------------------------------------

Hook = Callable[[dict[str, Any]], None]


class StepLambdas:
    """Every step Lambda of functions/app.py, re-registered on the bridge behind a wrapper
    that runs the real handler and lets a test act at a precise moment of one contact's
    run (`before` / `after` a node's invocation: a rep edits the record, a gate holds a
    step) or fail invocations on purpose (`inject`)."""

    def __init__(self) -> None:
        from functions import app as entry

        self._entry = entry
        self.before: dict[tuple[str, str], Hook] = {}
        self.after: dict[tuple[str, str], Hook] = {}
        self.inject: Callable[[str, dict[str, Any], Callable[[], Any]], Any] | None = None
        self._gates: list[threading.Event] = []
        for function in entry.app.pure_lambda_functions:
            handler = getattr(entry, function.name)
            moto_patches.register(
                function_prefix() + function.name, self._wrap(function.name, handler)
            )

    def restore(self) -> None:
        """The plain handlers back; any step still held lets go (a failed test's leftovers)."""
        for gate in self._gates:
            gate.set()
        for function in self._entry.app.pure_lambda_functions:
            moto_patches.register(
                function_prefix() + function.name, getattr(self._entry, function.name)
            )

    def hold_after(self, contact_id: str, node: str) -> tuple[threading.Event, threading.Event]:
        """(parked, release): once the contact's `node` step has done its work, `parked` is
        set and the step returns only when `release` is (at most 60 s later). An invocation
        that fails does not park: only the one whose work stands does."""
        parked, release = threading.Event(), threading.Event()
        self._gates.append(release)

        def hold(event: dict[str, Any]) -> None:
            parked.set()
            release.wait(60)

        self.after[(contact_id, node)] = hold
        return parked, release

    def after_step(
        self, contact_id: str, node: str, action: Callable[[], Any]
    ) -> Callable[[], Any]:
        """A script (for Scripts): `action` runs while the contact's `node` step, its work
        done, is held; then the flow goes on. The script may start before the trigger."""
        parked, release = self.hold_after(contact_id, node)

        def script() -> Any:
            try:
                assert parked.wait(60), f"{contact_id} never got through {node}"
                return action()
            finally:
                release.set()

        return script

    def when_waiting(
        self, contact_id: str, node: str, deliver: Callable[[], Any]
    ) -> Callable[[], Any]:
        """A script: once the contact is parked in wait_for_event `node`, `deliver` the event
        while the wait's step is held, then let the flow go on.

        Holding the step makes the event land while the contact waits however loaded the
        machine is (moto starts counting the wait's timeout when its step returns), and the
        event's whole handling, its goal check included, ends before the flow moves on, as
        on AWS, where the next step is a Lambda invocation away (see the known issues in
        test_template_failures.py for the other orders)."""

        def parked_then_deliver() -> Any:
            waiting_at(contact_id, node)
            return deliver()

        return self.after_step(contact_id, node, parked_then_deliver)

    def _wrap(self, name: str, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def invoke(event: dict[str, Any], context: Any) -> Any:
            key = ((event.get("enrollment") or {}).get("contact_id", ""), event.get("node", ""))
            if key in self.before:
                self.before[key](event)
            if self.inject is not None:
                result = self.inject(name, event, lambda: handler(event, context))
            else:
                result = handler(event, context)
            if key in self.after:
                self.after[key](event)
            return result

        return invoke


# --- the other systems the templates call --------------------------------------------------


@dataclass
class Call:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class Remote:
    """Billing, chat webhooks and the like: functions.net.request answered in-process,
    by host. Everything above the socket (templates, headers, status handling, retries,
    exactly-once) is the product's own code."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.answers: dict[str, Callable[[Call], tuple[int, Any]]] = {}

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes | None,
        timeout: float,
        max_body: int,
    ) -> net.Response:
        call = Call(method, url, dict(headers), body)
        self.calls.append(call)
        answer = self.answers.get(call.host)
        status, payload = answer(call) if answer else (404, {"error": "no such host here"})
        data = json.dumps(payload).encode()
        return net.Response(status, {"content-type": "application/json"}, data[:max_body], False)

    def to(self, host: str) -> list[Call]:
        return [c for c in self.calls if c.host == host]
