"""Deals, companies and tasks: creation and the queries the product needs (see the access
patterns in functions/store/models.py), updates without lost updates, and which deal or
company a flow step works on. Notes are timeline activities (contacts.add_activity)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar

from pynamodb.exceptions import PutError

from functions import sandbox
from functions.errors import ConflictRetriesExhausted, RecordNotFound
from functions.store.contacts import (
    UPDATE_RETRIES,
    backoff,
    cancelled_by_condition,
    get_contact,
    now,
)
from functions.store.ids import new_id
from functions.store.models import UNKNOWN_CLOSE_DATE, Company, Contact, Deal, Task

R = TypeVar("R", Deal, Company)


def create_deal(fields: dict[str, Any]) -> Deal:
    """Save a new deal; `fields` holds name, pipeline, stage and optional others."""
    deal = Deal(new_id("d"), created_at=now(), **fields)
    deal.pipeline_stage = f"{deal.pipeline}#{deal.stage}"
    deal.close_date = deal.close_date or UNKNOWN_CLOSE_DATE
    _save_new(deal, "deal_created", Deal.deal_id)
    return deal


def get_deal(deal_id: str) -> Deal:
    test_run = sandbox.active()
    if test_run and ("deal", deal_id) in test_run.records:
        return test_run.records["deal", deal_id]  # as this test run changed it
    try:
        return Deal.get(deal_id, consistent_read=True)
    except Deal.DoesNotExist:
        raise RecordNotFound(f"no deal has id '{deal_id}'") from None


def update_deal(deal_id: str, change: Callable[[Deal], None]) -> Deal:
    """Apply `change` to a fresh read and save it under its version, re-reading and
    re-applying when another writer saved in between (like contacts.update_contact).
    `pipeline_stage`, the by_stage index key, follows the deal's pipeline and stage."""

    def index_keys(deal: Deal) -> None:
        deal.pipeline_stage = f"{deal.pipeline}#{deal.stage}"
        deal.close_date = deal.close_date or UNKNOWN_CLOSE_DATE

    return _update(("deal", deal_id), lambda: get_deal(deal_id), change, index_keys)


def deal_for(contact: Contact | str, trigger: Mapping[str, Any]) -> Deal:
    """The deal a flow step works on: the one the trigger names, else the contact's newest."""
    deal_id = trigger.get("deal_id")
    if deal_id:
        return get_deal(str(deal_id))
    contact_id = contact if isinstance(contact, str) else contact.contact_id
    newest = next(iter(deals_of_contact(contact_id, limit=1)), None)
    if newest is None:
        raise RecordNotFound(f"contact '{contact_id}' has no deal, and the trigger names none")
    return newest


# Like the contact queries, these return PynamoDB's result iterator: once read, its
# `last_evaluated_key` is the cursor of the next page (None at the end).


def deals_by_stage(
    pipeline: str, stage: str, limit: int = 50, cursor: dict[str, Any] | None = None
) -> Iterator[Deal]:
    """Deals in a pipeline stage, soonest close date first (unknown close dates last)."""
    return Deal.by_stage.query(f"{pipeline}#{stage}", limit=limit, last_evaluated_key=cursor)


def deals_of_contact(
    contact_id: str, limit: int = 50, cursor: dict[str, Any] | None = None
) -> Iterator[Deal]:
    """A contact's deals, newest first."""
    return Deal.by_contact.query(
        contact_id, scan_index_forward=False, limit=limit, last_evaluated_key=cursor
    )


def create_company(fields: dict[str, Any]) -> Company:
    company = Company(new_id("co"), created_at=now(), **fields)
    _save_new(company, "company_created", Company.company_id)
    return company


def get_company(company_id: str) -> Company:
    test_run = sandbox.active()
    if test_run and ("company", company_id) in test_run.records:
        return test_run.records["company", company_id]
    try:
        return Company.get(company_id, consistent_read=True)
    except Company.DoesNotExist:
        raise RecordNotFound(f"no company has id '{company_id}'") from None


def update_company(company_id: str, change: Callable[[Company], None]) -> Company:
    """Like update_deal: `change` applied to a fresh read, saved under its version."""
    return _update(("company", company_id), lambda: get_company(company_id), change)


def company_for(contact: Contact | str, trigger: Mapping[str, Any]) -> Company:
    """The company a flow step works on: the one the trigger names, else the contact's.
    Given a contact id, the contact is read only when the trigger names no company."""
    company_id = trigger.get("company_id")
    if company_id:
        return get_company(str(company_id))
    if isinstance(contact, str):
        contact = get_contact(contact)
    if not contact.company_id:
        raise RecordNotFound(
            f"contact '{contact.contact_id}' has no company, and the trigger names none"
        )
    return get_company(contact.company_id)


def create_task(fields: dict[str, Any], due_at: datetime) -> Task:
    """Save a new open task; while open it is in its assignee's open_by_assignee index."""
    task = Task(new_id("t"), created_at=now(), due_at=due_at, status="open", **fields)
    task.assignee_open = task.assignee_id
    _save_new(task, "task_created", Task.task_id)
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


def open_tasks(
    user_id: str, limit: int = 50, cursor: dict[str, Any] | None = None
) -> Iterator[Task]:
    """A user's open tasks, soonest due first."""
    return Task.open_by_assignee.query(
        user_id, scan_index_forward=True, limit=limit, last_evaluated_key=cursor
    )


def _update(
    which: tuple[str, str],
    read: Callable[[], R],
    change: Callable[[R], None],
    derive: Callable[[R], None] | None = None,
) -> R:
    """Optimistic locking on the record's `version`, with contacts.update_contact's retries."""
    test_run = sandbox.active()
    if test_run is not None:
        return _update_in_test_run(test_run, which, read, change, derive)
    for attempt in range(UPDATE_RETRIES):
        record = read()
        change(record)
        if derive is not None:
            derive(record)
        try:
            record.save()
        except PutError as exc:
            if not cancelled_by_condition(exc):
                raise
            backoff(attempt)
            continue
        return record
    kind, record_id = which
    raise ConflictRetriesExhausted(f"{kind} '{record_id}' kept changing; try again")


def _update_in_test_run(
    test_run: sandbox.Sandbox,
    which: tuple[str, str],
    read: Callable[[], R],
    change: Callable[[R], None],
    derive: Callable[[R], None] | None,
) -> R:
    """The test run's copy of the record changed; nothing is written."""
    kind, record_id = which
    record = test_run.record_copy(kind, record_id, read)
    before = sandbox.fields_of(record)
    change(record)
    if derive is not None:
        derive(record)
    changed = sandbox.changes(before, sandbox.fields_of(record))
    test_run.record(f"{kind}_update", id=record_id, changes=changed)
    return record


def _save_new(record: Deal | Company | Task, effect: str, key: Any) -> None:
    """Save a new record; in a test run, record it instead."""
    test_run = sandbox.active()
    if test_run is None:
        record.save(condition=key.does_not_exist())
    else:
        test_run.record(effect, record=sandbox.fields_of(record))
