"""Named errors of the flow language."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flows.validate import Report


class FlowError(Exception):
    """Base of every error raised by the flows package."""


class FlowInvalid(FlowError):
    """The flow document has validation errors; `report` lists every one."""

    def __init__(self, report: Report) -> None:
        self.report = report
        lines = [f"{len(report.errors)} error(s) in flow"] + [str(e) for e in report.errors]
        super().__init__("\n".join(lines))


class UnknownNodeKind(FlowError):
    """A node kind name is not in the registry."""
