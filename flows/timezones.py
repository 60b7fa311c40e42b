"""Time zone and time-of-day checks shared by scheduling kinds."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, Field


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _zone(value: str) -> str:
    if value != "contact" and value not in _zones():
        raise ValueError(
            f"'{value}' is not a time zone: use an IANA name such as 'Asia/Tehran' or "
            "'Europe/Berlin', or 'contact' for each contact's own time zone"
        )
    return value


TimeZone = Annotated[
    str,
    AfterValidator(_zone),
    Field(
        description="IANA time zone, or 'contact' for each contact's own.",
        json_schema_extra={"widget": "timezone"},
    ),
]
TimeOfDay = Annotated[
    str,
    Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="24-hour time, HH:MM."),
]
