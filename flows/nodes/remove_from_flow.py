"""Action: take the contact out of another flow."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pydantic import Field

from flows.model import FLOW_ID_PATTERN, Flow, Node
from flows.nodes.base import Cost, Finding, TaskKind
from flows.params import Params


class RemoveFromFlowParams(Params):
    flow_id: str = Field(
        pattern=FLOW_ID_PATTERN, description="The flow to take the contact out of."
    )


class RemoveFromFlow(TaskKind):
    name = "remove_from_flow"
    display_name = "Remove from flow"
    description = "Stops another flow for the contact (e.g. stop nurturing once they buy)."
    icon = "⛔"
    Params = RemoveFromFlowParams
    handler = "remove_from_flow"
    cost = Cost(lambda_calls=1, ddb_reads=2, ddb_writes=2)

    def check(self, node: Node, params: RemoveFromFlowParams, flow: Flow) -> Iterator[Finding]:
        if params.flow_id == flow.id:
            yield Finding(
                "params.flow_id", "to leave this flow, connect to an end node or use a goal instead"
            )

    def describe(self, params: RemoveFromFlowParams, labels: Mapping[str, str]) -> str:
        return f"Remove from flow {params.flow_id}"


KIND = RemoveFromFlow()
