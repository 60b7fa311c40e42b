"""Server time of one editor rerun with a 100-node flow open: the designer page as
Streamlit runs it (validate, compile for the preview, the canvas state, the node form),
measured in streamlit's AppTest, which runs the page script in this process as the server
would. Target: ≤ 200 ms per rerun. No API is needed: nothing on this path calls it.

    .venv/bin/python bench/editor_bench.py [--nodes 100] [--runs 30]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.compile_bench import build_flow  # noqa: E402
from editor import canvas  # noqa: E402
from flows.compiler import compile_report  # noqa: E402
from flows.validate import validate  # noqa: E402

TARGET_MS = 200.0
PAGE = ROOT / "editor" / "pages" / "page_designer.py"


def parts(document: dict, runs: int) -> dict[str, float]:
    """Median ms of each piece of a rerun, alone."""
    timings: dict[str, list[float]] = {"validate": [], "compile": [], "canvas model": []}
    for _ in range(runs):
        start = time.perf_counter()
        report = validate(document)
        timings["validate"].append(time.perf_counter() - start)
        start = time.perf_counter()
        compile_report(report)
        timings["compile"].append(time.perf_counter() - start)
        start = time.perf_counter()
        canvas.model(document, canvas.Overlay())
        timings["canvas model"].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1000 for name, values in timings.items()}


def reruns(
    document: dict, runs: int, selected: str | None, edit: bool
) -> tuple[list[float], list[float]]:
    """Server time of reruns, wall and CPU (the process's: AppTest runs the page in a
    thread of this one), in ms; with `edit`, each after a change of one step's subject or
    label, so that nothing the page caches by document helps."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.session_state.doc = document
    app.session_state.undo, app.session_state.redo = [], []
    app.session_state.selected = selected
    app.run()  # first run: imports and caches
    if app.exception:
        raise SystemExit(f"the designer failed: {app.exception[0].message}")
    times, cpu = [], []
    for number in range(runs):
        if edit:
            changed = app.session_state.doc
            changed["nodes"][2]["label"] = f"edited {number}"
            app.session_state.doc = changed
        start, start_cpu = time.perf_counter(), time.process_time()
        app.run()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return times, cpu


def main() -> None:
    logging.getLogger("streamlit").setLevel(logging.ERROR)  # AppTest's bare-mode chatter
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100, help="steps in the flow")
    parser.add_argument("--runs", type=int, default=30, help="reruns measured (median reported)")
    args = parser.parse_args()
    document = build_flow(args.nodes)
    print(f"editor rerun, {args.nodes}-node flow, median of {args.runs}")
    for name, ms in parts(document, args.runs).items():
        print(f"  {name:<14} {ms:8.1f} ms")
    form = document["nodes"][1]["id"]
    cases = (
        ("unchanged, nothing selected", None, False),
        ("unchanged, a step's form open", form, False),
        ("after an edit, form open", form, True),
    )
    for label, selected, edit in cases:
        times, cpu = reruns(document, args.runs, selected, edit)
        median = statistics.median(times)
        verdict = "meets" if median <= TARGET_MS else "MISSES"
        print(
            f"  rerun, {label:<30} p50 {median:7.1f} ms  max {max(times):7.1f} ms  "
            f"CPU p50 {statistics.median(cpu):7.1f} ms  ({verdict} ≤ {TARGET_MS:.0f} ms)"
        )


if __name__ == "__main__":
    main()
