"""Compile a valid flow to Amazon States Language (JSONPath), deterministically.

Node ids become state names. Synthetic states carry a `crmflow.` prefix, which node ids
cannot contain, so they never clash. Lambda ARNs are `${FnName}` placeholders filled from
DefinitionSubstitutions (CloudFormation on AWS, a resolver on the local stack).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from flows import memo
from flows.errors import FlowInvalid
from flows.issues import Report
from flows.model import DEFAULT_OUTPUT, Flow, Node
from flows.nodes import REGISTRY
from flows.nodes.base import Cost, finish_state, function_key, task_state
from flows.paths import PathStats, path_stats
from flows.perf import gc_paused
from flows.validate import validate

END_STATE = "crmflow.end"
FAILED_STATE = "crmflow.failed"
FAIL_STATE = "crmflow.fail"
FINISH_COST = Cost(lambda_calls=1, ddb_writes=2)
WORKFLOW_TYPE = "STANDARD"  # waits up to a year, exactly-once transitions: see docs/compiler.md


@dataclass
class EmitContext:
    """What a kind's emitter may ask of the compiler: where an output leads, how to fail."""

    edges: dict[tuple[str, str], str]
    used: set[str] = field(default_factory=set)

    def target(self, node: Node, output: str) -> str:
        nxt = self.edges.get((node.id, output))
        if nxt is not None:
            return nxt
        sink = FAILED_STATE if output == "error" else END_STATE
        self.used.add(sink)
        return sink

    def catch(self, node: Node) -> list[dict[str, Any]]:
        return [
            {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": "$.error",
                "Next": self.target(node, "error"),
            }
        ]


@dataclass
class Compiled:
    """A compiled flow: the ASL, the step Lambdas it calls, and what one contact costs.

    `definition` shares unchanged states with earlier compilations (flows.memo): treat it
    as read-only and copy it before changing it.
    """

    flow: Flow
    definition: dict[str, Any]
    handlers: tuple[str, ...]
    costs: dict[str, Cost]
    workflow_type: str = WORKFLOW_TYPE

    @cached_property
    def stats(self) -> PathStats:
        # Computed on demand: the editor recompiles on every click but shows costs rarely.
        return path_stats(self.definition, self.costs)

    @property
    def asl(self) -> str:
        """Indented ASL for files and reviews (the pure-Python indenting encoder is slow)."""
        return json.dumps(self.definition, indent=2, ensure_ascii=False) + "\n"

    @property
    def asl_compact(self) -> str:
        """ASL for API calls: the same document, encoded by the C encoder."""
        return json.dumps(self.definition, ensure_ascii=False, separators=(",", ":"))

    @property
    def substitution_keys(self) -> tuple[str, ...]:
        return tuple(function_key(h) for h in self.handlers)

    def flow_kind(self, node_id: str) -> str | None:
        return next((n.kind for n in self.flow.all_nodes() if n.id == node_id), None)

    @property
    def state_count(self) -> int:
        return len(self.definition["States"])


def compile_flow(source: Any) -> Compiled:
    """Validate and compile; raises FlowInvalid with every error when the flow is invalid."""
    return compile_report(validate(source))


def compile_report(report: Report) -> Compiled:
    if not report.ok or report.flow is None:
        raise FlowInvalid(report)
    with gc_paused():
        return _compile(report)


def _compile(report: Report) -> Compiled:
    flow = report.flow
    ctx = EmitContext({(e.source, e.output): e.to for e in flow.edges})
    by_id = {n.id: n for n in flow.nodes}
    states: dict[str, dict[str, Any]] = {}
    costs: dict[str, Cost] = {}
    handlers: set[str] = set()
    start = ctx.target(flow.trigger, DEFAULT_OUTPUT)
    exits: dict[str, list[tuple[str, str]]] = {}
    for edge in flow.edges:
        exits.setdefault(edge.source, []).append((edge.output, edge.to))
    for node_id in report.order[1:]:  # predecessors first: reads top to bottom
        node = by_id[node_id]
        kind, params = REGISTRY[node.kind], report.params[node_id]
        key = (node.kind, node.id, node.params_key, tuple(exits.get(node_id, ())))
        emitted, used, needs = memo.cached("emit", key, _emit, kind, node, params, ctx)
        states.update(emitted)
        ctx.used.update(used)
        handlers.update(needs)
        costs[node_id] = kind.cost_of(params)
    states.update(_sinks(ctx.used, handlers))
    for name, state in states.items():
        if state["Type"] == "Task" and name not in costs:  # finish states of goals and sinks
            costs[name] = FINISH_COST
    definition = {
        "Comment": f"crmflow flow '{flow.id}': {flow.name}. Generated; edit the flow, not this.",
        "StartAt": start,
        "States": states,
    }
    return Compiled(flow, definition, tuple(sorted(handlers)), costs)


def _emit(kind: Any, node: Node, params: Any, ctx: EmitContext) -> tuple[Any, ...]:
    """A node's states, the shared sinks they lead to, and the Lambdas they call."""
    before = set(ctx.used)
    ctx.used.clear()
    states = kind.emit(node, params, ctx)
    used = frozenset(ctx.used)
    ctx.used.update(before)
    return states, used, kind.handlers(params)


def _sinks(used: set[str], handlers: set[str]) -> dict[str, dict[str, Any]]:
    """The shared terminal states, emitted only when something leads to them."""
    states: dict[str, dict[str, Any]] = {}
    if END_STATE in used:
        states[END_STATE] = finish_state(END_STATE, "completed")
    if FAILED_STATE in used:
        states[FAILED_STATE] = task_state(
            FAILED_STATE,
            "finish",
            {"kind": "finish", "reason": "failed", "error.$": "$.error"},
            Next=FAIL_STATE,
        )
        states[FAIL_STATE] = {
            "Type": "Fail",
            "Error": "Crm.FlowFailed",
            "Cause": "A step failed after its retries; the enrollment's history has the details.",
        }
    if states:
        handlers.add("finish")
    return states
