"""Email blocks → HTML and back (flows/email_blocks.py)."""

from __future__ import annotations

import ast
from html.parser import HTMLParser
from pathlib import Path

import pytest

from flows.email_blocks import (
    block_problems,
    blocks_to_html,
    escape_text,
    html_to_blocks,
    url_problem,
)

TOKEN = "{{ contact.first_name | default('there', true) }}"
BLOCKS = [
    {"type": "heading", "text": f"Hi {TOKEN}!"},
    {"type": "paragraph", "text": "سلام، خوش آمدید.\nهفته‌ی اول رایگان است."},
    {"type": "button", "text": "See plans", "url": "https://acme.example/p?a=1&b=2"},
    {"type": "image", "url": "https://acme.example/hero.png", "alt": 'Our "team"'},
    {"type": "divider"},
    {"type": "paragraph", "text": "Thanks, {{ owner.first_name }}"},
]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.data: list[str] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.data.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def parsed(source: str) -> _Tags:
    parser = _Tags()
    parser.feed(source)
    return parser


def test_blocks_round_trip() -> None:
    source = blocks_to_html(BLOCKS)
    assert html_to_blocks(source) == [
        {"type": b["type"], **{k: v for k, v in b.items() if k != "type"}} for b in BLOCKS
    ]
    # Surrounding whitespace (a text area's) does not matter.
    assert html_to_blocks(f"\n  {source}\n\n") == html_to_blocks(source)


def test_the_html_is_email_safe_tables_and_inline_styles() -> None:
    source = blocks_to_html(BLOCKS)
    tags = parsed(source).tags
    names = {t for t, _ in tags}
    assert names <= {"table", "tr", "td", "a", "img", "hr", "br"}
    assert "<style" not in source and "class=" not in source and "<script" not in source
    assert tags[0] == ("table", tags[0][1]) and tags[0][1]["role"] == "presentation"
    button = next(a for t, a in tags if t == "a")
    assert button["href"] == "https://acme.example/p?a=1&b=2"  # &amp; in the source
    assert "&amp;b=2" in source
    image = next(a for t, a in tags if t == "img")
    assert image["alt"] == 'Our "team"' and image["src"] == "https://acme.example/hero.png"


def test_text_blocks_read_in_their_own_direction() -> None:
    source = blocks_to_html(BLOCKS)
    cells = [a for t, a in parsed(source).tags if t == "td"]
    # Every text block (heading, both paragraphs, the button) has dir="auto".
    assert sum(1 for a in cells if a.get("dir") == "auto") == 4
    assert "سلام، خوش آمدید.<br>هفته‌ی اول رایگان است." in source


def test_user_text_cannot_inject_html_and_tokens_are_kept() -> None:
    evil = '<script>alert(1)</script><img src=x onerror="y"> & {{ contact.city }}'
    source = blocks_to_html([{"type": "paragraph", "text": evil}])
    assert "<script" not in source and "<img" not in source
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;y&quot;&gt;" in source
    assert "&amp; {{ contact.city }}" in source
    # The token's quotes stay quotes, so Jinja still reads it.
    heading = blocks_to_html([{"type": "heading", "text": TOKEN}])
    assert TOKEN in heading
    assert escape_text("a {% if x %}<b>{% endif %}") == "a {% if x %}&lt;b&gt;{% endif %}"


def test_unsafe_urls_are_not_links() -> None:
    source = blocks_to_html([{"type": "button", "text": "Go", "url": "javascript:alert(1)"}])
    assert "javascript" not in source and 'href="#"' in source
    attribute = blocks_to_html([{"type": "button", "text": "Go", "url": 'https://x.example/"a'}])
    assert 'href="https://x.example/&quot;a"' in attribute
    assert url_problem("javascript:alert(1)") and url_problem("")
    assert url_problem("https://acme.example") is None
    assert url_problem("{{ trigger.link }}") is None
    assert url_problem("mailto:hi@acme.example") is None


def test_problems_name_the_block() -> None:
    assert block_problems(BLOCKS) == []
    problems = block_problems(
        [{"type": "paragraph", "text": " "}, {"type": "image", "url": "ftp://x", "alt": ""}]
    )
    assert problems[0] == "block 1 (paragraph) has no text"
    assert problems[1].startswith("block 2 (image): 'ftp://x' is not a web link")


def test_hand_edited_or_foreign_html_is_not_blocks() -> None:
    source = blocks_to_html(BLOCKS)
    assert html_to_blocks(source.replace("See plans", "See our plans")) is None
    assert html_to_blocks("<p>Hello</p>") is None
    assert html_to_blocks("") is None
    assert html_to_blocks("<!-- crmflow:blocks v1 !!! -->\n<table></table>") is None
    assert html_to_blocks("<!-- crmflow:blocks v1 e30= -->\n<table></table>") is None


def test_unknown_blocks_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="block 2 is 'video'"):
        blocks_to_html([{"type": "divider"}, {"type": "video"}])
    assert html_to_blocks(blocks_to_html([])) == []


def test_the_marker_hides_tokens_from_jinja() -> None:
    """The embedded block list is base64: Jinja sees no second copy of the tokens."""
    source = blocks_to_html([{"type": "paragraph", "text": TOKEN}])
    [comment] = parsed(source).comments
    assert "{" not in comment and "--" not in comment


def test_flows_imports_nothing_outside_flows() -> None:
    tree = ast.parse(Path("flows/email_blocks.py").read_text(encoding="utf-8"))
    modules = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    assert not any(m.startswith(("functions", "editor")) for m in modules)
