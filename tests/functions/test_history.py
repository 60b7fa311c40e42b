"""The path taken, from an execution's history events: node ids only, a node's helper
states folded into its visit, synthetic states left out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions import history
from functions.history import Visit, node_of, path_taken

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def _events(*steps: tuple[str, str]) -> list[dict]:
    """("enter"|"exit", state name) pairs, one second apart."""
    out = [{"type": "ExecutionStarted", "timestamp": T0}]
    for n, (what, name) in enumerate(steps, start=1):
        kind, key = (
            ("TaskStateEntered", "stateEnteredEventDetails")
            if what == "enter"
            else ("TaskStateExited", "stateExitedEventDetails")
        )
        out.append({"type": kind, "timestamp": T0 + timedelta(seconds=n), key: {"name": name}})
    return out


def _at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("state", "node"),
    [("tag", "tag"), ("is_vip.route", "is_vip"), ("pause.wait", "pause"), ("crmflow.end", None)],
)
def test_states_map_to_their_node(state, node) -> None:
    assert node_of(state) == node


def test_a_nodes_states_in_a_row_are_one_visit_and_synthetic_states_are_left_out(
    monkeypatch,
) -> None:
    steps = [
        ("enter", "is_vip"),
        ("exit", "is_vip"),
        ("enter", "is_vip.route"),
        ("exit", "is_vip.route"),
        ("enter", "tag"),
        ("exit", "tag"),
        ("enter", "crmflow.end"),
        ("exit", "crmflow.end"),
    ]
    monkeypatch.setattr(history, "events", lambda arn: iter(_events(*steps)))
    assert path_taken("arn") == [Visit("is_vip", _at(1), _at(4)), Visit("tag", _at(5), _at(6))]


def test_a_node_visited_again_later_is_a_second_visit_and_the_current_one_is_open(
    monkeypatch,
) -> None:
    steps = [
        ("enter", "remind"),
        ("exit", "remind"),
        ("enter", "pause"),
        ("exit", "pause"),
        ("enter", "remind"),
        ("exit", "remind"),
        ("enter", "pause"),
    ]
    monkeypatch.setattr(history, "events", lambda arn: iter(_events(*steps)))
    assert [(v.node, v.left_at) for v in path_taken("arn")] == [
        ("remind", _at(2)),
        ("pause", _at(4)),
        ("remind", _at(6)),
        ("pause", None),
    ]
    assert Visit("pause", _at(7)).as_dict() == {
        "node": "pause",
        "entered_at": "2026-05-01T09:00:07+00:00",
        "left_at": None,
    }
