"""Control: several paths chosen by a field's value (e.g. by country or plan)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from flows import summaries as say
from flows.model import Node
from flows.nodes.base import DecisionKind, Output
from flows.params import FieldRef, Name, Params

DEFAULT = "default"


class Case(Params):
    name: Name = Field(description="The output's name, e.g. europe.")
    values: list[str | int | float] = Field(min_length=1, description="Values that go this way.")


class SwitchParams(Params):
    field: FieldRef = Field(description="The field whose value picks the path.")
    cases: list[Case] = Field(
        min_length=1, max_length=20, description="One output per case; the rest go to default."
    )

    @field_validator("cases")
    @classmethod
    def _unique(cls, cases: list[Case]) -> list[Case]:
        # A field validator, so the error points at params.cases.
        names = [c.name for c in cases]
        for name in names:
            if name == DEFAULT:
                raise ValueError(
                    "'default' is taken by the fallback output; name the case otherwise"
                )
            if names.count(name) > 1:
                raise ValueError(f"case name '{name}' is used twice")
        owner: dict[str, str] = {}
        for case in cases:  # the first matching case wins: a later one could never get it
            for value in case.values:
                key = str(value)
                if key in owner:
                    raise ValueError(
                        f"value {value!r} is in both '{owner[key]}' and '{case.name}'; "
                        f"contacts with it always go to '{owner[key]}'"
                    )
                owner[key] = case.name
        return cases


class Switch(DecisionKind):
    name = "switch"
    display_name = "Switch"
    description = "Picks one of several paths by a field's value, with a default path."
    icon = "🚦"
    Params = SwitchParams

    def outputs(self, params: SwitchParams | None) -> list[Output]:
        cases = params.cases if params else []
        return [*(Output(c.name, c.name) for c in cases), Output(DEFAULT, "Default")]

    def routes(
        self, node: Node, params: SwitchParams, ctx: Any
    ) -> tuple[list[tuple[str, str]], str]:
        return [(c.name, ctx.target(node, c.name)) for c in params.cases], ctx.target(node, DEFAULT)

    def describe(self, params: SwitchParams, labels: Mapping[str, str]) -> str:
        cases = ", ".join(c.name for c in params.cases)
        return f"Switch on {say.field_name(params.field)}: {cases}, default"


KIND = Switch()
