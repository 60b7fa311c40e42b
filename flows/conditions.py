"""Conditions over a contact: fields, tags, score, dates and email engagement.

Used by branch, goal, switch, record_updated, segment and score_lead. The step handlers
evaluate them against a fresh read of the contact; this module only declares and checks.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from flows.fields import DATE_TYPES, field_info, type_phrase
from flows.params import FieldRef, Params

ValueOp = Literal["equals", "not_equals", "contains", "not_contains", "starts_with"]
NumberOp = Literal["greater_than", "at_least", "less_than", "at_most"]
ListOp = Literal["is_one_of", "is_none_of"]
PresenceOp = Literal["is_set", "is_not_set"]
DaysOp = Literal["within_last_days", "more_than_days_ago", "within_next_days"]
EngagementOp = Literal["opened", "not_opened", "clicked", "not_clicked"]
Op = Literal[ValueOp, NumberOp, ListOp, PresenceOp, DaysOp, EngagementOp]

# How each operator reads in a sentence ("score is at least 50"); pickers and summaries
# adjust only the day operators, whose number sits elsewhere in each.
OP_WORDS: dict[str, str] = {
    "equals": "is",
    "not_equals": "is not",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "greater_than": "is more than",
    "at_least": "is at least",
    "less_than": "is less than",
    "at_most": "is at most",
    "is_one_of": "is one of",
    "is_none_of": "is none of",
    "is_set": "is set",
    "is_not_set": "is not set",
    "opened": "opened",
    "not_opened": "did not open",
    "clicked": "clicked",
    "not_clicked": "did not click",
}

NUMBER_OPS = frozenset(NumberOp.__args__)
LIST_OPS = frozenset(ListOp.__args__)
PRESENCE_OPS = frozenset(PresenceOp.__args__)
DAYS_OPS = frozenset(DaysOp.__args__)
ENGAGEMENT_OPS = frozenset(EngagementOp.__args__)


class Condition(Params):
    """One test, e.g. score at_least 50, tags contains vip, or opened the email of node 'welcome'."""

    field: FieldRef | None = Field(
        None, description="The field to test (e.g. score, tags, deal.stage, custom.plan)."
    )
    op: Op = Field(description="How to compare.")
    value: Any = Field(None, description="What to compare with (not needed for is_set, opened…).")
    node: str | None = Field(
        None,
        description="For opened/clicked: the id of the send_email node in this flow.",
        json_schema_extra={"widget": "email_step"},
    )

    @model_validator(mode="after")
    def _shape(self) -> Condition:
        if self.op in ENGAGEMENT_OPS:
            if not self.node:
                raise ValueError(f"'{self.op}' needs 'node': the id of a send_email node")
            return self
        if not self.field:
            raise ValueError(f"'{self.op}' needs 'field'")
        self._check_value()
        return self

    def _check_value(self) -> None:
        op, value = self.op, self.value
        if op in PRESENCE_OPS:
            if value is not None:
                raise ValueError(f"'{op}' takes no value; remove 'value'")
        elif op in NUMBER_OPS or op in DAYS_OPS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"'{op}' needs a number as 'value', got {value!r}")
            info = field_info(self.field or "")
            if op in DAYS_OPS and info is not None and info.type not in DATE_TYPES:
                raise ValueError(
                    f"'{op}' needs a date field; '{self.field}' is {type_phrase(info.type)}"
                )
        elif op in LIST_OPS:
            if not isinstance(value, list) or not value:
                raise ValueError(f"'{op}' needs a non-empty list as 'value'")
        elif value is None or isinstance(value, dict | list):
            raise ValueError(f"'{op}' needs a single text or number as 'value'")


class ConditionGroup(Params):
    """Conditions joined by all (AND) or any (OR)."""

    match: Literal["all", "any"] = Field("all", description="all: every condition; any: one.")
    conditions: list[Condition] = Field(min_length=1, max_length=50)


class Criteria(Params):
    """Groups of conditions joined by all or any: (a AND b) OR (c)."""

    match: Literal["all", "any"] = Field("any", description="How the groups combine.")
    groups: list[ConditionGroup] = Field(min_length=1, max_length=20)

    def engagement_nodes(self) -> list[tuple[str, str]]:
        """(json path suffix, node id) of every opened/clicked condition."""
        return [
            (f"groups[{g}].conditions[{c}].node", cond.node)
            for g, group in enumerate(self.groups)
            for c, cond in enumerate(group.conditions)
            if cond.node
        ]
