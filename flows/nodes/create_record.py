"""Action: create a deal, company or note linked to the contact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from flows import summaries as say
from flows.fields import COMPANY_FIELDS, DEAL_FIELDS
from flows.nodes.base import Cost, TaskKind
from flows.params import Params

_REQUIRED = {"deal": ("name", "pipeline", "stage"), "company": ("name",), "note": ("body",)}
_ALLOWED = {
    "deal": set(DEAL_FIELDS) - {"id", "created_at"},
    "company": set(COMPANY_FIELDS) - {"id"},
    "note": {"body"},
}


class CreateRecordParams(Params):
    record: Literal["deal", "company", "note"] = Field(description="What to create.")
    values: dict[str, Any] = Field(
        description="Its fields (values may use {{ }}), e.g. name, pipeline, stage, amount."
    )
    link_to_contact: bool = Field(True, description="Associate the new record with the contact.")

    @model_validator(mode="after")
    def _fields(self) -> CreateRecordParams:
        missing = [f for f in _REQUIRED[self.record] if not self.values.get(f)]
        if missing:
            raise ValueError(
                f"a {self.record} needs {', '.join(repr(m) for m in missing)} in 'values'"
            )
        unknown = sorted(
            k for k in self.values if k not in _ALLOWED[self.record] and not k.startswith("custom.")
        )
        if unknown:
            raise ValueError(
                f"'{unknown[0]}' is not a {self.record} field; use one of "
                f"{', '.join(sorted(_ALLOWED[self.record]))} or custom.<name>"
            )
        return self


class CreateRecord(TaskKind):
    name = "create_record"
    display_name = "Create record"
    description = "Creates a deal, company or note for the contact."
    icon = "🆕"
    Params = CreateRecordParams
    handler = "create_record"
    cost = Cost(lambda_calls=1, ddb_reads=1, ddb_writes=3)

    def describe(self, params: CreateRecordParams, labels: Mapping[str, str]) -> str:
        values = params.values
        what = values.get("name") or values.get("body") or ""
        return (
            f"Create {params.record}: {say.text(str(what))}" if what else f"Create {params.record}"
        )


KIND = CreateRecord()
