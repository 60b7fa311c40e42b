"""The flow canvas component (editor/flow_canvas) in a real browser: headless Debian
Chromium driven by Playwright against `streamlit run tests/editor/canvas_app.py`. Each
gesture must reach Python as the protocol's event, and the canvas must cooperate with
the page: its view survives reruns, the wheel scrolls the page, text and handles are big
enough to read and hit."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local.server import free_port
from tests.editor.browser_tour import CHROMIUM, FLAGS

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).with_name("canvas_app.py")
WAIT = 30_000  # ms

NO_CHROMIUM = f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)"


def start_app(port: int, *args: str) -> subprocess.Popen[bytes]:
    """`streamlit run` the canvas page on 127.0.0.1:`port`; returns once it is healthy."""
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP),
         "--server.headless", "true", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", *(["--", *args] if args else [])],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("streamlit did not start")


@pytest.fixture(scope="module")
def app_url(browser: Any) -> Iterator[str]:
    port = free_port()
    process = start_app(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Every browser test goes through here, so they all skip, saying why, without it."""
    if not Path(CHROMIUM).exists():
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


class Canvas:
    """A page showing the canvas, with what the browser and Python said."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda m: self.problems.append(f"console: {m.text}") if m.type == "error" else None,
        )

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector("[data-testid=crm-canvas] [data-rendered]", timeout=WAIT)
        self.page.wait_for_timeout(300)  # the first fit is applied on init

    def events(self) -> list[dict[str, Any]]:
        texts = self.page.locator(".st-key-canvas-events pre").all_inner_texts()
        return [json.loads(text) for text in texts]

    def runs(self) -> int:
        return int(self.page.locator(".st-key-canvas-runs").inner_text().split(":")[1])

    def next_event(self, before: int, gesture: Any) -> dict[str, Any]:
        """Do `gesture`, then wait for Python to have listed one more event."""
        gesture()
        deadline = time.monotonic() + WAIT / 1000
        while time.monotonic() < deadline:
            events = self.events()
            if len(events) > before:
                return events[-1]
            self.page.wait_for_timeout(100)
        raise AssertionError(f"no event reached Python; problems: {self.problems}")

    def transform(self) -> str:
        return self.page.evaluate("document.querySelector('.react-flow__viewport').style.transform")

    def zoom(self) -> float:
        return float(self.transform().split("scale(")[1].rstrip(")"))

    def page_scroll(self) -> float:
        """How far the page (whichever element scrolls it) is scrolled."""
        return self.page.evaluate(
            """() => {
                let total = window.scrollY;
                for (let el = document.querySelector('[data-testid=crm-canvas]'); el;
                     el = el.parentElement) total += el.scrollTop;
                return total;
            }"""
        )

    def assert_healthy(self) -> None:
        assert not self.problems, self.problems
        assert self.page.locator("[data-testid=stException]").count() == 0


@pytest.fixture
def canvas(browser: Any, app_url: str) -> Iterator[Canvas]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(WAIT)
    shown = Canvas(page)
    shown.open(app_url)
    try:
        yield shown
        shown.assert_healthy()
    finally:
        context.close()


def test_click_selects_a_node_and_the_pane_unselects(canvas: Canvas) -> None:
    event = canvas.next_event(0, lambda: canvas.page.click("[data-testid=rf__node-n1]"))
    assert event["type"] == "select" and event["node"] == "n1"
    assert isinstance(event["seq"], int)
    pane = canvas.page.locator(".react-flow__pane")
    box = pane.bounding_box()
    event = canvas.next_event(
        1, lambda: canvas.page.mouse.click(box["x"] + box["width"] - 60, box["y"] + 120)
    )
    assert event == {"seq": event["seq"], "type": "select", "node": None}


def test_palette_item_dropped_on_the_pane_gives_its_flow_position(canvas: Canvas) -> None:
    pane = canvas.page.locator(".crm-pane")
    box = pane.bounding_box()
    at = {"x": box["width"] - 150, "y": 300}
    tx, ty = (
        float(v.strip().rstrip("px"))
        for v in canvas.transform().split("translate(")[1].split(")")[0].split(",")
    )
    zoom = canvas.zoom()
    event = canvas.next_event(
        0,
        lambda: canvas.page.locator("[data-testid=crm-palette-wait]").drag_to(
            pane, target_position=at
        ),
    )
    assert event["type"] == "drop" and event["kind"] == "wait" and event["after"] is None
    assert abs(event["position"]["x"] - (at["x"] - tx) / zoom) <= 2
    assert abs(event["position"]["y"] - (at["y"] - ty) / zoom) <= 2


def test_palette_item_dropped_on_an_edge_inserts_there(canvas: Canvas) -> None:
    # A point on the edge's line, in page coordinates, away from its "+" button.
    point = canvas.page.evaluate(
        """() => {
            const path = document.querySelector('[data-testid="rf__edge-e0-1"] .react-flow__edge-path');
            const p = path.getPointAtLength(path.getTotalLength() * 0.2);
            const m = path.getScreenCTM();
            return {x: p.x * m.a + p.y * m.c + m.e, y: p.x * m.b + p.y * m.d + m.f};
        }"""
    )
    pane = canvas.page.locator(".crm-pane").bounding_box()
    event = canvas.next_event(
        0,
        lambda: canvas.page.locator("[data-testid=crm-palette-add_tag]").drag_to(
            canvas.page.locator(".crm-pane"),
            target_position={"x": point["x"] - pane["x"], "y": point["y"] - pane["y"]},
        ),
    )
    assert event == {
        "seq": event["seq"],
        "type": "insert",
        "kind": "add_tag",
        "source": "n0",
        "output": "next",
        "target": "n1",
    }


def test_plus_on_an_edge_then_a_kind_inserts_there(canvas: Canvas) -> None:
    canvas.page.click("[data-testid=crm-plus-e1-2]")
    canvas.page.wait_for_selector("[data-testid=crm-kind-menu]")
    event = canvas.next_event(0, lambda: canvas.page.click("[data-testid=crm-menu-branch]"))
    assert event == {
        "seq": event["seq"],
        "type": "insert",
        "kind": "branch",
        "source": "n1",
        "output": "next",
        "target": "n2",
    }


def test_connecting_an_output_handle_names_that_output(canvas: Canvas) -> None:
    page = canvas.page
    source = page.locator(
        "[data-testid=rf__node-n2] .react-flow__handle.source[data-handleid=no]"
    ).bounding_box()
    target = page.locator("[data-testid=rf__node-n1] .react-flow__handle.target").bounding_box()

    def drag() -> None:
        page.mouse.move(source["x"] + source["width"] / 2, source["y"] + source["height"] / 2)
        page.mouse.down()
        page.mouse.move(target["x"] + 40, target["y"] + 20, steps=8)
        page.mouse.move(
            target["x"] + target["width"] / 2, target["y"] + target["height"] / 2, steps=4
        )
        page.mouse.up()

    event = canvas.next_event(0, drag)
    assert event == {
        "seq": event["seq"],
        "type": "connect",
        "source": "n2",
        "output": "no",
        "target": "n1",
    }


def test_zoom_and_pan_survive_the_rerun_an_event_causes(canvas: Canvas) -> None:
    page = canvas.page
    page.click(".react-flow__controls-zoomin")
    page.wait_for_timeout(400)
    pane = page.locator(".react-flow__pane").bounding_box()
    page.mouse.move(pane["x"] + pane["width"] - 80, pane["y"] + 60)
    page.mouse.down()
    page.mouse.move(pane["x"] + pane["width"] - 160, pane["y"] + 100, steps=6)
    page.mouse.up()
    page.wait_for_timeout(300)
    before, runs = canvas.transform(), canvas.runs()
    page.evaluate("window.__crmFlowRoot = document.querySelector('.react-flow')")
    canvas.next_event(0, lambda: page.click("[data-testid=rf__node-n1] .crm-card__label"))
    page.wait_for_function(
        f"() => document.querySelector('.st-key-canvas-runs').innerText.includes('{runs + 1}')"
    )
    page.wait_for_timeout(500)
    assert canvas.runs() > runs
    assert canvas.transform() == before
    assert page.evaluate("window.__crmFlowRoot === document.querySelector('.react-flow')"), (
        "the canvas was remounted"
    )


def test_the_wheel_scrolls_the_page_and_ctrl_wheel_zooms(canvas: Canvas) -> None:
    page = canvas.page
    pane = page.locator(".react-flow__pane").bounding_box()
    page.mouse.move(pane["x"] + pane["width"] - 100, pane["y"] + 200)
    before, scrolled = canvas.transform(), canvas.page_scroll()
    page.mouse.wheel(0, 300)
    page.wait_for_timeout(500)
    assert canvas.transform() == before
    assert canvas.page_scroll() > scrolled
    page.mouse.move(pane["x"] + pane["width"] - 100, pane["y"] + 100)
    zoom = canvas.zoom()
    page.keyboard.down("Control")
    page.mouse.wheel(0, -200)
    page.keyboard.up("Control")
    page.wait_for_timeout(500)
    assert canvas.zoom() > zoom


def test_handles_are_big_enough_to_hit(canvas: Canvas) -> None:
    boxes = [
        handle.bounding_box() for handle in canvas.page.locator(".react-flow__handle.source").all()
    ]
    assert boxes
    assert min(min(b["width"], b["height"]) for b in boxes) >= 12


def test_labels_are_readable_at_the_first_view_of_a_20_node_flow(
    browser: Any, app_url: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        canvas = Canvas(context.new_page())
        canvas.open(f"{app_url}/?nodes=20")
        sizes = canvas.page.evaluate(
            """() => [...document.querySelectorAll('.crm-card__label, .crm-card__summary')]
                .map(el => parseFloat(getComputedStyle(el).fontSize))"""
        )
        assert len(sizes) >= 20
        assert min(sizes) * canvas.zoom() >= 12
        # The top of the flow (its trigger) is in view.
        trigger = canvas.page.locator("[data-testid=rf__node-n0]").bounding_box()
        pane = canvas.page.locator(".react-flow__pane").bounding_box()
        assert pane["y"] <= trigger["y"] < pane["y"] + pane["height"]
        canvas.assert_healthy()
    finally:
        context.close()


def test_dragging_a_node_sends_its_new_position_once_dropped(canvas: Canvas) -> None:
    page = canvas.page
    card = page.locator("[data-testid=rf__node-n1]").bounding_box()

    def drag() -> None:
        page.mouse.move(card["x"] + 60, card["y"] + 20)
        page.mouse.down()
        page.mouse.move(card["x"] + 160, card["y"] + 40, steps=8)
        page.mouse.up()

    event = canvas.next_event(0, drag)
    assert event["type"] == "move" and list(event["positions"]) == ["n1"]
    assert event["positions"]["n1"]["x"] > 50  # it was at x=0; moved ~100 screen px right


def test_delete_key_deletes_steps_but_never_the_trigger(canvas: Canvas) -> None:
    page = canvas.page
    canvas.next_event(0, lambda: page.click("[data-testid=rf__node-n0] .crm-card__label"))
    page.keyboard.press("Delete")
    event = canvas.next_event(1, lambda: page.click("[data-testid=rf__node-n3] .crm-card__label"))
    assert event["type"] == "select" and event["node"] == "n3"  # nothing sent for the trigger
    assert [e["type"] for e in canvas.events()] == ["select", "select"]
    event = canvas.next_event(2, lambda: page.keyboard.press("Delete"))
    assert event == {"seq": event["seq"], "type": "delete_nodes", "nodes": ["n3"]}


def test_focus_brings_the_node_into_view_each_time_and_otherwise_keeps_the_view(
    browser: Any, app_url: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        canvas = Canvas(context.new_page())
        canvas.open(f"{app_url}/?nodes=20")
        page = canvas.page
        pane = page.locator(".react-flow__pane")
        node = page.locator("[data-testid=rf__node-n19]")

        def centred() -> bool:
            card, box = node.bounding_box(), pane.bounding_box()
            return (
                abs(card["x"] + card["width"] / 2 - (box["x"] + box["width"] / 2)) < 40
                and abs(card["y"] + card["height"] / 2 - (box["y"] + box["height"] / 2)) < 60
            )

        def pan(dx: float, dy: float) -> None:
            box = pane.bounding_box()  # dragged from the empty bottom-right corner
            page.mouse.move(box["x"] + box["width"] - 30, box["y"] + box["height"] - 30)
            page.mouse.down()
            page.mouse.move(
                box["x"] + box["width"] - 30 + dx, box["y"] + box["height"] - 30 + dy, steps=6
            )
            page.mouse.up()
            page.wait_for_timeout(300)

        assert not centred()
        for _ in range(2):  # the same node asked for twice is brought back twice
            page.click(".st-key-focus-last button")
            page.wait_for_timeout(1500)
            assert centred()
            assert canvas.zoom() >= 12 / 13 - 1e-6
            pan(-300, 500)  # the card leaves the pane: the next request has work to do
            assert not centred()
        # Already whole in view: a request leaves the user's view as it is.
        page.click(".st-key-focus-last button")
        page.wait_for_timeout(1500)
        pan(-60, -40)
        before = node.bounding_box()
        page.click(".st-key-focus-last button")
        page.wait_for_timeout(1500)
        assert node.bounding_box() == before
        canvas.assert_healthy()
    finally:
        context.close()


def test_plus_menu_search_then_enter_inserts_the_first_match(canvas: Canvas) -> None:
    canvas.page.click("[data-testid=crm-plus-e0-1]")
    canvas.page.fill("[data-testid=crm-kind-menu] input", "tag")
    event = canvas.next_event(0, lambda: canvas.page.keyboard.press("Enter"))
    assert (event["type"], event["kind"], event["source"], event["target"]) == (
        "insert",
        "add_tag",
        "n0",
        "n1",
    )


def test_palette_item_dropped_on_a_node_says_after_which(canvas: Canvas) -> None:
    node = canvas.page.locator("[data-testid=rf__node-n1]")
    event = canvas.next_event(
        0,
        lambda: canvas.page.locator("[data-testid=crm-palette-send_email]").drag_to(
            node, target_position={"x": 120, "y": 30}
        ),
    )
    assert (event["type"], event["kind"], event["after"]) == ("drop", "send_email", "n1")


def test_each_event_is_returned_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The browser's last event stays in the component's state across reruns; Python
    must hand it out once, then None until a newer seq arrives."""
    import types

    import editor.flow_canvas as flow_canvas_module

    sent: dict[str, Any] = {}
    state: dict[str, Any] = {}

    def mount(**kwargs: Any) -> Any:
        sent.update(kwargs)
        return types.SimpleNamespace(event=state.get("event"))

    monkeypatch.setattr(flow_canvas_module, "_component", lambda: mount)
    monkeypatch.setattr(flow_canvas_module.st, "session_state", {})
    draw = flow_canvas_module.flow_canvas
    model = {"nodes": [], "edges": [], "palette": [], "focus": None, "focus_seq": 0}

    assert draw(model, key="k", height=500) is None
    assert sent["key"] == "k" and sent["data"] == {"model": {**model, "height": 500}, "key": "k"}
    state["event"] = {"seq": 5, "type": "select", "node": "a"}
    assert draw(model, key="k") == state["event"]
    assert draw(model, key="k") is None  # a rerun for another reason
    assert draw(model, key="other") == state["event"]  # each canvas remembers its own
    state["event"] = {"seq": 7, "type": "select", "node": None}
    assert draw(model, key="k") == state["event"]


def test_an_edge_selected_then_delete_sends_delete_edge(canvas: Canvas) -> None:
    page = canvas.page
    point = page.evaluate(
        """() => {
            const path = document.querySelector('[data-testid="rf__edge-e0-1"] .react-flow__edge-path');
            const p = path.getPointAtLength(path.getTotalLength() * 0.2);
            const m = path.getScreenCTM();
            return {x: p.x * m.a + p.y * m.c + m.e, y: p.x * m.b + p.y * m.d + m.f};
        }"""
    )
    page.mouse.click(point["x"], point["y"])
    page.wait_for_selector("[data-testid='rf__edge-e0-1'].selected", state="attached")
    event = canvas.next_event(0, lambda: page.keyboard.press("Delete"))
    assert event == {"seq": event["seq"], "type": "delete_edge", "source": "n0", "output": "next"}


def test_a_reload_restores_the_view_the_user_left(canvas: Canvas) -> None:
    page = canvas.page
    page.click(".react-flow__controls-zoomin")
    page.wait_for_timeout(600)
    before = canvas.transform()
    page.reload()
    page.wait_for_selector("[data-testid=crm-canvas] [data-rendered]")
    page.wait_for_timeout(500)
    assert canvas.transform() == before


def test_a_narrow_canvas_starts_with_the_palette_collapsed_and_no_card_hidden(
    browser: Any, app_url: str
) -> None:
    """A canvas ~520 px wide (the designer's at a ~1000 px window): the palette starts
    collapsed (one click opens it, and the choice survives a reload), the controls sit
    bottom-left clear of every card, and the trigger is wholly inside the pane."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        canvas = Canvas(context.new_page())
        page = canvas.page
        page.set_default_timeout(WAIT)
        canvas.open(f"{app_url}/?layout=narrow")
        width = page.locator("[data-testid=crm-canvas]").bounding_box()["width"]
        assert 480 <= width <= 560, width

        pane = page.locator(".react-flow__pane").bounding_box()
        trigger = page.locator("[data-testid=rf__node-n0]").bounding_box()
        assert pane["x"] <= trigger["x"]
        assert trigger["x"] + trigger["width"] <= pane["x"] + pane["width"]
        assert pane["y"] <= trigger["y"] < pane["y"] + pane["height"]

        controls = page.locator(".react-flow__controls").bounding_box()
        assert controls["x"] < pane["x"] + pane["width"] / 2  # left
        assert controls["y"] > pane["y"] + pane["height"] / 2  # bottom
        buttons = [b.bounding_box() for b in page.locator(".react-flow__controls-button").all()]
        cards = [c.bounding_box() for c in page.locator(".react-flow__node").all()]
        assert buttons and cards

        def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
            return (
                a["x"] < b["x"] + b["width"]
                and b["x"] < a["x"] + a["width"]
                and a["y"] < b["y"] + b["height"]
                and b["y"] < a["y"] + a["height"]
            )

        assert not [(b, c) for b in buttons for c in cards if overlap(b, c)]

        palette = page.locator("[data-testid=crm-palette]")
        assert palette.get_attribute("data-open") == "false"
        assert palette.bounding_box()["width"] <= 40
        assert page.locator("[data-testid=crm-palette-wait]").count() == 0
        page.click("[data-testid=crm-palette-open]")
        page.wait_for_selector("[data-testid=crm-palette-wait]", state="visible")
        assert palette.get_attribute("data-open") == "true"

        # The map, toggled on, is small and bottom-right.
        page.click(".react-flow__controls-button[aria-label='Toggle the map']")
        minimap = page.locator(".react-flow__minimap").bounding_box()
        pane = page.locator(".react-flow__pane").bounding_box()
        assert minimap["width"] <= 160 and minimap["height"] <= 120
        assert minimap["x"] > pane["x"] + pane["width"] / 2
        assert minimap["y"] > pane["y"] + pane["height"] / 2

        page.reload()
        page.wait_for_selector("[data-testid=crm-canvas] [data-rendered]")
        assert palette.get_attribute("data-open") == "true"
        canvas.assert_healthy()
    finally:
        context.close()


def test_a_wide_canvas_starts_with_the_palette_open(canvas: Canvas) -> None:
    palette = canvas.page.locator("[data-testid=crm-palette]")
    assert palette.get_attribute("data-open") == "true"
    assert canvas.page.locator("[data-testid=crm-palette-wait]").is_visible()


@pytest.mark.parametrize("dirty", [True, False])
def test_leaving_with_unsaved_changes_asks_first(browser: Any, app_url: str, dirty: bool) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(WAIT)
    shown = Canvas(page)
    shown.open(f"{app_url}?dirty={'1' if dirty else '0'}")
    page.locator(".crm-card").first.click()  # browsers ask only after the user did something
    page.wait_for_timeout(300)
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    page.close(run_before_unload=True)
    if dirty:  # dismissed, the warning keeps the page open
        page.wait_for_timeout(500)
        assert not page.is_closed()
    context.close()
    assert asked == (["beforeunload"] if dirty else [])
