"""Trigger: N days before or after a date on the contact or deal (renewals, birthdays)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field, model_validator

from flows import summaries as say
from flows.nodes.base import TriggerKind
from flows.params import DateFieldRef, Params
from flows.timezones import TimeOfDay, TimeZone


class DateRelativeParams(Params):
    record: Literal["contact", "deal"] = Field(
        "contact", description="Whose date: the contact's or its deal's."
    )
    field: DateFieldRef = Field(description="The date field, e.g. renewal_date or deal.close_date.")
    days: int = Field(0, ge=0, le=365, description="How many days.")
    direction: Literal["before", "after"] = Field(
        "before", description="Start that many days before or after the date."
    )
    at_time: TimeOfDay = "09:00"
    time_zone: TimeZone = "contact"
    yearly: bool = Field(False, description="Repeat every year (birthdays, anniversaries).")

    @model_validator(mode="after")
    def _field_matches_record(self) -> DateRelativeParams:
        is_deal = self.field.startswith("deal.")
        if is_deal != (self.record == "deal"):
            raise ValueError(
                f"field '{self.field}' does not belong to a {self.record}: "
                + ("use deal.<field>" if self.record == "deal" else "use a contact field")
            )
        return self


class DateRelative(TriggerKind):
    name = "date_relative"
    display_name = "Date-based"
    description = "Starts N days before or after a date field, at a time of day (renewals)."
    icon = "📅"
    Params = DateRelativeParams

    def describe(self, params: DateRelativeParams, labels: Mapping[str, str]) -> str:
        field = say.field_name(params.field)
        when = f"{params.days} days {params.direction} {field}" if params.days else f"On {field}"
        return f"{when[0].upper()}{when[1:]} ({params.at_time})" + (
            ", every year" if params.yearly else ""
        )


KIND = DateRelative()
