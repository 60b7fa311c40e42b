"""What the reports read into stages: which lifecycle stages make a contact a lead or a
customer, which deal stages are won or lost, and the pipelines whose stages are known.

Stages are free text in the store (docs/api.md), so these rules work on names. A lifecycle
stage outside LIFECYCLE (say "partner") counts as neither lead nor customer. A deal stage
is won when its name is `won` or `closed_won` (any case, `-` or space for `_`) and lost
likewise; every other stage is open.
"""

from __future__ import annotations

from typing import Literal

from flows.fields import LIFECYCLE_STAGES

LIFECYCLE: tuple[str, ...] = LIFECYCLE_STAGES  # from lead on: `lead or later`
_RANK = {stage: rank for rank, stage in enumerate(LIFECYCLE)}

# Pipelines whose stages are known in advance, in board order. The pipeline report lists
# these stages even when empty; stages of other pipelines appear once deals are in them.
PIPELINES: dict[str, tuple[str, ...]] = {
    "new-business": (
        "qualified",
        "discovery",
        "proposal",
        "negotiation",
        "closed_won",
        "closed_lost",
    ),
}
WON = frozenset({"won", "closed_won"})
LOST = frozenset({"lost", "closed_lost"})


def is_lead(stage: str | None) -> bool:
    """Is this lifecycle stage `lead` or later?"""
    return _RANK.get(stage or "", -1) >= _RANK["lead"]


def is_customer(stage: str | None) -> bool:
    """Is this lifecycle stage `customer` or later?"""
    return _RANK.get(stage or "", -1) >= _RANK["customer"]


def outcome(stage: str | None) -> Literal["won", "lost"] | None:
    """`won` or `lost` for a closing deal stage; None for an open one."""
    name = (stage or "").strip().lower().replace("-", "_").replace(" ", "_")
    if name in WON:
        return "won"
    if name in LOST:
        return "lost"
    return None


def open_stages(pipeline: str) -> tuple[str, ...]:
    """The known stages of a pipeline that hold open deals, in board order."""
    return tuple(s for s in PIPELINES.get(pipeline, ()) if outcome(s) is None)
