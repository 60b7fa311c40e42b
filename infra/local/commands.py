"""`crmflow up` and `crmflow run`: the local stack and one local run, on the command line.
Registered on the `crmflow` group by infra/cli.py. Imports stay light here: the stack and
moto load when a command runs."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

# Defaults repeated from infra.local.stack and infra.local.flow_run, which import moto.
DATA_DIR = ".crmflow"
TIME_SCALE = "1/3600"
RUN_TIME_SCALE = "1e-6"
DUPLICATE_SIGNAL_SECONDS = 3.0
# After a stop signal the process is gone within this many seconds, whatever still runs
# (a request, an execution, a loop): every write it acknowledged is in the journal.
EXIT_SECONDS = 8.5


class TimeScale(click.ParamType):
    """Real seconds per simulated second: a number (0.001, 1e-6) or a fraction (1/3600)."""

    name = "SCALE"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        if isinstance(value, float):
            return value
        text = str(value).strip()
        try:
            if "/" in text:
                top, _, bottom = text.partition("/")
                scale = float(top) / float(bottom)
            else:
                scale = float(text)
        except (ValueError, ZeroDivisionError):
            self.fail(f"'{text}' is not a number or a fraction like 1/3600", param, ctx)
        if not 0 < scale <= 1:
            self.fail(f"{text} must be above 0 and at most 1 (1 = real time)", param, ctx)
        return scale


@click.command("up")
@click.option(
    "--port-api",
    default=8000,
    show_default=True,
    envvar="CRMFLOW_API_PORT",
    help="Port of the HTTP API (env CRMFLOW_API_PORT).",
)
@click.option(
    "--port-moto",
    default=5050,
    show_default=True,
    envvar="CRMFLOW_MOTO_PORT",
    help="Port of moto, the local AWS (env CRMFLOW_MOTO_PORT).",
)
@click.option(
    "--port-editor",
    default=8501,
    show_default=True,
    envvar="CRMFLOW_EDITOR_PORT",
    help="Port of the editor (env CRMFLOW_EDITOR_PORT).",
)
@click.option(
    "--data-dir",
    default=DATA_DIR,
    show_default=True,
    envvar="CRMFLOW_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the data lives between runs (env CRMFLOW_DATA_DIR).",
)
@click.option(
    "--time-scale",
    default=TIME_SCALE,
    show_default=True,
    envvar="CRMFLOW_TIME_SCALE",
    type=TimeScale(),
    help="Real seconds per simulated second of waits; 1/3600: a day's wait takes 24 s (env CRMFLOW_TIME_SCALE).",
)
@click.option(
    "--snapshot-every",
    default=30.0,
    show_default=True,
    envvar="CRMFLOW_SNAPSHOT_SECONDS",
    type=click.FloatRange(min=1),
    help="Seconds between snapshots of the data (env CRMFLOW_SNAPSHOT_SECONDS).",
)
@click.option("--no-editor", is_flag=True, help="Do not start the editor.")
@click.option(
    "--reenroll-interrupted",
    is_flag=True,
    help="Start contacts whose flow was interrupted by a stop again, from the flow's beginning.",
)
@click.option(
    "--reset",
    is_flag=True,
    help="Delete the data directory's snapshot, outbox and keys first: start over with demo data.",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask before --reset deletes data.")
def up_cmd(
    port_api: int,
    port_moto: int,
    port_editor: int,
    data_dir: Path,
    time_scale: float,
    snapshot_every: float,
    no_editor: bool,
    reenroll_interrupted: bool,
    reset: bool,
    yes: bool,
) -> None:
    """Start the whole local stack; Ctrl-C stops it.

    moto (DynamoDB, Step Functions running the flows for real, SES, IAM) and the step
    Lambdas in this process, the HTTP API and the editor, all on 127.0.0.1, with no AWS
    account. On a first run every template is published and demo data is seeded. Every
    write is journaled to the data directory before it is answered, and snapshotted every
    30 s and on exit: the next start restores it all, even after a crash. Ctrl-C or SIGTERM
    stops within 10 s. Contacts that were in a flow when the stack stopped are marked
    interrupted.
    """
    from infra.errors import InfraError, SnapshotError
    from infra.local.stack import Stack, StackConfig

    config = StackConfig(
        data_dir=data_dir,
        api_port=port_api,
        moto_port=port_moto,
        editor_port=port_editor,
        time_scale=time_scale,
        editor=not no_editor,
        snapshot_seconds=snapshot_every,
        reenroll_interrupted=reenroll_interrupted,
    )
    stop = threading.Event()
    _on_signals(stop)
    stack = Stack(config, say=click.echo)
    try:
        stack.lock()  # before --reset: never delete the data of a stack that is running
        if reset:
            _reset(stack.data_dir, yes)
        click.echo(f"starting the local stack (data in {stack.data_dir})…")
        stack.start()
    except InfraError as exc:
        stack.stop()
        hint = (
            "\nMove it away to start from the snapshot before it, or start over with --reset."
            if isinstance(exc, SnapshotError)
            else ""
        )
        raise click.ClickException(f"{exc}{hint}") from None
    except BaseException:
        stack.stop()
        raise
    try:
        for line in stack.report_lines():
            click.echo(f"  {line}")
        click.echo(stack.banner())
        while not stop.wait(0.2):
            pass
        click.echo("\nstopping…")
    finally:
        _exit_after(EXIT_SECONDS - 0.2)
        saved = stack.stop()
    if saved:
        click.echo(f"saved to {saved}; `make run` brings it back")
    # All is on disk. The interpreter's own teardown would wait for threads and spend
    # seconds collecting moto's objects (measured: past 10 s under load): skip it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _on_signals(stop: threading.Event) -> None:
    first: list[float] = []

    def handle(signum: int, frame: Any) -> None:
        now = time.monotonic()
        if not first:
            first.append(now)
            stop.set()
        elif now - first[0] > DUPLICATE_SIGNAL_SECONDS:
            # A second Ctrl-C, well after the first: the user wants out, now. What was
            # acknowledged is in the journal already; the next start replays it.
            click.echo("\nquitting without the last snapshot (the journal has the rest)", err=True)
            os._exit(130)
        # Closer together, the same stop arriving twice (Ctrl-C reaches make and the stack;
        # `timeout` signals the whole group): the last snapshot must still be taken.

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def _exit_after(seconds: float) -> None:
    """End the process `seconds` from now if it is still there: a stop that hangs (a
    request, a loop or a disk that does not answer) must not keep it."""

    def leave() -> None:
        click.echo(
            f"\nstill stopping after {seconds:.0f} s: quitting now; every write the stack "
            "acknowledged is in its journal, and the next start replays it",
            err=True,
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)

    timer = threading.Timer(seconds, leave)
    timer.daemon = True
    timer.start()


def _reset(data_dir: Path, yes: bool) -> None:
    from infra.local.journal import segments
    from infra.local.persistence import PREVIOUS, SNAPSHOT
    from infra.local.stack import API_KEY_FILE, OUTBOX, SECRET_FILE

    # Only what the stack writes: --data-dir pointing at the wrong folder deletes nothing else.
    owned = [data_dir / name for name in (SNAPSHOT, PREVIOUS, API_KEY_FILE, SECRET_FILE, OUTBOX)]
    owned += list(data_dir.glob(".snapshot-*.tmp")) if data_dir.exists() else []
    owned += [path for _number, path in segments(data_dir)] if data_dir.exists() else []
    present = [path for path in owned if path.exists()]
    if not present:
        return
    if not yes:
        click.confirm(
            f"Delete the local stack's data in {data_dir} (contacts, flows, enrollments, outbox)?",
            abort=True,
        )
    for path in present:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    click.echo(f"reset: deleted {', '.join(p.name for p in present)} in {data_dir}")


@click.command("run")
@click.argument("flow", metavar="FLOW_FILE_OR_ID")
@click.option(
    "--contact",
    "contact_email",
    required=True,
    metavar="EMAIL",
    help="The contact to enroll: a demo contact's email, or a new address (created, with email consent).",
)
@click.option(
    "--trigger",
    "trigger_json",
    metavar="JSON",
    help="The trigger's data as a JSON object, or @FILE to read it from a file.",
)
@click.option(
    "--time-scale",
    default=RUN_TIME_SCALE,
    show_default=True,
    type=TimeScale(),
    help="Real seconds per simulated second of waits (1e-6: a day's wait takes 0.09 s).",
)
@click.option(
    "--timeout",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Give up (and stop the run) after this many real seconds.",
)
def run_cmd(
    flow: str, contact_email: str, trigger_json: str | None, time_scale: float, timeout: float
) -> None:
    """Run one flow for one contact, locally, and show what happened.

    FLOW_FILE_OR_ID is a .flow.json file or a template id (drip-campaign). The flow is
    published on moto in this process, next to the demo data (users, teams, 30 contacts),
    with the real step handlers; waits are fast-forwarded. Prints the path taken, the
    emails sent, the tasks created and the contact's changed fields. Nothing is kept.
    Exit status 1 when the run did not succeed.
    """
    trigger = _trigger(trigger_json)
    try:
        from infra.errors import FlowSourceError
        from infra.local.flow_run import run_flow
    except ImportError as exc:  # moto is a development dependency
        raise click.ClickException(f"run needs the dev tools (make install): {exc}") from None
    from functions.errors import CrmError

    progress = _Spinner(flow) if sys.stderr.isatty() else None
    try:
        report = run_flow(
            flow,
            contact_email,
            trigger=trigger,
            time_scale=time_scale,
            timeout=timeout,
            progress=progress,
        )
    except FlowSourceError as exc:
        raise click.ClickException(str(exc)) from None
    except CrmError as exc:  # a flow with errors, a bad email…
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
    finally:
        if progress is not None:
            progress.clear()
    _print_report(report)
    sys.exit(0 if report.ok else 1)


def _trigger(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(
                f"cannot read {text[1:]}: {exc}", param_hint="--trigger"
            ) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--trigger") from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--trigger")
    return value


class _Spinner:
    """One line on stderr that says where the run is, rewritten in place."""

    def __init__(self, flow: str) -> None:
        self.flow = flow
        self._frames = itertools.cycle("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

    def __call__(self, state: str, elapsed: float) -> None:
        line = f"{next(self._frames)} {self.flow}: {state} ({elapsed:.1f} s)"
        click.echo(f"\r{line[:100]:<100}", nl=False, err=True)

    def clear(self) -> None:
        click.echo(f"\r{'':<100}\r", nl=False, err=True)


def _print_report(report: Any) -> None:
    who = f"{report.email} ({'new contact' if report.contact_created else 'demo contact'})"
    click.secho(f"{report.flow_id} v{report.version} ({report.source}) for {who}", bold=True)
    if not report.enrolled:
        click.secho(f"✗ not enrolled: {report.reason}", fg="red")
        return
    colour = "green" if report.ok else "red"
    simulated = _duration(report.simulated_seconds)
    waited = f", {simulated} of waits fast-forwarded" if report.simulated_seconds else ""
    left = (
        f"; the contact left the flow: {report.enrollment_status}"
        if report.enrollment_status
        else ""
    )
    click.secho(f"{report.status} in {report.seconds:.1f} s{waited}{left}", fg=colour)
    if report.error:
        click.secho(f"  error: {report.error}: {report.cause}", fg="red")
    click.echo(f"path: {' → '.join(report.path) or '(no steps)'}")
    click.echo(f"emails sent ({len(report.emails)}):")
    for sent in report.emails:
        # Quoted as sent, not repr(): repr would spell the isolates around names as escapes.
        click.echo(f"  ✉ '{sent.subject}'  to {sent.to}  from {sent.sender}")
    click.echo(f"tasks created ({len(report.tasks)}):")
    for task in report.tasks:
        who = (
            f"{task['assignee_name']} ({task['assignee']})"
            if task["assignee_name"]
            else task["assignee"]
        )
        click.echo(f"  ☐ {task['title']!r}  for {who}, due {task['due_at']} ({task['priority']})")
    click.echo(f"contact changes ({len(report.changes)}):")
    for name, (before, after) in report.changes.items():
        click.echo(f"  {name}: {_show(before)} → {_show(after)}")


def _show(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="seconds")
    return json.dumps(value, ensure_ascii=False, default=str)


def _duration(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            amount = f"{seconds / size:.3g}"
            return f"{amount} {unit}" + ("" if amount == "1" else "s")
    return f"{seconds:.3g} s"
