"""Run a compiled flow on moto's real Step Functions interpreter with stand-in step handlers.

The stand-ins do no CRM work: decisions answer what a `Script` says, waits for events are
resumed (or left to time out), actions succeed or fail on request. What runs for real is
the compiled state machine: its Choices, Waits, task tokens, Retry and Catch. Used by the
template tests (every output of every node, end to end) and by `crmflow simulate`.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from flows.compiler import Compiled
from flows.contract import execution_input
from flows.model import Flow
from flows.nodes import REGISTRY
from infra.local.sfn_runner import REGION, ExecutionResult, LocalSfn

MULTI_OUTPUT = frozenset({"branch", "switch", "ab_split", "wait_for_event", "goal"})


class SimulatedFailure(Exception):
    """Raised by a stand-in action told to fail."""


SimulatedFailure.__name__ = "Crm.SimulatedFailure"  # the ASL error name, as Lambda reports it


@dataclass
class Script:
    """What the stand-ins answer: node id → output taken; actions that fail."""

    choices: dict[str, str] = field(default_factory=dict)
    fail: frozenset[str] = frozenset()

    def describe(self) -> str:
        parts = [f"{n}={o}" for n, o in sorted(self.choices.items())]
        parts += [f"{n}=fails" for n in sorted(self.fail)]
        return ", ".join(parts) or "defaults"


@dataclass
class Simulation:
    """How one simulated enrollment went."""

    script: Script
    result: ExecutionResult
    calls: list[dict[str, Any]]

    @property
    def status(self) -> str:
        return self.result.status

    @property
    def states(self) -> list[str]:
        return self.result.states_entered


class _StandIns:
    """The handlers for one run; they record every call."""

    def __init__(self, flow: Flow, script: Script) -> None:
        self.flow, self.script = flow, script
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def handlers(self, keys: tuple[str, ...], handler_names: tuple[str, ...]) -> dict[str, Any]:
        return {key: self._handler(name) for key, name in zip(keys, handler_names, strict=True)}

    def _handler(self, name: str) -> Any:
        def handle(event: dict[str, Any], context: Any) -> Any:
            with self._lock:
                self.calls.append({"handler": name, **event})
            return getattr(self, f"_{name}", self._action)(event)

        return handle

    def _evaluate(self, event: dict[str, Any]) -> dict[str, Any]:
        node = event["node"]
        first = REGISTRY[event["kind"]].outputs(None)
        default = "next" if event["kind"] == "goal" else (first[0].name if first else "default")
        if event["kind"] == "switch":
            default = event["params"]["cases"][0]["name"]
        return {"output": self.script.choices.get(node, default)}

    def _wait_for_event(self, event: dict[str, Any]) -> dict[str, Any]:
        if self.script.choices.get(event["node"], "happened") == "happened":
            _resume(event["task_token"])
        return {"waiting": True}

    def _resolve_wait(self, event: dict[str, Any]) -> dict[str, Any]:
        until = datetime.now(UTC) + timedelta(hours=1)
        return {"until": until.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def _finish(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"reason": event["reason"]}

    def _action(self, event: dict[str, Any]) -> dict[str, Any]:
        if event["node"] in self.script.fail:
            raise SimulatedFailure(f"step '{event['node']}' was told to fail")
        return {"ok": True}


def _resume(token: str) -> None:
    client = boto3.client("stepfunctions", region_name=REGION)
    client.send_task_success(taskToken=token, output='{"event": "simulated"}')


class Simulator:
    """One compiled flow on the local interpreter: its state machine is created once and
    every `run` is one enrollment with its own script."""

    def __init__(self, sfn: LocalSfn, compiled: Compiled) -> None:
        self.sfn, self.compiled = sfn, compiled
        self.machine_arn = sfn.create(
            compiled.definition, compiled.substitution_keys, name=compiled.flow.id[:60]
        )

    def run(
        self,
        script: Script | None = None,
        *,
        contact_id: str = "c-sample",
        trigger: dict[str, Any] | None = None,
        timeout: float = 30.0,
    ) -> Simulation:
        script = script or Script()
        stand_ins = _StandIns(self.compiled.flow, script)
        handlers = stand_ins.handlers(self.compiled.substitution_keys, self.compiled.handlers)
        doc = execution_input(
            enrollment_id=f"sim-{contact_id}",
            flow_id=self.compiled.flow.id,
            flow_version=1,
            contact_id=contact_id,
            trigger=trigger,
        )
        bucket = bucket_for(self.compiled, script)
        if bucket is not None:
            doc["enrollment"]["bucket"] = bucket
        result = self.sfn.execute(
            self.machine_arn, doc, handlers, name=self.compiled.flow.id[:60], timeout=timeout
        )
        return Simulation(script, result, stand_ins.calls)

    def close(self) -> None:
        self.sfn.client.delete_state_machine(stateMachineArn=self.machine_arn)

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def bucket_for(compiled: Compiled, script: Script) -> int | None:
    """A bucket that sends the contact down every ab_split variant the script names."""
    wanted = [
        (node, compiled.definition["States"][node], _edge_target(compiled.flow, node, output))
        for node, output in script.choices.items()
        if compiled.flow_kind(node) == "ab_split"
    ]
    if not wanted:
        return None
    for bucket in range(100):
        if all(choose(state, bucket) == target for _, state, target in wanted):
            return bucket
    raise ValueError(f"no bucket satisfies {script.describe()}: the splits are correlated")


def choose(state: dict[str, Any], bucket: int) -> str:
    """Evaluate an ab_split Choice state for one bucket, as Step Functions would."""
    for rule in state["Choices"]:
        if _holds(rule, bucket):
            return rule["Next"]
    return state["Default"]


def _holds(rule: dict[str, Any], bucket: int) -> bool:
    if "And" in rule:
        return all(_holds(r, bucket) for r in rule["And"])
    if "Or" in rule:
        return any(_holds(r, bucket) for r in rule["Or"])
    if "NumericGreaterThanEquals" in rule:
        return bucket >= rule["NumericGreaterThanEquals"]
    if "NumericLessThan" in rule:
        return bucket < rule["NumericLessThan"]
    raise ValueError(f"unexpected rule {rule}")


def _edge_target(flow: Flow, node: str, output: str) -> str:
    return next(e.to for e in flow.edges if e.source == node and e.output == output)


def coverage_scripts(flow: Flow) -> list[Script]:
    """Scripts that together take every output of every multi-output node at least once,
    each steering the contact there along a shortest path from the trigger."""
    parents = _shortest_paths(flow)
    scripts = []
    for node in flow.nodes:
        if node.kind not in MULTI_OUTPUT:
            continue
        outputs = [o.name for o in REGISTRY[node.kind].outputs(_params(node))]
        if node.kind == "goal":
            outputs = ["met", "next"]
        for output in outputs:
            choices = _route_to(node.id, parents, flow)
            choices[node.id] = output
            scripts.append(Script(choices))
    return scripts


def _params(node: Any) -> Any:
    return REGISTRY[node.kind].Params.model_validate(node.params)


def _shortest_paths(flow: Flow) -> dict[str, tuple[str, str]]:
    """node id → (parent id, output) on a shortest path from the trigger."""
    out: dict[str, list[tuple[str, str]]] = {}
    for edge in flow.edges:
        out.setdefault(edge.source, []).append((edge.output, edge.to))
    parents: dict[str, tuple[str, str]] = {}
    queue = deque([flow.trigger.id])
    seen = {flow.trigger.id}
    while queue:
        current = queue.popleft()
        for output, nxt in out.get(current, []):
            if nxt not in seen:
                seen.add(nxt)
                parents[nxt] = (current, output)
                queue.append(nxt)
    return parents


def _route_to(node_id: str, parents: dict[str, tuple[str, str]], flow: Flow) -> dict[str, str]:
    """The choices that lead from the trigger to `node_id` (only where there is a choice)."""
    kinds = {n.id: n.kind for n in flow.nodes}
    choices: dict[str, str] = {}
    while node_id in parents:
        parent, output = parents[node_id]
        if kinds.get(parent) in MULTI_OUTPUT:
            choices[parent] = output
        node_id = parent
    return choices
