"""`crmflow up` killed and stopped as it really happens: `kill -9` right after a burst of
acknowledged hook deliveries, and SIGTERM / Ctrl-C in the middle of a load of them; and
the journal that makes it hold, in front of a real moto server.

A 2xx from the local stack is a promise: what it acknowledged is there after any restart,
and a retried delivery gets the first answer. A stop ends the process within 10 s, load
or not, with the data saved.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from infra.aws.tables import table_resource
from infra.errors import SnapshotError
from infra.local import env, journal, persistence, seed
from infra.local.server import MotoServer, free_port, quieted_logs
from tests.infra.test_local_stack import StackProcess, contact_id_of, scan

pytestmark = pytest.mark.moto

FLOW = "lead-capture"
STOP_SECONDS = 10
ENOUGH = 60  # leads acknowledged before the stop signal


def post_lead(
    stack: StackProcess, key: str, email: str, delivery: str, timeout: float = 30
) -> tuple[int, Any]:
    """POST /hooks/lead-capture with an Idempotency-Key, as a web form's backend would."""
    body = json.dumps({"email": email, "first_name": email.split("@")[0]}).encode()
    request = urllib.request.Request(
        f"{stack.api}/hooks/{FLOW}",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {key}",
            "Idempotency-Key": delivery,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def items_by(stack: StackProcess, model: str, attribute: str) -> dict[str, dict[str, Any]]:
    return {item[attribute]["S"]: item for item in scan(stack, model)}


def assert_acknowledged_survived(
    stack: StackProcess, key: str, answered: dict[str, tuple[str, dict[str, Any]]]
) -> None:
    """Every acknowledged delivery's contact, enrollment and Delivery record is there, and
    retrying each delivery returns its first answer without creating anything."""
    contacts = items_by(stack, "Contact", "contact_id")
    enrollments = items_by(stack, "Enrollment", "enrollment_id")
    deliveries = items_by(stack, "Delivery", "key")
    for email, (delivery, answer) in answered.items():
        assert contact_id_of(stack, email) == answer["contact_id"], email
        assert answer["contact_id"] in contacts, email
        enrollment = enrollments.get(answer["enrollment_id"])
        assert enrollment is not None, f"the enrollment of {email} is lost"
        assert enrollment["contact_id"]["S"] == answer["contact_id"]
        assert f"hook#{FLOW}#{delivery}" in deliveries, f"the delivery of {email} is lost"
    before = len(contacts)
    for email, (delivery, answer) in answered.items():
        status, again = post_lead(stack, key, email, delivery)
        assert (status, again) == (202, answer), email
    assert len(scan(stack, "Contact")) == before, "a retried delivery created a contact"


def test_acknowledged_leads_survive_kill_9(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = StackProcess(data)  # default snapshot period (30 s): the burst is not in one
    try:
        first.wait_until_up()
        key = (data / "api-key").read_text().strip()
        answered: dict[str, tuple[str, dict[str, Any]]] = {}
        for n in range(10):
            email, delivery = f"crash.lead{n}@example.com", f"form-crash-{n}"
            status, answer = post_lead(first, key, email, delivery)
            assert status == 202, answer
            answered[email] = (delivery, answer)
        first.kill()  # kill -9, right after the last 202
    finally:
        first.kill()

    second = StackProcess(data)
    try:
        second.wait_until_up()
        assert "seeded" not in second.output, second.output
        assert_acknowledged_survived(second, key, answered)
        assert len(scan(second, "Contact")) == len(seed.CONTACTS) + len(answered)
        assert "journaled after that snapshot" in second.output, second.output
    finally:
        second.stop()


class Load:
    """Threads posting leads as fast as the stack answers, until told to stop or the
    stack goes away; the acknowledged ones are kept."""

    def __init__(self, stack: StackProcess, key: str, threads: int = 10) -> None:
        self.stack, self.key = stack, key
        self.answered: dict[str, tuple[str, dict[str, Any]]] = {}
        self.refused: list[tuple[int, Any]] = []  # before the stop: after it, 5xx is fine
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._threads = [
            threading.Thread(target=self._post, args=(n,), daemon=True) for n in range(threads)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def acknowledged(self) -> int:
        with self._lock:
            return len(self.answered)

    def join(self) -> None:
        self._done.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _post(self, worker: int) -> None:
        for n in range(10_000):
            if self._done.is_set():
                return
            email, delivery = f"load{worker}.{n}@example.com", f"form-load-{worker}-{n}"
            try:
                status, answer = post_lead(self.stack, self.key, email, delivery, timeout=60)
            except (OSError, ValueError):  # the stack is going away: not acknowledged
                return
            with self._lock:
                if status == 202:
                    self.answered[email] = (delivery, answer)
                elif not self.stopping.is_set():
                    self.refused.append((status, answer))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_stack_stops_within_10_s_under_load_and_keeps_what_it_acknowledged(
    tmp_path: Path, signum: signal.Signals
) -> None:
    data = tmp_path / "data"
    first = StackProcess(data)
    try:
        first.wait_until_up()
        key = (data / "api-key").read_text().strip()
        load = Load(first, key)
        load.start()
        # Enough data and executions in flight that a stop has real work (the stack
        # did not stop within 10 s under such a load before the journal and deadlines).
        deadline = time.monotonic() + 30
        while load.acknowledged() < ENOUGH and time.monotonic() < deadline:
            time.sleep(0.1)
        assert load.acknowledged() >= ENOUGH, first.output
        load.stopping.set()
        first.process.send_signal(signum)  # while the load goes on
        began = time.monotonic()
        try:
            first.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {STOP_SECONDS} s after {signum.name}:\n{first.output}")
        took = time.monotonic() - began
        load.join()
        first._reader.join(timeout=10)
        assert "saved to" in first.output, first.output
        assert not load.refused, load.refused[:3]
    finally:
        first.kill()
    print(f"stopped {took:.1f} s after {signum.name}, {len(load.answered)} leads acknowledged")

    second = StackProcess(data)
    try:
        second.wait_until_up()
        assert_acknowledged_survived(second, key, load.answered)
    finally:
        second.stop()


# --- the journal, in front of a real moto server ----------------------------------------

ACCOUNT_ID = "123456789012"


class Moto:
    """moto's server in this process with the journal's middleware in front, every CRM
    table created; `journal` is what the middleware writes to (None: nothing)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.journal: journal.Journal | None = None
        self.server = MotoServer(
            free_port(),
            middleware=lambda app: journal.middleware(app, env.REGION, lambda: self.journal),
        )
        self.tables = journal.MotoTables(ACCOUNT_ID, env.REGION)
        self.names = {m.Meta.table_name: n for n, m in persistence.models().items()}

    def client(self, attempts: int = 3) -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.server.url,
            region_name=env.REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": attempts, "mode": "standard"}),
        )

    def open_journal(self) -> journal.Journal:
        self.journal = journal.Journal(
            self.data_dir, self.names, self.tables.read_item, self.tables.key_names
        )
        return self.journal

    def create_tables(self) -> None:
        client = self.client()
        for model in persistence.models().values():
            wanted = table_resource(model)["Properties"]
            extra = {
                k: wanted[k]
                for k in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
                if k in wanted
            }
            client.create_table(
                TableName=model.Meta.table_name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=wanted["AttributeDefinitions"],
                KeySchema=wanted["KeySchema"],
                **extra,
            )

    def crash_and_start(self) -> None:
        """What a restart finds: moto has forgotten everything, no journal is open yet."""
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        client = self.client()
        for model in persistence.models().values():
            client.delete_table(TableName=model.Meta.table_name)
        self.create_tables()

    def state(self) -> dict[str, list[str]]:
        """Every item, through moto's API (what a client sees), comparable."""
        snapshot = persistence.read_tables(self.client())
        return {
            m: sorted(json.dumps(i, sort_keys=True) for i in rows)
            for m, rows in snapshot.items.items()
        }


@pytest.fixture
def moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Moto]:
    for name in env.HIDDEN:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    served = Moto(tmp_path / "data")
    with quieted_logs():
        served.server.start()
        try:
            served.create_tables()
            yield served
        finally:
            if served.journal is not None:
                served.journal.close()
            urllib.request.urlopen(
                urllib.request.Request(f"{served.server.url}/moto-api/reset", method="POST")
            ).read()
            served.server.stop()


def table(model: str) -> str:
    return persistence.models()[model].Meta.table_name


def test_the_journal_replays_every_kind_of_write_to_what_moto_answered(moto: Moto) -> None:
    client = moto.client()
    counters, claims, activities = table("Counter"), table("EmailClaim"), table("Activity")
    moto.open_journal()

    client.put_item(TableName=counters, Item={"name": {"S": "a"}, "n": {"N": "1"}})
    client.update_item(
        TableName=counters,
        Key={"name": {"S": "a"}},
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    client.update_item(  # an update that creates its item
        TableName=counters,
        Key={"name": {"S": "b"}},
        UpdateExpression="SET label = :l",
        ExpressionAttributeValues={":l": {"S": "سلام"}},
    )
    client.put_item(TableName=counters, Item={"name": {"S": "gone"}})
    client.delete_item(TableName=counters, Key={"name": {"S": "gone"}})
    client.batch_write_item(
        RequestItems={
            claims: [
                {"PutRequest": {"Item": {"email": {"S": "x@example.com"}, "c": {"S": "c1"}}}},
                {"PutRequest": {"Item": {"email": {"S": "y@example.com"}, "c": {"S": "c2"}}}},
            ]
        }
    )
    client.batch_write_item(
        RequestItems={
            claims: [
                {"DeleteRequest": {"Key": {"email": {"S": "y@example.com"}}}},
                {"PutRequest": {"Item": {"email": {"S": "z@example.com"}, "c": {"S": "c3"}}}},
            ]
        }
    )
    client.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": activities,
                    "Item": {
                        "contact_id": {"S": "c1"},
                        "sort_key": {"S": "2026-01-01T00:00:00#1"},
                        "blob": {"B": b"\x00\xffbinary"},
                        "data": {"M": {"list": {"L": [{"N": "1"}, {"NULL": True}]}}},
                        "tags": {"SS": ["a", "b"]},
                    },
                }
            },
            {
                "Update": {
                    "TableName": counters,
                    "Key": {"name": {"S": "a"}},
                    "UpdateExpression": "ADD n :five",
                    "ExpressionAttributeValues": {":five": {"N": "5"}},
                }
            },
            {"Delete": {"TableName": claims, "Key": {"email": {"S": "x@example.com"}}}},
        ]
    )
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):  # changes nothing
        client.put_item(
            TableName=counters,
            Item={"name": {"S": "a"}, "n": {"N": "100"}},
            ConditionExpression="attribute_not_exists(#n)",
            ExpressionAttributeNames={"#n": "name"},
        )
    answered = moto.state()
    assert answered["Counter"] == sorted(
        json.dumps(i, sort_keys=True)
        for i in (
            {"name": {"S": "a"}, "n": {"N": "7"}},
            {"name": {"S": "b"}, "label": {"S": "سلام"}},
        )
    )
    # Read in this process, moto's tables hold exactly what its API answers.
    in_process = persistence.read_items(moto.tables.scan)
    assert {
        m: sorted(json.dumps(i, sort_keys=True) for i in rows)
        for m, rows in in_process.items.items()
    } == answered

    moto.crash_and_start()
    changes = journal.replay(moto.data_dir, 1, moto.client())
    assert (changes.records, len(changes.images), changes.torn) == (12, 7, 0)
    assert moto.state() == answered
    journal.replay(moto.data_dir, 1, moto.client())  # over itself: images, not requests
    assert moto.state() == answered, "a replayed ADD applied twice"


def test_a_closed_journal_refuses_writes_instead_of_losing_them(moto: Moto) -> None:
    client = moto.client(attempts=1)
    moto.open_journal().close()
    with pytest.raises(ClientError, match="stopping"):
        client.put_item(TableName=table("Counter"), Item={"name": {"S": "late"}})
    assert "Item" not in client.get_item(TableName=table("Counter"), Key={"name": {"S": "late"}})


def test_snapshots_move_the_journal_on_and_keep_what_the_one_before_needs(moto: Moto) -> None:
    client = moto.client()
    counters = table("Counter")
    snapshots = persistence.Snapshotter(
        moto.data_dir, moto.client, 3600, moto.open_journal(), scan=moto.tables.scan
    )
    first = snapshots.take()
    assert first is not None and first.journal == 2
    assert [n for n, _ in journal.segments(moto.data_dir)] == [2]
    client.put_item(TableName=counters, Item={"name": {"S": "one"}})
    second = snapshots.take()
    assert second is not None and second.journal == 3
    # snapshot.jsonl.prev replays from segment 2: it stays.
    assert [n for n, _ in journal.segments(moto.data_dir)] == [2, 3]
    assert snapshots.take() is None  # nothing written since: nothing to do

    client.put_item(TableName=counters, Item={"name": {"S": "two"}})  # after the snapshot
    moto.crash_and_start()
    loaded = persistence.load(moto.data_dir)
    assert loaded is not None and loaded.journal == 3
    persistence.restore(loaded, client)
    journal.replay(moto.data_dir, loaded.journal, client)
    names = {i["name"]["S"] for i in client.scan(TableName=counters)["Items"]}
    assert names == {"one", "two"}


def test_a_write_cut_short_by_a_crash_is_skipped_and_damage_elsewhere_is_refused(
    tmp_path: Path,
) -> None:
    record = json.dumps({"m": "Counter", "k": {"name": {"S": "a"}}, "i": {"name": {"S": "a"}}})
    journal.segment(tmp_path, 1).write_text(record + "\n" + record[:20], "utf-8")
    changes = journal.read_changes(tmp_path, 1)
    assert (changes.records, changes.torn) == (1, 1)
    journal.segment(tmp_path, 2).write_text(record[:20] + "\n" + record + "\n", "utf-8")
    with pytest.raises(SnapshotError, match="line 1"):
        journal.read_changes(tmp_path, 1)


def test_the_editor_does_not_outlive_a_killed_stack(tmp_path: Path) -> None:
    """After `kill -9` of the stack, its editor (a child process) ends too: the next
    `make run` finds its port free instead of refusing to start."""
    from infra.local.server import port_is_free
    from tests.editor.test_browser import _wait_for_editor

    stack = StackProcess(tmp_path / "data", editor=True)
    try:
        stack.wait_until_up()
        assert stack.editor is not None and stack.editor_port is not None
        _wait_for_editor(stack.editor)
        assert not port_is_free(stack.editor_port)
    finally:
        stack.kill()
    deadline = time.monotonic() + 10
    while not port_is_free(stack.editor_port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert port_is_free(stack.editor_port), "the editor kept its port after the stack died"
