"""Looking at an email inside crmflow never changes a contact: test runs and previews carry
no tracking, the outbox's emails are shown untracked, and links minted for a test run
before that was so record nothing. Checked the way a person would break it: every URL of
every test-run email fetched (GET, and POST where a form would), then the whole store
compared, item for item."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from flows.email_links import PREVIEW, untracked
from functions import email as mail
from functions.store.contacts import create_contact, timeline
from tests.functions.api_support import Api
from tests.functions.template_fixtures import crm_fixture  # noqa: F401 (a fixture, by its name)
from tests.functions.template_support import template, world

PUBLIC = "https://crm.example.com"
# What a browser sends: for an image or a page, and for a form's POST.
BROWSER = {"Accept": "image/webp,image/*,*/*;q=0.8"}
FORM = {**BROWSER, "Content-Type": "application/x-www-form-urlencoded"}
URL = re.compile(r"""https?://[^\s"'<>\u2066-\u2069]+""")
LINK = "https://acme.example/pricing?plan=pro&utm_source=drip"


@pytest.fixture
def api(crm: None) -> Api:
    return Api()


def email_flow() -> dict[str, Any]:
    """A hook starts it; an HTML email with a link, the unsubscribe link in the body and
    both kinds of tracking on; a wait for its click; a plain-text email with a link."""
    common = {"from_email": "Acme <hello@acme.com>", "track_opens": True, "track_clicks": True}
    return {
        "schema_version": "1.0",
        "id": "look-only",
        "name": "Look only",
        "trigger": {"id": "start", "kind": "webhook", "params": {}},
        "nodes": [
            {
                "id": "offer",
                "kind": "send_email",
                "params": {
                    **common,
                    "subject": "{{ contact.first_name }}, your pricing",
                    "body": f'<p>See <a href="{html.escape(LINK)}">our plans</a>.</p>'
                    '<p><a href="{{ unsubscribe_url }}">Stop these</a></p>',
                },
            },
            {
                "id": "clicked",
                "kind": "wait_for_event",
                "params": {"event": "email_clicked", "timeout": {"amount": 3, "unit": "days"}},
            },
            {
                "id": "reminder",
                "kind": "send_email",
                "params": {
                    **common,
                    "subject": "Still thinking, {{ contact.first_name }}?",
                    "body": f"Plans: {LINK}\nNo more: {{{{ unsubscribe_url }}}}",
                    "body_format": "text",
                },
            },
            {"id": "done", "kind": "end"},
        ],
        "edges": [
            {"from": "start", "to": "offer"},
            {"from": "offer", "to": "clicked"},
            {"from": "clicked", "to": "reminder", "output": "happened"},
            {"from": "clicked", "to": "done", "output": "timed_out"},
            {"from": "reminder", "to": "done"},
        ],
    }


def urls_of(email: dict[str, Any]) -> list[str]:
    found = URL.findall(email["text"]) + URL.findall(email.get("html") or "")
    return sorted({html.unescape(u) for u in found})


def fetch_all(api: Api, urls: list[str]) -> list[tuple[str, str, int]]:
    """Every URL on the API fetched as a browser or a link scanner would: GET, and POST
    too (an unsubscribe page's button). Each (method, path, status)."""
    fetched = []
    for url in urls:
        if not url.startswith(PUBLIC):
            continue
        path = url.removeprefix(PUBLIC)
        for method in ("GET", "POST"):
            answer = api.client.http.request(
                method,
                path,
                headers=FORM if method == "POST" else BROWSER,
                body=b"",
            )
            fetched.append((method, path, answer.status_code))
    return fetched


def test_a_test_run_leaves_no_trace_even_when_its_email_links_are_followed(api: Api) -> None:
    sara = create_contact({"email": "sara@example.com", "first_name": "سارا", "locale": "fa-IR"})
    key = api.key("admin")
    before = world()

    answer = api.post(
        "/flows/look-only/test-runs",
        key,
        {"flow": email_flow(), "contact_id": sara.contact_id, "choices": {"clicked": "happened"}},
    )
    assert answer.status == 200, answer.body
    run = answer.body
    assert run["nodes"] == ["offer", "clicked", "reminder", "done"]
    assert len(run["emails"]) == 2
    urls = [u for email in run["emails"] for u in urls_of(email)]
    # Links go where they lead; the only link to crmflow is the unsubscribe preview.
    assert set(urls) == {LINK, f"{PUBLIC}/u/{PREVIEW}"}
    for email in run["emails"]:
        assert "/t/o/" not in (email.get("html") or "") and "/t/c/" not in email["text"]
    fetched = fetch_all(api, sorted(set(urls)))
    assert fetched == [("GET", f"/u/{PREVIEW}", 200), ("POST", f"/u/{PREVIEW}", 200)]

    assert world() == before
    assert timeline(sara.contact_id)[0] == []


def test_the_preview_unsubscribe_page_says_it_changes_nothing(api: Api) -> None:
    for method in ("GET", "POST"):
        headers = FORM if method == "POST" else BROWSER
        page = api.client.http.request(method, f"/u/{PREVIEW}", headers=headers, body=b"")
        assert page.status_code == 200
        assert "This is a preview: nothing has changed." in page.body.decode()


def test_the_email_step_preview_leaves_no_trace(api: Api) -> None:
    """The editor's 'Preview for a contact' is a test run of the one email node."""
    sara = create_contact({"email": "sara@example.com", "first_name": "Sara"})
    key = api.key("marketer")
    drip = template("drip-campaign")
    lesson = next(n for n in drip["nodes"] if n["id"] == "lesson_1")
    single = {
        "schema_version": "1.0",
        "id": drip["id"],
        "name": drip["name"],
        "trigger": {"id": "preview_start", "kind": "webhook", "params": {}},
        "nodes": [lesson, {"id": "preview_end", "kind": "end"}],
        "edges": [
            {"from": "preview_start", "to": "lesson_1"},
            {"from": "lesson_1", "to": "preview_end"},
        ],
    }
    before = world()
    run = api.post(
        f"/flows/{drip['id']}/test-runs", key, {"flow": single, "email": "sara@example.com"}
    ).body
    [email] = run["emails"]
    urls = urls_of(email)
    assert urls and all("/t/" not in u for u in urls)
    assert any(u.startswith("https://acme.example/academy/") for u in urls)
    fetch_all(api, urls)
    assert world() == before
    assert timeline(sara.contact_id)[0] == []


def test_links_a_test_run_minted_before_the_fix_record_nothing(api: Api) -> None:
    """Emails of older test runs, still open in someone's browser, carried tracked links
    for the stored contact with a made-up enrollment: they may load, and record nothing."""
    sara = create_contact({"email": "sara@example.com", "first_name": "Sara"})
    ids = (sara.contact_id, "testrun-enr_01", "offer")
    before = world()
    pixel = mail.open_pixel_url(*ids).removeprefix(PUBLIC)
    click = mail.click_url(*ids, LINK).removeprefix(PUBLIC)
    assert api.client.http.request("GET", pixel, headers=BROWSER).status_code == 200
    went = api.client.http.request("GET", click, headers=BROWSER)
    assert went.status_code == 302 and went.headers["Location"] == LINK
    assert world() == before


def test_a_real_sends_links_still_count(api: Api) -> None:
    """The other side: a link minted for a real send records the open and the click."""
    sara = create_contact({"email": "sara@example.com", "first_name": "Sara"})
    ids = (sara.contact_id, "enr_real", "offer")
    for url in (mail.open_pixel_url(*ids), mail.click_url(*ids, LINK)):
        assert api.client.http.request(
            "GET", url.removeprefix(PUBLIC), headers=BROWSER
        ).status_code in (200, 302)
    kinds = sorted(a.kind for a in timeline(sara.contact_id)[0])
    assert kinds == ["email_clicked", "email_opened"]


def test_a_sent_email_shown_untracked_keeps_its_targets_and_loses_its_pixel(crm: None) -> None:
    """What the outbox shows of a really sent email: the same email, tracking off."""
    ids = ("c_1", "enr_1", "offer")
    pixel, click = mail.open_pixel_url(*ids), mail.click_url(*ids, LINK)
    unsubscribe = mail.unsubscribe_url(*ids)
    sent = (
        f'<p><a href="{html.escape(click)}">plans</a> <a href="https://acme.example/x">x</a></p>'
        f'<p><a href="{unsubscribe}">Unsubscribe</a></p>'
        f'<img src="{pixel}" width="1" height="1" alt="" style="display:none">'
    )
    shown = untracked(sent, is_html=True)
    assert shown == (
        f'<p><a href="{html.escape(LINK)}">plans</a> <a href="https://acme.example/x">x</a></p>'
        f'<p><a href="{PUBLIC}/u/{PREVIEW}">Unsubscribe</a></p>'
    )
    text = f"Plans: {click}\nStop: {unsubscribe}\nSite: https://acme.example/"
    assert untracked(text, is_html=False) == (
        f"Plans: {LINK}\nStop: {PUBLIC}/u/{PREVIEW}\nSite: https://acme.example/"
    )
