"""Snapshots of the CRM tables in the data directory, because moto keeps nothing across
restarts.

One file, `snapshot.jsonl`: a header line (format, when, how many items per model), then
one line per item, `{"model": "Contact", "item": <DynamoDB JSON>}`. It is written to a
temporary file, flushed to disk and renamed over the old one, so a crash leaves the old
snapshot or the new one, never half of one; the one before is kept as `snapshot.jsonl.prev`.
Items are keyed by model class, not table name, so a changed CRMFLOW_TABLE_PREFIX restores.

What was written since the snapshot is in the journal (journal.py): the header's
`journal` names its first segment to replay over the snapshot.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.errors import SnapshotError

if TYPE_CHECKING:
    from infra.local.journal import Journal

FORMAT = "crmflow-snapshot"
FORMAT_VERSION = 1
SNAPSHOT = "snapshot.jsonl"
PREVIOUS = SNAPSHOT + ".prev"
BATCH = 25  # BatchWriteItem's limit


@dataclass
class Snapshot:
    """The items of every table, by model class name."""

    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    taken_at: str | None = None
    path: Path | None = None
    journal: int | None = None  # the first journal segment to replay over it

    def counts(self) -> dict[str, int]:
        return {model: len(rows) for model, rows in self.items.items()}

    def total(self) -> int:
        return sum(len(rows) for rows in self.items.values())


def models() -> dict[str, Any]:
    """Every CRM model by class name: whatever functions.store.models lists today."""
    from functions.store.models import ALL_MODELS

    return {model.__name__: model for model in ALL_MODELS}


def exists(data_dir: Path) -> bool:
    """Whether the data directory holds a snapshot (the stack ran here before)."""
    return (data_dir / SNAPSHOT).exists() or (data_dir / PREVIOUS).exists()


# --- taking ------------------------------------------------------------------------------


def read_tables(client: Any, deadline: float | None = None) -> Snapshot:
    """Every item of every CRM table, by consistent scans (local tables only: a scan of a
    production table would be slow and costly). TimeoutError once time.monotonic() passes
    `deadline`, between two pages."""
    snapshot = Snapshot(taken_at=datetime.now(UTC).isoformat(timespec="seconds"))
    for name, model in models().items():
        pages = client.get_paginator("scan").paginate(
            TableName=model.Meta.table_name, ConsistentRead=True
        )
        items = snapshot.items[name] = []
        for page in pages:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("no time left to read every table")
            items += [_to_json(item) for item in page["Items"]]
    return snapshot


def read_items(
    scan: Callable[[str], list[dict[str, Any]]], deadline: float | None = None
) -> Snapshot:
    """Every item of every CRM table through `scan(table_name)`: the local stack reads
    moto's tables in its own process (journal.MotoTables), far faster than scans over HTTP.
    TimeoutError once time.monotonic() passes `deadline`, between two tables."""
    snapshot = Snapshot(taken_at=datetime.now(UTC).isoformat(timespec="seconds"))
    for name, model in models().items():
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError("no time left to read every table")
        snapshot.items[name] = scan(model.Meta.table_name)
    return snapshot


def write(snapshot: Snapshot, data_dir: Path) -> Path:
    """Write `snapshot` atomically as data_dir/snapshot.jsonl; the previous one becomes .prev."""
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / SNAPSHOT
    handle, temporary = tempfile.mkstemp(prefix=".snapshot-", suffix=".tmp", dir=data_dir)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            for line in _lines(snapshot):
                out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
        if target.exists():
            _keep_previous(target, data_dir / PREVIOUS)
        os.replace(temporary, target)
        sync_directory(data_dir)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    snapshot.path = target
    return target


def digest(snapshot: Snapshot) -> str:
    """A fingerprint of the items (not of the time taken): unchanged data, same digest."""
    hasher = hashlib.sha256()
    for model in sorted(snapshot.items):
        for line in sorted(dumps_line(item) for item in snapshot.items[model]):
            hasher.update(model.encode() + b"\x00" + line.encode() + b"\n")
    return hasher.hexdigest()


# --- restoring ---------------------------------------------------------------------------


def load(data_dir: Path) -> Snapshot | None:
    """The snapshot of the data directory, None when there is none. Falls back to the one
    before when the latest is missing (a crash between two renames)."""
    for name in (SNAPSHOT, PREVIOUS):
        path = data_dir / name
        if path.exists():
            return _read(path)
    return None


def journal_of(path: Path) -> int | None:
    """The first journal segment of the snapshot at `path`; None without one."""
    try:
        with path.open(encoding="utf-8") as lines:
            header = json.loads(next(lines))
    except (OSError, StopIteration, json.JSONDecodeError):
        return None
    number = header.get("journal") if isinstance(header, dict) else None
    return number if isinstance(number, int) else None


def unknown_models(snapshot: Snapshot) -> list[str]:
    """Models in the snapshot that functions.store.models no longer has: not restored."""
    return sorted(set(snapshot.items) - set(models()))


def restore(snapshot: Snapshot, client: Any) -> dict[str, int]:
    """Put every item back into its (empty, freshly created) table; counts by model. Items
    of models that no longer exist are skipped (see unknown_models)."""
    known = models()
    counts: dict[str, int] = {}
    for name, items in snapshot.items.items():
        if name not in known:
            continue
        table = known[name].Meta.table_name
        for start in range(0, len(items), BATCH):
            batch = [{"PutRequest": {"Item": from_json(i)}} for i in items[start : start + BATCH]]
            batch_write(client, table, batch)
        counts[name] = len(items)
    return counts


# --- periodic snapshots ------------------------------------------------------------------


class Snapshotter:
    """Takes a snapshot every `every` seconds while the stack runs, and a last one on stop.
    With a journal, a snapshot starts a new segment first and is skipped when nothing was
    written since the last one; without, unchanged data is not rewritten."""

    def __init__(
        self,
        data_dir: Path,
        client_factory: Callable[[], Any],
        every: float,
        journal: Journal | None = None,
        scan: Callable[[str], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.data_dir, self.every, self.journal = data_dir, every, journal
        self._client_factory, self._scan = client_factory, scan
        self._lock = threading.Lock()  # the loop and the final snapshot never write at once
        self._last_digest: str | None = None
        self._written_from: int | None = None  # journal segment of the last one written
        self.last_error: Exception | None = None

    def take(self, deadline: float | None = None) -> Snapshot | None:
        """A snapshot now; None when nothing changed since the last one written.
        TimeoutError past `deadline` (time.monotonic()): the journal still has it all."""
        wait = -1 if deadline is None else max(0.0, deadline - time.monotonic())
        if not self._lock.acquire(timeout=wait):  # the loop is taking one
            raise TimeoutError("a snapshot in progress did not end in time")
        try:
            return self._take(deadline)
        finally:
            self._lock.release()

    def _read(self, deadline: float | None) -> Snapshot:
        if self._scan is not None:
            return read_items(self._scan, deadline)
        return read_tables(self._client_factory(), deadline)

    def _take(self, deadline: float | None) -> Snapshot | None:
        journal, exists = self.journal, (self.data_dir / SNAPSHOT).exists()
        if journal is None:
            snapshot = self._read(deadline)
            fingerprint = digest(snapshot)
            if fingerprint == self._last_digest and exists:
                return None
            write(snapshot, self.data_dir)
            self._last_digest = fingerprint
            return snapshot
        if exists and self._written_from == journal.current and not journal.appended:
            return None
        # Writes during the scan land in the new segment, replayed over this snapshot.
        start = journal.rotate()
        snapshot = self._read(deadline)
        snapshot.journal = start
        write(snapshot, self.data_dir)
        self._written_from = start
        # Keep what the snapshot before needs: load() falls back to it.
        before = journal_of(self.data_dir / PREVIOUS)
        journal.forget_before(start if before is None else min(before, start))
        return snapshot

    def run(self, stop: threading.Event) -> None:
        """The loop of the stack's background thread: returns soon after `stop` is set."""
        while not stop.wait(self.every):
            try:
                self.take()
                self.last_error = None
            except Exception as exc:  # keep serving; the next round or the last one retries
                if stop.is_set():  # the stack is stopping: its own last snapshot says more
                    return
                if self.last_error is None:
                    print(f"  warning: snapshot failed, will retry: {exc}")
                self.last_error = exc


# --- helpers -----------------------------------------------------------------------------


def _lines(snapshot: Snapshot) -> Iterator[str]:
    header = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "taken_at": snapshot.taken_at,
        "counts": snapshot.counts(),
    }
    if snapshot.journal is not None:
        header["journal"] = snapshot.journal
    yield dumps_line(header)
    for model in sorted(snapshot.items):
        for item in snapshot.items[model]:
            yield dumps_line({"model": model, "item": item})


def _read(path: Path) -> Snapshot:
    with path.open(encoding="utf-8") as lines:
        try:
            header = json.loads(next(lines))
        except (StopIteration, json.JSONDecodeError) as exc:
            raise SnapshotError(f"{path} is not a crmflow snapshot: {exc}") from None
        if header.get("format") != FORMAT or header.get("version") != FORMAT_VERSION:
            raise SnapshotError(
                f"{path} is not a crmflow snapshot of version {FORMAT_VERSION}: {header!r:.200}"
            )
        snapshot = Snapshot(taken_at=header.get("taken_at"), path=path)
        snapshot.journal = header.get("journal")
        snapshot.items = {model: [] for model in header.get("counts", {})}
        for number, line in enumerate(lines, start=2):
            try:
                row = json.loads(line)
                snapshot.items.setdefault(row["model"], []).append(row["item"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise SnapshotError(f"{path}, line {number}: {exc}") from None
    if snapshot.counts() != header.get("counts", {}):
        # The header says what was written: anything else is a damaged file, not a state.
        raise SnapshotError(
            f"{path} is incomplete: the header lists {header.get('counts')} items, "
            f"the file holds {snapshot.counts()}"
        )
    return snapshot


def batch_write(client: Any, table: str, requests: list[dict[str, Any]]) -> None:
    """BatchWriteItem until every request is processed (at most BATCH of them)."""
    pending = {table: requests}
    for attempt in range(10):
        answer = client.batch_write_item(RequestItems=pending)
        pending = answer.get("UnprocessedItems") or {}
        if not pending:
            return
        time.sleep(0.05 * 2**attempt)
    raise SnapshotError(f"could not restore {len(pending.get(table, []))} items into {table}")


def _keep_previous(current: Path, previous: Path) -> None:
    # A hard link keeps `current` in place until the new snapshot replaces it.
    link = previous.with_name(previous.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    try:
        os.link(current, link)
    except OSError:  # a file system without hard links: copy instead
        import shutil

        shutil.copyfile(current, link)
    os.replace(link, previous)


def sync_directory(directory: Path) -> None:
    # The rename is durable once the directory entry is on disk (POSIX; skipped elsewhere).
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def dumps_line(value: Any) -> str:
    """One JSON line, the same bytes for the same value (snapshots and journal)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# boto3's low-level client hands binary values over as bytes; JSON carries them as base64.


def _to_json(item: dict[str, Any]) -> dict[str, Any]:
    return {
        name: _value(v, lambda b: base64.b64encode(b).decode("ascii")) for name, v in item.items()
    }


def from_json(item: dict[str, Any]) -> dict[str, Any]:
    """An item as kept here (binary as base64) as boto3's low-level client takes it."""
    return {name: _value(v, base64.b64decode) for name, v in item.items()}


def _value(typed: dict[str, Any], binary: Callable[[Any], Any]) -> dict[str, Any]:
    # One attribute value: {"S": "x"}, {"M": {...}}, {"L": [...]}, {"B": ...}, {"BS": [...]}.
    ((kind, inner),) = typed.items()
    if kind == "B":
        return {kind: binary(inner)}
    if kind == "BS":
        return {kind: [binary(b) for b in inner]}
    if kind == "M":
        return {kind: {name: _value(v, binary) for name, v in inner.items()}}
    if kind == "L":
        return {kind: [_value(v, binary) for v in inner]}
    return typed
