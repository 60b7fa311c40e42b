"""Snapshots of the CRM tables in the data directory, because moto keeps nothing across
restarts.

One file, `snapshot.jsonl`: a header line (format, when, how many items per model), then
one line per item, `{"model": "Contact", "item": <DynamoDB JSON>}`. It is written to a
temporary file, flushed to disk and renamed over the old one, so a crash leaves the old
snapshot or the new one, never half of one; the one before is kept as `snapshot.jsonl.prev`.
Items are keyed by model class, not table name, so a changed CRMFLOW_TABLE_PREFIX restores.
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
from typing import Any

from infra.errors import SnapshotError

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


def read_tables(client: Any) -> Snapshot:
    """Every item of every CRM table, by consistent scans (local tables only: a scan of a
    production table would be slow and costly)."""
    snapshot = Snapshot(taken_at=datetime.now(UTC).isoformat(timespec="seconds"))
    for name, model in models().items():
        pages = client.get_paginator("scan").paginate(
            TableName=model.Meta.table_name, ConsistentRead=True
        )
        snapshot.items[name] = [_to_json(item) for page in pages for item in page["Items"]]
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
        _sync_directory(data_dir)
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
        for line in sorted(_dumps(item) for item in snapshot.items[model]):
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
            batch = [{"PutRequest": {"Item": _from_json(i)}} for i in items[start : start + BATCH]]
            _batch_write(client, table, batch)
        counts[name] = len(items)
    return counts


# --- periodic snapshots ------------------------------------------------------------------


class Snapshotter:
    """Takes a snapshot every `every` seconds while the stack runs, and a last one on stop.
    Unchanged data is not rewritten."""

    def __init__(self, data_dir: Path, client_factory: Callable[[], Any], every: float) -> None:
        self.data_dir, self.every = data_dir, every
        self._client_factory = client_factory
        self._lock = threading.Lock()  # the loop and the final snapshot never write at once
        self._last_digest: str | None = None
        self.last_error: Exception | None = None

    def take(self) -> Snapshot | None:
        """A snapshot now; None when nothing changed since the last one written."""
        with self._lock:
            snapshot = read_tables(self._client_factory())
            fingerprint = digest(snapshot)
            if fingerprint == self._last_digest and (self.data_dir / SNAPSHOT).exists():
                return None
            write(snapshot, self.data_dir)
            self._last_digest = fingerprint
            return snapshot

    def run(self, stop: threading.Event) -> None:
        """The loop of the stack's background thread: returns soon after `stop` is set."""
        while not stop.wait(self.every):
            try:
                self.take()
                self.last_error = None
            except Exception as exc:  # keep serving; the next round or the last one retries
                if self.last_error is None:
                    print(f"  warning: snapshot failed, will retry: {exc}")
                self.last_error = exc


# --- helpers -----------------------------------------------------------------------------


def _lines(snapshot: Snapshot) -> Iterator[str]:
    yield _dumps(
        {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "taken_at": snapshot.taken_at,
            "counts": snapshot.counts(),
        }
    )
    for model in sorted(snapshot.items):
        for item in snapshot.items[model]:
            yield _dumps({"model": model, "item": item})


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


def _batch_write(client: Any, table: str, requests: list[dict[str, Any]]) -> None:
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


def _sync_directory(directory: Path) -> None:
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


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# boto3's low-level client hands binary values over as bytes; JSON carries them as base64.


def _to_json(item: dict[str, Any]) -> dict[str, Any]:
    return {
        name: _value(v, lambda b: base64.b64encode(b).decode("ascii")) for name, v in item.items()
    }


def _from_json(item: dict[str, Any]) -> dict[str, Any]:
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
