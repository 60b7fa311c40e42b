"""Picking a user for work (owners, tasks): a named user, a team's next turn (round robin)
or its least loaded member. Shared by assign_owner and create_task."""

from __future__ import annotations

from functions import sandbox
from functions.errors import NoAssignee, RecordNotFound
from functions.store.models import Counter, Task, Team, User


def counter_name(team_id: str) -> str:
    return f"round_robin#{team_id}"


def user(user_id: str) -> str:
    """A named user, if it exists and is active."""
    try:
        found = User.get(user_id)
    except User.DoesNotExist:
        raise RecordNotFound(f"no user has id '{user_id}'") from None
    if not found.active:
        raise NoAssignee(f"user '{user_id}' is not active")
    return user_id


def members(team_id: str) -> list[str]:
    """The team's members in turn order, without users marked inactive.

    Members with no User row are kept: teams may be seeded before their users are."""
    try:
        team = Team.get(team_id, consistent_read=True)
    except Team.DoesNotExist:
        raise RecordNotFound(f"no team has id '{team_id}'") from None
    listed = list(dict.fromkeys(team.members or ()))  # a member listed twice gets one turn
    inactive = {u.user_id for u in User.batch_get(listed) if not u.active} if listed else set()
    active = [m for m in listed if m not in inactive]
    if not active:
        raise NoAssignee(f"team '{team_id}' has no active members")
    return active


def round_robin(team_id: str) -> str:
    return take_turn(team_id)[0]


def take_turn(team_id: str) -> tuple[str, int]:
    """The team's next turn: (member, turn number from 1). One atomic ADD on the team's
    counter hands every caller a distinct turn number, so a burst of concurrent leads never
    shares a turn and the members' shares differ by at most one."""
    team = members(team_id)
    if sandbox.active():
        return _next_turn(team_id, team)
    counter = Counter(counter_name(team_id))
    counter.update(actions=[Counter.value.add(1)])  # UpdateItem ADD, returns the new value
    turn = int(counter.value)
    return team[(turn - 1) % len(team)], turn  # turn 1 goes to the first member


def _next_turn(team_id: str, team: list[str]) -> tuple[str, int]:
    """The turn the team would give next, without taking it (a test run)."""
    try:
        turn = int(Counter.get(counter_name(team_id)).value) + 1
    except Counter.DoesNotExist:
        turn = 1
    return team[(turn - 1) % len(team)], turn


def open_task_count(user_id: str) -> int:
    return Task.open_by_assignee.count(user_id)


def least_loaded(team_id: str) -> str:
    """The member with the fewest open tasks; ties go to the earlier member."""
    team = members(team_id)
    loads = [open_task_count(m) for m in team]
    return team[loads.index(min(loads))]
