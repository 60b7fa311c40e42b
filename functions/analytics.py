"""Per-node counts of a flow, for the editor's analytics: how many contacts entered each
node, how many wait in it now, and how many left it by a goal, a failure, a removal or
the flow's end.

A/B splits are judged on goal conversion: a contact that leaves by a goal also adds one
to a `goal-after#` row of every node it passed, so a variant's conversions are those of
its first node, whatever step the goal was met at (goals are met anywhere: see
functions/triggers/goals.py). The significance test itself is functions/ab_stats.py.

When a contact leaves, its path (from the execution's history) is stored on the enrollment
and added to the flow's NodeStats with atomic ADDs — once, since only the first record of
a departure counts. Contacts still in the flow are counted live: each active enrollment's
history says where it is now. That costs one GetExecutionHistory per contact in the flow,
so the live part reads at most `LIVE_LIMIT` of them and says when it stopped there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import UpdateError

from functions.ab_stats import Proportion, two_proportion_test
from functions.history import path_taken
from functions.store.contacts import cancelled_by_condition
from functions.store.models import Enrollment, Membership, NodeStats

LIVE_LIMIT = 2000
# NodeStats rows counting contacts that passed a node and then met a goal: a key space of
# their own, so per-version queries ("000003#…") never see them.
GOAL_AFTER = "goal-after#"
# Which NodeStats counter a departure adds to, at the node the contact left from.
DEPARTURES = {
    "goal": "goal",
    "failed": "failed",
    "unenrolled": "unenrolled",
    "ended": "finished",
    "completed": "finished",
}


@dataclass
class NodeCounts:
    entered: int = 0
    waiting: int = 0  # in the node now
    goal: int = 0
    failed: int = 0
    unenrolled: int = 0
    finished: int = 0


@dataclass
class FlowCounts:
    nodes: dict[str, NodeCounts] = field(default_factory=dict)
    active: int = 0
    live_counted: int = 0  # active contacts whose position was read (≤ LIVE_LIMIT)

    def as_dict(self) -> dict[str, Any]:
        return {
            "nodes": {n: c.__dict__ for n, c in sorted(self.nodes.items())},
            "active": self.active,
            "live_counted": self.live_counted,
            "complete": self.live_counted == self.active,
        }


def record_departure(enrollment: Enrollment, reason: str) -> None:
    """Store the path of a contact that left and add it to the node counts (call once)."""
    try:
        path = path_taken(enrollment.execution_arn) if enrollment.execution_arn else []
    except ClientError:
        path = []  # the history is gone (a restarted local stack): count nothing
    version = int(enrollment.flow_version)
    where = enrollment.left_node or (path[-1].node if path else None)
    for visit_node in dict.fromkeys(v.node for v in path):
        _add(enrollment.flow_id, version, visit_node, "entered")
    counter = DEPARTURES.get(reason)
    if counter and where:
        _add(enrollment.flow_id, version, where, counter)
    if reason == "goal":
        for visit_node in dict.fromkeys(v.node for v in path):
            _add(enrollment.flow_id, version, visit_node, "goal", prefix=GOAL_AFTER)
    # Last: an enrollment with its path stored has been counted (readers rely on it).
    try:
        Enrollment(enrollment.enrollment_id).update(
            actions=[Enrollment.path.set([visit.as_dict() for visit in path])],
            # An update creates what it misses: an enrollment erased meanwhile (its contact
            # deleted) must not come back as a row holding only a path.
            condition=Enrollment.enrollment_id.exists(),
        )
    except UpdateError as exc:
        if not cancelled_by_condition(exc):
            raise


def flow_counts(flow_id: str, version: int | None = None) -> FlowCounts:
    """The counts of every node, over all versions or one."""
    counts = FlowCounts()
    prefix = f"{version:06d}#" if version is not None else None
    condition = NodeStats.node_key.startswith(prefix) if prefix else None
    for row in NodeStats.query(flow_id, condition):
        if row.node_key.startswith(GOAL_AFTER):
            continue
        node = row.node_key.split("#", 1)[1]
        into = counts.nodes.setdefault(node, NodeCounts())
        for name in ("entered", "goal", "failed", "unenrolled", "finished"):
            setattr(into, name, getattr(into, name) + int(getattr(row, name) or 0))
    _add_live(flow_id, version, counts)
    return counts


# --- helpers -----------------------------------------------------------------------------


def _add(flow_id: str, version: int, node: str, counter: str, prefix: str = "") -> None:
    attribute = getattr(NodeStats, counter)
    NodeStats(flow_id, f"{prefix}{version:06d}#{node}").update(actions=[attribute.add(1)])


def goals_after(flow_id: str, version: int | None = None) -> Counter[str]:
    """Per node: contacts that passed it and then left the flow by meeting a goal."""
    prefix = GOAL_AFTER + (f"{version:06d}#" if version is not None else "")
    found: Counter[str] = Counter()
    for row in NodeStats.query(flow_id, NodeStats.node_key.startswith(prefix)):
        found[row.node_key.rsplit("#", 1)[1]] += int(row.goal or 0)
    return found


def _add_live(flow_id: str, version: int | None, counts: FlowCounts) -> None:
    entered: Counter[str] = Counter()
    here: Counter[str] = Counter()
    for member in Membership.active.query(flow_id):
        counts.active += 1
        if counts.live_counted >= LIVE_LIMIT:
            continue
        full = Membership.get(flow_id, member.contact_id)
        try:
            enrollment = Enrollment.get(full.enrollment_id)
        except Enrollment.DoesNotExist:
            continue
        if version is not None and int(enrollment.flow_version) != version:
            counts.live_counted += 1
            continue
        path = path_taken(enrollment.execution_arn) if enrollment.execution_arn else []
        counts.live_counted += 1
        entered.update(set(v.node for v in path))
        if path and path[-1].left_at is None:
            here[path[-1].node] += 1
    for node, number in entered.items():
        counts.nodes.setdefault(node, NodeCounts()).entered += number
    for node, number in here.items():
        counts.nodes.setdefault(node, NodeCounts()).waiting += number


def flow_report(flow_id: str, document: dict[str, Any], version: int | None) -> dict[str, Any]:
    """The counts per node, with what the editor charts from them: the goal funnel (how many
    entered, how many reached a goal) and each A/B split's variants side by side, with the
    test of each variant's goal conversion against the first variant's."""
    counts = flow_counts(flow_id, version)
    nodes = counts.nodes
    first = next(
        (e["to"] for e in document.get("edges", []) if e.get("from") == document["trigger"]["id"]),
        None,
    )
    entered = nodes[first].entered if first in nodes else 0
    converted = sum(c.goal for c in nodes.values())
    splits = _splits(document, nodes, goals_after(flow_id, version))
    return {
        **counts.as_dict(),
        "funnel": {
            "entered": entered,
            "goal": converted,
            "rate": round(converted / entered, 4) if entered else None,
        },
        "splits": splits,
        "ab_tests": {split: _ab_tests(variants) for split, variants in splits.items()},
    }


def _splits(
    document: dict[str, Any], nodes: dict[str, NodeCounts], converted: Counter[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Each A/B split's variants by output name: the node each leads to, the contacts that
    entered it and those of them that went on to meet a goal."""
    splits = {}
    for node in document.get("nodes", []):
        if node.get("kind") != "ab_split":
            continue
        variants = {}
        for edge in document.get("edges", []):
            if edge.get("from") == node["id"]:
                target = nodes.get(edge["to"], NodeCounts())
                variants[edge.get("output", "next")] = {
                    "node": edge["to"],
                    "entered": target.entered,
                    "goal": converted[edge["to"]],
                }
        splits[node["id"]] = variants
    return splits


def _ab_tests(variants: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each variant after the first against the first (the control), on goal conversion."""
    names = list(variants)
    if not names:
        return []
    control = variants[names[0]]
    base = Proportion(control["goal"], control["entered"])
    tests = []
    for name in names[1:]:
        other = Proportion(variants[name]["goal"], variants[name]["entered"])
        result = two_proportion_test(base, other)
        better = other.rate is not None and base.rate is not None and other.rate > base.rate
        tests.append(
            {
                "metric": "goal",
                "control": names[0],
                "variant": name,
                **result.as_dict(),
                "winner": (name if better else names[0]) if result.significant else None,
            }
        )
    return tests
