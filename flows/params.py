"""Parameter types shared by node kinds. Each carries its own validation and a message
that names the fix, so every kind that uses it reports the same way."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from flows import fields
from flows.templating import analyse

ONE_YEAR_SECONDS = 365 * 24 * 3600  # Step Functions' longest execution


class Params(BaseModel):
    """Base of every node kind's params: unknown keys are errors, not silently dropped."""

    # defer_build: validators are built on first use, not at import (Lambda cold starts).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


def _field_ref(value: str) -> str:
    problem = fields.check_ref(value)
    if problem:
        raise ValueError(problem)
    return value


def _date_field_ref(value: str) -> str:
    problem = fields.check_ref(value, want=fields.DATE_TYPES)
    if problem:
        raise ValueError(problem)
    return value


def _template(value: str) -> str:
    info = analyse(value)
    if info.error:
        raise ValueError(info.error)
    return value


@lru_cache(maxsize=1024)
def _email(value: str) -> str:
    # "Name <addr@x>" is accepted: the address part is what must be valid.
    match = re.fullmatch(r"\s*(?:[^<>]*<\s*([^<>]+?)\s*>|(\S+))\s*", value)
    address = (match.group(1) or match.group(2)) if match else value
    if "{{" in address:
        return value  # personalised (e.g. the owner's address), checked when sent
    from email_validator import EmailNotValidError, validate_email  # slow import: on use

    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"'{value}' is not a valid email address: {exc}") from None
    return value


_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?(?:[/?#]\S*)?$")


def _url(value: str) -> str:
    # Templates may fill the path or query, never the scheme or host.
    head = value.split("{{", 1)[0]
    probe = re.sub(r"\{\{.*?\}\}", "x", value)
    after_scheme = head.split("://", 1)[1] if "://" in head else ""
    host_done = "{{" not in value or re.search(r"[/?#]", after_scheme)
    if (
        not _URL.match(probe)
        or "://" not in head
        or "." not in re.split(r"[/?#]", after_scheme, maxsplit=1)[0]
        or not host_done
    ):
        raise ValueError(
            f"'{value}' is not a valid URL: use https://host/path "
            "(personalisation may fill the path or query, not the host)"
        )
    return _template(value)


def _schedule(value: str) -> str:
    expr = value.strip()
    rate = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expr)
    if rate:
        n, unit = int(rate.group(1)), rate.group(2)
        if n < 1 or (n == 1) != (not unit.endswith("s")):
            raise ValueError(f"'{value}': write rate(1 day) or rate(N days) with N > 1")
        return expr
    cron = re.fullmatch(r"cron\((.+)\)", expr)
    if not cron:
        raise ValueError(
            f"'{value}' is not a schedule: use cron(min hour day month weekday year), "
            "e.g. cron(0 9 ? * MON *), or rate(N unit), e.g. rate(1 day)"
        )
    from aws_cron_expression_validator.validator import AWSCronExpressionValidator

    try:
        AWSCronExpressionValidator.validate(cron.group(1))
    except ValueError as exc:
        raise ValueError(f"'{value}' is not a valid cron expression: {exc}") from None
    return expr


FieldRef = Annotated[str, AfterValidator(_field_ref), Field(json_schema_extra={"widget": "field"})]
DateFieldRef = Annotated[
    str, AfterValidator(_date_field_ref), Field(json_schema_extra={"widget": "date_field"})
]
Template = Annotated[
    str, AfterValidator(_template), Field(json_schema_extra={"widget": "template"})
]
LongTemplate = Annotated[
    str, AfterValidator(_template), Field(json_schema_extra={"widget": "rich_template"})
]
EmailAddress = Annotated[str, AfterValidator(_email), Field(json_schema_extra={"widget": "email"})]
Url = Annotated[str, AfterValidator(_url), Field(json_schema_extra={"widget": "url"})]
Schedule = Annotated[str, AfterValidator(_schedule)]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
SecretName = Annotated[
    str,
    Field(
        pattern=r"^[A-Z][A-Z0-9_]{1,63}$",
        description="Name of a secret in configuration (UPPER_SNAKE_CASE); never the value.",
    ),
]

Unit = Literal["minutes", "hours", "days", "weeks"]
_UNIT_SECONDS = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}


class Duration(Params):
    """An amount of time such as 3 days."""

    amount: int = Field(ge=0, description="How many units.")
    unit: Unit = Field("days", description="minutes, hours, days or weeks.")

    @property
    def seconds(self) -> int:
        return self.amount * _UNIT_SECONDS[self.unit]

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}"
