"""Validate+compile timings for 10-, 100- and 500-node flows (median of repeated runs).

The editor re-validates and recompiles the flow on every click, so this is its latency
floor. Target: 500 nodes in <= 10 ms on a 2-core machine. Run: `make bench`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from flows.compiler import compile_report
from flows.templating import analyse
from flows.validate import validate

EMAIL = {
    "subject": "Hello {{ contact.first_name | default('there') }}",
    "body": "<p>Hi {{ contact.first_name }}, here is step {{ flow.name }}.</p>",
    "from_email": "Acme <hello@acme.example>",
    "purpose": "transactional",
}
CRITERIA = {"groups": [{"conditions": [{"field": "score", "op": "at_least", "value": 50}]}]}


def build_flow(size: int) -> dict[str, Any]:
    """A ladder of blocks: email → wait → branch → (update | task) → next block."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, str]] = []
    previous = [("start", "next")]
    block = 0
    while len(nodes) + 5 <= size:
        b = f"b{block}"
        ids = [f"{b}_mail", f"{b}_wait", f"{b}_if", f"{b}_tag", f"{b}_task"]
        nodes += [
            {"id": ids[0], "kind": "send_email", "params": EMAIL},
            {"id": ids[1], "kind": "wait", "params": {"duration": {"amount": 1, "unit": "hours"}}},
            {"id": ids[2], "kind": "branch", "params": {"criteria": CRITERIA}},
            {"id": ids[3], "kind": "update_record", "params": {"add_tags": ["engaged"]}},
            {
                "id": ids[4],
                "kind": "create_task",
                "params": {"title": "Call {{ contact.full_name }}"},
            },
        ]
        edges += [{"from": src, "to": ids[0], "output": out} for src, out in previous]
        edges += [
            {"from": ids[0], "to": ids[1]},
            {"from": ids[1], "to": ids[2]},
            {"from": ids[2], "to": ids[3], "output": "yes"},
            {"from": ids[2], "to": ids[4], "output": "no"},
        ]
        previous = [(ids[3], "next"), (ids[4], "next")]
        block += 1
    while len(nodes) < size:
        nid = f"tail{len(nodes)}"
        nodes.append({"id": nid, "kind": "update_record", "params": {"increment": {"score": 1}}})
        edges += [{"from": src, "to": nid, "output": out} for src, out in previous]
        previous = [(nid, "next")]
    return {
        "schema_version": "1.0",
        "id": f"bench-{size}",
        "name": f"Benchmark {size}",
        "trigger": {"id": "start", "kind": "webhook", "params": {}},
        "nodes": nodes,
        "edges": edges,
    }


def _once(text: str) -> float:
    began = time.perf_counter()
    report = validate(text)
    compile_report(report)
    return (time.perf_counter() - began) * 1000


def measure(size: int, runs: int) -> dict[str, float]:
    text = json.dumps(build_flow(size))
    analyse.cache_clear()
    cold = _once(text)  # first run: every template parsed
    warm = [_once(text) for _ in range(runs)]
    return {
        "nodes": size,
        "cold_ms": cold,
        "median_ms": statistics.median(warm),
        "p90_ms": sorted(warm)[int(runs * 0.9) - 1],
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50, help="repetitions per size (default 50)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    for size in (10, 100, 500):  # warm up imports and pydantic's schema caches
        _once(json.dumps(build_flow(size)))
    results = [measure(size, args.runs) for size in (10, 100, 500)]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print("validate + compile (JSON text → ASL), milliseconds")
    print(f"{'nodes':>6} {'median':>8} {'p90':>8} {'cold':>8} {'runs':>5}")
    for r in results:
        print(
            f"{r['nodes']:>6} {r['median_ms']:>8.2f} {r['p90_ms']:>8.2f} {r['cold_ms']:>8.2f} {r['runs']:>5}"
        )
    target = next(r for r in results if r["nodes"] == 500)["median_ms"]
    verdict = "meets" if target <= 10 else "MISSES"
    print(f"500 nodes: {target:.2f} ms median — {verdict} the 10 ms target")


if __name__ == "__main__":
    main()
