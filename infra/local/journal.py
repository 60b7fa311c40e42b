"""The write-ahead journal of the local stack: a 2xx from the stack survives `kill -9`.

Snapshots (persistence.py) are taken every 30 s: alone, they lose whatever was
acknowledged since the last one when the process dies (measured: `kill -9` lost every lead
answered 202 in the 14 s before it). So every DynamoDB write is also appended to a journal
before it is answered, and a start replays the journal over the snapshot.

Which layer: the DynamoDB requests moto's server executes, seen by a WSGI middleware in
front of moto (server.MotoServer). Every writer goes through it — the API, the step
Lambdas on the bridge, the record-change triggers, the scheduler, imports, an AWS CLI in
another shell — so one hook covers them all. Journaling the API's requests instead would
miss what flows and triggers write, and replaying a request runs its logic again (new
ids, a second execution, a second email).

What: after-images, not requests. After moto has applied a write, the middleware reads
the current item of every key the request named (PutItem, UpdateItem, DeleteItem,
BatchWriteItem, TransactWriteItems) and appends `{"m": model, "k": key, "i": item}`
(`"i": null` when the item is gone). Replaying an image is idempotent: it is right over
any earlier state, so a segment may overlap the snapshot, and `SET n = n + 1` or a
condition that passed the first time cannot apply twice or fail on replay. The image is
read and appended under one lock, after moto applied the write: the last record of a key
is always its newest state, whatever the order in which concurrent writers reach the lock.

When: one write() to the file before moto's answer leaves the server, and the writer
answers its own client only after moto answered it, so a 2xx of the API is on disk (in
the OS's hands: it survives the death of the process) before it is sent. The file is
fsync'd once a second, at every snapshot and on stop: a power cut may lose the last second,
a crash of the stack loses nothing it acknowledged. Measured with
`bench/webhook_bench.py --quick --stack full` (docs/local-stack.md): within the noise of
the machine.

Segments: `journal-<n>.jsonl`. A snapshot first moves the journal to a new segment, then
scans the tables and records that segment's number in its header: the writes the scan may
have missed are all in that segment or later. A start restores the snapshot and replays
the segments from that number on (only the last image of each key matters); segments the
previous snapshot no longer needs are deleted. After a stop the journal is closed: a
write that reaches moto later is refused (503), never acknowledged and then lost.

Not journaled: moto's Step Functions executions (in memory: a contact that was mid-flow
is marked interrupted on restart, restore.py), stream records not yet delivered to the
record-change triggers (the poller starts at the streams' end), emails not yet copied to
the outbox (up to a second), and PartiQL writes (crmflow issues none: refused loudly).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.errors import SnapshotError
from infra.local.persistence import dumps_line, sync_directory

PREFIX = "journal-"
SUFFIX = ".jsonl"
SYNC_SECONDS = 1.0
TARGET = "DynamoDB_20120810."
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
PARTIQL = {"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"}
_REGION = re.compile(r"Credential=[^/]+/\d+/([a-z0-9-]+)/dynamodb/")

Key = dict[str, Any]  # DynamoDB JSON of an item's key attributes
Image = dict[str, Any] | None  # the item in DynamoDB JSON (binary as base64), None: deleted
# (table, key) → the item as it is now, in DynamoDB JSON; None when there is none.
ReadItem = Callable[[str, Key], Image]
# The key attribute names of a table: (hash, range or None).
KeyNames = Callable[[str], tuple[str, str | None]]


class JournalClosed(Exception):
    """The stack is stopping: the journal no longer takes writes."""


def segment(data_dir: Path, number: int) -> Path:
    return data_dir / f"{PREFIX}{number:08d}{SUFFIX}"


def segments(data_dir: Path) -> list[tuple[int, Path]]:
    """The journal's segments in the data directory, oldest first."""
    found = []
    for path in data_dir.glob(f"{PREFIX}*{SUFFIX}"):
        number = path.name[len(PREFIX) : -len(SUFFIX)]
        if number.isdigit():
            found.append((int(number), path))
    return sorted(found)


def discard(data_dir: Path) -> None:
    """Delete every segment (a journal without the snapshot it continues means nothing)."""
    for _number, path in segments(data_dir):
        path.unlink(missing_ok=True)


class Journal:
    """Appends after-images to the current segment of `data_dir`. `tables` maps the table
    names to journal to their model names (other tables are not the CRM's: not kept)."""

    def __init__(
        self,
        data_dir: Path,
        tables: dict[str, str],
        read_item: ReadItem,
        key_names: KeyNames,
        sync_seconds: float = SYNC_SECONDS,
        first: int = 1,
    ) -> None:
        """`first`: the lowest number the first segment may have (the restored snapshot's
        first segment, even when its files are gone: the next start replays from there)."""
        self.data_dir, self.tables = data_dir, tables
        self._read_item, self._key_names = read_item, key_names
        self._lock = threading.Lock()
        existing = segments(data_dir)
        self.current = max(existing[-1][0] + 1 if existing else 1, first)
        self.appended = 0  # records in the current segment
        self._fd: int | None = self._open(self.current)
        self._unsynced = False
        self._closed = threading.Event()
        self._syncer = threading.Thread(
            target=self._sync_loop, args=(sync_seconds,), name="crmflow-journal", daemon=True
        )
        self._syncer.start()

    # --- writing ---------------------------------------------------------------------------

    def record(self, operation: str, request: dict[str, Any]) -> int:
        """Append the current image of every item `request` (a DynamoDB `operation`'s
        body, already executed) names; how many records. JournalClosed after close()."""
        touched = [
            (table, key)
            for table, key in _touched(operation, request, self._key_names)
            if table in self.tables
        ]
        if not touched:
            return 0
        with self._lock:
            if self._fd is None:
                raise JournalClosed("the local stack is stopping")
            lines = [
                dumps_line({"m": self.tables[table], "k": key, "i": self._read_item(table, key)})
                for table, key in touched
            ]
            _write_all(self._fd, "".join(line + "\n" for line in lines).encode("utf-8"))
            self.appended += len(lines)
            self._unsynced = True
        return len(lines)

    def rotate(self) -> int:
        """Start a new segment; its number. Writes from now on go to it."""
        with self._lock:
            if self._fd is None:
                raise JournalClosed("the journal is closed")
            finished, self._fd = self._fd, self._open(self.current + 1)
            self.current += 1
            self.appended = 0
            self._unsynced = False
            number = self.current
        try:  # writers need not wait for the disk
            os.fsync(finished)
        finally:
            os.close(finished)
        return number

    def forget_before(self, number: int) -> None:
        """Delete the segments older than `number` (never the current one)."""
        for found, path in segments(self.data_dir):
            if found < min(number, self.current):
                path.unlink(missing_ok=True)

    def sync(self) -> None:
        """fsync the current segment (a duplicate descriptor: writers do not wait on it)."""
        with self._lock:
            if self._fd is None or not self._unsynced:
                return
            duplicate = os.dup(self._fd)
            self._unsynced = False
        try:
            os.fsync(duplicate)
        finally:
            os.close(duplicate)

    def close(self) -> None:
        """fsync and close; writes after this are refused. Idempotent."""
        self._closed.set()
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None
        sync_directory(self.data_dir)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def _open(self, number: int) -> int:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(segment(self.data_dir, number), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        sync_directory(self.data_dir)  # the new name survives a power cut too
        return fd

    def _sync_loop(self, every: float) -> None:
        while not self._closed.wait(every):
            with contextlib.suppress(OSError):
                self.sync()


# --- in front of moto -------------------------------------------------------------------


def middleware(app: Any, region: str, current: Callable[[], Journal | None]) -> Callable[..., Any]:
    """A WSGI app that serves `app` (moto's) and journals the DynamoDB writes of `region`
    in `current()` before they are answered (no journal yet: served as they are)."""

    def journaled(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        journal = current()
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target[len(TARGET) :] if target.startswith(TARGET) else ""
        if journal is None or (operation not in WRITES and operation not in PARTIQL):
            return app(environ, start_response)
        match = _REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
        if match is not None and match.group(1) != region:
            return app(environ, start_response)  # not the stack's tables
        if operation in PARTIQL:
            return _refuse(start_response, 400, "the local stack journals no PartiQL writes")
        if journal.closed:
            return _refuse(start_response, 503, "the local stack is stopping")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        answer = _Buffered(start_response)
        result = app(environ, answer)
        try:
            chunks = b"".join(result)  # moto has done the write once this returns
        finally:
            if hasattr(result, "close"):
                result.close()
        if answer.status.startswith("2"):  # a refused write changed nothing
            try:
                journal.record(operation, json.loads(body or b"{}"))
            except JournalClosed:
                return _refuse(start_response, 503, "the local stack is stopping")
        return [*answer.send(), chunks]

    return journaled


# --- replaying ---------------------------------------------------------------------------


@dataclass
class Changes:
    """The last image of every key written in the segments read."""

    images: dict[tuple[str, str], tuple[Key, Image]] = field(default_factory=dict)
    records: int = 0
    segments: int = 0
    torn: int = 0  # last lines cut short by a crash mid-write (never acknowledged)

    def by_model(self) -> dict[str, list[tuple[Key, Image]]]:
        grouped: dict[str, list[tuple[Key, Image]]] = {}
        for (model, _key), change in self.images.items():
            grouped.setdefault(model, []).append(change)
        return grouped


def read_changes(data_dir: Path, since: int) -> Changes:
    """The writes journaled in segments `since` and later, last image per key."""
    changes = Changes()
    for number, path in segments(data_dir):
        if number < since:
            continue
        changes.segments += 1
        lines = path.read_bytes().split(b"\n")
        last = len(lines) - 1  # after the final newline: b"" unless the write was cut
        for index, line in enumerate(lines):
            if not line:
                continue
            try:
                row = json.loads(line)
                model, key, image = row["m"], row["k"], row["i"]
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
                if index == last:  # the one line a kill mid-write can leave: not answered
                    changes.torn += 1
                    continue
                raise SnapshotError(f"{path}, line {index + 1}: {exc}") from None
            changes.images[(model, dumps_line(key))] = (key, image)
            changes.records += 1
    return changes


def replay(data_dir: Path, since: int, client: Any) -> Changes:
    """Put the journaled images of segments `since` and later into the tables (a restored
    snapshot's), delete the deleted ones; what was replayed."""
    from infra.local import persistence

    changes = read_changes(data_dir, since)
    known = persistence.models()
    for model, writes in changes.by_model().items():
        if model not in known:
            continue
        requests = [
            {"PutRequest": {"Item": persistence.from_json(image)}}
            if image is not None
            else {"DeleteRequest": {"Key": persistence.from_json(key)}}
            for key, image in writes
        ]
        table = known[model].Meta.table_name
        for start in range(0, len(requests), persistence.BATCH):
            persistence.batch_write(client, table, requests[start : start + persistence.BATCH])
    return changes


# --- moto --------------------------------------------------------------------------------


class MotoTables:
    """Items and key names read straight from moto's DynamoDB backend in this process (its
    server runs here): no HTTP round trip on the write path, and a snapshot of every table
    in ~0.1 s where scans through the server took 8 s under load (measured, 1,000 items)."""

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id, self.region = account_id, region

    def key_names(self, table: str) -> tuple[str, str | None]:
        found = self._backend().get_table(table)
        return found.hash_key_attr, found.range_key_attr

    def read_item(self, table: str, key: Key) -> Image:
        return self._image(self._backend().get_item(table, key))

    def scan(self, table: str) -> list[dict[str, Any]]:
        """Every item of `table`. Copying a dict's values is one step for other threads,
        so an item written meanwhile is either in or not, never a torn table."""
        found = self._backend().get_table(table)
        rows = list(found.items.values())
        if found.range_key_attr:
            rows = [item for by_range in rows for item in list(by_range.values())]
        return [image for image in map(self._image, rows) if image is not None]

    def _backend(self) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[self.account_id][self.region]

    @staticmethod
    def _image(item: Any) -> Image:
        attempts = 5
        while item is not None:
            try:
                return {name: _typed(value) for name, value in item.attrs.items()}
            except RuntimeError:  # another thread changed the item while it was read
                attempts -= 1
                if not attempts:
                    raise
        return None


def _typed(value: Any) -> dict[str, Any]:
    """A moto DynamoType (or a DynamoDB JSON dict) as DynamoDB JSON, binary as base64: the
    form persistence.py keeps items in."""
    if isinstance(value, dict):
        ((kind, inner),) = value.items()
    else:
        kind, inner = value.type, value.value
    if kind == "B":
        return {kind: _base64(inner)}
    if kind == "BS":
        return {kind: [_base64(b) for b in inner]}
    if kind == "M":
        return {kind: {name: _typed(v) for name, v in inner.items()}}
    if kind == "L":
        return {kind: [_typed(v) for v in inner]}
    return {kind: inner}


def _base64(value: bytes | str) -> str:
    import base64

    return value if isinstance(value, str) else base64.b64encode(value).decode("ascii")


# --- helpers -----------------------------------------------------------------------------


def _touched(
    operation: str, request: dict[str, Any], key_names: KeyNames
) -> Iterator[tuple[str, Key]]:
    """(table, key) of every item a write request names."""

    def key_of(table: str, item: dict[str, Any]) -> Key:
        names = [n for n in key_names(table) if n]
        return {n: item[n] for n in names if n in item}

    if operation == "PutItem":
        yield request["TableName"], key_of(request["TableName"], request["Item"])
    elif operation in ("UpdateItem", "DeleteItem"):
        yield request["TableName"], request["Key"]
    elif operation == "BatchWriteItem":
        for table, writes in request.get("RequestItems", {}).items():
            for write in writes:
                if "PutRequest" in write:
                    yield table, key_of(table, write["PutRequest"]["Item"])
                elif "DeleteRequest" in write:
                    yield table, write["DeleteRequest"]["Key"]
    elif operation == "TransactWriteItems":
        for entry in request.get("TransactItems", []):
            for kind, op in entry.items():
                if kind == "Put":
                    yield op["TableName"], key_of(op["TableName"], op["Item"])
                elif kind in ("Update", "Delete"):
                    yield op["TableName"], op["Key"]


class _Buffered:
    """start_response (and anything written through it) held back until the write is
    journaled."""

    def __init__(self, start_response: Callable[..., Any]) -> None:
        self._start_response = start_response
        self._args: tuple[Any, ...] = ("500 Internal Server Error", [])
        self._written: list[bytes] = []

    @property
    def status(self) -> str:
        return str(self._args[0])

    def __call__(self, status: str, headers: list[Any], exc_info: Any = None) -> Any:
        self._args = (status, headers) if exc_info is None else (status, headers, exc_info)
        return self._written.append

    def send(self) -> list[bytes]:
        self._start_response(*self._args)
        return self._written


def _refuse(start_response: Callable[..., Any], status: int, message: str) -> Iterable[bytes]:
    kind = "ServiceUnavailable" if status == 503 else "ValidationException"
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{kind}", "message": message})
    reason = "Service Unavailable" if status == 503 else "Bad Request"
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))],
    )
    return [body.encode()]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
