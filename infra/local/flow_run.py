"""`crmflow run`: one flow, one contact, end to end on moto in this process, with the real
step handlers, and a report of what happened.

The store is fresh and holds the demo data (infra.local.seed), so owners, teams and the
demo contacts exist; nothing is written anywhere else, and it is gone at exit. The report
comes from the run itself: the path from the execution's history, the emails moto's SES
captured, the tasks created and the contact's changed fields.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.errors import FlowSourceError
from infra.local import env, moto_patches, sessions
from infra.local.server import quieted_logs
from infra.local.sfn_runner import local_sfn
from infra.local.templates import template_ids, template_path

DEFAULT_TIME_SCALE = 1e-6  # a day's wait takes 0.09 s, a year's 32 s
DEFAULT_TIMEOUT = 300.0
# Node kinds that name another flow, which must be published for them to work.
_FLOW_REFERENCES = ("enroll_in_flow", "remove_from_flow")

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class SentEmail:
    sender: str
    to: str
    subject: str


@dataclass
class RunReport:
    flow_id: str
    version: int
    source: str
    email: str
    contact_id: str
    contact_created: bool
    enrolled: bool
    reason: str | None = None  # why not, when not enrolled
    status: str = "NOT_STARTED"  # the execution's: SUCCEEDED, FAILED, ABORTED, TIMED_OUT…
    enrollment_status: str | None = None  # completed, ended, goal, failed…
    error: str | None = None
    cause: str | None = None
    path: list[str] = field(default_factory=list)
    emails: list[SentEmail] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    seconds: float = 0.0
    simulated_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.enrolled and self.status == "SUCCEEDED"


def load_flow(source: str) -> tuple[dict[str, Any], str]:
    """The flow document of a file path or of a shipped template's id, and where it came from."""
    path = Path(source)
    if path.is_file():
        where = str(path)
    elif (found := template_path(source)) is not None:
        path, where = found, f"template {source}"
    else:
        raise FlowSourceError(
            f"'{source}' is neither a flow file nor a template id; templates: "
            + ", ".join(template_ids())
        )
    try:
        return json.loads(path.read_text(encoding="utf-8")), where
    except (OSError, json.JSONDecodeError) as exc:
        raise FlowSourceError(f"cannot read {path}: {exc}") from None


def run_flow(
    source: str,
    contact_email: str,
    *,
    trigger: dict[str, Any] | None = None,
    time_scale: float = DEFAULT_TIME_SCALE,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> RunReport:
    """Publish the flow, enroll the contact (created when unknown), wait for the end."""
    document, where = load_flow(source)
    # The models read the region when first imported: fake settings first, then imports.
    with (
        env.patched_environ(env.FAKE_CREDENTIALS, ("AWS_ENDPOINT_URL", *env.HIDDEN)),
        sessions.shared_loader(),
        quieted_logs(),
    ):
        from functions.publish import FUNCTION_ARN_ENV, STATES_ROLE_ENV
        from infra.local.lambdas import register_app_functions, unregister_app_functions

        settings = {
            **env.handler_settings("http://127.0.0.1:8000", "crmflow-run-local"),
            FUNCTION_ARN_ENV: "",  # register_app_functions sets both; the block undoes it
            STATES_ROLE_ENV: "",
        }
        with env.patched_environ(settings), local_sfn(time_scale) as sfn:
            register_app_functions()
            try:
                return _run(sfn.client, document, where, contact_email, trigger, timeout, progress)
            finally:
                _stop_running(sfn.client)
                unregister_app_functions()


def _run(
    sfn: Any,
    document: dict[str, Any],
    where: str,
    contact_email: str,
    trigger: dict[str, Any] | None,
    timeout: float,
    progress: Progress | None,
) -> RunReport:
    from functions.enrollments import enroll
    from functions.publish import publish
    from functions.sandbox import changes, fields_of
    from functions.store.contacts import BOOKKEEPING, create_contact, find_by_email
    from functions.store.models import Enrollment
    from functions.store.tables import create_all
    from infra.local.outbox import sent_messages
    from infra.local.seed import seed_demo_data
    from infra.local.templates import template_documents, verify_senders

    create_all(wait=False)
    verify_senders([document, *template_documents()])
    seed_demo_data()
    for flow_id in _referenced_flows(document):
        if flow_id != document.get("id") and (path := template_path(flow_id)) is not None:
            publish(json.loads(path.read_text(encoding="utf-8")), by="crmflow run")
    saved = publish(document, by="crmflow run")

    contact = find_by_email(contact_email)
    created = contact is None
    if contact is None:
        # A test contact that agreed to email, so consent checks let it through.
        contact = create_contact({"email": contact_email, "email_consent": True})
    report = RunReport(
        saved.flow_id, saved.version, where, contact.email, contact.contact_id, created, False
    )
    before = fields_of(contact)
    tasks_before = _task_ids()
    emails_before = len(sent_messages())
    moto_patches.reset_scaled_waits()
    started = time.monotonic()

    answer = enroll(saved.flow_id, contact.contact_id, trigger=trigger, source={"kind": "run"})
    report.enrolled, report.reason = answer.enrolled, answer.reason
    if answer.enrolled and answer.execution_arn:
        described = _wait(sfn, answer.execution_arn, timeout, progress, started)
        report.status = described["status"]
        history = _history(sfn, answer.execution_arn)
        node_ids = {node["id"] for node in document.get("nodes", [])}
        report.path = [name for name in _states_entered(history) if name in node_ids]
        report.error, report.cause = _failure(described, history)
        enrollment = Enrollment.get(answer.enrollment_id, consistent_read=True)
        report.enrollment_status = enrollment.status
        if enrollment.error:  # the step's own error, which the flow's generic failure hides
            report.error, report.cause = _step_error(enrollment.error)
    report.seconds = time.monotonic() - started
    report.simulated_seconds = sum(
        simulated for what, simulated, _ in moto_patches.scaled_waits() if what == "wait"
    )
    report.emails = [_summary(m) for m in sent_messages()[emails_before:]]
    report.tasks = _new_tasks(tasks_before)
    from functions.store.contacts import get_contact

    after = fields_of(get_contact(contact.contact_id))
    report.changes = {
        name: (old, new) for name, (old, new) in changes(before, after, BOOKKEEPING).items()
    }
    return report


def _wait(
    sfn: Any, arn: str, timeout: float, progress: Progress | None, started: float
) -> dict[str, Any]:
    deadline = started + timeout
    delay = 0.01
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        if progress is not None:
            entered = _states_entered(_history(sfn, arn))
            progress(entered[-1] if entered else "starting", time.monotonic() - started)
        if time.monotonic() > deadline:
            sfn.stop_execution(executionArn=arn, error="crmflow.RunTimeout")
            return {**described, "status": "TIMED_OUT"}
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
    return [event for page in pages for event in page["events"]]


def _states_entered(history: list[dict[str, Any]]) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in history
        if event["type"].endswith("StateEntered")
    ]


def _failure(described: dict[str, Any], history: list[dict[str, Any]]) -> tuple[Any, Any]:
    if described["status"] == "SUCCEEDED":
        return None, None
    for event in reversed(history):
        for key in ("executionFailedEventDetails", "taskFailedEventDetails"):
            details = event.get(key)
            if details:
                return details.get("error"), details.get("cause")
    return described.get("error"), described.get("cause")


def _step_error(error: dict[str, Any]) -> tuple[Any, Any]:
    """(name, message) of the error a finish step recorded: Step Functions' Error and Cause,
    where Cause holds the Lambda runtime's JSON error document."""
    name, cause = error.get("Error"), error.get("Cause")
    with contextlib.suppress(TypeError, ValueError, AttributeError):
        cause = json.loads(cause).get("errorMessage", cause)
    return name, cause


def _referenced_flows(document: Any) -> Iterator[str]:
    for node in document.get("nodes", []) if isinstance(document, dict) else []:
        if node.get("kind") in _FLOW_REFERENCES:
            flow_id = (node.get("params") or {}).get("flow_id")
            if isinstance(flow_id, str):
                yield flow_id


def _task_ids() -> set[str]:
    from functions.store.models import Task

    return {task.task_id for task in Task.scan()}


def _new_tasks(before: set[str]) -> list[dict[str, Any]]:
    from functions.store.models import Task

    new = [task for task in Task.scan() if task.task_id not in before]
    return [
        {
            "title": task.title,
            "assignee": task.assignee_id,
            "assignee_name": _user_name(task.assignee_id),
            "due_at": task.due_at.isoformat(timespec="minutes"),
            "priority": task.priority,
        }
        for task in sorted(new, key=lambda t: t.created_at)
    ]


def _user_name(user_id: str | None) -> str | None:
    from functions.store.models import User

    if not user_id:
        return None
    try:
        return User.get(user_id).name
    except User.DoesNotExist:
        return None


def _summary(message: Any) -> SentEmail:
    from infra.local.outbox import as_bytes

    parsed = email.message_from_bytes(as_bytes(message), policy=email.policy.default)
    return SentEmail(
        sender=str(parsed.get("From", message.source)),
        to=str(parsed.get("To", "")) or ", ".join(getattr(message, "destinations", [])),
        subject=str(parsed.get("Subject", "")),
    )


def _stop_running(sfn: Any) -> None:
    # Executions left waiting (a timeout, an error) would wake up after the mock is gone.
    for machine in sfn.list_state_machines()["stateMachines"]:
        running = sfn.list_executions(
            stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"
        )["executions"]
        for execution in running:
            try:
                sfn.stop_execution(executionArn=execution["executionArn"])
            except Exception:  # a run moto has not begun cannot be stopped; it ends with the mock
                continue
