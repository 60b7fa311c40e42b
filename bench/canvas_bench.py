"""Browser render time of the flow canvas (editor/flow_canvas) with a 100-node flow: from
the model reaching the component (its `crmflow-canvas-model` performance mark) to every
card in the DOM and measured (`crmflow-canvas-rendered`, set in a layout effect once
React Flow has measured all nodes). Each run is a fresh page load in headless Chromium
against `streamlit run tests/editor/canvas_app.py`; prints the median and the minimum.

    .venv/bin/python bench/canvas_bench.py [--nodes 100] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.local.server import free_port  # noqa: E402
from tests.editor.browser_tour import CHROMIUM, FLAGS  # noqa: E402
from tests.editor.test_flow_canvas import start_app  # noqa: E402

MEASURE = """() => {
    const model = performance.getEntriesByName('crmflow-canvas-model')[0];
    const rendered = performance.getEntriesByName('crmflow-canvas-rendered')[0];
    return rendered.startTime - model.startTime;
}"""


def measure(url: str, runs: int, nodes: int) -> list[float]:
    """ms from model to painted cards, one fresh page per run."""
    from playwright.sync_api import sync_playwright

    timings: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.goto(f"{url}/?nodes={nodes}")
                page.wait_for_selector(
                    f"[data-testid=crm-canvas] [data-rendered='{nodes}']", timeout=60_000
                )
                timings.append(page.evaluate(MEASURE))
                context.close()
        finally:
            browser.close()
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=100, help="nodes in the flow (default 100)")
    parser.add_argument("--runs", type=int, default=5, help="page loads to time (default 5)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"canvas bench: needs Chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    port = free_port()
    process = start_app(port)
    try:
        timings = measure(f"http://127.0.0.1:{port}", args.runs, args.nodes)
    finally:
        process.terminate()
        process.wait(10)
    print(
        f"canvas render, {args.nodes} nodes, {args.runs} runs: "
        f"median {statistics.median(timings):.1f} ms, min {min(timings):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
