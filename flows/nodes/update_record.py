"""Action: change the contact (or its deal or company): set, clear, increment, tag, stage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from flows import summaries as say
from flows.nodes.base import Cost, TaskKind
from flows.params import FieldRef, Params

TAG = Field(pattern=r"^\S.{0,62}$")


class UpdateRecordParams(Params):
    record: Literal["contact", "deal", "company"] = Field(
        "contact", description="What to change: the contact, its deal or its company."
    )
    set: dict[FieldRef, Any] = Field(
        default_factory=dict, description="Fields to set (values may use {{ }})."
    )
    clear: list[FieldRef] = Field(default_factory=list, description="Fields to empty.")
    increment: dict[FieldRef, float] = Field(
        default_factory=dict, description="Numbers to add to (negative subtracts)."
    )
    add_tags: list[str] = Field(default_factory=list, description="Tags to add.")
    remove_tags: list[str] = Field(default_factory=list, description="Tags to remove.")
    lifecycle_stage: str | None = Field(None, description="Contact only: the new lifecycle stage.")
    lead_status: str | None = Field(None, description="Contact only: the new lead status.")
    deal_stage: str | None = Field(None, description="Deal only: move the deal to this stage.")

    @model_validator(mode="after")
    def _something_to_do(self) -> UpdateRecordParams:
        changes = (
            self.set,
            self.clear,
            self.increment,
            self.add_tags,
            self.remove_tags,
            self.lifecycle_stage,
            self.lead_status,
            self.deal_stage,
        )
        if not any(changes):
            raise ValueError("nothing to update: set, clear, increment, tag or change a stage")
        if self.record != "contact" and (self.lifecycle_stage or self.lead_status):
            raise ValueError("lifecycle_stage and lead_status apply to contacts only")
        if self.record != "deal" and self.deal_stage:
            raise ValueError("deal_stage applies to deals only; set record = deal")
        both = set(self.set) & (set(self.clear) | set(self.increment))
        if both:
            raise ValueError(f"field '{sorted(both)[0]}' is changed twice in one step")
        return self


class UpdateRecord(TaskKind):
    name = "update_record"
    display_name = "Update record"
    description = "Sets fields, adds tags, changes score or stage on the contact, deal or company."
    icon = "📝"
    Params = UpdateRecordParams
    handler = "update_record"
    cost = Cost(lambda_calls=1, ddb_reads=1, ddb_writes=3)

    def describe(self, params: UpdateRecordParams, labels: Mapping[str, str]) -> str:
        changes = [f"add tag {t}" for t in params.add_tags]
        changes += [f"remove tag {t}" for t in params.remove_tags]
        changes += [
            f"add {say.number(n)} to {say.field_name(f)}" for f, n in params.increment.items()
        ]
        changes += [f"set {say.field_name(f)} to {say.value(v)}" for f, v in params.set.items()]
        changes += [f"clear {say.field_name(f)}" for f in params.clear]
        for noun, new in (
            ("lifecycle stage", params.lifecycle_stage),
            ("lead status", params.lead_status),
            ("deal stage", params.deal_stage),
        ):
            if new:
                changes.append(f"set {noun} to {new}")
        line = ", ".join(changes)
        return line[0].upper() + line[1:]


KIND = UpdateRecord()
