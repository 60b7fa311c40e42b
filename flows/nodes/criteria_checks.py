"""Checks of Criteria that need the flow (engagement conditions name email nodes)."""

from __future__ import annotations

from collections.abc import Iterator

from flows.conditions import Criteria
from flows.model import Flow
from flows.nodes.base import Finding
from flows.nodes.checks import email_node_finding


def criteria_findings(flow: Flow, criteria: Criteria | None, path: str) -> Iterator[Finding]:
    if criteria is None:
        return
    for suffix, node_id in criteria.engagement_nodes():
        yield from email_node_finding(flow, node_id, f"{path}.{suffix}")
