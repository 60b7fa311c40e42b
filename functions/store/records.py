"""Deals, companies and tasks: creation and the queries the product needs (see the access
patterns in functions/store/models.py). Notes are timeline activities (contacts.add_activity)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from functions.errors import RecordNotFound
from functions.store.contacts import now
from functions.store.ids import new_id
from functions.store.models import Company, Deal, Task

UNKNOWN_CLOSE_DATE = "9999-12-31"  # sorts last in deals by stage


def create_deal(fields: dict[str, Any]) -> Deal:
    """Save a new deal; `fields` holds name, pipeline, stage and optional others."""
    deal = Deal(new_id("d"), created_at=now(), **fields)
    deal.pipeline_stage = f"{deal.pipeline}#{deal.stage}"
    deal.close_date = deal.close_date or UNKNOWN_CLOSE_DATE
    deal.save(condition=Deal.deal_id.does_not_exist())
    return deal


def deals_by_stage(pipeline: str, stage: str, limit: int = 50) -> Iterator[Deal]:
    """Deals in a pipeline stage, soonest close date first."""
    return Deal.by_stage.query(f"{pipeline}#{stage}", limit=limit)


def deals_of_contact(contact_id: str, limit: int = 50) -> Iterator[Deal]:
    return Deal.by_contact.query(contact_id, scan_index_forward=False, limit=limit)


def create_company(fields: dict[str, Any]) -> Company:
    company = Company(new_id("co"), created_at=now(), **fields)
    company.save(condition=Company.company_id.does_not_exist())
    return company


def get_company(company_id: str) -> Company:
    try:
        return Company.get(company_id, consistent_read=True)
    except Company.DoesNotExist:
        raise RecordNotFound(f"no company has id '{company_id}'") from None


def create_task(fields: dict[str, Any], due_at: datetime) -> Task:
    """Save a new open task; while open it is in its assignee's open_by_assignee index."""
    task = Task(new_id("t"), created_at=now(), due_at=due_at, status="open", **fields)
    task.assignee_open = task.assignee_id
    task.save(condition=Task.task_id.does_not_exist())
    return task


def get_task(task_id: str) -> Task:
    try:
        return Task.get(task_id, consistent_read=True)
    except Task.DoesNotExist:
        raise RecordNotFound(f"no task has id '{task_id}'") from None


def close_task(task_id: str, status: str = "done") -> Task:
    """Mark a task done (or cancelled): it leaves its assignee's open tasks."""
    task = get_task(task_id)
    task.update(actions=[Task.status.set(status), Task.assignee_open.remove()])
    return task


def open_tasks(user_id: str, limit: int = 50) -> Iterator[Task]:
    """A user's open tasks, soonest due first."""
    return Task.open_by_assignee.query(user_id, scan_index_forward=True, limit=limit)
