"""Action: give a team member a task with a due date."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from flows.nodes.assignees import Assignee
from flows.nodes.base import Cost, TaskKind
from flows.params import Duration, LongTemplate, Params, Template


class CreateTaskParams(Params):
    title: Template = Field(min_length=1, max_length=300)
    description: LongTemplate | None = Field(None, max_length=10_000)
    task_type: Literal["todo", "call", "email", "meeting"] = "todo"
    priority: Literal["low", "normal", "high"] = "normal"
    assignee: Assignee = Field(default_factory=Assignee)
    due_in: Duration = Field(
        default_factory=lambda: Duration(amount=1, unit="days"),
        description="Due this long after the task is created.",
    )


class CreateTask(TaskKind):
    name = "create_task"
    display_name = "Create task"
    description = "Creates a task (call, email, meeting, to-do) for a team member with a due date."
    icon = "✅"
    Params = CreateTaskParams
    handler = "create_task"
    cost = Cost(lambda_calls=1, ddb_reads=2, ddb_writes=3)


KIND = CreateTask()
