"""Control: split contacts between variants by weight, the same way every time per contact.

The enrollment carries `bucket` (0-99, from the contact and flow ids: flows.contract), so
the split is a plain Choice with no Lambda call. Each split rotates its ranges by an
offset from its node id so two splits in one flow do not pick alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from flows.model import Node
from flows.nodes.base import NodeKind, Output, States
from flows.params import Name, Params

BUCKETS = 100
BUCKET_PATH = "$.enrollment.bucket"


class Variant(Params):
    name: Name = Field(description="The output's name, e.g. a or short_subject.")
    weight: int = Field(ge=1, le=99, description="Share of contacts, in percent.")


class AbSplitParams(Params):
    variants: list[Variant] = Field(
        min_length=2, max_length=10, description="One output per variant; weights add up to 100."
    )

    @field_validator("variants")
    @classmethod
    def _weights(cls, variants: list[Variant]) -> list[Variant]:
        # A field validator, so the error points at params.variants.
        names = [v.name for v in variants]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup:
            raise ValueError(f"variant name '{dup}' is used twice")
        total = sum(v.weight for v in variants)
        if total != BUCKETS:
            raise ValueError(f"variant weights add up to {total}; they must add up to 100")
        return variants


def _offset(node_id: str) -> int:
    return int(hashlib.sha256(node_id.encode()).hexdigest()[:8], 16) % BUCKETS


def _ranges(node_id: str, params: AbSplitParams) -> list[tuple[str, int, int]]:
    """Each variant's buckets [start, end) on a circle of 100, rotated by the node's offset."""
    start, ranges = _offset(node_id), []
    for variant in params.variants:
        end = (start + variant.weight) % BUCKETS
        ranges.append((variant.name, start, end))
        start = end
    return ranges


def variant_for(node_id: str, params: AbSplitParams, bucket: int) -> str:
    """The variant a contact in `bucket` gets: what the compiled Choice state picks."""
    for name, start, end in _ranges(node_id, params)[:-1]:
        if (start <= bucket < end) if start < end else (bucket >= start or bucket < end):
            return name
    return params.variants[-1].name


def _range_rule(start: int, end: int) -> dict[str, Any]:
    """Buckets in [start, end) on a circle of 100."""
    low = {"Variable": BUCKET_PATH, "NumericGreaterThanEquals": start}
    high = {"Variable": BUCKET_PATH, "NumericLessThan": end}
    if start < end:
        return {"And": [low, high]}
    return {"Or": [low, high]}  # wraps past 99


class AbSplit(NodeKind):
    name = "ab_split"
    display_name = "A/B split"
    category = "control"
    description = (
        "Splits contacts between variants by weight; a contact always gets the same variant."
    )
    icon = "🧪"
    Params = AbSplitParams

    def outputs(self, params: AbSplitParams | None) -> list[Output]:
        variants = params.variants if params else []
        return [Output(v.name, f"{v.name} ({v.weight}%)") for v in variants]

    def emit(self, node: Node, params: AbSplitParams, ctx: Any) -> States:
        choices = [
            {**_range_rule(start, end), "Next": ctx.target(node, name)}
            for name, start, end in _ranges(node.id, params)[:-1]
        ]
        last = params.variants[-1].name
        return {node.id: {"Type": "Choice", "Choices": choices, "Default": ctx.target(node, last)}}

    def describe(self, params: AbSplitParams, labels: Mapping[str, str]) -> str:
        return "A/B split: " + " / ".join(f"{v.name} {v.weight}%" for v in params.variants)


KIND = AbSplit()
