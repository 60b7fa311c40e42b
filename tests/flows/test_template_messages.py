"""Template errors a marketer can act on: the line, the piece that is wrong, and the fix."""

from __future__ import annotations

import pytest

from flows.templating import analyse
from flows.validate import validate

EMAIL = {"body": "Hello", "from_email": "hi@acme.com"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "Hi\n{{ contact.first_name five }}",
            "template error on line 2: '{{ contact.first_name five }}' — a placeholder holds "
            "one field; to add text, put it outside the braces: {{ contact.first_name }} five",
        ),
        (
            "{{ contact.first name }}",
            "template error on line 1: '{{ contact.first name }}' — field names use _ instead "
            "of spaces: {{ contact.first_name }}",
        ),
        (
            "Hi {{ contact.first_name ",
            "template error on line 1: '{{ contact.first_name' — this placeholder is not "
            "closed; end it with }}: {{ contact.first_name }}",
        ),
        (
            "Hi {{",
            "template error on line 1: '{{' — this placeholder is empty and not closed; write "
            "{{ contact.first_name }} or remove the {{",
        ),
        (
            "{{ contact.first_name }",
            "template error on line 1: '{{ contact.first_name }' — close a placeholder with "
            "two braces: }}",
        ),
        (
            "Hello\n{% if contact.score > 5 ",
            "template error on line 2: '{% if contact.score > 5' — this tag is not closed; end "
            "it with %}: {% if contact.score > 5 %}",
        ),
        (
            "Hi contact.first_name }}, welcome",
            "template error on line 1: 'contact.first_name }}' — this closes a placeholder that "
            "was never opened; write {{ contact.first_name }}",
        ),
        (
            "a\n{% if contact.score > 5 %}VIP\nthanks",
            "template error on line 2: '{% if contact.score > 5 %}' — this if is never closed: "
            "add {% endif %} where the conditional text ends",
        ),
        (
            "{% for tag in contact.tags %}{{ tag }}",
            "template error on line 1: '{% for tag in contact.tags %}' — this for is never "
            "closed: add {% endfor %} where the repeated text ends",
        ),
        (
            "{% if contact.score %}a{% endfor %}",
            "template error on line 1: '{% if contact.score %}' — this if is never closed: add "
            "{% endif %} where the conditional text ends (the {% endfor %} on line 1 closes "
            "nothing)",
        ),
        (
            "{% iff contact.score %}a{% endif %}",
            "template error on line 1: '{% iff contact.score %}a{% endif %}' — 'iff' is not a "
            "tag; did you mean {% if %}?",
        ),
        (
            "{{ }}",
            "template error on line 1: '{{ }}' — this placeholder is empty; put a field in it, "
            "e.g. {{ contact.first_name }}, or remove it",
        ),
        ("{{ contact.first_name | titel }}", "unknown filter 'titel'; did you mean 'title'?"),
        (
            "{{ contact.first_name | zzqq }}",
            "unknown filter 'zzqq'; use one of default, upper, lower, title, capitalize, trim, "
            "round, join",
        ),
    ],
)
def test_template_errors_name_the_line_the_piece_and_the_fix(source, message):
    assert analyse(source).error == message


@pytest.mark.parametrize(
    "source",
    [
        "Hi {{ contact.first_name | default('there') }}, welcome",
        "{% if contact.score > 5 %}VIP{% endif %} {{ contact.first_name }}",
        "@media (max-width: 600px) { .a { color: red }}",  # CSS in an HTML body
        "{% for tag in contact.tags %}{{ tag }}{% endfor %}",
    ],
)
def test_good_templates_and_stray_braces_in_css_pass(source):
    assert analyse(source).error is None


def test_the_message_is_the_validation_issue_of_the_field(flow, node, edge, errors):
    doc = flow(
        nodes=[
            node("done", "end"),
            node("mail", "send_email", **{**EMAIL, "subject": "Hi {{ contact.first_name five }}"}),
        ],
        edges=[edge("start", "mail"), edge("mail", "done")],
    )
    assert errors(doc) == [
        "$.nodes[1].params.subject [node mail]: template error on line 1: "
        "'{{ contact.first_name five }}' — a placeholder holds one field; to add text, put it "
        "outside the braces: {{ contact.first_name }} five"
    ]


def test_an_unknown_field_suggests_the_closest_known_one(flow, node, edge):
    doc = flow(
        nodes=[
            node("done", "end"),
            node("mail", "send_email", **{**EMAIL, "subject": "Hi {{ contact.frist_name }}"}),
        ],
        edges=[edge("start", "mail"), edge("mail", "done")],
    )
    messages = [w.message for w in validate(doc).warnings]
    assert any("did you mean contact.first_name?" in m for m in messages), messages
