"""The drip template for N contacts on the local stack, time-scaled: wall time, executions/s
and CPU time; next to it, in the same run, moto's interpreter executing the same ASL with
no-op handlers. The ratio of the two is crmflow's overhead over moto's floor.

ours: one process, in-process moto executing state machines (as the `engine` test fixture:
MOCK_CONFIG, moto_patches.apply(time scale), every table, every step Lambda of
functions/app.py on the in-process bridge, SES sender domain verified). N contacts matching
the template's segment (warm, marketing_qualified, email consent) are imported, the
template flows/templates/drip-campaign.flow.json is published, and the real trigger starts
them: functions.triggers.segments.broadcast() with CRMFLOW_BROADCAST_RATE=1e9 (on AWS it
is 250/s by design, under Step Functions' StartExecution refill). The clock runs from the
broadcast's start until no execution is RUNNING. Nobody clicks, so every contact takes
consent → lesson_1 → wait 3 d → not sales-ready → lesson_2 → wait 4 d → not engaged →
tag_quiet → best hour → lesson_3 → wait for a click (7 d, times out) → wait 5 d →
lesson_4 → done: 4 emails, 11 Lambda tasks, 18 states.

no-op: a state machine from the SAME compiled ASL (flows.compile_flow) whose Lambdas
return at once what the Choice states read (the same outputs ours took); the
wait-for-click task does nothing and its scaled TimeoutSeconds fires, as in ours. Started
N times (named) from a loop in this thread.

Each side runs in a fresh moto (nothing of the other side's executions in memory). Wall
time depends on what else the machine runs; CPU time per execution much less.
Target: 10,000 contacts in <= 60 s. Run:

    .venv/bin/python bench/drip_bench.py                  # 10,000 contacts: over an hour
    .venv/bin/python bench/drip_bench.py --contacts 1000  # ~20 min before the moto patches
    .venv/bin/python bench/drip_bench.py --quick          # 100 contacts, what `make bench` runs
    .venv/bin/python bench/drip_bench.py --contacts 20 --side ours --profile  # where time goes
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import localstack as ls

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "flows" / "templates" / "drip-campaign.flow.json"
FLOW_ID = "drip-campaign"
# The segment of the template's trigger (warm AND marketing_qualified), plus consent so the
# flow's first branch lets them into the lessons.
SEED_COLUMNS = {
    "Lifecycle Stage": "marketing_qualified",
    "Temperature": "warm",
    "Email Consent": "yes",
}
DAY = 86_400
QUICK_CONTACTS = 100


def load_template() -> dict[str, Any]:
    return json.loads(TEMPLATE.read_text(encoding="utf-8"))


# --- ours ----------------------------------------------------------------------------------


def run_ours(args: argparse.Namespace) -> dict[str, Any]:
    document = load_template()
    with ls.engine(args.time_scale, [document]):
        from flows.conditions import Criteria
        from functions.publish import publish
        from functions.store.models import Enrollment
        from functions.triggers.segments import broadcast
        from infra.local.outbox import sent_messages

        began = time.perf_counter()
        ls.seed_contacts(args.contacts, SEED_COLUMNS)
        seeded_s = time.perf_counter() - began
        saved = publish(document, by="drip_bench")
        machines = [saved.state_machine_arn]
        criteria = Criteria.model_validate(document["trigger"]["params"]["criteria"])
        inflight = ls.InFlight(machines, args.max_inflight)
        gc.collect()
        start = ls.clock()
        with ls.profiled(args.profile):
            result = broadcast(
                FLOW_ID, criteria, "bench", progress=lambda *_: inflight.started_one()
            )
            broadcast_s = time.perf_counter() - start[0]
            done = ls.wait_until_done(machines, len(result.enrolled), args.timeout)
        wall, cpu = ls.since(start)
        executions = ls.executions_of(machines)
        enrollments = Counter(e.status for e in Enrollment.scan())
        paths = Counter(tuple(ls.states_entered(e)) for e in executions[: args.paths_of])
        return {
            "side": "ours",
            "contacts": args.contacts,
            "seed_s": seeded_s,
            "broadcast": {
                "candidates": result.candidates,
                "matched": result.matched,
                "enrolled": len(result.enrolled),
                "failed": len(result.failed),
                "seconds": broadcast_s,
            },
            "finished": done,
            "wall_s": wall,
            "cpu_s": cpu,
            "executions": len(executions),
            "statuses": dict(Counter(e.status for e in executions)),
            "enrollments": dict(enrollments),
            "emails": len(sent_messages()),
            "latency": _latencies(executions),
            "paths": paths,
            "peak_inflight": inflight.peak or None,
            "threads_after": threading.active_count(),
        }


# --- no-op ---------------------------------------------------------------------------------

# What the Choice states read, as ours answered for a contact who never clicks: consent
# yes, not sales-ready at wait_1, not engaged after lesson 2.
NOOP_OUTPUTS = {"consent": "yes", "ready_already": "next", "engaged": "no", "sales_ready": "next"}


def noop_handlers(keys: tuple[str, ...]) -> dict[str, Any]:
    def evaluate(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"output": NOOP_OUTPUTS.get(event.get("node", ""), "no")}

    def resolve_wait(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"until": next_weekday_8am()}

    def nothing(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {}

    special = {"FnEvaluate": evaluate, "FnResolveWait": resolve_wait}
    return {key: special.get(key, nothing) for key in keys}


def next_weekday_8am(now: datetime | None = None) -> str:
    """What ours' best_hour answers for a contact with no time zone and no opening hours
    yet: the send window's start (08:00 UTC) on the next weekday."""
    now = now or datetime.now(UTC)
    moment = now.replace(hour=8, minute=0, second=0, microsecond=0)
    while moment < now or moment.weekday() >= 5:
        moment += timedelta(days=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_noop(args: argparse.Namespace) -> dict[str, Any]:
    from moto import mock_aws

    from flows.compiler import compile_flow
    from flows.contract import execution_input
    from infra.local import moto_patches
    from infra.local.server import quieted_logs
    from infra.local.sfn_runner import MOCK_CONFIG, LocalSfn, function_arn

    compiled = compile_flow(load_template())
    keys = compiled.substitution_keys
    with quieted_logs(), mock_aws(config=MOCK_CONFIG):
        moto_patches.apply(args.time_scale)
        sfn = LocalSfn()
        machine = sfn.create(compiled.asl_compact, keys, name="noop-drip")
        handlers = noop_handlers(keys)
        for key, handler in handlers.items():
            moto_patches.register(function_arn(key), handler)
        inputs = [
            json.dumps(
                execution_input(
                    enrollment_id=f"enr_noop{n:06d}",
                    flow_id=FLOW_ID,
                    flow_version=1,
                    contact_id=f"c_noop{n:06d}",
                )
            )
            for n in range(args.contacts)
        ]
        inflight = ls.InFlight([machine], args.max_inflight)
        gc.collect()
        start = ls.clock()
        for n, text in enumerate(inputs):
            sfn.client.start_execution(stateMachineArn=machine, name=f"noop-{n}", input=text)
            inflight.started_one()
        started_s = time.perf_counter() - start[0]
        done = ls.wait_until_done([machine], args.contacts, args.timeout)
        wall, cpu = ls.since(start)
        executions = ls.executions_of([machine])
        paths = Counter(tuple(ls.states_entered(e)) for e in executions[: args.paths_of])
        for key in handlers:
            moto_patches.unregister(function_arn(key))
        ls.stop_running()
        moto_patches.apply()
        return {
            "side": "no-op",
            "contacts": args.contacts,
            "started_s": started_s,
            "finished": done,
            "wall_s": wall,
            "cpu_s": cpu,
            "executions": len(executions),
            "statuses": dict(Counter(e.status for e in executions)),
            "latency": _latencies(executions),
            "paths": paths,
            "peak_inflight": inflight.peak or None,
        }


# --- report --------------------------------------------------------------------------------


def _latencies(executions: list[Any]) -> dict[str, float]:
    spans = [
        (e.stop_date - e.start_date).total_seconds()
        for e in executions
        if e.stop_date is not None and e.start_date is not None
    ]
    if not spans:
        return {}
    return {"p50": ls.percentile(spans, 50), "p99": ls.percentile(spans, 99), "max": max(spans)}


def describe_scale(scale: float) -> str:
    day = DAY * scale
    return f"time scale {scale:g}: a simulated day lasts {day * 1000:.3g} ms"


def print_side(r: dict[str, Any]) -> None:
    n = r["executions"]
    print(f"[{r['side']}] {n:,} executions, finished: {r['finished']}")
    if r["side"] == "ours":
        b = r["broadcast"]
        print(
            f"  broadcast: {b['candidates']:,} candidates, {b['matched']:,} matched, "
            f"{b['enrolled']:,} enrolled, {b['failed']:,} failed, done after {b['seconds']:.1f} s"
        )
    else:
        print(f"  all started after {r['started_s']:.1f} s")
    print(
        f"  wall {r['wall_s']:.1f} s → {n / r['wall_s']:.1f} executions/s; "
        f"CPU {r['cpu_s']:.1f} s ({r['cpu_s'] / max(n, 1) * 1000:.1f} ms per execution, "
        f"{r['cpu_s'] / r['wall_s']:.2f} cores busy)"
    )
    lat = r["latency"]
    if lat:
        print(
            f"  per execution, start → end: p50 {lat['p50']:.2f} s, p99 {lat['p99']:.2f} s, "
            f"max {lat['max']:.2f} s"
        )
    print(f"  end states: {r['statuses']}")
    if "enrollments" in r:
        print(f"  enrollments: {r['enrollments']}")
        print(f"  emails SES accepted: {r['emails']:,}")
    if r["peak_inflight"]:
        print(f"  peak RUNNING seen by the in-flight limit: {r['peak_inflight']}")
    for path, count in r["paths"].most_common(3):
        print(f"  path ({count} of the first {sum(r['paths'].values())}): {' → '.join(path)}")
        if "wait_click" in path and "final_wait" in path:
            print(
                "    (nobody clicks: wait_click's 7-day TimeoutSeconds fired, States.Timeout "
                "was caught into its timed_out output, final_wait → lesson_4)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=10_000, help="default 10,000")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_CONTACTS} contacts (what `make bench` runs; the full size takes hours)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1e-7,
        help="real seconds per simulated second (default 1e-7: a day lasts 8.64 ms)",
    )
    parser.add_argument(
        "--max-inflight",
        type=int,
        default=0,
        help="start no more while this many executions are RUNNING (default 0: no limit; "
        "the broadcast starts them as fast as it can)",
    )
    parser.add_argument("--side", choices=("both", "ours", "noop"), default="both")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait per side")
    parser.add_argument("--paths-of", type=int, default=200, help="executions whose path is read")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile ours, every thread, CPU time (slows it several times: use small sizes)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args()
    if args.quick:
        args.contacts = QUICK_CONTACTS
    ls.fake_env(CRMFLOW_BROADCAST_RATE="1e9")
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    print(
        f"drip-campaign × {args.contacts:,} contacts, {describe_scale(args.time_scale)}; "
        f"max in flight: {args.max_inflight or 'no limit'}; "
        f"CRMFLOW_BROADCAST_RATE={os.environ['CRMFLOW_BROADCAST_RATE']}",
        flush=True,
    )
    results = []
    if args.side in ("both", "noop"):
        results.append(run_noop(args))
        gc.collect()
    if args.side in ("both", "ours"):
        results.append(run_ours(args))
    if args.json:
        for r in results:
            r["paths"] = {" → ".join(p): c for p, c in r["paths"].items()}
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print_side(r)
    if len(results) == 2:
        noop, ours = results
        print(
            f"ours / no-op: wall ×{ours['wall_s'] / noop['wall_s']:.1f}, "
            f"CPU ×{ours['cpu_s'] / noop['cpu_s']:.1f}, executions/s "
            f"{ours['executions'] / ours['wall_s']:.1f} vs {noop['executions'] / noop['wall_s']:.1f}"
        )
    ours = next((r for r in results if r["side"] == "ours"), None)
    if ours is not None:
        projected = ours["wall_s"] / max(ours["executions"], 1) * 10_000
        verdict = "meets" if projected <= 60 else "MISSES"
        how = (
            ""
            if ours["executions"] == 10_000
            else " (projected linearly from this run: a floor, since moto's costs grow with "
            "its tables)"
        )
        print(f"10,000 contacts: {projected:.0f} s{how} — {verdict} the 60 s target")


if __name__ == "__main__":
    main()
