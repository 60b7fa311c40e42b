"""Trigger: a contact does something (opens an email, submits a form, buys)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field, model_validator

from flows import summaries as say
from flows.nodes.base import TriggerKind
from flows.nodes.events import (
    CUSTOM_EVENT_PATTERN,
    FOR_CUSTOM_EVENTS,
    EventName,
    custom_name_problem,
)
from flows.params import Params


class EventParams(Params):
    event: EventName = Field(description="Which event starts the flow.")
    custom_name: str | None = Field(
        None,
        pattern=CUSTOM_EVENT_PATTERN,
        description="For custom events: the event's name.",
        json_schema_extra=FOR_CUSTOM_EVENTS,
    )
    match: dict[str, str] = Field(
        default_factory=dict,
        description="Only events whose data has these values, e.g. form_id = demo-request.",
    )

    @model_validator(mode="after")
    def _custom(self) -> EventParams:
        problem = custom_name_problem(self.event, self.custom_name)
        if problem:
            raise ValueError(problem)
        return self


class Event(TriggerKind):
    name = "event"
    display_name = "Event"
    description = "Starts when a contact opens or clicks an email, submits a form or buys."
    icon = "⚡"
    Params = EventParams

    def describe(self, params: EventParams, labels: Mapping[str, str]) -> str:
        line = f"When {say.event(params.event, params.custom_name)}"
        if params.match:
            line += " with " + ", ".join(f"{k} = {v}" for k, v in params.match.items())
        return line


KIND = Event()
