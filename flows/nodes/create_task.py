"""Action: give a team member a task with a due date."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from flows import summaries as say
from flows.nodes.assignees import Assignee
from flows.nodes.base import Cost, TaskKind
from flows.params import Duration, LongTemplate, Params, Template


class CreateTaskParams(Params):
    title: Template = Field(
        min_length=1, max_length=300, description="What to do; personalisation allowed."
    )
    description: LongTemplate | None = Field(
        None, max_length=10_000, description="Details for the assignee."
    )
    task_type: Literal["todo", "call", "email", "meeting"] = Field(
        "todo", description="A to-do, call, email or meeting."
    )
    priority: Literal["low", "normal", "high"] = Field("normal", description="How urgent.")
    assignee: Assignee = Field(
        default_factory=Assignee, description="Who gets it: the owner, a user or a team."
    )
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

    def describe(self, params: CreateTaskParams, labels: Mapping[str, str]) -> str:
        return f"Create task: {say.text(params.title)}"


KIND = CreateTask()
