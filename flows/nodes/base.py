"""Node kinds: the base classes that own what every kind shares.

A kind declares its params model and editor metadata once; the base emitters own
Next/End, Retry and Catch, so a kind adds only its own part of the state machine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import ValidationError

from flows.model import DEFAULT_OUTPUT, Node
from flows.params import Params
from flows.summaries import clip

if TYPE_CHECKING:
    from flows.compiler import EmitContext
    from flows.model import Flow

Category = Literal["trigger", "action", "control"]
States = dict[str, dict[str, Any]]

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"

# Transient failures worth retrying: Lambda's own hiccups and our handlers' Crm.Transient.
# Step Functions matches error names exactly, not by class: every named subclass of
# functions.errors.Transient is listed too (tests/functions/test_errors_retried.py checks).
TRANSIENT_ERRORS = ("Crm.Transient", "Crm.Conflict", "Http.Retryable", "Http.Timeout")
RETRY = [
    {
        "ErrorEquals": [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
            *TRANSIENT_ERRORS,
        ],
        "IntervalSeconds": 2,
        "MaxAttempts": 6,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 60,
        "JitterStrategy": "FULL",
    }
]


@dataclass(frozen=True)
class Output:
    """A way out of a node; edges name it."""

    name: str
    label: str
    required: bool = True


@dataclass(frozen=True)
class Cost:
    """What one pass through a node uses, for `crmflow cost`."""

    lambda_calls: int = 0
    ddb_reads: int = 0
    ddb_writes: int = 0
    emails: int = 0
    sms: int = 0


@dataclass(frozen=True)
class Finding:
    """A kind-specific problem: where under the node, what, and how bad."""

    path: str  # relative to the node, e.g. "params.weights"
    message: str
    severity: Literal["error", "warning"] = "error"


@dataclass(frozen=True)
class Placement:
    """Where a new node is being added: the flow document (JSON, as the editor holds it),
    the node it follows (None: not wired yet) and through which of that node's outputs.
    Kinds read it to start their params from what is around them."""

    flow: Mapping[str, Any]
    after: str | None = None
    output: str | None = None

    def nearest_before(self, kind: str) -> Mapping[str, Any] | None:
        """The closest node of `kind` at or above `after`, walking edges backwards
        (breadth first, so the nearest wins); None when there is none."""
        if self.after is None:
            return None
        nodes = {n["id"]: n for n in [self.flow["trigger"], *self.flow.get("nodes", [])]}
        parents: dict[str, list[str]] = {}
        for edge in self.flow.get("edges", []):
            parents.setdefault(edge["to"], []).append(edge["from"])
        seen, queue = {self.after}, [self.after]
        while queue:
            current = queue.pop(0)
            spec = nodes.get(current)
            if spec is not None and spec.get("kind") == kind:
                return spec
            for parent in parents.get(current, []):
                if parent not in seen:
                    seen.add(parent)
                    queue.append(parent)
        return None


@dataclass(frozen=True)
class NextStep:
    """A one-click next step a node offers in the editor: add a `kind` node after it,
    through `output`, starting with `params` (over the kind's own starting params)."""

    label: str
    kind: str
    output: str
    params: Mapping[str, Any] = field(default_factory=dict)


NEXT = Output(DEFAULT_OUTPUT, "Next", required=False)
ERROR = Output("error", "On error", required=False)


@cache
def function_key(handler: str) -> str:
    """DefinitionSubstitutions key of a step Lambda: send_email -> FnSendEmail."""
    return "Fn" + "".join(part.capitalize() for part in handler.split("_"))


def placeholder(handler: str) -> str:
    return "${" + function_key(handler) + "}"


class NodeKind:
    """Base of every node kind."""

    name: ClassVar[str]
    display_name: ClassVar[str]
    category: ClassVar[Category]
    description: ClassVar[str]
    icon: ClassVar[str] = "•"
    Params: ClassVar[type[Params]]
    cost: ClassVar[Cost] = Cost()

    def outputs(self, params: Any) -> list[Output]:
        return [NEXT]

    def summary(self, params: Any, labels: Mapping[str, str] | None = None) -> str:
        """One plain-words line from the settings ("Wait 2 days"); `labels` names other
        nodes by id. Params may be raw (a dict); invalid or missing ones give display_name."""
        if params is None:
            return self.display_name
        if not isinstance(params, self.Params):
            try:
                params = self.Params.model_validate(params)
            except ValidationError:
                return self.display_name
        return clip(self.describe(params, labels or {})) or self.display_name

    def describe(self, params: Any, labels: Mapping[str, str]) -> str:
        """The kind's own sentence for `summary` (params are valid here)."""
        return self.display_name

    def check(self, node: Node, params: Any, flow: Flow) -> Iterator[Finding]:
        """Checks that need more than the params model (other nodes, the whole flow)."""
        return iter(())

    def starting_params(self, placement: Placement) -> dict[str, Any]:
        """The params a new node of this kind starts with where it is placed (what the
        marketer would most likely fill in); the form shows the rest as required."""
        return {}

    def next_steps(self, node_id: str, params: Any, flow: Mapping[str, Any]) -> list[NextStep]:
        """One-click steps to add after a node of this kind (params are valid here)."""
        return []

    def wait_seconds(self, params: Any) -> int:
        """Longest time a contact can spend in this node (for the one-year limit)."""
        return 0

    def cost_of(self, params: Any) -> Cost:
        """What one pass costs with these params (most kinds: always `cost`)."""
        return self.cost

    def emit(self, node: Node, params: Any, ctx: EmitContext) -> States:
        raise NotImplementedError

    def handlers(self, params: Any) -> tuple[str, ...]:
        """The step Lambdas this node's states call."""
        return ()


class TriggerKind(NodeKind):
    """Triggers start enrollments; they emit no states (StartAt is their successor)."""

    category: ClassVar[Category] = "trigger"

    def outputs(self, params: Any) -> list[Output]:
        return [Output(DEFAULT_OUTPUT, "Next", required=True)]

    def emit(self, node: Node, params: Any, ctx: EmitContext) -> States:
        return {}


def task_state(node_id: str, handler: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A Lambda Task with the standard payload envelope and a small result at $.last."""
    body = {
        "node": node_id,
        **payload,
        "enrollment.$": "$.enrollment",
        "trigger.$": "$.trigger",
        "execution.$": "$$.Execution.Id",
        "state.$": "$$.State.Name",
        "attempt.$": "$$.State.RetryCount",
    }
    state = {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": placeholder(handler), "Payload": body},
        "ResultSelector": {"result.$": "$.Payload"},
        "ResultPath": "$.last",
        "Retry": RETRY,
    }
    state.update(extra)
    return state


class TaskKind(NodeKind):
    """An action: one Lambda call; errors go to the node's error output or the recorded failure."""

    category: ClassVar[Category] = "action"
    handler: ClassVar[str]
    cost: ClassVar[Cost] = Cost(lambda_calls=1, ddb_reads=1, ddb_writes=2)

    def outputs(self, params: Any) -> list[Output]:
        return [NEXT, ERROR]

    def handlers(self, params: Any) -> tuple[str, ...]:
        return (self.handler,)

    def emit(self, node: Node, params: Any, ctx: EmitContext) -> States:
        # The params as written: handlers re-validate them with the same model, so the
        # defaults live in one place and compiled definitions stay small.
        state = task_state(node.id, self.handler, {"kind": self.name, "params": node.params})
        state["Catch"] = ctx.catch(node)
        state["Next"] = ctx.target(node, DEFAULT_OUTPUT)
        return {node.id: state}


class DecisionKind(NodeKind):
    """A decision on fresh contact data: the evaluate Lambda answers with an output name,
    a Choice state routes on it."""

    category: ClassVar[Category] = "control"
    cost: ClassVar[Cost] = Cost(lambda_calls=1, ddb_reads=2)

    def handlers(self, params: Any) -> tuple[str, ...]:
        return ("evaluate",)

    def routes(
        self, node: Node, params: Any, ctx: EmitContext
    ) -> tuple[list[tuple[str, str]], str]:
        """(output value, target state) choices and the default target."""
        raise NotImplementedError

    def emit(self, node: Node, params: Any, ctx: EmitContext) -> States:
        payload = {"kind": self.name, "params": node.params}
        route = f"{node.id}.route"
        task = task_state(node.id, "evaluate", payload, Catch=ctx.catch(node), Next=route)
        choices, default = self.routes(node, params, ctx)
        choice = {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.last.result.output", "StringEquals": value, "Next": target}
                for value, target in choices
            ],
            "Default": default,
        }
        return {node.id: task, route: choice}


def finish_state(node_id: str, reason: str) -> dict[str, Any]:
    """A terminal Task that records why the contact left (completed, ended, goal, failed)."""
    return task_state(node_id, "finish", {"kind": "finish", "reason": reason}, End=True)
