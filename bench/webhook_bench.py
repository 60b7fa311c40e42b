"""Webhook accept on loopback under load: `POST /hooks/{flow_id}` served by the app's real
HTTP server (chalice local, threaded, as `crmflow up` runs it) on 127.0.0.1, a load
generator in a separate process keeping 16 requests in flight over keep-alive
connections. Reports requests/s, p50/p90/p99/max latency, errors (non-2xx) and the
server process's CPU time per request. Target: p99 <= 50 ms.

One request: API-key auth (hash the key, GetItem), the flow's published record and its
trigger parameters, the contact found by email or created (unique emails: always
created), the enrollment and membership written in one transaction, StartExecution on
moto, the enrollment marked running, the timeline entry; answered 202 with the ids.
`--count-calls` lists the AWS requests one HTTP request makes.

AWS is moto in this process (`mock_aws`), not the stack's ThreadedMotoServer: the
figures are crmflow's accept path plus moto's in-process cost, without moto's own HTTP
server in between (`--stack full` measures the whole `crmflow up` stack instead: moto's
server, every template published, the stream poller and scheduler running).

Flows: `minimal` (default) is a webhook flow whose one node waits 30 days in real time,
so each execution parks in a Wait and costs nothing after its start: the accept path
alone. `lead-capture` is the template: each execution runs its 8 steps at once in this
process (as on the local stack), competing with the server for the GIL.

    .venv/bin/python bench/webhook_bench.py                        # 2,000 requests, minimal flow
    .venv/bin/python bench/webhook_bench.py --flow lead-capture
    .venv/bin/python bench/webhook_bench.py --stack full           # the whole local stack
    .venv/bin/python bench/webhook_bench.py --requests 300 --profile   # server-side profile
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import http.client
import json
import multiprocessing
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import localstack as ls

ROOT = Path(__file__).resolve().parents[1]
CONCURRENCY = 16
QUICK_REQUESTS = 500
WARMUP = 64
MINIMAL_FLOW: dict[str, Any] = {
    "schema_version": "1.0",
    "id": "bench-hook",
    "name": "Webhook benchmark",
    "trigger": {
        "id": "hook",
        "kind": "webhook",
        "params": {"email_key": "email", "mapping": {"first_name": "first_name"}},
    },
    "nodes": [
        {"id": "hold", "kind": "wait", "params": {"duration": {"amount": 30, "unit": "days"}}}
    ],
    "edges": [{"from": "hook", "to": "hold"}],
}


def flow_document(name: str) -> dict[str, Any]:
    if name == "minimal":
        return MINIMAL_FLOW
    path = ROOT / "flows" / "templates" / f"{name}.flow.json"
    return json.loads(path.read_text(encoding="utf-8"))


# --- the load generator (a child process: its CPU is not the server's) -------------------


def load(
    url: str, key: str, flow_id: str, count: int, concurrency: int, prefix: str
) -> tuple[list[tuple[float, int, str]], float, int]:
    """POST `count` hook calls with unique emails from `concurrency` threads, each on its
    own keep-alive connection, opened (and answered once, by a cheap `GET /`) before the
    clock starts. Returns (seconds, status, body if not 2xx) per request, the wall time
    from the start until the last answer, and the connection resets met while opening."""
    host, port = url.removeprefix("http://").split(":")
    next_number = iter(range(count))
    lock = threading.Lock()
    results: list[tuple[float, int, str]] = []
    resets = [0]
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    path = f"/hooks/{flow_id}"
    ready = threading.Barrier(concurrency + 1)

    def connect() -> http.client.HTTPConnection:
        # chalice local listens with socketserver's backlog of 5: a burst of connections
        # can be reset while the accept loop waits for the GIL. Open until one answers.
        for _attempt in range(20):
            connection = http.client.HTTPConnection(host, int(port), timeout=120)
            try:
                connection.request("GET", "/")
                connection.getresponse().read()
                return connection
            except (OSError, http.client.HTTPException):
                connection.close()
                with lock:
                    resets[0] += 1
                time.sleep(0.05)
        raise RuntimeError(f"cannot open a connection to {url}")

    def worker() -> None:
        connection = connect()
        ready.wait()
        mine = []
        while True:
            with lock:
                n = next(next_number, None)
            if n is None:
                break
            body = json.dumps({"email": f"{prefix}{n}@example.com", "first_name": f"Hook{n}"})
            began = time.perf_counter()
            try:
                connection.request("POST", path, body, headers)
                response = connection.getresponse()
                text = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                connection = http.client.HTTPConnection(host, int(port), timeout=120)
                status, text = 0, repr(exc).encode()
            elapsed = time.perf_counter() - began
            mine.append((elapsed, status, "" if 200 <= status < 300 else text[:300].decode()))
        connection.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - began, resets[0]


def run_load(
    url: str, key: str, flow_id: str, count: int, concurrency: int, prefix: str
) -> tuple[list[tuple[float, int, str]], float, int]:
    """`load` in a fresh process (its CPU is not the server's)."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(load, url, key, flow_id, count, concurrency, prefix).result()


# --- the server side -----------------------------------------------------------------------


@contextlib.contextmanager
def inprocess_stack(document: dict[str, Any], time_scale: float) -> Iterator[tuple[str, str]]:
    """In-process moto, the flow published, an integration key, the API on a free port;
    (base URL, API key)."""
    from functions.auth import issue_key
    from functions.publish import publish
    from infra.local.server import ApiServer, free_port

    with ls.engine(time_scale, [document], stop=False):
        if document["id"] == "lead-capture":  # its steps assign reps from the demo teams
            from infra.local.seed import seed_demo_data

            seed_demo_data()
        publish(document, by="webhook_bench")
        _key_id, key = issue_key("webhook bench", "integration", flows=[document["id"]])
        from functions.app import app

        api = ApiServer(app, free_port())
        api.start()
        try:
            yield api.url, key
        finally:
            api.stop()


@contextlib.contextmanager
def full_stack(document: dict[str, Any], time_scale: float) -> Iterator[tuple[str, str]]:
    """`crmflow up` in this process (moto's ThreadedMotoServer, every template, the demo
    data, streams, scheduler), a temporary data directory, no editor."""
    from infra.local.server import free_port
    from infra.local.stack import Stack, StackConfig

    with tempfile.TemporaryDirectory(prefix="crmflow-bench-") as data_dir:
        config = StackConfig(
            data_dir=Path(data_dir),
            api_port=free_port(),
            moto_port=free_port(),
            time_scale=time_scale,
            editor=False,
            snapshot_seconds=3600,
        )
        stack = Stack(config, say=lambda _line: None)
        try:
            stack.start()
            from functions.auth import issue_key
            from functions.publish import publish
            from functions.store.models import FlowRecord

            try:
                FlowRecord.get(document["id"], consistent_read=True)
            except FlowRecord.DoesNotExist:
                publish(document, by="webhook_bench")
            _key_id, key = issue_key("webhook bench", "integration", flows=[document["id"]])
            assert stack.api is not None
            yield stack.api.url, key
        finally:
            stack.stop()


def quiet_request_log() -> None:
    """chalice local prints a line per request to stderr; thousands would bury the report."""
    from chalice.local import ChaliceRequestHandler

    ChaliceRequestHandler.log_message = lambda *args, **kwargs: None  # type: ignore[method-assign]


# --- report --------------------------------------------------------------------------------


def summarise(results: list[tuple[float, int, str]], wall: float, cpu: float) -> dict[str, Any]:
    latencies = [r[0] * 1000 for r in results]  # in the order they completed
    tenth = max(1, len(latencies) // 10)
    statuses = Counter(r[1] for r in results)
    errors = [r for r in results if not 200 <= r[1] < 300]
    return {
        "requests": len(results),
        "wall_s": wall,
        "rps": len(results) / wall,
        "p50_ms": ls.percentile(latencies, 50),
        "p90_ms": ls.percentile(latencies, 90),
        "p99_ms": ls.percentile(latencies, 99),
        "max_ms": max(latencies),
        # moto's costs grow with the tables (see the report): early and late requests
        "first_tenth_p50_ms": ls.percentile(latencies[:tenth], 50),
        "last_tenth_p50_ms": ls.percentile(latencies[-tenth:], 50),
        "statuses": dict(statuses),
        "errors": len(errors),
        "error_samples": sorted({r[2] for r in errors})[:3],
        "server_cpu_s": cpu,
        "server_cpu_ms_per_request": cpu / len(results) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=int, default=2000, help="measured requests (default 2,000)"
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REQUESTS} requests")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="default 16")
    parser.add_argument("--flow", default="minimal", help="minimal (default) or a template id")
    parser.add_argument("--stack", choices=("inprocess", "full"), default="inprocess")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="waits' scale (default: 1 for the minimal flow, so executions park in its "
        "wait; 1e-6 otherwise)",
    )
    parser.add_argument("--count-calls", action="store_true", help="AWS requests per request")
    parser.add_argument("--profile", action="store_true", help="cProfile the server, every thread")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args()
    if args.quick:
        args.requests = QUICK_REQUESTS
    quiet_request_log()
    document = flow_document(args.flow)
    scale = args.time_scale or (1.0 if args.flow == "minimal" else 1e-6)
    if args.stack == "inprocess":
        ls.fake_env()
        server = inprocess_stack(document, scale)
    else:
        server = full_stack(document, scale)
    flow_id = document["id"]
    with server as (url, key):
        warm, _, _ = run_load(url, key, flow_id, WARMUP, args.concurrency, "warmup")
        if any(not 200 <= r[1] < 300 for r in warm):
            raise SystemExit(f"warm-up failed: {[r for r in warm if not 200 <= r[1] < 300][:3]}")
        counter = ls.count_aws_calls() if args.count_calls else contextlib.nullcontext({})
        with counter as calls, ls.profiled(args.profile):
            cpu_before = time.process_time()
            results, wall, resets = run_load(
                url, key, flow_id, args.requests, args.concurrency, "hook"
            )
            cpu = time.process_time() - cpu_before
    summary = summarise(results, wall, cpu)
    summary.update(
        flow=flow_id, stack=args.stack, concurrency=args.concurrency, connect_resets=resets
    )
    if args.count_calls:
        summary["aws_calls_per_request"] = {
            k: round(v / len(results), 2) for k, v in Counter(calls).most_common()
        }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(
        f"POST /hooks/{flow_id} × {summary['requests']:,} (unique emails), "
        f"{args.concurrency} in flight, stack: {args.stack}, warm-up {WARMUP} not counted"
    )
    print(f"  {summary['rps']:.1f} requests/s ({summary['wall_s']:.1f} s)")
    print(
        f"  latency ms: p50 {summary['p50_ms']:.1f}  p90 {summary['p90_ms']:.1f}  "
        f"p99 {summary['p99_ms']:.1f}  max {summary['max_ms']:.1f}"
    )
    print(
        f"  p50 of the first tenth {summary['first_tenth_p50_ms']:.1f} ms, "
        f"of the last tenth {summary['last_tenth_p50_ms']:.1f} ms"
    )
    print(f"  statuses: {summary['statuses']}; errors (non-2xx): {summary['errors']}")
    for sample in summary["error_samples"]:
        print(f"    e.g. {sample}")
    if resets:
        print(f"  connections reset while opening them (retried, before the clock): {resets}")
    print(
        f"  server process CPU: {summary['server_cpu_s']:.1f} s, "
        f"{summary['server_cpu_ms_per_request']:.1f} ms per request "
        f"(includes the executions it started, and moto)"
    )
    if args.count_calls:
        total = sum(summary["aws_calls_per_request"].values())
        print(f"  AWS requests per request: {total:.1f}")
        for name, per in summary["aws_calls_per_request"].items():
            print(f"    {per:5.2f}  {name}")
    verdict = "meets" if summary["p99_ms"] <= 50 else "MISSES"
    print(f"p99 {summary['p99_ms']:.1f} ms — {verdict} the 50 ms target")


if __name__ == "__main__":
    main()
