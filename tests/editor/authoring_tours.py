"""Two authoring tours in a real browser (Debian's Chromium, driven by Playwright), each
at a laptop's 1280×800, each counting what a marketer does — clicks, keystroke groups
(one field typed and submitted = 1) and drags — per stage:

1. "Welcome series" from a blank flow: a record-created trigger with a tag criterion, a
   welcome email, a wait for its open, tips when opened and a resend when not; no JSON
   and no node id typed, and no id read off the screen (cards are found by their text).
2. "Spring drip" from the drip template: a personalised subject through the token
   picker, an SMS inserted on the canvas between two steps, a preview, a test run and a
   publish.

test_authoring_tours.py runs them against `crmflow up`; by hand, against a running stack:

    .venv/bin/python -m tests.editor.authoring_tours http://127.0.0.1:8501 build/test-artifacts/tours
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Locator, Page, expect, sync_playwright

from tests.editor.browser_tour import CHROMIUM, FLAGS, WAIT, Clicks, _box, _settle

VIEWPORT = {"width": 1280, "height": 800}
WELCOME_SUBJECT = "Welcome to Acme, {{ contact.first_name | default('friend', true) }}"
WELCOME_WORDS = "Thanks for joining our newsletter."
FROM = "Acme <hello@acme.example>"
TIPS_SUBJECT = "Three tips to get started"
TIPS_WORDS = "Here are three tips to get the most out of Acme."
RESEND_SUBJECT = "Did you miss our welcome?"
SMS_TEXT = "Lesson 1 is in your inbox, {{ contact.first_name | default('there', true) }}!"
FALLBACK = "there"
DRIP_SUBJECT = "Where do your follow-ups slip through,"


class Interactions(Clicks):
    """Clicks, keystroke groups (a field typed and submitted: 1) and drags, per stage and
    per kind: what a marketer does, held to a budget by the test."""

    def __init__(self) -> None:
        super().__init__()
        self.kinds: dict[str, dict[str, int]] = {}

    def _count(self, kind: str) -> None:
        self.by_stage[self.stage] = self.by_stage.get(self.stage, 0) + 1
        stage = self.kinds.setdefault(self.stage, {"clicks": 0, "keys": 0, "drags": 0})
        stage[kind] += 1

    def click(self, locator: Locator) -> None:
        locator.click()
        self._count("clicks")

    def type(self, locator: Locator, text: str, submit: str = "Enter") -> None:
        """One keystroke group: fill a field and submit it (Enter; Ctrl+Enter for a text
        area)."""
        locator.fill(text)
        locator.press(submit)
        self._count("keys")

    def drag(self, source: Locator, target: Locator, **where: object) -> None:
        source.drag_to(target, **where)  # type: ignore[arg-type]
        self._count("drags")

    def drag_by_mouse(self, page: Page, source: Locator, target: Locator) -> None:
        """A drag with the mouse's own events (React Flow's connections listen to them)."""
        start, end = _centre(source), _centre(target)
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=8)
        page.mouse.move(*end, steps=8)
        page.mouse.up()
        self._count("drags")

    @property
    def total(self) -> int:
        return sum(self.by_stage.values())


class Stages:
    """Names the stages in order; after each, a screenshot NN-stage.png and no exception
    box on the page."""

    def __init__(self, page: Page, shots: Path, counter: Interactions) -> None:
        self.page, self.shots, self.counter, self.number = page, shots, counter, 0

    def start(self, name: str) -> None:
        self.number += 1
        self.counter.stage = f"{self.number:02d}-{name}"
        self.counter.by_stage.setdefault(self.counter.stage, 0)

    def done(self) -> None:
        _settle(self.page)
        self.page.screenshot(path=str(self.shots / f"{self.counter.stage}.png"), full_page=True)
        expect(self.page.locator("[data-testid='stException']")).to_have_count(0)


def run_tour(name: str, editor_url: str, shots: Path, flow_name: str | None = None) -> Interactions:
    """Run tour `name` (a key of TOURS); its screenshots go to shots/<name>/. The flow is
    named `flow_name` (default: the tour's own; a stack keeps its flows, so a second run
    against the same stack needs another)."""
    steps = TOURS[name]
    out = shots / name
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    expect.set_options(timeout=WAIT)
    counter = Interactions()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(WAIT)
        try:
            page.goto(editor_url)
            steps(page, Stages(page, out, counter), counter, flow_name or NAMES[name])
        except Exception:
            page.screenshot(path=str(out / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    return counter


# --- tour 1 -------------------------------------------------------------------------------


def welcome_series(
    page: Page, stages: Stages, act: Interactions, flow_name: str = "Welcome series"
) -> None:
    stages.start("blank-flow")
    _new_flow(page, act, flow_name)
    act.click(page.get_by_role("button", name="Start blank"))
    expect(_card(page, "Start")).to_be_visible()
    stages.done()

    stages.start("trigger")
    # A blank flow opens on its trigger: what starts it is one click among all triggers.
    expect(page.get_by_text("What starts this flow")).to_be_visible()
    act.click(_pill(page, "Record created"))
    _settle(page)
    act.click(page.get_by_role("button", name="Add a condition"))
    _settle(page)
    # The builder's first row offers Tags and "contains"; the value is typed.
    expect(_select(page, "Field")).to_have_value(re.compile(re.escape("Tags")))
    expect(_select(page, "Operator")).to_have_value(re.compile(re.escape("contains")))
    act.type(_box(page, "value"), "newsletter")
    _settle(page)
    expect(_card(page, "newsletter")).to_be_visible()
    stages.done()

    stages.start("welcome-email")
    _drop_step(page, act, "Send email", onto=_card(page, "Record created|newsletter"))
    _email(page, act, subject=WELCOME_SUBJECT, words=WELCOME_WORDS, sender=FROM)
    welcome = _card(page, "Welcome to Acme")
    expect(welcome).to_be_visible()
    stages.done()

    stages.start("wait-for-open")
    # The email offers what usually comes next: a wait for its open (2 days, changeable).
    # The autosave's page rerun comes within 2 s of the last edit: a click landing in it
    # can be lost, as a marketer's would be; wait until the changes are kept.
    expect(page.get_by_text("All changes kept")).to_be_visible()
    _settle(page)
    act.click(page.get_by_role("button", name="Wait for an open of this email"))
    _settle(page)
    wait = _card(page, "Wait up to 2 days for an open", step="Welcome to Acme")
    expect(wait).to_be_visible()
    expect(_select(page, "Email")).to_have_value(re.compile("Welcome to Acme"))
    stages.done()

    stages.start("resend-on-timed-out")
    # The wait offers the resend: the same email (sender, words) with a new subject.
    act.click(page.get_by_role("button", name="Resend it to those who did not open it"))
    _settle(page)
    act.type(_box(page, "Subject *"), RESEND_SUBJECT)
    _settle(page)
    expect(_card(page, RESEND_SUBJECT)).to_be_visible()
    stages.done()

    stages.start("tips-on-happened")
    # Dropped onto the wait, the email takes its free output (Happened) and the sender.
    _drop_step(page, act, "Send email", onto=wait)
    _email(page, act, subject=TIPS_SUBJECT, words=TIPS_WORDS, sender=None)
    expect(_card(page, TIPS_SUBJECT)).to_be_visible()
    # The arrows say which way is which: Happened to the tips, Timed out to the resend.
    expect(page.locator(".crm-edge-label").filter(has_text="Happened")).to_have_count(1)
    expect(page.locator(".crm-edge-label").filter(has_text="Timed out")).to_have_count(1)
    stages.done()

    stages.start("check-and-save")
    # Nothing to fix: the header says so and the Problems tab shows no count (no click).
    expect(page.get_by_text("ready to publish")).to_be_visible()
    expect(page.get_by_role("tab", name=re.compile(r"^Problems \("))).to_have_count(0)
    act.click(page.get_by_role("tab", name="Publish"))
    _settle(page)
    act.click(page.get_by_role("button", name="Save draft"))
    expect(page.get_by_text(re.compile(r"Saved as version \d+ \(a draft\)"))).to_be_visible()
    stages.done()


# --- tour 2 -------------------------------------------------------------------------------


def drip_from_template(
    page: Page, stages: Stages, act: Interactions, flow_name: str = "Spring drip"
) -> None:
    stages.start("from-template")
    _new_flow(page, act, flow_name)
    act.click(page.locator(".st-key-use-drip-campaign button"))
    lesson_1 = _card(page, "Lesson 1:")
    expect(lesson_1).to_be_visible()
    stages.done()

    stages.start("personal-subject")
    _open_card(page, act, lesson_1)
    subject = _box(page, "Subject *")
    expect(subject).to_be_visible()
    # The template's subject opens with a bare first name: rewritten to end with one that
    # has a fallback, picked (not typed) from the token picker.
    act.type(subject, DRIP_SUBJECT)
    _settle(page)
    act.click(page.get_by_text("Personalise: insert a field"))
    _settle(page)
    # The fallback offered is "there": kept as it is.
    expect(_box(page, "When it is empty")).to_have_value(FALLBACK)
    token = f"{{{{ contact.first_name | default('{FALLBACK}', true) }}}}"
    expect(page.get_by_test_id("stCode").filter(has_text="first_name").first).to_contain_text(token)
    act.click(page.get_by_role("button", name="Insert into subject"))
    _settle(page)
    page.wait_for_timeout(2500)  # the autosave's rerun comes within 2 s: the token stays
    _settle(page)
    subject = _box(page, "Subject *")
    expect(subject).to_have_value(f"{DRIP_SUBJECT} {token}")
    stages.done()

    stages.start("sms-between")
    wait_1 = _card(page, "Wait 3 days")
    plus = _plus_between(page, lesson_1, wait_1)
    act.click(plus)
    act.click(page.get_by_test_id("crm-kind-menu").get_by_role("button", name="Send SMS"))
    _settle(page)
    act.type(page.get_by_role("textbox", name="Message *"), SMS_TEXT, submit="Control+Enter")
    _settle(page)
    sms = _card(page, "Lesson 1 is in your inbox")
    expect(sms).to_be_visible()
    _below(page, lesson_1, sms)
    _below(page, sms, wait_1)
    stages.done()

    stages.start("preview")
    _open_card(page, act, lesson_1)
    expect(page.get_by_text("Preview", exact=True)).to_be_visible()
    # The subject as the sample contact gets it: the token replaced by the name (or the
    # fallback), no braces left.
    shown = (
        page.get_by_test_id("stMarkdown")
        .filter(has_text="Subject:")
        .filter(has_text=re.compile(r"follow-ups slip through, \S", re.I))
    )
    expect(shown.first).to_be_visible()
    expect(shown.first).not_to_contain_text("{{")
    stages.done()

    stages.start("test-run")
    act.click(page.get_by_role("tab", name="Test run"))
    _settle(page)
    act.click(page.get_by_role("button", name="Run test"))
    panel = page.get_by_role("tabpanel", name="Test run")
    outcome = panel.get_by_role("alert").filter(has_text=re.compile(r"Test run \w+ after"))
    expect(outcome.first).to_be_visible()
    expect(outcome.first).to_contain_text("SMS: Lesson 1 is in")  # the path goes through it
    stages.done()

    stages.start("publish")
    act.click(page.get_by_role("tab", name="Publish"))
    _settle(page)
    act.click(page.get_by_role("button", name="Publish…", exact=True))
    # It asks first, saying what publishing does: who enters, who is mid-flow, the sends.
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text(re.compile(r"Each contact gets"))).to_be_visible()
    act.click(dialog.get_by_role("button", name="Publish now"))
    expect(page.get_by_text(re.compile(r"Published version \d+"))).to_be_visible()
    stages.done()


TOURS: dict[str, Callable[[Page, Stages, Interactions], None]] = {
    "welcome-series": welcome_series,
    "drip-from-template": drip_from_template,
}
NAMES = {"welcome-series": "Welcome series", "drip-from-template": "Spring drip"}


# --- helpers ------------------------------------------------------------------------------


def _new_flow(page: Page, act: Interactions, name: str) -> None:
    expect(page.get_by_role("heading", name="Flows")).to_be_visible()
    act.type(_box(page, "Name"), name)
    _settle(page)
    expect(page.get_by_role("button", name="Start blank")).to_be_enabled()


def _card(page: Page, text: str, step: str | None = None) -> Locator:
    """The canvas card showing `text` (a regular expression), by what it says."""
    found = page.locator(".crm-card").filter(has_text=re.compile(text))
    if step:
        found = found.filter(has_text=re.compile(step))
    return found.first


def _open_card(page: Page, act: Interactions, card: Locator) -> None:
    act.click(card.locator(".crm-card__label"))
    _settle(page)
    expect(page.get_by_role("tab", name="Step")).to_have_attribute("aria-selected", "true")


def _select(page: Page, label: str) -> Locator:
    return page.get_by_role("combobox", name=label, exact=True).first


def _pick(page: Page, act: Interactions, label: str, option: str) -> None:
    """Choose an option of a select box: open it (1 click), click the option (1 click)."""
    act.click(_select(page, label))
    act.click(page.get_by_role("option", name=re.compile(re.escape(option))).first)
    _settle(page)


def _palette(page: Page, act: Interactions) -> Locator:
    palette = page.get_by_test_id("crm-palette")
    if palette.get_attribute("data-open") != "true":
        act.click(page.get_by_test_id("crm-palette-open"))
        expect(palette).to_have_attribute("data-open", "true")
    return palette


def _drop_step(page: Page, act: Interactions, kind_name: str, onto: Locator) -> None:
    """Drag a step from the palette onto a card: it is added after that card's step."""
    item = _palette(page, act).locator(".crm-palette__item").filter(has_text=kind_name).first
    before = page.locator(".crm-card").count()
    if not _in_view(page, onto):
        # A new card goes where it is dropped, often outside the pane: fit the view.
        act.click(page.locator(".react-flow__controls-fitview"))
        page.wait_for_timeout(400)
    # Dropped near the card's left edge: the new card's corner goes where it is dropped
    # (then down to a free spot), so it lands under the card, in view.
    box = onto.bounding_box()
    assert box is not None
    act.drag(item, onto, target_position={"x": 12, "y": box["height"] / 2})
    expect(page.locator(".crm-card")).to_have_count(before + 1)
    _settle(page)


def _email(page: Page, act: Interactions, subject: str, words: str, sender: str | None) -> None:
    """Fill the selected email step: its subject, its sender when the flow has none yet,
    and its words after the greeting a new email starts with (a paragraph block)."""
    expect(_box(page, "Subject *")).to_be_visible()
    act.type(_box(page, "Subject *"), subject)
    _settle(page)
    sender_box = page.get_by_role("textbox", name=re.compile(r"^From email \*$", re.I))
    if sender:
        act.type(sender_box, sender)
        _settle(page)
    else:
        expect(sender_box).to_have_value(FROM)  # taken from the flow's first email
    text = page.get_by_role("tabpanel", name="Step").get_by_role("textbox", name="Text").first
    expect(text).to_have_value(re.compile(r"^Hi \{\{ contact\.first_name"))
    act.type(text, f"{text.input_value()}\n{words}", submit="Control+Enter")
    _settle(page)


def _pill(page: Page, name: str) -> Locator:
    return page.get_by_role("radio", name=re.compile(re.escape(name))).first


def _in_view(page: Page, card: Locator) -> bool:
    """Whether the whole card shows in the canvas's pane (not under the palette)."""
    pane = page.locator(".react-flow").first.bounding_box()
    palette = page.get_by_test_id("crm-palette").bounding_box()
    box = card.bounding_box()
    if pane is None or box is None:
        return False
    left = max(pane["x"], palette["x"] + palette["width"] if palette else pane["x"])
    return (
        box["x"] >= left
        and box["x"] + box["width"] <= pane["x"] + pane["width"]
        and box["y"] >= pane["y"]
        and box["y"] + box["height"] <= pane["y"] + pane["height"]
    )


def _centre(locator: Locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _plus_between(page: Page, upper: Locator, lower: Locator) -> Locator:
    """The "+" of the arrow from `upper` to `lower`: the one nearest the middle of the gap
    between the two cards (found by where they are, not by any id)."""
    a, b = upper.bounding_box(), lower.bounding_box()
    assert a is not None and b is not None
    x = (a["x"] + a["width"] / 2 + b["x"] + b["width"] / 2) / 2
    y = (a["y"] + a["height"] + b["y"]) / 2
    pluses = page.locator(".crm-edge-plus")
    best, distance = None, float("inf")
    for index in range(pluses.count()):
        box = pluses.nth(index).bounding_box()
        if box is None:
            continue
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        if not (a["y"] + a["height"] - 2 <= cy <= b["y"] + 2):
            continue
        d = (cx - x) ** 2 + (cy - y) ** 2
        if d < distance:
            best, distance = pluses.nth(index), d
    assert best is not None, "no + on the arrow between the two cards"
    return best


def _below(page: Page, upper: Locator, lower: Locator) -> None:
    a, b = upper.bounding_box(), lower.bounding_box()
    assert a is not None and b is not None
    assert a["y"] + a["height"] <= b["y"] + 1, (a, b)


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8501"
    shots = Path(sys.argv[2] if len(sys.argv) > 2 else "build/test-artifacts/tours")
    suffix = time.strftime("%H%M%S")  # a stack keeps its flows: a fresh name per run
    for tour_name in TOURS:
        if len(sys.argv) > 3 and tour_name not in sys.argv[3:]:
            continue
        counted = run_tour(tour_name, url, shots, f"{NAMES[tour_name]} {suffix}")
        print(tour_name, counted.total, counted.by_stage)
