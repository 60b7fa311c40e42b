"""Shared pieces of trigger kinds."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

RecordType = Literal["contact", "deal", "company"]
RECORD = Field("contact", description="Which kind of record starts the flow.")
