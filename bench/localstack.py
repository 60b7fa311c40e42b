"""Helpers shared by the local-stack benchmarks (drip_bench, webhook_bench): a fake AWS
environment, the `engine` set-up of tests/functions/conftest.py outside pytest, seeding
contacts, reading moto's executions in-process, wall+CPU clocks and percentiles.

Benchmarks only: nothing in functions/, flows/ or infra/ imports this.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import os
import pstats
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PUBLIC_URL = "https://crm.example.com"


def fake_env(**extra: str) -> None:
    """Fake credentials and the settings the handlers read; no endpoint (calls stay in the
    mock). Call before anything imports functions.store.models (they read the region)."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
        CRMFLOW_PUBLIC_URL=PUBLIC_URL,
        CRMFLOW_UNSUBSCRIBE_SECRET="bench-secret",
        CRMFLOW_NOTIFY_FROM="crmflow <notifications@acme.example>",
        **extra,
    )


@contextlib.contextmanager
def engine(
    time_scale: float, documents: Iterable[dict[str, Any]] = (), *, stop: bool = True
) -> Iterator[None]:
    """In-process moto executing state machines, patched (Lambda bridge, time scale), every
    CRM table, every step Lambda of functions/app.py on the bridge, and the sender domains of
    `documents` verified in SES: what the `engine` test fixture sets up. `stop`: stop the
    executions still running at the end (else they die with the mock)."""
    from moto import mock_aws

    from infra.local import moto_patches, sessions
    from infra.local.server import quieted_logs
    from infra.local.sfn_runner import MOCK_CONFIG

    with sessions.shared_loader(), quieted_logs(), mock_aws(config=MOCK_CONFIG):
        moto_patches.apply(time_scale)
        from functions.store.tables import create_all
        from infra.local.lambdas import register_app_functions, unregister_app_functions
        from infra.local.templates import verify_senders

        create_all(wait=False)
        register_app_functions()
        verify_senders(list(documents))
        try:
            yield
        finally:
            if stop:
                stop_running()
            unregister_app_functions()
            moto_patches.apply()


def seed_contacts(count: int, columns: dict[str, str], prefix: str = "lead") -> int:
    """`count` contacts through the real CSV importer (batched writes), `columns` (CSV
    header → value) the same on every row; emails are `<prefix><n>@example.com`."""
    from functions.store.importer import import_contacts

    header = ["Email", "First Name", *columns]
    lines = [",".join(header)]
    values = ",".join(columns.values())
    for n in range(count):
        lines.append(f"{prefix}{n}@example.com,Lead{n},{values}")
    report = import_contacts(io.StringIO("\n".join(lines) + "\n"))
    if report.rejected:
        raise RuntimeError(f"seeding rejected rows: {report.rejected[:3]}")
    return report.imported


# --- moto, read in-process ------------------------------------------------------------------


def sfn_backend() -> Any:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    return stepfunctions_parser_backends[ACCOUNT_ID][REGION]


def executions_of(machine_arns: Iterable[str]) -> list[Any]:
    """moto's Execution objects of these state machines (no API call, no copy)."""
    backend = sfn_backend()
    found: list[Any] = []
    for arn in machine_arns:
        found += backend.describe_state_machine(arn).executions
    return found


def running(machine_arns: Iterable[str]) -> int:
    return sum(1 for e in executions_of(machine_arns) if e.status == "RUNNING")


def wait_until_done(
    machine_arns: list[str], expected: int, timeout: float, every: float = 0.25
) -> bool:
    """Wait until `expected` executions exist and none is RUNNING; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = executions_of(machine_arns)
        if len(found) >= expected and not any(e.status == "RUNNING" for e in found):
            return True
        time.sleep(every)
    return False


class InFlight:
    """Blocks a starter while `limit` executions of these machines are RUNNING (0: never).
    Counting walks moto's execution list, so it is done only when the estimate is at the
    limit."""

    def __init__(self, machine_arns: list[str], limit: int) -> None:
        self.machine_arns, self.limit = machine_arns, limit
        self.started = 0
        self._done_before = 0
        self.peak = 0

    def started_one(self) -> None:
        self.started += 1
        if not self.limit:
            return
        while self.started - self._done_before >= self.limit:
            found = executions_of(self.machine_arns)
            now_running = sum(1 for e in found if e.status == "RUNNING")
            self.peak = max(self.peak, now_running)
            self._done_before = len(found) - now_running
            if now_running >= self.limit:
                time.sleep(0.01)


def stop_running() -> None:
    import boto3

    sfn = boto3.client("stepfunctions", region_name=REGION)
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in executions_of([machine["stateMachineArn"]]):
            if execution.status == "RUNNING":
                with contextlib.suppress(Exception):
                    sfn.stop_execution(executionArn=execution.exec_arn)


def states_entered(execution: Any) -> list[str]:
    events = execution.to_history_output()["events"]
    return [
        e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")
    ]


@contextlib.contextmanager
def count_aws_calls() -> Iterator[Counter[str]]:
    """Count the AWS requests made in the block (in-process moto only), by who made them
    (a step handler, a trigger, or the HTTP request) and operation."""
    import sys
    import threading

    from moto.core.botocore_stubber import BotocoreStubber

    counts: Counter[str] = Counter()
    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def counting(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        target = request.headers.get("X-Amz-Target")
        if isinstance(target, bytes):
            target = target.decode()
        name = target or f"{request.method} {request.url.split('amazonaws.com')[-1]}"
        name = name.replace("DynamoDB_20120810.", "DynamoDB ").replace("AWSStepFunctions.", "SFN ")
        counts_key = f"{_caller(sys._getframe())}: {name.split('?')[0]}"
        with lock:
            counts[counts_key] += 1
        return original(self, event_name, request, **kwargs)

    BotocoreStubber.__call__ = counting  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        BotocoreStubber.__call__ = original  # type: ignore[method-assign]


def _caller(frame: Any) -> str:
    # The innermost crmflow function outside the store layer: what asked for the call.
    while frame is not None:
        name = frame.f_code.co_filename
        if "/functions/" in name and "/functions/store/" not in name and "aws.py" not in name:
            module = name.split("/functions/", 1)[1].removesuffix(".py").replace("/", ".")
            return f"{module}.{frame.f_code.co_name}"
        frame = frame.f_back
    return "other"


# --- measuring ------------------------------------------------------------------------------


def clock() -> tuple[float, float]:
    # CPU time of the whole process (every thread): a shared 2-core machine inflates wall
    # time with other work, not CPU time.
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = clock()
    return wall - start[0], cpu - start[1]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank on sorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Iterable[float]) -> float:
    return statistics.median(values)


@contextlib.contextmanager
def profiled(enabled: bool, top: int = 30, sort: str = "tottime") -> Iterator[None]:
    """cProfile the block in this thread and in every thread started during it (moto runs
    each execution, and each of its Task states, in threads of their own; cProfile alone
    sees only the thread that enabled it); print the merged top functions when `enabled`.
    The timer is each thread's CPU time: time spent waiting for the GIL, a lock or a sleep
    does not count, so the figures add up to the process's CPU time."""
    if not enabled:
        yield
        return
    import threading

    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_in_thread(frame: Any, event: str, arg: Any) -> None:
        profile = cProfile.Profile(time.thread_time)
        profile.enable()  # replaces this hook for the rest of the thread's life
        with lock:
            profiles.append(profile)

    main = cProfile.Profile(time.thread_time)
    threading.setprofile(start_in_thread)
    main.enable()
    try:
        yield
    finally:
        main.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
        out = io.StringIO()
        stats = pstats.Stats(main, stream=out)
        with lock:
            for profile in profiles:
                with contextlib.suppress(TypeError):  # a thread that recorded nothing
                    stats.add(profile)
        print(f"profile: this thread and {len(profiles):,} others (CPU time, by {sort})")
        print(by_area(stats))
        stats.sort_stats(sort).print_stats(top)
        print(out.getvalue())


AREAS = (  # (label, path fragment), first match wins
    ("moto Step Functions: ANTLR parse of the ASL", "/antlr4/"),
    ("moto Step Functions: ANTLR parse of the ASL", "/asl/antlr/"),
    ("moto Step Functions: parse → components", "/asl/parse/"),
    ("moto Step Functions: interpreter", "/moto/stepfunctions/"),
    ("moto DynamoDB", "/moto/dynamodb/"),
    ("moto SES", "/moto/ses"),
    ("moto core (request routing, response serialising)", "/moto/"),
    ("botocore (client side: marshal, sign, parse)", "/botocore/"),
    ("boto3", "/boto3/"),
    ("PynamoDB", "/pynamodb/"),
    ("jsonpath_ng (moto's JSONPath)", "/jsonpath_ng/"),
    ("jinja2 (email templates)", "/jinja2/"),
    ("pydantic", "/pydantic"),
    ("werkzeug / chalice local", "/werkzeug/"),
    ("werkzeug / chalice local", "/chalice/"),
    ("crmflow functions/", "/functions/"),
    ("crmflow flows/", "/flows/"),
    ("crmflow infra/", "/infra/"),
    ("json", "/json/"),
    ("copy.deepcopy", "/copy.py"),
    ("threading", "/threading.py"),
)


def by_area(stats: pstats.Stats) -> str:
    """Own (tottime) CPU seconds per library, largest first: where the time goes."""
    totals: dict[str, float] = {}
    for (filename, _line, _name), row in stats.stats.items():  # type: ignore[attr-defined]
        own = row[2]
        area = next((label for label, part in AREAS if part in filename), None)
        if area is None:
            area = "builtins / C" if filename == "~" else "other Python (stdlib, …)"
        totals[area] = totals.get(area, 0.0) + own
    whole = sum(totals.values()) or 1.0
    lines = [
        f"  {secs:8.2f} s {secs / whole:6.1%}  {area}"
        for area, secs in sorted(totals.items(), key=lambda kv: -kv[1])
    ]
    return "own CPU time by area:\n" + "\n".join(lines)
