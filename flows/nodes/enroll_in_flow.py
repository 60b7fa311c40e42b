"""Action: start another flow for this contact."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pydantic import Field

from flows.model import FLOW_ID_PATTERN, Flow, Node
from flows.nodes.base import Cost, Finding, TaskKind
from flows.params import Params


class EnrollInFlowParams(Params):
    flow_id: str = Field(pattern=FLOW_ID_PATTERN, description="The flow to enroll the contact in.")


class EnrollInFlow(TaskKind):
    name = "enroll_in_flow"
    display_name = "Enroll in flow"
    description = "Starts another flow for the contact (e.g. hand over to a nurture flow)."
    icon = "↪️"
    Params = EnrollInFlowParams
    handler = "enroll_in_flow"
    cost = Cost(lambda_calls=1, ddb_reads=2, ddb_writes=2)

    def check(self, node: Node, params: EnrollInFlowParams, flow: Flow) -> Iterator[Finding]:
        if params.flow_id == flow.id:
            yield Finding("params.flow_id", "a flow cannot enroll contacts into itself")

    def describe(self, params: EnrollInFlowParams, labels: Mapping[str, str]) -> str:
        return f"Enroll in flow {params.flow_id}"


KIND = EnrollInFlow()
