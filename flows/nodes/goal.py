"""Control: contacts that meet the goal leave the flow; the others go on."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import Field

from flows import summaries as say
from flows.conditions import Criteria
from flows.model import DEFAULT_OUTPUT, Flow, Node
from flows.nodes.base import DecisionKind, Finding, Output, States, finish_state
from flows.nodes.criteria_checks import criteria_findings
from flows.params import Params

MET = "met"


class GoalParams(Params):
    criteria: Criteria = Field(description="The goal, e.g. lifecycle_stage equals customer.")


class Goal(DecisionKind):
    name = "goal"
    display_name = "Goal"
    description = (
        "Contacts that meet the goal leave the flow (counted as converted); others continue."
    )
    icon = "🏁"
    Params = GoalParams

    def outputs(self, params: Any) -> list[Output]:
        return [Output(DEFAULT_OUTPUT, "Not yet", required=False)]

    def routes(self, node: Node, params: Any, ctx: Any) -> tuple[list[tuple[str, str]], str]:
        return [(MET, f"{node.id}.met")], ctx.target(node, DEFAULT_OUTPUT)

    def emit(self, node: Node, params: Any, ctx: Any) -> States:
        states = super().emit(node, params, ctx)
        states[f"{node.id}.met"] = finish_state(node.id, "goal")
        return states

    def handlers(self, params: Any) -> tuple[str, ...]:
        return ("evaluate", "finish")

    def check(self, node: Node, params: GoalParams, flow: Flow) -> Iterator[Finding]:
        yield from criteria_findings(flow, params.criteria, "params.criteria")

    def describe(self, params: GoalParams, labels: Mapping[str, str]) -> str:
        return "Goal: " + say.criteria(params.criteria, labels)


KIND = Goal()
