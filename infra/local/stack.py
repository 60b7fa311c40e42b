"""The whole local stack in one process: `crmflow up` / `make run`.

moto's server with real ASL execution and the in-process Lambda bridge, the CRM tables
restored from the data directory (or seeded on a first run), every template published, the
Chalice app's HTTP API, the editor when it exists, and background loops (snapshots, the
outbox, and whatever is added to BACKGROUND). Every DynamoDB write is journaled before it
is answered (journal.py), so what the stack acknowledged survives even `kill -9`.
`stop()` takes a last snapshot, within STOP_SECONDS; the next start restores it and
replays the journal written after it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from infra.errors import StackError
from infra.local import env, journal, persistence, server, sessions
from infra.local.seed import Seeded

DEFAULT_DATA_DIR = Path(".crmflow")
DEFAULT_API_PORT = 8000
DEFAULT_MOTO_PORT = 5050  # not 5000: macOS gives that one to AirPlay
DEFAULT_EDITOR_PORT = 8501
# Real seconds per simulated second. 1/3600: an hour of waiting passes in a second, a day
# in 24 s, so a drip campaign can be watched step by step and still ends in minutes.
DEFAULT_TIME_SCALE = 1 / 3600
DEFAULT_SNAPSHOT_SECONDS = 30.0
# What a stop may take, the last snapshot included (cut short, it is not needed: the
# journal holds every write since the snapshot before). `crmflow up` ends its process at
# the latest 2.5 s after that.
STOP_SECONDS = 6.0
SECRET_FILE = "unsubscribe-secret"
API_KEY_FILE = "api-key"
LOCK_FILE = "stack.lock"
OUTBOX = "outbox"
DEMO_FLOW = "drip-campaign"
DEMO_EMAIL = "sara.mohammadi@example.com"


class Background(Protocol):
    """Something the stack runs while it is up (a poller, a loop): started after the data
    is restored, seeded and published and the API is up; stopped before the last snapshot."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


# The hook point for background work: each factory is called with the started Stack and
# returns a Background (e.g. a poller of the tables' streams that starts record-change
# flows). Note for stream readers: restored and seeded items were written just before
# (stack.restored / stack.seeded say which); reading streams from TRIM_HORIZON would
# present every restored contact as a new record.
BACKGROUND: list[Callable[[Stack], Background]] = []
SCHEDULER_SECONDS = float(os.environ.get("CRMFLOW_SCHEDULER_SECONDS") or 30)


@dataclass
class StackConfig:
    data_dir: Path = DEFAULT_DATA_DIR
    api_port: int = DEFAULT_API_PORT
    moto_port: int = DEFAULT_MOTO_PORT
    editor_port: int = DEFAULT_EDITOR_PORT
    time_scale: float = DEFAULT_TIME_SCALE
    editor: bool = True
    snapshot_seconds: float = DEFAULT_SNAPSHOT_SECONDS
    reenroll_interrupted: bool = False
    host: str = server.HOST


@dataclass
class Started:
    """What start() found and did, for the banner and for tests."""

    restored: dict[str, int] = field(default_factory=dict)  # model → items
    snapshot_taken_at: str | None = None
    seeded: Seeded | None = None
    published: list[str] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)
    recovery: Any = None  # infra.local.restore.Recovery
    replayed: Any = None  # infra.local.journal.Changes: writes journaled after the snapshot
    editor: str | None = None  # why it did not start, when it did not
    api_key: str | None = None
    notes: list[str] = field(default_factory=list)


class Stack:
    """Start with start(), stop with stop() (idempotent; also after a failed start)."""

    def __init__(self, config: StackConfig, say: Callable[[str], None] = print) -> None:
        self.config = config
        self.say = say
        self.data_dir = config.data_dir.resolve()
        self.started = Started()
        self.moto: server.MotoServer | None = None
        self.api: server.ApiServer | None = None
        self.editor: server.Editor | None = None
        self.snapshots: persistence.Snapshotter | None = None
        self.journal: journal.Journal | None = None
        self.tables: journal.MotoTables | None = None  # moto's, read in this process
        self._journal_from = 1  # the restored snapshot's first journal segment
        self.background: list[Background] = []
        self._lock_handle: Any = None
        self._stopped = False

    @property
    def restored(self) -> bool:
        return bool(self.started.restored)

    @property
    def seeded(self) -> bool:
        return self.started.seeded is not None

    # --- starting --------------------------------------------------------------------------

    def start(self) -> Started:
        config = self.config
        self.lock()
        self._check_ports()
        moto_url = f"http://{config.host}:{config.moto_port}"
        # Before anything imports functions.store.models: models read the region on import.
        for name in env.HIDDEN:
            os.environ.pop(name, None)
        os.environ.update(env.server_settings(moto_url, config.moto_port))
        os.environ.update(
            env.handler_settings(f"http://{config.host}:{config.api_port}", self._secret())
        )
        server.quiet_logs()
        sessions.share_loader()
        from infra.local import moto_patches

        moto_patches.apply(config.time_scale)
        # Journals nothing until _open_journal(): restoring is not news.
        self.moto = server.MotoServer(
            config.moto_port,
            config.host,
            middleware=lambda app: journal.middleware(app, env.REGION, lambda: self.journal),
        )
        self.moto.start()

        from functions.store.tables import create_all

        create_all(wait=False)
        self._restore()
        self._open_journal()  # from here on, every write is on disk before it is answered
        self._prepare_functions()
        if self.restored:
            from infra.local.restore import recover

            self.started.recovery = recover(reenroll=config.reenroll_interrupted)
        from infra.local.templates import publish_missing

        self.started.published = publish_missing()
        if not self.restored:
            from infra.local.seed import seed_demo_data

            self.started.seeded = seed_demo_data()
        self._count_reports()
        self._index_for_search()
        self.started.api_key = self._api_key()
        self.started.flows = self._published_flows()

        self.snapshots = persistence.Snapshotter(
            self.data_dir,
            _dynamodb_client,
            config.snapshot_seconds,
            self.journal,
            scan=self.tables.scan if self.tables else None,
        )
        self.snapshots.take()  # the seeded or recovered state is on disk from the start
        self._start_api()
        self._start_editor()
        self._start_background()
        return self.started

    def lock(self) -> None:
        """Claim the data directory (created if needed) for this stack; StackError when a
        running stack holds it. Idempotent; stop() releases it."""
        import fcntl

        if self._lock_handle is not None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = (self.data_dir / LOCK_FILE).open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StackError(
                f"{self.data_dir} is in use by a running stack (pid {holder}); stop it first, "
                "or give this one another --data-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_handle = handle

    def _check_ports(self) -> None:
        config = self.config
        wanted = [("--port-moto", config.moto_port), ("--port-api", config.api_port)]
        if config.editor and server.Editor(config.editor_port).unavailable() is None:
            wanted.append(("--port-editor", config.editor_port))
        for flag, port in wanted:
            if not server.port_is_free(port, config.host):
                raise StackError(
                    f"port {port} on {config.host} is taken (is a stack already running?); "
                    f"choose another with {flag}"
                )

    def _secret(self) -> str:
        # Kept in the data directory: unsubscribe and click links in emails sent before a
        # restart keep working after it.
        path = self.data_dir / SECRET_FILE
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip()

    def _restore(self) -> None:
        snapshot = persistence.load(self.data_dir)
        if snapshot is None:
            # A journal continues a snapshot: without one, it is left by a first start that
            # died before its first snapshot, which seeds again.
            journal.discard(self.data_dir)
            return
        unknown = persistence.unknown_models(snapshot)
        if unknown:
            self.started.notes.append(
                f"the snapshot holds items of models that no longer exist, not restored: {unknown}"
            )
        counts = persistence.restore(snapshot, _dynamodb_client())
        self._journal_from = snapshot.journal or 1
        if snapshot.journal is not None:
            self.started.replayed = journal.replay(
                self.data_dir, snapshot.journal, _dynamodb_client()
            )
        # Even an empty snapshot means "this data directory ran before": do not seed.
        self.started.restored = counts or {"(empty)": 0}
        self.started.snapshot_taken_at = snapshot.taken_at

    def _open_journal(self) -> None:
        from infra.local.sfn_runner import ACCOUNT_ID

        self.tables = tables = journal.MotoTables(ACCOUNT_ID, env.REGION)
        models = {model.Meta.table_name: name for name, model in persistence.models().items()}
        self.journal = journal.Journal(
            self.data_dir, models, tables.read_item, tables.key_names, first=self._journal_from
        )

    def _prepare_functions(self) -> None:
        from infra.local.lambdas import register_app_functions
        from infra.local.templates import stored_documents, template_documents, verify_senders

        register_app_functions()  # also creates the states role and sets the publish settings
        verify_senders([*template_documents(), *stored_documents()])

    def _count_reports(self) -> None:
        """Report counters for data that no stream delivered: the demo data just seeded
        (the stream poller starts later, at the streams' end), or a snapshot taken before
        the counters existed. Before the API and the poller start, so nothing writes."""
        if self.restored and self.started.restored.get("Rollup"):
            return
        from functions.reports.rebuild import rebuild

        done = rebuild()
        self.started.notes.append(f"reports: {done.describe()}")

    def _index_for_search(self) -> None:
        """Search rows for the contacts of a snapshot taken before contacts had them."""
        if not self.restored or self.started.restored.get("ContactSearchKey"):
            return
        from functions.store.contacts import backfill_search_keys

        self.started.notes.append(f"contact search: {backfill_search_keys()} rows written")

    def _api_key(self) -> str | None:
        """A local admin key for the HTTP API, issued on a first run and kept in the data
        directory (the key table keeps only its hash)."""
        path = self.data_dir / API_KEY_FILE
        if path.exists() and self.restored:  # its hash is in the restored key table
            return path.read_text(encoding="utf-8").strip()
        try:
            from functions.auth import issue_key
        except ImportError:
            return None
        _key_id, key = issue_key("local admin (crmflow up)", "admin", by="crmflow up")
        path.write_text(key, encoding="utf-8")
        path.chmod(0o600)
        return key

    def _published_flows(self) -> list[str]:
        from functions.store.models import FlowRecord

        return sorted(f.flow_id for f in FlowRecord.scan() if f.status == "published")

    def _start_api(self) -> None:
        from functions.app import app
        from infra.local.control import add_local_routes

        add_local_routes(app)
        self.api = server.ApiServer(app, self.config.api_port, self.config.host)
        self.api.start()

    def _start_editor(self) -> None:
        editor = server.Editor(self.config.editor_port, self.config.host)
        why = "off (--no-editor)" if not self.config.editor else editor.unavailable()
        self.started.editor = why
        if why is None:
            assert self.api is not None
            editor.start(
                {
                    "CRMFLOW_API_URL": self.api.url,
                    "CRMFLOW_API_KEY_FILE": str((self.data_dir / API_KEY_FILE).resolve()),
                    "CRMFLOW_OUTBOX": str((self.data_dir / OUTBOX).resolve()),
                }
            )
            self.editor = editor

    def _start_background(self) -> None:
        from infra.local.outbox import Outbox

        assert self.snapshots is not None
        loops: list[Background] = [
            _Loop("crmflow-snapshots", self.snapshots.run),
            Outbox(self.data_dir / OUTBOX),
            record_changes(),
            _Loop("crmflow-scheduler", scheduler_loop),
        ]
        loops += [factory(self) for factory in BACKGROUND]
        for loop in loops:
            loop.start()
            self.background.append(loop)

    # --- stopping --------------------------------------------------------------------------

    def stop(self, budget: float = STOP_SECONDS) -> str | None:
        """Stop everything within about `budget` seconds, last snapshot included; where the
        data was saved, if it was. Writes still in progress when the journal closes are
        refused, never acknowledged."""
        if self._stopped:
            return None
        self._stopped = True
        deadline = time.monotonic() + budget
        saved = None
        if self.api is not None:
            self.api.stop()  # no new requests; those in progress are journaled as they write
        # The loops stop while the snapshot is taken: with the journal, a snapshot is right
        # whatever is still being written.
        stopping = self._stop_background()
        if self.editor is not None:
            self.editor.stop()
        if self.snapshots is not None:
            try:
                self.snapshots.take(deadline)
                saved = str(self.data_dir / persistence.SNAPSHOT)
            except TimeoutError:
                self.say(
                    "  the last snapshot did not fit in the time a stop may take: the journal "
                    "holds every write since the one before, and the next start replays it"
                )
            except Exception as exc:  # say it loudly: this is the user's data
                self.say(
                    f"✗ the last snapshot failed: {exc}; the previous one and the journal "
                    "after it are kept"
                )
        for stopper in stopping:  # one busy with a backlog is left to end with the process
            stopper.join(max(0.0, deadline - time.monotonic()))
        if self.journal is not None:
            self.journal.close()
            saved = saved or str(self.data_dir)
        if self.moto is not None:
            self.moto.stop()
        if self._lock_handle is not None:
            self._lock_handle.close()
        return saved

    def _stop_background(self) -> list[threading.Thread]:
        """Tell every background loop to stop, all at once; the threads doing it."""
        stoppers = [
            threading.Thread(target=_quietly, args=(loop.stop,), daemon=True)
            for loop in reversed(self.background)
        ]
        for stopper in stoppers:
            stopper.start()
        return stoppers

    # --- what to print ---------------------------------------------------------------------

    def report_lines(self) -> list[str]:
        """What start() did, one line each."""
        started, lines = self.started, []
        if self.restored:
            counts = {k: v for k, v in started.restored.items() if v}
            total = sum(counts.values())
            lines.append(
                f"restored {total:,} records from {self.data_dir / persistence.SNAPSHOT} "
                f"(taken {started.snapshot_taken_at}): {_summary(counts)}"
            )
        replayed = started.replayed
        if replayed is not None and replayed.records:
            lines.append(
                f"replayed {replayed.records:,} write(s) journaled after that snapshot "
                f"({len(replayed.images):,} record(s) changed)"
            )
        if started.seeded is not None:
            lines.append(f"first run: seeded demo data — {started.seeded.describe()}")
        if started.published:
            lines.append(
                f"published {len(started.published)} template(s): {', '.join(started.published)}"
            )
        lines += started.notes
        recovery = started.recovery
        if recovery is not None:
            lines += interrupted_lines(recovery)
        return lines

    def banner(self) -> str:
        config, started = self.config, self.started
        api = f"http://{config.host}:{config.api_port}"
        moto = f"http://{config.host}:{config.moto_port}"
        editor = (
            f"http://{config.host}:{config.editor_port}"
            if started.editor is None
            else started.editor
        )
        lines = [
            "",
            "crmflow local stack is up",
            f"  API      {api}",
            f"  editor   {editor}",
            f"  AWS      {moto}  (moto: DynamoDB, Step Functions, SES…; dashboard {moto}/moto-api/)",
            f"  data     {self.data_dir}  (every write journaled, snapshot every {config.snapshot_seconds:g} s and on exit; emails in {OUTBOX}/)",
            f"  time     {describe_time_scale(config.time_scale)}",
            f"  flows    {len(started.flows)} published: {', '.join(started.flows) or 'none'}",
            "",
        ]
        key = f'"Authorization: Bearer $(cat {self.data_dir / API_KEY_FILE})"'
        if started.api_key and self._has_route("/hooks/{flow_id}"):
            lines += [
                "Start the lead-capture flow the way a website form would, then watch it:",
                f"  curl -s -X POST {api}/hooks/lead-capture -H {key} "
                "-H 'Content-Type: application/json' "
                """-d '{"email": "leila.ahmadi@example.com", "first_name": "لیلا", "company": "Acme"}'""",
                f"  curl -s -H {key} {api}/enrollments/<enrollment_id from the answer>",
                "The rest of the HTTP API (docs/api.md), with the same key:",
                f"  curl -s -H {key} {api}/flows",
            ]
        lines += [
            f"Or put a demo contact into {DEMO_FLOW} (local only, no key):",
            f"  curl -s -X POST {api}/local/flows/{DEMO_FLOW}/enroll "
            f"-H 'Content-Type: application/json' -d '{{\"email\": \"{DEMO_EMAIL}\"}}'",
        ]
        lines += [
            "AWS CLI / boto3 from another shell:",
            f"  export AWS_ENDPOINT_URL={moto} AWS_ACCESS_KEY_ID=testing "
            f"AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={os.environ.get('AWS_REGION')}",
            "",
            "Ctrl-C stops everything (state is saved first).",
        ]
        return "\n".join(lines)

    def _has_route(self, path: str) -> bool:
        from functions.app import app

        return path in app.routes


def record_changes() -> Background:
    """The tables' streams delivered to the app's record-change Lambdas, as AWS's event
    source mappings would; only changes from now on (restored records are not news)."""
    from functions import app as entry
    from functions.store.tables import table_name
    from infra.local.moto_patches import LambdaContext
    from infra.local.streams import StreamPoller

    lambdas = {
        table_name("contacts"): "contact_changes",
        table_name("deals"): "deal_changes",
        table_name("companies"): "company_changes",
    }

    def deliver(event: dict[str, Any]) -> None:
        table = event["Records"][0]["eventSourceARN"].split(":table/", 1)[1].split("/", 1)[0]
        name = lambdas[table]
        context = LambdaContext(function_name=name, invoked_function_arn=name)
        getattr(entry, name)(event, context)

    return StreamPoller(list(lambdas), deliver, from_latest=True)


def scheduler_loop(stop: threading.Event) -> None:
    """The app's scheduler Lambda, every SCHEDULER_SECONDS (every 5 minutes on AWS)."""
    from functions import app as entry
    from infra.local.moto_patches import LambdaContext

    context = LambdaContext(function_name="scheduler", invoked_function_arn="scheduler")
    while not stop.wait(SCHEDULER_SECONDS):
        event = {  # what EventBridge sends a scheduled Lambda
            "version": "0",
            "id": secrets.token_hex(8),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "us-east-1",
            "resources": [],
            "detail": {},
        }
        try:
            entry.scheduler(event, context)
        except Exception:  # the next tick tries again, as the next scheduled run would
            logging.getLogger(__name__).exception("the scheduler run failed")


class _Loop:
    """A function `run(stop_event)` in a daemon thread, as a Background."""

    def __init__(self, name: str, run: Callable[[threading.Event], None]) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=run, args=(self._stop,), name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _quietly(stop: Callable[[], None]) -> None:
    with contextlib.suppress(Exception):
        stop()


def interrupted_lines(recovery: Any) -> list[str]:
    lines = []
    for flow_id, count in sorted(recovery.interrupted.items()):
        who = "1 contact was" if count == 1 else f"{count} contacts were"
        them = "it is" if count == 1 else "they are"
        lines.append(
            f"{who} mid-flow in {flow_id} when the stack stopped; {them} marked interrupted: "
            "re-enroll with `crmflow up --reenroll-interrupted` (the flow starts again from "
            "its beginning)"
        )
    for flow_id, count in sorted(recovery.reenrolled.items()):
        lines.append(f"re-enrolled {count} interrupted contact(s) in {flow_id}")
    lines += [f"not re-enrolled: {why}" for why in recovery.not_reenrolled]
    lines += [f"warning: {problem}" for problem in recovery.problems]
    return lines


def describe_time_scale(scale: float) -> str:
    day = 86400 * scale
    if scale == 1:
        return "real time (a day's wait takes a day)"
    if day >= 120:
        length = f"{day / 60:.3g} min"
    elif day >= 0.1:
        length = f"{day:.3g} s"
    else:
        length = f"{day * 1000:.3g} ms"
    return f"×{1 / scale:,.0f} — a day's wait takes {length} (--time-scale)"


def _summary(counts: dict[str, int]) -> str:
    names = {
        "Contact": ("contact", "contacts"),
        "Company": ("company", "companies"),
        "Deal": ("deal", "deals"),
        "Task": ("task", "tasks"),
        "FlowRecord": ("flow", "flows"),
        "Enrollment": ("enrollment", "enrollments"),
        "Activity": ("timeline entry", "timeline entries"),
    }
    shown = [
        f"{counts[model]:,} {one if counts[model] == 1 else many}"
        for model, (one, many) in names.items()
        if counts.get(model)
    ]
    rest = sum(v for k, v in counts.items() if k not in names)
    return ", ".join([*shown, f"{rest:,} other"] if rest else shown) or "no records"


def _dynamodb_client() -> Any:
    from functions import aws

    return aws.client("dynamodb")
