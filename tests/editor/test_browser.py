"""The editor end to end in a real browser: headless Debian Chromium driven by Playwright
against `crmflow up` (moto, the API and `streamlit run` on 127.0.0.1). A flow is made
from the drip template, an email subject changed, the error shown on its node fixed, the
flow published and test-run; the path shows on the canvas and the email in the answer.
Screenshots of each stage go to build/test-artifacts/editor/."""

from __future__ import annotations

import time
import urllib.request
from importlib.util import find_spec
from pathlib import Path

import pytest

from tests.infra.test_local_stack import StackProcess

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "test-artifacts" / "editor"
CHROMIUM = Path("/usr/bin/chromium")


def _why_not() -> str | None:
    if find_spec("playwright") is None:
        return "Playwright is not installed: run `make install`"
    if not CHROMIUM.exists():
        return (
            "Debian's Chromium is missing at /usr/bin/chromium: install it with "
            "`apt-get install chromium` (.ci/run does) to run the editor's browser test"
        )
    return None


def _wait_for_editor(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the editor did not answer at {url}")


def test_a_marketer_builds_fixes_publishes_and_test_runs_a_flow(tmp_path: Path) -> None:
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    from tests.editor.browser_tour import tour

    stack = StackProcess(tmp_path / "data", "--time-scale", "1/3600", editor=True)
    try:
        stack.wait_until_up()
        assert stack.editor is not None
        _wait_for_editor(stack.editor)
        tour(stack.editor, SHOTS)
    finally:
        stack.stop()
    stages = sorted(p.name for p in SHOTS.glob("[0-9]-*.png"))
    assert stages == [
        "1-designer.png",
        "2-error-on-node.png",
        "3-fixed.png",
        "4-published.png",
        "5-test-run.png",
    ]
