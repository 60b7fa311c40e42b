"""Cross-node checks several kinds share."""

from __future__ import annotations

from collections.abc import Iterator

from flows.model import Flow
from flows.nodes.base import Finding


def email_node_finding(flow: Flow, node_id: str, path: str) -> Iterator[Finding]:
    """A reference to 'the email sent by node X' must name a send_email node of this flow."""
    target = next((n for n in flow.nodes if n.id == node_id), None)
    if target is None:
        yield Finding(path, f"there is no node '{node_id}' in this flow")
    elif target.kind != "send_email":
        yield Finding(path, f"node '{node_id}' is a {target.kind}, not a send_email node")
