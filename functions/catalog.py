"""Reads the HTTP API needs beside publishing and enrolling: the flows listed (by status),
one flow with its latest version, one enrollment. Every one is a GetItem or a Query."""

from __future__ import annotations

from collections.abc import Iterator

from functions.errors import EnrollmentNotFound, FlowNotFound
from functions.store.models import Enrollment, FlowRecord, FlowVersion

STATUSES = ("draft", "published", "unpublished")


def list_flows(status: str | None = None) -> Iterator[FlowRecord]:
    """Every flow, or those in one status; by status, then by id. One Query per status on
    the by_status index: flows are few, so no paging."""
    for each in (status,) if status else STATUSES:
        yield from FlowRecord.by_status.query(each)


def get_flow(flow_id: str) -> FlowRecord:
    try:
        return FlowRecord.get(flow_id, consistent_read=True)
    except FlowRecord.DoesNotExist:
        raise FlowNotFound(f"no flow has id '{flow_id}'") from None


def get_version(flow_id: str, version: int) -> FlowVersion:
    try:
        return FlowVersion.get(flow_id, version, consistent_read=True)
    except FlowVersion.DoesNotExist:
        raise FlowNotFound(f"flow '{flow_id}' has no version {version}") from None


def latest_version(flow: FlowRecord) -> FlowVersion | None:
    """The flow's newest saved version (draft or published)."""
    if not flow.latest_version:
        return None
    try:
        return FlowVersion.get(flow.flow_id, int(flow.latest_version), consistent_read=True)
    except FlowVersion.DoesNotExist:  # counted but not yet written (a save in flight)
        newest = FlowVersion.query(
            flow.flow_id, FlowVersion.version > 0, scan_index_forward=False, limit=1
        )  # version 0 is the working copy, never a saved version
        return next(iter(newest), None)


def get_enrollment(enrollment_id: str) -> Enrollment:
    try:
        return Enrollment.get(enrollment_id, consistent_read=True)
    except Enrollment.DoesNotExist:
        raise EnrollmentNotFound(f"no enrollment has id '{enrollment_id}'") from None
