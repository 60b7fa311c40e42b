"""Record-change triggers, fed by the contacts, deals and companies tables' streams
(NEW_AND_OLD_IMAGES): each change keeps the due-date index and the report counters in step
(functions/reports/feed.py), starts the flows whose record trigger it matches, and ends
enrollments whose goal a changed contact now meets.

Enrollment ids come from the stream record's id, so a batch Lambda delivers again after a
failure starts nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.models import Model

from flows.conditions import Criteria
from functions.enrollments import enroll
from functions.errors import ContactNotFound, CrmError, Transient
from functions.reports.feed import count_change
from functions.steps.conditions import Facts, matches
from functions.store.contacts import get_contact
from functions.store.models import Company, Contact, Deal
from functions.triggers import dates
from functions.triggers.goals import check_goals
from functions.triggers.index import enrollment_id, flows_for

LOG = logging.getLogger(__name__)
MODELS: dict[str, type[Model]] = {"contacts": Contact, "deals": Deal, "companies": Company}
RECORD_TYPE = {Contact: "contact", Deal: "deal", Company: "company"}
# Bookkeeping that changes on every save: not a change anyone triggers on.
QUIET = frozenset(
    {"updated_at", "version", "last_touch_at", "contact_shard", "pipeline_stage", "changed_by"}
)
MAX_SHOWN = 200  # characters of a changed value carried in the trigger data


@dataclass(frozen=True)
class Change:
    """One stream record: which record, how it changed, its images before and after."""

    event_id: str
    event: str  # INSERT, MODIFY, REMOVE
    old: Any
    new: Any
    at: datetime | None = None  # when the change was written (ApproximateCreationDateTime)

    @property
    def record(self) -> Any:
        return self.new if self.new is not None else self.old

    @property
    def record_type(self) -> str:
        return RECORD_TYPE[type(self.record)]

    def changed(self) -> dict[str, tuple[Any, Any]]:
        """Fields whose value differs (custom fields by name), bookkeeping left out."""
        before = _flat(self.old)
        after = _flat(self.new)
        return {
            name: (before.get(name), after.get(name))
            for name in sorted(set(before) | set(after))
            if name not in QUIET and before.get(name) != after.get(name)
        }


def handle_stream(records: list[dict[str, Any]]) -> list[str]:
    """Handle a batch of DynamoDB stream records; the enrollments started. A record whose
    flow cannot start (say, its contact was deleted) is logged and skipped; transient
    failures propagate so the batch is delivered again (the ids make that safe)."""
    started = []
    for record in records:
        change = parse(record)
        if change is None:
            continue
        if isinstance(change.record, (Contact, Deal)):
            dates.sync(change.old, change.new)
            count_change(change)
        try:
            started += start_flows(change)
            if isinstance(change.new, Contact) and change.event == "MODIFY":
                check_goals(
                    change.new.contact_id,
                    because="record changed",
                    skip=change.new.changed_by,
                    as_of=change.new,
                )
        except Transient:
            raise
        except CrmError as exc:
            LOG.warning(
                "change %s started no flow: %s: %s", change.event_id, type(exc).__name__, exc
            )
    return started


def parse(record: dict[str, Any]) -> Change | None:
    """A stream record as a Change; None for tables without record triggers."""
    table = record.get("eventSourceARN", "").split(":table/", 1)[-1].split("/", 1)[0]
    model = next((m for suffix, m in MODELS.items() if table.endswith("-" + suffix)), None)
    if model is None:
        return None
    images = record.get("dynamodb", {})
    return Change(
        event_id=record["eventID"],
        event=record["eventName"],
        old=_model(model, images.get("OldImage")),
        new=_model(model, images.get("NewImage")),
        at=_written_at(images.get("ApproximateCreationDateTime")),
    )


def start_flows(change: Change) -> list[str]:
    started = []
    for row in flows_for(f"record#{change.record_type}"):
        data = fired(row.kind, row.params or {}, change)
        if data is None:
            continue
        contact_id = _contact_of(change)
        if contact_id is None:
            continue
        if not _criteria_hold(row.params.get("criteria"), contact_id, change, data):
            continue
        try:
            run = enroll(
                row.flow_id,
                contact_id,
                trigger=data,
                enrollment_id=enrollment_id(row.flow_id, "record", change.event_id),
                source={"kind": row.kind, "change": change.event_id},
            )
        except ContactNotFound:
            LOG.info("flow %s: contact %s no longer exists", row.flow_id, contact_id)
            continue
        if run.enrolled and not run.repeat:
            started.append(run.enrollment_id)
    return started


def fired(kind: str, params: dict[str, Any], change: Change) -> dict[str, Any] | None:
    """The trigger data when `change` fires a trigger of `kind` with `params`, else None."""
    changed = change.changed()
    base: dict[str, Any] = {"record": change.record_type, "record_id": _id(change.record)}
    if change.record_type == "deal":
        base["deal_id"] = change.record.deal_id
    if change.record_type == "company":
        base["company_id"] = change.record.company_id
    if kind == "record_created":
        return base if change.event == "INSERT" else None
    if kind == "record_deleted":
        return base if change.event == "REMOVE" else None
    if change.event != "MODIFY" or not changed:
        return None
    if kind == "record_updated":
        wanted = [_field_name(f) for f in params.get("fields") or []]
        if wanted and not set(wanted) & set(changed):
            return None
        return {**base, "changed": _shown(changed)}
    if kind == "field_changed":
        name = _field_name(params["field"])
        return _moved(base, changed, name, params.get("from_value"), params.get("to_value"))
    if kind == "stage_changed":
        name = "lifecycle_stage" if change.record_type == "contact" else "stage"
        pipeline = params.get("pipeline")
        if pipeline and getattr(change.record, "pipeline", None) != pipeline:
            return None
        return _moved(base, changed, name, params.get("from_stage"), params.get("to_stage"))
    if kind == "owner_assigned":
        if "owner_id" not in changed or changed["owner_id"][1] is None:
            return None
        wanted_owner = params.get("owner_id")
        if wanted_owner and changed["owner_id"][1] != wanted_owner:
            return None
        return {
            **base,
            "owner_id": changed["owner_id"][1],
            "previous_owner_id": changed["owner_id"][0],
        }
    return None


# --- helpers -----------------------------------------------------------------------------


def _model(model: type[Model], image: dict[str, Any] | None) -> Any:
    return model.from_raw_data(image) if image else None


def _written_at(value: Any) -> datetime | None:
    # Epoch seconds in a Lambda event; boto3's GetRecords (the local poller) parses it.
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return None


def _flat(record: Any) -> dict[str, Any]:
    if record is None:
        return {}
    values = {name: getattr(record, name) for name in record.get_attributes()}
    values.update({k: v for k, v in (values.pop("custom", None) or {}).items() if k not in values})
    return values


def _id(record: Any) -> str:
    return getattr(record, record._hash_key_attribute().attr_name)


def _field_name(ref: str) -> str:
    return ref.rpartition(".")[2]  # deal.stage, custom.plan, contact.score → the field


def _moved(
    base: dict[str, Any], changed: dict, name: str, from_value: Any, to_value: Any
) -> dict[str, Any] | None:
    if name not in changed:
        return None
    before, after = changed[name]
    if from_value is not None and str(before) != str(from_value):
        return None
    if to_value is not None and str(after) != str(to_value):
        return None
    return {**base, "field": name, "from": _short(before), "to": _short(after)}


def _shown(changed: dict[str, tuple[Any, Any]]) -> dict[str, list[Any]]:
    return {name: [_short(a), _short(b)] for name, (a, b) in changed.items()}


def _short(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        value = sorted(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def _contact_of(change: Change) -> str | None:
    record = change.record
    if isinstance(record, Contact):
        return record.contact_id
    return getattr(record, "contact_id", None)  # a deal's contact; companies have none


def _criteria_hold(raw: Any, contact_id: str, change: Change, data: dict[str, Any]) -> bool:
    if not raw:
        return True
    criteria = Criteria.model_validate(raw)
    contact = change.new if isinstance(change.new, Contact) else get_contact(contact_id)
    return matches(criteria, Facts(contact, data, ""))
