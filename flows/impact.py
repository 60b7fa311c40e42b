"""How many emails and SMS one contact can get from a flow in its first days: the fewest
and the most over the flow's paths, for the impact preview shown before publishing.

A path's clock advances by each step's wait: a wait for an event that happens takes no
time, one that times out takes its timeout; other waits take their longest time. Sends
whose clock is within the window count. It is an estimate of what the flow allows, not a
forecast of what contacts do.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from flows.errors import UnknownNodeKind
from flows.model import Flow, Node
from flows.nodes import get_kind

WEEK_SECONDS = 7 * 86400
MAX_PATHS = 20_000  # flows branch little; past this the answer covers the paths walked
# Outputs taken when the awaited event happens: no time passes.
AT_ONCE_OUTPUTS = frozenset({"happened"})


@dataclass(frozen=True)
class Sends:
    """Emails and SMS one contact gets within the window: (fewest, most) over paths."""

    emails: tuple[int, int]
    sms: tuple[int, int]
    paths: int  # paths walked
    complete: bool  # False when there were more than MAX_PATHS


def first_sends(flow: Flow, window_seconds: int = WEEK_SECONDS) -> Sends:
    nodes = {n.id: n for n in flow.all_nodes()}
    out: dict[str, list[tuple[str, str]]] = {}
    for edge in flow.edges:
        out.setdefault(edge.source, []).append((edge.output, edge.to))
    totals: list[tuple[int, int]] = []
    # Depth first over (node, clock, emails, sms, seen); flows are acyclic, `seen` guards
    # against a document whose loop the validator has not refused yet.
    stack = [(flow.trigger.id, 0, 0, 0, frozenset({flow.trigger.id}))]
    while stack and len(totals) < MAX_PATHS:
        node_id, clock, emails, sms, seen = stack.pop()
        node = nodes[node_id]
        if clock <= window_seconds:
            emails, sms = emails + _sent(node, "emails"), sms + _sent(node, "sms")
        exits = [(o, t) for o, t in out.get(node_id, []) if t in nodes and t not in seen]
        if not exits:
            totals.append((emails, sms))
            continue
        for output, target in exits:
            later = clock + _wait(node, output)
            stack.append((target, later, emails, sms, seen | {target}))
    if not totals:
        totals = [(0, 0)]
    email_counts = [e for e, _ in totals]
    sms_counts = [s for _, s in totals]
    return Sends(
        emails=(min(email_counts), max(email_counts)),
        sms=(min(sms_counts), max(sms_counts)),
        paths=len(totals),
        complete=not stack,
    )


def _params(node: Node) -> object | None:
    try:
        kind = get_kind(node.kind)
        return kind.Params.model_validate(node.params)
    except (ValidationError, UnknownNodeKind):
        return None


def _sent(node: Node, what: str) -> int:
    """Messages the node sends to the contact (its cost's emails or sms)."""
    params = _params(node)
    if params is None:
        return 0
    return getattr(get_kind(node.kind).cost_of(params), what)


def _wait(node: Node, output: str) -> int:
    """Time spent in the node before leaving by `output`: none when the awaited event
    happened or the step failed, else the step's longest wait."""
    if output in AT_ONCE_OUTPUTS or output == "error":
        return 0
    params = _params(node)
    return 0 if params is None else get_kind(node.kind).wait_seconds(params)
