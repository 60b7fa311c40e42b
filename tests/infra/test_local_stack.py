"""`crmflow up` as users run it (a child process on free ports and a temporary data
directory, stopped with SIGTERM as Ctrl-C would), and `crmflow run` through click.

The life-cycle test is one test on purpose: its second start needs the first one's data,
and pytest-xdist could otherwise split the steps between workers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from functions.direction import FSI, PDI
from infra.cli import main
from infra.local import persistence, seed
from infra.local.commands import TimeScale
from infra.local.server import free_port
from infra.local.stack import describe_time_scale
from infra.local.templates import template_ids

pytestmark = pytest.mark.moto

ROOT = Path(__file__).parents[2]
READY = "Ctrl-C stops everything"
NEW_EMAIL = "between.runs@example.com"


class StackProcess:
    """`crmflow up` in a child process; its output collected line by line."""

    def __init__(self, data_dir: Path, *extra: str, editor: bool = False) -> None:
        self.api_port, self.moto_port = free_port(), free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.moto = f"http://127.0.0.1:{self.moto_port}"
        self.editor_port = free_port() if editor else None
        self.editor = f"http://127.0.0.1:{self.editor_port}" if editor else None
        wanted = ("--port-editor", str(self.editor_port)) if editor else ("--no-editor",)
        command = [
            *(sys.executable, "-m", "infra.cli", "up", *wanted),
            *("--data-dir", str(data_dir)),
            *("--port-api", str(self.api_port), "--port-moto", str(self.moto_port)),
            *extra,
        ]
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_child_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_until_up(self, timeout: float = 90) -> None:
        if not self.ready.wait(timeout) or self.process.poll() is not None:
            self.kill()
            pytest.fail(f"the stack did not come up:\n{self.output}")

    def stop(self) -> str:
        """SIGTERM, as Ctrl-C; the whole output once the process has ended."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail(f"the stack did not stop on SIGTERM:\n{self.output}")
        self._reader.join(timeout=10)
        return self.output

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if READY in line:
                self.ready.set()

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.moto,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def _child_environment() -> dict[str, str]:
    # The child must not inherit an endpoint, a profile or stack settings from this shell.
    keep = {"CRMFLOW_TABLE_PREFIX"}
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and (not k.startswith("CRMFLOW_") or k in keep)
    }
    return environment | {"PYTHONUNBUFFERED": "1"}


def http(method: str, url: str, body: Any = None, key: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def scan(stack: StackProcess, model: str) -> list[dict[str, Any]]:
    table = persistence.models()[model].Meta.table_name
    pages = stack.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    return [item for page in pages for item in page["Items"]]


def contact_id_of(stack: StackProcess, email: str) -> str | None:
    table = persistence.models()["EmailClaim"].Meta.table_name
    item = stack.client("dynamodb").get_item(TableName=table, Key={"email": {"S": email}})
    return item.get("Item", {}).get("contact_id", {}).get("S")


def timeline(stack: StackProcess, contact_id: str) -> list[dict[str, Any]]:
    table = persistence.models()["Activity"].Meta.table_name
    items = stack.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="contact_id = :c",
        ExpressionAttributeValues={":c": {"S": contact_id}},
    )["Items"]
    return [{"kind": i["kind"]["S"], "data": json.loads(i["data"]["S"])} for i in items]


def wait_for(condition: Any, what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def test_the_stack_serves_persists_restarts_and_never_reseeds(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # 1/3600, not a faster scale: the drip campaign's first wait (days) must outlast the
    # first run, so that its contact is mid-flow when the stack stops.
    options = ("--time-scale", "1/3600", "--snapshot-every", "1")

    # --- first run: a fresh data directory --------------------------------------------
    first = StackProcess(data, *options)
    try:
        first.wait_until_up()
        assert "first run: seeded demo data" in first.output

        status, answer = http("GET", f"{first.api}/local/enrollments/enr_missing")
        assert status == 404 and "enr_missing" in answer["Message"]
        status, _ = http("GET", f"{first.api}/no/such/route")
        assert status in (403, 404)  # the Chalice server answers for routes it lacks

        machines = {
            m["name"] for m in first.client("stepfunctions").list_state_machines()["stateMachines"]
        }
        flows = {i["flow_id"]["S"]: i for i in scan(first, "FlowRecord")}
        for flow_id in template_ids():
            assert flows[flow_id]["status"]["S"] == "published"
            assert f"crmflow-{flow_id}-v1" in machines
        assert len(scan(first, "Contact")) == len(seed.CONTACTS)

        # A contact created while the stack runs, put into a flow that waits for days.
        status, answer = http(
            "POST", f"{first.api}/local/flows/drip-campaign/enroll", {"email": NEW_EMAIL}
        )
        assert status == 202, answer
        assert answer["contact_created"] is True
        enrollment_id = answer["enrollment_id"]
        watch = f"{first.api}/local/enrollments/{enrollment_id}"
        wait_for(lambda: "wait_1" in http("GET", watch)[1]["steps"], "the first wait")
        assert http("GET", watch)[1]["status"] == "active"
        # The contacts table's stream reached the record trigger of lead-qualification.
        new_id = contact_id_of(first, NEW_EMAIL)
        wait_for(
            lambda: any(
                e["contact_id"]["S"] == new_id and e["flow_id"]["S"] == "lead-qualification"
                for e in scan(first, "Enrollment")
            ),
            "the record-created trigger",
        )
        # The periodic snapshot has it before the stack is stopped.
        wait_for(
            lambda: NEW_EMAIL in (data / persistence.SNAPSHOT).read_text("utf-8"), "a snapshot"
        )
    finally:
        output = first.stop()
    assert "saved to" in output, output
    assert list((data / "outbox").glob("*.eml")), "the first email is kept in the outbox"

    # --- second run: the same data directory -----------------------------------------
    second = StackProcess(data, *options)
    try:
        second.wait_until_up()
        output = second.output
        assert "restored" in output and "seeded" not in output, output
        assert "1 contact was mid-flow in drip-campaign" in output
        assert "marked interrupted" in output

        contacts = scan(second, "Contact")
        assert len(contacts) == len(seed.CONTACTS) + 1  # not seeded again
        contact_id = contact_id_of(second, NEW_EMAIL)
        assert contact_id is not None

        status, answer = http("GET", f"{second.api}/local/enrollments/{enrollment_id}")
        assert status == 200 and answer["status"] == "interrupted"
        left = [
            e
            for e in timeline(second, contact_id)
            if e["kind"] == "flow_left" and e["data"]["enrollment"] == enrollment_id
        ]
        assert [e["data"]["reason"] for e in left] == ["interrupted"]

        # Flows are back with their state machines, and no template was published again.
        machines = {
            m["name"] for m in second.client("stepfunctions").list_state_machines()["stateMachines"]
        }
        for flow_id, record in {i["flow_id"]["S"]: i for i in scan(second, "FlowRecord")}.items():
            assert record["latest_version"]["N"] == "1", flow_id
            assert f"crmflow-{flow_id}-v1" in machines
        # A restored flow starts contacts again, through its real trigger (the hook).
        key = (data / "api-key").read_text().strip()
        lead = {"email": "leila.ahmadi@example.com", "first_name": "لیلا"}
        status, answer = http("POST", f"{second.api}/hooks/lead-capture", lead, key=key)
        assert status == 202, answer
        assert contact_id_of(second, "leila.ahmadi@example.com") == answer["contact_id"]

        # The README's test run: the drip campaign for a demo contact, nothing sent.
        outbox = len(list((data / "outbox").glob("*.eml")))
        sara = {"email": "sara.mohammadi@example.com"}
        status, answer = http("POST", f"{second.api}/flows/drip-campaign/test-runs", sara, key=key)
        assert status == 200, answer
        assert answer["status"] == "ended" and answer["nodes"][-1] == "done"
        assert len(answer["emails"]) == 4
        # The name is isolated, so the comma after it stays on its right in a Persian line.
        assert answer["emails"][0]["subject"].startswith(f"{FSI}سارا{PDI},")
        assert len(list((data / "outbox").glob("*.eml"))) == outbox
    finally:
        second.stop()


# --- crmflow run -------------------------------------------------------------------------

WELCOME = {
    "schema_version": "1.0",
    "id": "welcome-test",
    "name": "Welcome (test)",
    "description": "Emails the contact, waits two days, tags them, gives their owner a task.",
    "trigger": {"id": "signup", "kind": "webhook", "label": "Sign-up"},
    "nodes": [
        {
            "id": "welcome",
            "kind": "send_email",
            "label": "Welcome email",
            "params": {
                "subject": "Welcome, {{ contact.first_name }}",
                "body": "<p>Hello and welcome.</p>",
                "from_email": "Acme <hello@acme.example>",
                "fallbacks": {"contact.first_name": "friend"},
            },
        },
        {
            "id": "pause",
            "kind": "wait",
            "label": "Wait 2 days",
            "params": {"duration": {"amount": 2, "unit": "days"}},
        },
        {
            "id": "tag",
            "kind": "update_record",
            "label": "Tag",
            "params": {"add_tags": ["welcomed"]},
        },
        {
            "id": "call",
            "kind": "create_task",
            "label": "Call them",
            "params": {
                "title": "Call {{ contact.email }}",
                "assignee": {"rule": "owner"},
                "due_in": {"amount": 1, "unit": "days"},
            },
        },
        {"id": "done", "kind": "end", "label": "Done"},
    ],
    "edges": [
        {"from": "signup", "to": "welcome"},
        {"from": "welcome", "to": "pause"},
        {"from": "pause", "to": "tag"},
        {"from": "tag", "to": "call"},
        {"from": "call", "to": "done"},
    ],
}


@pytest.fixture
def welcome(tmp_path: Path) -> Path:
    path = tmp_path / "welcome.flow.json"
    path.write_text(json.dumps(WELCOME, ensure_ascii=False), encoding="utf-8")
    return path


def test_run_prints_the_path_the_email_the_task_and_the_changes(welcome: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["run", str(welcome), "--contact", "sara.mohammadi@example.com", "--time-scale", "1e-7"],
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "welcome-test v1" in out and "(demo contact)" in out
    assert "SUCCEEDED" in out and "2 days of waits fast-forwarded" in out
    assert "path: welcome → pause → tag → call → done" in out
    assert "emails sent (1):" in out
    assert (
        f"'Welcome, {FSI}سارا{PDI}'  to sara.mohammadi@example.com  from Acme <hello@acme.example>"
        in out
    )
    assert "'Call sara.mohammadi@example.com'  for داریوش صادقی (usr-dariush)" in out
    assert 'tags: ["ebook", "newsletter"] → ["ebook", "newsletter", "welcomed"]' in out


def test_run_with_a_new_contact_reports_the_failed_step(welcome: Path) -> None:
    result = CliRunner().invoke(
        main, ["run", str(welcome), "--contact", "New.Person@Example.com", "--time-scale", "1e-7"]
    )
    assert result.exit_code == 1, result.output
    out = result.output
    assert "new.person@example.com (new contact)" in out
    assert (
        f"'Welcome, {FSI}friend{PDI}'" in out
    )  # created with email consent, so the email went out
    assert "Crm.NoAssignee" in out and "has no owner" in out
    assert "path: welcome → pause → tag → call\n" in out


def test_run_names_the_templates_when_the_flow_is_unknown() -> None:
    result = CliRunner().invoke(main, ["run", "no-such-flow", "--contact", "a@example.com"])
    assert result.exit_code == 1
    assert "neither a flow file nor a template id" in result.output
    assert "drip-campaign" in result.output


def test_run_refuses_a_trigger_that_is_not_an_object(welcome: Path) -> None:
    result = CliRunner().invoke(
        main, ["run", str(welcome), "--contact", "a@example.com", "--trigger", "[1, 2]"]
    )
    assert result.exit_code == 2
    assert "--trigger" in result.output and "JSON object" in result.output


# --- small parts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scale"), [("1/3600", 1 / 3600), ("1e-6", 1e-6), ("0.5", 0.5), ("1", 1.0)]
)
def test_time_scales_are_numbers_or_fractions(text: str, scale: float) -> None:
    assert TimeScale().convert(text, None, None) == pytest.approx(scale)


@pytest.mark.parametrize("text", ["0", "2", "-1", "1/0", "fast"])
def test_time_scales_outside_zero_to_one_are_refused(text: str) -> None:
    import click

    with pytest.raises(click.BadParameter):
        TimeScale().convert(text, None, None)


def test_the_default_time_scale_is_described_in_words() -> None:
    assert describe_time_scale(1 / 3600) == "×3,600 — a day's wait takes 24 s (--time-scale)"
    assert describe_time_scale(1) == "real time (a day's wait takes a day)"


def test_a_second_stack_on_the_same_data_directory_is_refused(tmp_path: Path) -> None:
    from infra.errors import StackError
    from infra.local.stack import Stack, StackConfig

    first = Stack(StackConfig(data_dir=tmp_path))
    first.lock()
    try:
        with pytest.raises(StackError, match=f"in use by a running stack \\(pid {os.getpid()}\\)"):
            Stack(StackConfig(data_dir=tmp_path)).lock()
    finally:
        first.stop()
    third = Stack(StackConfig(data_dir=tmp_path))
    third.lock()  # free again once the first has stopped
    third.stop()


def test_reset_deletes_only_what_the_stack_wrote(tmp_path: Path) -> None:
    (tmp_path / persistence.SNAPSHOT).write_text("{}", encoding="utf-8")
    (tmp_path / "outbox").mkdir()
    (tmp_path / "outbox" / "1.eml").write_text("x", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    from infra.local.commands import _reset

    _reset(tmp_path, yes=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("command", ["up", "run"])
def test_up_and_run_have_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert f"Usage: main {command}" in result.output or f"Usage: crmflow {command}" in result.output
    assert "--time-scale" in result.output
