"""The editor end to end in a real browser: headless Debian Chromium driven by Playwright
against `crmflow up` (moto, the API and `streamlit run` on 127.0.0.1). A flow is made
from the drip template, an email subject changed, the error shown on its node fixed, the
flow published and test-run; the path shows on the canvas and the email in the answer.
Then the outbox shows a real, tracked email. Looking at all this, and fetching every
address the outbox showed, records no open and no click on any contact. Screenshots of
each stage go to build/test-artifacts/editor/; each stage's clicks are held to a budget."""

from __future__ import annotations

import email
import email.policy
import time
import urllib.error
import urllib.request
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

from tests.infra.test_local_stack import StackProcess, http, scan, wait_for

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "test-artifacts" / "editor"
CHROMIUM = Path("/usr/bin/chromium")
# Clicks a marketer needs per stage of the tour (key presses that submit a field are not
# counted: typing is the work itself).
CLICK_BUDGET = {
    "1-designer": 1,
    "2-error-on-node": 1,
    "3-fixed": 0,
    "4-published": 3,  # the tab, Publish…, and Publish now once the impact is shown
    "5-test-run": 3,
    "6-outbox": 1,
}
LEAD = {"email": "nadia.rahimi@example.org", "first_name": "نادیا"}
LEAD_SUBJECT = "your pricing guide"
# A marketing email with a tracked link, an open pixel and an unsubscribe link.
PRICING = {
    "schema_version": "1.0",
    "id": "pricing-guide",
    "name": "Pricing guide",
    "trigger": {"id": "asked", "kind": "webhook", "label": "Asked for pricing"},
    "nodes": [
        {
            "id": "guide",
            "kind": "send_email",
            "label": "Pricing guide",
            "params": {
                "subject": "{{ contact.first_name }}, " + LEAD_SUBJECT,
                "body": '<p>Hi {{ contact.first_name }},</p><p><a href="https://acme.example/'
                'pricing">See the plans</a></p>',
                "from_email": "Acme <hello@acme.example>",
            },
        },
        {"id": "done", "kind": "end", "label": "Done"},
    ],
    "edges": [{"from": "asked", "to": "guide"}, {"from": "guide", "to": "done"}],
}
# What an open or a click would change: contacts (their engagement counters), their
# timelines, and the report rows.
WATCHED = ("Contact", "Activity", "Counter", "Rollup", "NodeStats", "Enrollment")


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


def test_a_marketer_builds_publishes_test_runs_and_reads_the_outbox_untracked(
    tmp_path: Path,
) -> None:
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    from tests.editor.browser_tour import tour

    data = tmp_path / "data"
    stack = StackProcess(data, "--time-scale", "1/3600", editor=True)
    try:
        stack.wait_until_up()
        assert stack.editor is not None
        # A real lead, through the real hook: its confirmation email is tracked.
        key = (data / "api-key").read_text().strip()
        status, answer = http(
            "POST", f"{stack.api}/flows/pricing-guide/publish", {"flow": PRICING}, key=key
        )
        assert status in (200, 201), answer
        status, answer = http("POST", f"{stack.api}/hooks/pricing-guide", LEAD, key=key)
        assert status == 202, answer
        wait_for(lambda: list((data / "outbox").glob("*.eml")), "the lead's email", 60)
        tracked = _sent_email(data)
        assert all(p in tracked for p in ("/t/o/", "/t/c/", "/u/")), tracked
        before = _settled_store(stack)

        _wait_for_editor(stack.editor)
        for old in SHOTS.glob("*.png"):
            old.unlink()
        clicks, shown = tour(stack.editor, SHOTS, outbox_subject=LEAD_SUBJECT)

        # The outbox showed the email untracked: no pixel, links at their targets.
        assert shown.links, "the outbox shows the email's links"
        assert not [u for u in shown.images if "/t/o/" in u]
        assert not [u for u in shown.links if "/t/c/" in u]
        # A curious marketer follows every link that leads to crmflow itself.
        for url in shown.links + shown.images:
            if url.startswith(stack.api):
                assert _fetch(url) < 500, url
        after = _settled_store(stack)
        changed = {
            model: [item for item in after[model] if item not in before[model]]
            for model in WATCHED
            if before[model] != after[model]
        }
        assert not changed, f"looking at emails changed the store: {changed}"
    finally:
        stack.stop()
    stages = sorted(p.stem for p in SHOTS.glob("[0-9]-*.png"))
    assert stages == sorted(CLICK_BUDGET)
    over = {s: n for s, n in clicks.by_stage.items() if n > CLICK_BUDGET[s]}
    assert not over, f"stages over their click budget {CLICK_BUDGET}: {over}"


def _sent_email(data: Path) -> str:
    """The HTML of the one email in the outbox."""
    (path,) = (data / "outbox").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return message.get_body(("html",)).get_content()


def _settled_store(stack: StackProcess) -> dict[str, list[dict[str, Any]]]:
    """Every contact, its whole timeline, the counters and the report rows, once the flow
    that sent the email has finished writing (two reads a second apart agree)."""

    def read() -> dict[str, list[dict[str, Any]]]:
        return {model: sorted(scan(stack, model), key=repr) for model in WATCHED}

    previous = read()
    for _ in range(30):
        time.sleep(1)
        current = read()
        if current == previous:
            return current
        previous = current
    pytest.fail("the store kept changing with no one using the stack")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a tracked link's redirect leaves this machine: its status is enough


def _fetch(url: str) -> int:
    """The status crmflow answers `url` with (a redirect is not followed)."""
    try:
        with urllib.request.build_opener(_NoRedirect).open(url, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
