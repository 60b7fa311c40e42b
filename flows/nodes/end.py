"""Control: the contact leaves the flow here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.model import Node
from flows.nodes.base import Cost, NodeKind, Output, States, finish_state
from flows.params import Params


class EndParams(Params):
    pass


class End(NodeKind):
    name = "end"
    display_name = "End"
    category = "control"
    description = "The contact leaves the flow."
    icon = "⏹️"
    Params = EndParams
    cost = Cost(lambda_calls=1, ddb_writes=2)

    def outputs(self, params: Any) -> list[Output]:
        return []

    def handlers(self, params: Any) -> tuple[str, ...]:
        return ("finish",)

    def emit(self, node: Node, params: Any, ctx: Any) -> States:
        return {node.id: finish_state(node.id, "ended")}

    def describe(self, params: EndParams, labels: Mapping[str, str]) -> str:
        return "End"


KIND = End()
