"""Control: if/else on the contact's fields, tags, score and engagement."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import Field

from flows import summaries as say
from flows.conditions import Criteria
from flows.model import Flow, Node
from flows.nodes.base import DecisionKind, Finding, Output
from flows.nodes.criteria_checks import criteria_findings
from flows.params import Params

YES, NO = "yes", "no"


class BranchParams(Params):
    criteria: Criteria = Field(description="The question; contacts that match go to 'yes'.")


class Branch(DecisionKind):
    name = "branch"
    display_name = "If / else"
    description = "Sends contacts that match the conditions down 'yes', the others down 'no'."
    icon = "🔀"
    Params = BranchParams

    def outputs(self, params: Any) -> list[Output]:
        return [Output(YES, "Yes"), Output(NO, "No")]

    def routes(self, node: Node, params: Any, ctx: Any) -> tuple[list[tuple[str, str]], str]:
        return [(YES, ctx.target(node, YES))], ctx.target(node, NO)

    def check(self, node: Node, params: BranchParams, flow: Flow) -> Iterator[Finding]:
        yield from criteria_findings(flow, params.criteria, "params.criteria")

    def describe(self, params: BranchParams, labels: Mapping[str, str]) -> str:
        return "If " + say.criteria(params.criteria, labels)


KIND = Branch()
