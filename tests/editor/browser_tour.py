"""The editor's end-to-end tour in a real browser (Debian's Chromium, driven by Playwright):
the steps test_browser.py runs against `crmflow up`, kept apart so they can also be run
by hand against a running stack:

    .venv/bin/python -m tests.editor.browser_tour http://127.0.0.1:8501 build/editor-shots
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Locator, Page, expect, sync_playwright

from functions.direction import FSI, PDI

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling Google, which this
# machine's closed network refuses (see the env notes).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT = 60_000  # ms: a rerun with a test run behind it, on 2 cores shared with the suite
BAD_SUBJECT = "Hi {{ contact.first_name }"
GOOD_SUBJECT = "{{ contact.first_name }}, three leaks in your pipeline"


class Clicks:
    """Clicks (and key presses that submit) per stage of the tour, held to a budget by
    the test: a marketer's path through the editor must not grow unnoticed."""

    def __init__(self) -> None:
        self.by_stage: dict[str, int] = {}
        self.stage = ""

    def click(self, locator: Locator) -> None:
        locator.click()
        self.by_stage[self.stage] = self.by_stage.get(self.stage, 0) + 1


@dataclass
class Shown:
    """What the outbox showed: every link and image address in its emails, as the
    browser resolved them (the test fetches them, as a curious marketer would)."""

    subjects: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


def tour(editor_url: str, shots: Path, outbox_subject: str | None = None) -> tuple[Clicks, Shown]:
    """Run the tour; with `outbox_subject`, end on the outbox, where an email with that
    subject must be shown."""
    shots.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=WAIT)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        page.set_default_timeout(WAIT)
        clicks, shown = Clicks(), Shown()
        try:
            _run(page, editor_url, shots, clicks)
            if outbox_subject is not None:
                _outbox(page, shots, clicks, shown, outbox_subject)
        except Exception:
            page.screenshot(path=str(shots / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    return clicks, shown


def _run(page: Page, editor_url: str, shots: Path, clicks: Clicks) -> None:
    # 1. A new flow from the drip template.
    clicks.stage = "1-designer"
    page.goto(editor_url)
    expect(page.get_by_role("heading", name="Flows")).to_be_visible()
    _box(page, "Name").fill("Spring drip")
    _box(page, "Name").press("Enter")
    _settle(page)
    expect(page.get_by_role("button", name="Start blank")).to_be_enabled()
    clicks.click(page.locator(".st-key-use-drip-campaign button"))  # the drip template's card
    expect(page.get_by_role("heading", name="Spring drip")).to_be_visible()
    canvas = page.get_by_test_id("crm-canvas")
    expect(_node(canvas, "lesson_1")).to_be_visible()
    page.screenshot(path=str(shots / "1-designer.png"), full_page=True)

    # 2. Change the first email's subject to one with a mistake: the node shows it.
    clicks.stage = "2-error-on-node"
    clicks.click(_node(canvas, "lesson_1"))
    _settle(page)
    subject = _box(page, "Subject *")
    expect(subject).to_be_visible()
    subject.fill(BAD_SUBJECT)
    subject.press("Enter")
    _settle(page)
    expect(page.get_by_text("template error on line 1").first).to_be_visible()
    expect(_node(canvas, "lesson_1").locator(".crm-card__badge")).to_have_text("1")
    page.screenshot(path=str(shots / "2-error-on-node.png"), full_page=True)

    # 3. Fix it: the problem leaves the node.
    clicks.stage = "3-fixed"
    subject = _box(page, "Subject *")
    subject.fill(GOOD_SUBJECT)
    subject.press("Enter")
    _settle(page)
    expect(_node(canvas, "lesson_1").locator(".crm-card__badge")).to_have_count(0)
    page.screenshot(path=str(shots / "3-fixed.png"), full_page=True)

    # 4. Publish it with a note.
    clicks.stage = "4-published"
    clicks.click(page.get_by_role("tab", name="Publish"))
    _settle(page)
    _box(page, "Version note").fill("spring subject")
    _box(page, "Version note").press("Enter")
    _settle(page)
    clicks.click(page.get_by_role("button", name="Publish…", exact=True))
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text(re.compile(r"Each contact gets"))).to_be_visible()  # impact
    clicks.click(dialog.get_by_role("button", name="Publish now"))
    expect(page.get_by_text(re.compile(r"Published version 1"))).to_be_visible()
    page.screenshot(path=str(shots / "4-published.png"), full_page=True)

    # 5. A test run: the path lights up and the email it would send is listed.
    clicks.stage = "5-test-run"
    clicks.click(page.get_by_role("tab", name="Test run"))
    _settle(page)
    _box(page, "First name").fill("سارا")
    _box(page, "First name").press("Enter")
    _settle(page)
    clicks.click(page.get_by_role("button", name="Run test"))
    expect(page.get_by_text("Test run ended", exact=False)).to_be_visible()
    clicks.click(page.get_by_role("tab", name="Test run"))
    _settle(page)
    # The name is isolated (FSI…PDI) so it cannot reorder the English around it.
    subject = f"{FSI}سارا{PDI}, three leaks in your pipeline"
    expect(page.get_by_text(subject).first).to_be_visible()
    expect(_node(canvas, "lesson_1")).to_have_class(re.compile(r"crm-card--path"))
    page.screenshot(path=str(shots / "5-test-run.png"), full_page=True)


def _outbox(page: Page, shots: Path, clicks: Clicks, shown: Shown, subject: str) -> None:
    # 6. The outbox: a real, tracked email, shown as its contact would see it. The browser
    # loads whatever images it holds, as a marketer's browser would.
    clicks.stage = "6-outbox"
    clicks.click(page.get_by_role("link", name=re.compile("Outbox")))
    expect(page.get_by_role("heading", name="Outbox")).to_be_visible()
    _settle(page)
    expect(page.get_by_text(subject, exact=False).first).to_be_visible()
    page.wait_for_load_state("networkidle")
    for frame in page.frames:
        if frame is page.main_frame:
            continue
        shown.links += frame.eval_on_selector_all("a[href]", "found => found.map(a => a.href)")
        shown.images += frame.eval_on_selector_all("img[src]", "found => found.map(i => i.src)")
    shown.subjects = [subject]
    page.screenshot(path=str(shots / "6-outbox.png"), full_page=True)


def _settle(page: Page) -> None:
    """Wait until the app has finished the rerun a key press or click started: a click
    that lands mid-rerun can be lost."""
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)


def _box(page: Page, label: str):
    return page.get_by_role("textbox", name=label, exact=True)


def _node(canvas: Locator, node_id: str) -> Locator:
    return canvas.get_by_test_id(f"crm-card-{node_id}")


if __name__ == "__main__":
    tour(sys.argv[1], Path(sys.argv[2] if len(sys.argv) > 2 else "build/editor-shots"))
    print("ok")
