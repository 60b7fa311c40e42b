"""Template limits seen at save time: constants that already break a limit, and templates
that include others, are validation errors at the field's path; nothing is computed to
find out, so validating a hostile flow is itself quick and small."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from flows.templating import analyse, binop_problem, text_size
from flows.validate import validate

EMAIL = {"subject": "Hi", "body": "Hello", "from_email": "hi@acme.com"}
TEMPLATES = Path(__file__).resolve().parents[2] / "flows" / "templates"
TOO_LONG = "more than the 1,000,000 a template can make"


def _email_flow(flow, node, edge, **params):
    return flow(
        nodes=[node("done", "end"), node("mail", "send_email", **{**EMAIL, **params})],
        edges=[edge("start", "mail"), edge("mail", "done")],
    )


def test_the_subject_of_the_issue_is_refused_at_the_subjects_path(flow, node, edge, errors):
    doc = _email_flow(flow, node, edge, subject="{{ 'x' * 100000000 }}")
    assert errors(doc) == [
        "$.nodes[1].params.subject [node mail]: template error on line 1: repeating a text "
        f"100,000,000 times would make 100,000,000 characters, {TOO_LONG}"
    ]


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{{ 'x' * 100000000 }}", f"repeating a text 100,000,000 times would make 100,000,000 characters, {TOO_LONG}"),
        ("{{ 100000000 * 'ab' }}", f"repeating a text 100,000,000 times would make 200,000,000 characters, {TOO_LONG}"),
        ("{{ [0] * 10 ** 7 }}", "repeating a list 10,000,000 times would make 10,000,000 items, more than the 1,000,000 a template can make"),
        ("{{ 9 ** (9 ** 9) }}", "a number would have more than 4,000 digits"),
        ("{{ 2 ** 100000 }}", "a number would have more than 4,000 digits"),
        ("{{ range(10**9)|list }}", "range(1000000000) would count 1,000,000,000 numbers, more than the 100,000 a template can count"),
        ("{% for i in range(0, 10**6, 2) %}{% endfor %}", "range(0, 1000000, 2) would count 500,000 numbers, more than the 100,000 a template can count"),
        ("{{ 'x'|center(100000000) }}", f"a width of 100,000,000 would make 100,000,000 characters, {TOO_LONG}"),
        ("{{ 'x'.ljust(10**8) }}", f"a width of 100,000,000 would make 100,000,000 characters, {TOO_LONG}"),
        ("{{ 'x'|indent(10**8) }}", f"a width of 100,000,000 would make 100,000,000 characters, {TOO_LONG}"),
        ("{{ '%100000000s' % 'x' }}", "this format could make more than the 1,000,000 characters a template can make"),
        ("{{ '%*s'|format(10**8, 'x') }}", "this format could make more than the 1,000,000 characters a template can make"),
        ("{{ '{:>100000000}'.format('x') }}", f"a field 100,000,000 wide would make 100,000,000 characters, {TOO_LONG}"),
        ("{{ ('x' * 600000) ~ ('y' * 600000) }}", "joining these texts could make more than the 1,000,000 characters a template can make"),
        ("{{ ('x' * 600000) + ('y' * 600000) }}", f"joining these texts would make 1,200,000 characters, {TOO_LONG}"),
        ("{{ (['x' * 1000] * 2000)|join(',') }}", "joining these texts could make more than the 1,000,000 characters a template can make"),
        ("{{ 'ab'|replace('a', 'a' * 1000000) }}", f"this replace would make 1,000,001 characters, {TOO_LONG}"),
        ("{{ [[1, 2]]|tojson(indent=10**8) }}", "tojson(indent=100,000,000) could make more than the 1,000,000 characters a template can make"),
        ("{{ lipsum(100000) }}", "lipsum(100,000) could make more than the 1,000,000 characters a template can make"),
        ("{{ [1]|batch(10**9, 0)|list }}", "batch(1,000,000,000) would make 1,000,000,000 items, more than the 1,000,000 a template can make"),
        ("{{ [1]|slice(10**9)|list }}", "slice(1,000,000,000) would make 1,000,000,000 lists, more than the 100,000 a template can make"),
    ],
)  # fmt: skip
def test_a_constant_that_breaks_a_limit_is_a_template_error(template, problem):
    assert analyse(template).error == f"template error on line 1: {problem}"


def test_a_constant_inside_any_tag_or_expression_is_checked_and_its_line_named():
    template = (
        "Dear {{ contact.first_name }},\n\n"
        "{% if contact.score > 3 %}{{ contact.first_name ~ ('-' * 10**8) }}{% endif %}"
    )
    assert analyse(template).error == (
        "template error on line 3: repeating a text 100,000,000 times would make "
        f"100,000,000 characters, {TOO_LONG}"
    )


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'x' * 1000 }}",
        "{{ 9**9**9 }}",  # Jinja's ** groups left: (9**9)**9, 78 digits
        "{{ 2 ** 13000 }}",
        "{{ range(100000)|sum }}",
        "{{ 'x'|center(1000) }}",
        "{{ '%5s|%-5s' % ('a', 'b') }}",
        "{{ '{:>10}'.format(contact.first_name) }}",
        "{{ contact.first_name * 100000000 }}",  # known when rendering: checked then
        "{% for i in range(contact.score) %}{{ 'x' * i }}{% endfor %}",
        "{{ 1 / 0 }}",  # fails when rendering, with its own message
    ],
)
def test_what_constants_alone_do_not_break_passes(template):
    assert analyse(template).error is None


@pytest.mark.parametrize(
    ("template", "tag"),
    [
        ("{% include 'footer.html' %}", "include"),
        ("{% import 'macros.html' as m %}{{ m.hi() }}", "import"),
        ("{% from 'macros.html' import hi %}{{ hi() }}", "from … import"),
        ("{% extends 'base.html' %}", "extends"),
    ],
)
def test_including_another_template_is_refused_at_the_fields_path(
    flow, node, edge, errors, template, tag
):
    doc = _email_flow(flow, node, edge, body=f"<p>Hi</p>\n{template}")
    assert errors(doc) == [
        "$.nodes[1].params.body [node mail]: template error on line 2: templates cannot include "
        f"other templates ({{% {tag} %}}); write the text in this field instead"
    ]  # fmt: skip


def test_brackets_nested_past_the_parsers_depth_are_an_error_not_a_crash(flow, node, edge, errors):
    deep = "{{ " + "(" * 200 + "1" + ")" * 200 + " }}"
    doc = _email_flow(flow, node, edge, body=deep)
    assert errors(doc) == [
        "$.nodes[1].params.body [node mail]: template error: the template nests brackets or "
        "tags too deeply"
    ]


def test_checks_measure_without_computing():
    # each would be an exabyte or a googol-digit number if it were computed to find out
    assert binop_problem("*", "x", 10**18) is not None
    assert binop_problem("**", 10, 10**100) == "a number would have more than 4,000 digits"
    assert binop_problem("*", 3, 4) is None
    many = ["x" * 1000] * 1_000_000  # a million references to one text
    assert text_size(many) > 1_000_000  # counting stopped past the limit


def test_validating_a_hostile_flow_is_quick_and_small(flow, node, edge):
    hostile = [
        "{{ 'x' * 100000000 }}",
        "{{ 9 ** (9 ** 9) }}",
        "{{ range(10**9)|list }}",
        "{{ 'x'|center(10**9) }}",
        "{{ ('x' * 999999) ~ ('x' * 999999) }}",
        "{% include 'x' %}",
    ]
    nodes = [node("done", "end")] + [
        node(f"mail{i}", "send_email", **{**EMAIL, "body": body}) for i, body in enumerate(hostile)
    ]
    edges = [edge("start", "mail0")] + [
        edge(f"mail{i}", f"mail{i + 1}" if i + 1 < len(hostile) else "done")
        for i in range(len(hostile))
    ]
    tracemalloc.start()
    try:
        report = validate(flow(nodes=nodes, edges=edges))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000
    assert [e.path for e in report.errors] == [
        f"$.nodes[{i + 1}].params.body" for i in range(len(hostile))
    ]


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.flow.json")), ids=lambda p: p.name)
def test_every_shipped_template_stays_within_the_limits(path):
    document = json.loads(path.read_text(encoding="utf-8"))
    report = validate(document)
    assert report.errors == []
    texts = [
        value
        for n in document["nodes"]
        for value in (n.get("params") or {}).values()
        if isinstance(value, str) and "{" in value
    ]
    assert texts  # the templates personalise
    assert all(analyse(text).error is None for text in texts)
