"""The path a contact took through a flow, read from its execution's history in Step
Functions (GetExecutionHistory): each node entered, when it was entered and left.

States map back to nodes by name: a node's state is named after it (`tag`), its helper
states add a suffix after a dot (`tag.route`, `wait.wait`, `goal.met`) and synthetic
states start with `crmflow.`; node ids contain no dot. The enrollment view and per-node
analytics both read the path from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from functions import aws

SYNTHETIC_PREFIX = "crmflow."
PAGE = 1000  # GetExecutionHistory's largest page


@dataclass(frozen=True)
class Visit:
    """One stay of the contact in one node; `left_at` is None while it is still there."""

    node: str
    entered_at: datetime
    left_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "entered_at": self.entered_at.isoformat(),
            "left_at": self.left_at.isoformat() if self.left_at else None,
        }


def node_of(state_name: str) -> str | None:
    """The node a state belongs to; None for synthetic states."""
    if state_name.startswith(SYNTHETIC_PREFIX):
        return None
    return state_name.split(".", 1)[0]


def path_taken(execution_arn: str) -> list[Visit]:
    """The nodes the execution went through, in order. A node's own states in a row (its
    Task, then its `.route` Choice) are one visit; coming back to a node later is another."""
    path: list[Visit] = []
    for event in events(execution_arn):
        kind = event["type"]
        at = event["timestamp"].astimezone(UTC)  # botocore parses it into local time
        if kind.endswith("StateEntered"):
            node = node_of(event["stateEnteredEventDetails"]["name"])
            if node is None:
                continue
            if path and path[-1].node == node and path[-1].left_at is not None:
                path[-1] = Visit(node, path[-1].entered_at)  # the same node's next state
            elif not path or path[-1].node != node:
                path.append(Visit(node, at))
        elif kind.endswith("StateExited"):
            node = node_of(event["stateExitedEventDetails"]["name"])
            if node is not None and path and path[-1].node == node:
                path[-1] = Visit(node, path[-1].entered_at, at)
    return path


def events(execution_arn: str) -> Iterator[dict[str, Any]]:
    """Every history event of the execution, oldest first, without inputs and outputs
    (they hold contact data, and the path needs none of it)."""
    sfn = aws.client("stepfunctions")
    request: dict[str, Any] = {
        "executionArn": execution_arn,
        "maxResults": PAGE,
        "includeExecutionData": False,
    }
    while True:
        page = aws.call(sfn.get_execution_history, **request)
        yield from page["events"]
        if not page.get("nextToken"):
            return
        request["nextToken"] = page["nextToken"]
