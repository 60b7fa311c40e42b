"""A flow's test run: one contact walked through the flow with the real step handlers in a
sandbox (functions.sandbox), so nothing is sent or written and waits take no time.

The walk follows the flow's own graph the way its compiled state machine does: an action
goes on by `next`, or by `error` when it fails (no error edge: the run fails, as a Catch
to the failure state would); a decision takes the output the evaluate handler answers;
an A/B split takes the contact's variant by the same bucket as the Choice state; a
missing edge ends the run. What people cannot script from here, a contact's own
behaviour, they choose: `choices` names the output of a wait-for-event node (default:
timed out) or of a split. Every wait moves the run's clock instead of sleeping, so date
conditions and send windows see the moment the contact would reach them.

Works the same on AWS and on the local stack: it needs the store to read from and
nothing else.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flows.contract import execution_input
from flows.model import DEFAULT_OUTPUT, Flow, Node
from flows.nodes import load_kind
from flows.nodes.ab_split import variant_for
from flows.nodes.base import DecisionKind, TaskKind
from functions import sandbox
from functions.errors import InvalidParams
from functions.steps import run as run_step
from functions.store.contacts import BOOKKEEPING, build_contact
from functions.store.ids import new_id
from functions.store.models import Contact

MAX_STEPS = 500  # a flow is a DAG of at most 1,000 nodes; this only guards the walk
SAMPLE_EMAIL = "test.contact@example.com"
ERROR_OUTPUT = "error"
HAPPENED, TIMED_OUT = "happened", "timed_out"


@dataclass
class Visit:
    """One node the contact passed through."""

    node: str
    kind: str
    label: str
    at: datetime
    output: str | None = None
    waited_seconds: float = 0.0
    result: Any = None
    error: dict[str, str] | None = None
    effects: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        shown = {
            "node": self.node,
            "kind": self.kind,
            "label": self.label,
            "at": self.at.isoformat(),
            "output": self.output,
            "waited_seconds": self.waited_seconds,
            "result": self.result,
            "effects": self.effects,
        }
        if self.error:
            shown["error"] = self.error
        return shown


@dataclass
class DryRun:
    """How the test run went: the path, and what it would have done."""

    flow_id: str
    contact_id: str
    sample: bool
    status: str = "running"  # ended, goal, completed, failed, stopped
    path: list[Visit] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, list[Any]] = field(default_factory=dict)  # field: [before, after]
    choices: dict[str, list[str]] = field(default_factory=dict)  # node: outputs one can pick
    simulated_seconds: float = 0.0

    def of_kind(self, *kinds: str) -> list[dict[str, Any]]:
        return [e for e in self.effects if e["kind"] in kinds]

    def as_dict(self) -> dict[str, Any]:
        return {
            "flow_id": self.flow_id,
            "contact_id": self.contact_id,
            "sample_contact": self.sample,
            "status": self.status,
            "path": [v.as_dict() for v in self.path],
            "nodes": [v.node for v in self.path],
            "emails": self.of_kind("email"),
            "sms": self.of_kind("sms"),
            "tasks": self.of_kind("task_created"),
            "http_requests": self.of_kind("http"),
            "record_changes": self.changes,
            "effects": self.effects,
            "choices": self.choices,
            "simulated_seconds": self.simulated_seconds,
        }


def dry_run(
    flow: Flow,
    params: dict[str, Any],
    *,
    contact: Contact | None = None,
    sample: dict[str, Any] | None = None,
    trigger: dict[str, Any] | None = None,
    choices: dict[str, str] | None = None,
    version: int = 0,
) -> DryRun:
    """Walk `flow` (validated; `params` its nodes' parsed params) for an existing `contact`
    or a `sample` one built from fields; nothing is sent or saved."""
    choices = choices or {}
    options = choosable(flow, params)
    _check_choices(options, choices)
    subject = copy.deepcopy(contact) if contact is not None else _sample(sample or {})
    box = sandbox.Sandbox(subject)
    run = DryRun(flow.id, subject.contact_id, contact is None, choices=options)
    enrollment = execution_input(
        enrollment_id=f"{sandbox.TEST_ID_PREFIX}{new_id('enr')}",
        flow_id=flow.id,
        flow_version=version,
        contact_id=subject.contact_id,
        trigger=trigger,
    )
    walker = _Walker(flow, params, choices, box, run, enrollment)
    before = sandbox.fields_of(subject)
    with sandbox.sandboxed(box):
        walker.walk()
    run.changes = sandbox.changes(before, sandbox.fields_of(subject), BOOKKEEPING)
    run.effects = [e.as_dict() for e in box.effects]
    run.simulated_seconds = box.elapsed.total_seconds()
    return run


class _Walker:
    def __init__(
        self,
        flow: Flow,
        params: dict[str, Any],
        choices: dict[str, str],
        box: sandbox.Sandbox,
        run: DryRun,
        enrollment: dict[str, Any],
    ) -> None:
        self.flow, self.params, self.choices = flow, params, choices
        self.box, self.run, self.document = box, run, enrollment
        self.nodes = {n.id: n for n in flow.all_nodes()}
        self.edges = {(e.source, e.output): e.to for e in flow.edges}

    def walk(self) -> None:
        current = self.edges.get((self.flow.trigger.id, DEFAULT_OUTPUT))
        for _ in range(MAX_STEPS):
            if current is None:
                self.run.status = "completed"
                return
            node = self.nodes[current]
            visit = self._visit(node)
            self.run.path.append(visit)
            if visit.output is None:  # the run ended in this node
                return
            current = self.edges.get((node.id, visit.output))
            if current is None and visit.output == ERROR_OUTPUT:
                self.run.status = "failed"
                return
        self.run.status = "stopped"  # a loop the validator missed: say so, never spin

    def _visit(self, node: Node) -> Visit:
        kind = load_kind(node.kind)
        params = self.params.get(node.id)
        visit = Visit(node.id, node.kind, node.label, self.box.now())
        self.box.node = node.id
        first_effect = len(self.box.effects)
        try:
            visit.output = self._step(node, kind, params, visit)
        except Exception as exc:  # the flow's Catch takes every error alike
            visit.error = {"error": type(exc).__name__, "cause": str(exc)}
            visit.output = ERROR_OUTPUT
        visit.effects = [e.as_dict() for e in self.box.effects[first_effect:]]
        return visit

    def _step(self, node: Node, kind: Any, params: Any, visit: Visit) -> str | None:
        name = kind.name
        if name == "end":
            self.run.status = "ended"
            return None
        if name == "wait":
            return self._wait(visit, params.duration.seconds)
        if name == "wait_until":
            if params.needs_lookup:
                until = self._call("resolve_wait", node, visit)["until"]
                moment = datetime.strptime(until, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            else:
                moment = params.at.astimezone(UTC)
            return self._wait(visit, (moment - self.box.now()).total_seconds())
        if name == "wait_for_event":
            return self._wait_for_event(node, params, visit)
        if name == "ab_split":
            bucket = self.document["enrollment"]["bucket"]
            return self.choices.get(node.id) or variant_for(node.id, params, bucket)
        if isinstance(kind, DecisionKind):
            output = self._call("evaluate", node, visit)["output"]
            if name == "goal" and output == "met":
                self.run.status = "goal"
                return None
            return output
        if isinstance(kind, TaskKind):
            self._call(kind.handler, node, visit)
            return DEFAULT_OUTPUT
        raise InvalidParams(f"a test run cannot run a {name} node")

    def _call(self, handler: str, node: Node, visit: Visit) -> dict[str, Any]:
        event = {
            "node": node.id,
            "kind": node.kind,
            "params": node.params,
            **self.document,
            "execution": f"testrun:{self.document['enrollment']['id']}",
            "state": node.id,
            "attempt": 0,
        }
        result = run_step(handler, event)
        visit.result = result
        return result

    def _wait(self, visit: Visit, seconds: float) -> str:
        visit.waited_seconds = max(0.0, seconds)
        self.box.advance(seconds)
        return DEFAULT_OUTPUT

    def _wait_for_event(self, node: Node, params: Any, visit: Visit) -> str:
        output = self.choices.get(node.id, TIMED_OUT)
        if output == TIMED_OUT:
            self._wait(visit, params.timeout.seconds)
            return TIMED_OUT
        # The event arrives: on the timeline as POST /events would put it, so decisions
        # that look for opens and clicks of this run's emails see it.
        from functions.store.contacts import add_activity

        data = {"enrollment": self.document["enrollment"]["id"], "test_run": True}
        if params.email_node:
            data["node"] = params.email_node
        if params.custom_name:
            data["name"] = params.custom_name
        add_activity(self.box.contact.contact_id, params.event, data)
        return HAPPENED


def _check_choices(options: dict[str, list[str]], choices: dict[str, str]) -> None:
    """InvalidParams naming the node or output when a choice cannot be taken."""
    for node_id, output in choices.items():
        if node_id not in options:
            raise InvalidParams(
                f"choices: '{node_id}' is not a wait-for-event or A/B split node of this flow"
            )
        if output not in options[node_id]:
            raise InvalidParams(
                f"choices: node '{node_id}' has no output '{output}'; "
                f"it has {', '.join(options[node_id])}"
            )


def choosable(flow: Flow, params: dict[str, Any]) -> dict[str, list[str]]:
    """The nodes whose output a test run lets people pick, with their outputs."""
    return {
        n.id: [o.name for o in load_kind(n.kind).outputs(params.get(n.id))]
        for n in flow.nodes
        if n.kind in ("wait_for_event", "ab_split")
    }


def _sample(fields: dict[str, Any]) -> Contact:
    """A contact that exists only in this run; by default one that agreed to email."""
    wanted = {"email": SAMPLE_EMAIL, "email_consent": True, **fields}
    return build_contact(wanted, contact_id=f"{sandbox.TEST_ID_PREFIX}{new_id('c')}")


def try_flow(
    flow_id: str,
    *,
    document: Any = None,
    contact_id: str | None = None,
    email: str | None = None,
    sample: dict[str, Any] | None = None,
    trigger: dict[str, Any] | None = None,
    choices: dict[str, str] | None = None,
) -> DryRun:
    """Test-run `document` (default: the flow's newest saved version) for the contact with
    `contact_id` or `email`, or for a sample contact built from `sample`'s fields.

    Crm.FlowInvalid (with the report) when the flow has errors; Crm.FlowNotFound,
    Crm.ContactNotFound when what is named does not exist."""
    from flows.validate import validate
    from functions.catalog import get_flow, latest_version
    from functions.errors import ContactNotFound, FlowNotFound
    from functions.publish import rejected
    from functions.store.contacts import find_by_email, get_contact

    version = 0  # a document not saved yet
    if document is None:
        latest = latest_version(get_flow(flow_id))
        if latest is None:
            raise FlowNotFound(f"flow '{flow_id}' has no saved version to test")
        document, version = latest.document, int(latest.version)
    report = validate(document)
    if not report.ok or report.flow is None:
        raise rejected(report)
    if report.flow.id != flow_id:
        raise InvalidParams(f"the document is flow '{report.flow.id}', not '{flow_id}'")
    contact = None
    if contact_id:
        contact = get_contact(contact_id)
    elif email:
        contact = find_by_email(email)
        if contact is None:
            raise ContactNotFound(f"no contact has email {email}")
    return dry_run(
        report.flow,
        report.params,
        contact=contact,
        sample=sample,
        trigger=trigger,
        choices=choices,
        version=version,
    )
