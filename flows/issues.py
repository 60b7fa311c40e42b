"""Validation findings, and turning pydantic's errors into paths and plain messages."""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

if TYPE_CHECKING:
    from flows.model import Flow

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    """One problem: where (JSON path and node id), what, and how to fix it."""

    path: str
    message: str
    node_id: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f" [node {self.node_id}]" if self.node_id else ""
        return f"{self.path}{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    """Everything validation found; `flow` and `params` are set when the document parsed."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    flow: Flow | None = None
    params: dict[str, Any] = field(default_factory=dict)
    adjacency: dict[str, list[str]] = field(default_factory=dict)  # node id → next node ids
    order: list[str] = field(default_factory=list)  # reachable ids, predecessors first

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, issue: Issue) -> None:
        (self.errors if issue.severity == "error" else self.warnings).append(issue)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": [e.to_dict() for e in self.errors],
            "warnings": [w.to_dict() for w in self.warnings],
        }


def json_path(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        if part == "[key]":
            continue  # pydantic's marker for "the key itself is invalid": the path names it
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


# Messages for the patterns our models use, in words a marketer can act on.
_PATTERN_HINTS = {
    r"^[A-Za-z][A-Za-z0-9_-]{0,63}$": "start with a letter and use letters, digits, _ or - (at most 64)",
    r"^[a-z0-9][a-z0-9-]{0,62}$": "use lowercase letters, digits and - (at most 63)",
    r"^[a-z][a-z0-9_]{0,39}$": "use lowercase letters, digits and _, starting with a letter",
    r"^[A-Z][A-Z0-9_]{1,63}$": "name the secret in UPPER_SNAKE_CASE, e.g. FLOW_CRM_API_TOKEN",
    r"^([01]\d|2[0-3]):[0-5]\d$": "write the time as HH:MM, e.g. 09:30",
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def message_for(error: dict[str, Any], model_fields: list[str] | None = None) -> str:
    """A plain-words message for one pydantic error."""
    kind, loc, value = error["type"], error["loc"], error.get("input")
    name = next((p for p in reversed(loc) if isinstance(p, str)), "value")
    if kind == "missing":
        return f"'{name}' is required"
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(name, model_fields or [], n=1)
        return f"unknown field '{name}'" + (f"; did you mean '{close[0]}'?" if close else "")
    if kind == "string_pattern_mismatch":
        hint = _PATTERN_HINTS.get(error.get("ctx", {}).get("pattern", ""), "it has the wrong form")
        return f"{_short(value)} is not a valid {name}: {hint}"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind in ("model_type", "dict_type"):  # not "instance of Node": a JSON object
        return f"input should be an object, got {_short(value)}"
    if kind == "literal_error":
        return f"{_short(value)} is not allowed: {error['msg'][0].lower()}{error['msg'][1:]}"
    message = error["msg"]
    return f"{message[0].lower()}{message[1:]}, got {_short(value)}"


def issues_from(
    exc: ValidationError, prefix: str, node_id: str | None, model_fields: list[str] | None = None
) -> list[Issue]:
    return [
        Issue(json_path(prefix, err["loc"]), message_for(err, model_fields), node_id)
        for err in exc.errors(include_url=False)
    ]
