"""Hard limits on rendering: hostile templates are refused by name (Template.TooLarge,
Template.TooSlow, Crm.TemplateError), promptly and in little memory, through the API's
test runs, the real send_email step and render() itself."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from functions import render as rendering
from functions import sandbox
from functions.errors import CrmError, TemplateError, TemplateTooLarge, TemplateTooSlow
from functions.render import LONG_TEXT, ONE_LINE, render
from functions.steps import send_email
from functions.steps.base import parse
from functions.store import contacts
from tests.functions.api_support import Api
from tests.functions.template_fixtures import crm_fixture  # noqa: F401 (a fixture, by its name)

REGION = "us-east-1"
SENDER = "Acme <hello@acme.com>"
EMAIL = {"subject": "Hi {{ contact.first_name }}", "body": "<p>Hello</p>", "from_email": SENDER}
TIMES = 100_000_000
MB = 1_000_000
TOO_LONG = "more than the 1,000,000 a template can make"
SLOW_LOOP = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"


@pytest.fixture
def peak() -> Iterator[Callable[[], float]]:
    """The most memory Python allocated (MB) since the test began."""
    tracemalloc.start()
    try:
        yield lambda: tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()


# --- render() -----------------------------------------------------------------------------

SARA = {"contact": {"first_name": "Sara", "times": TIMES, "score": 100, "tags": ["a", "b"]}}


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        (
            "{{ contact.first_name * 100000000 }}",
            "repeating a text 100,000,000 times would make 400,000,000 characters",
        ),
        (
            "{{ contact.times * contact.first_name }}",
            "repeating a text 100,000,000 times would make 400,000,000 characters",
        ),
        (
            "{{ ('%s' * contact.times) % contact.first_name }}",
            "repeating a text 100,000,000 times would make 200,000,000 characters",
        ),
        (
            "{{ [contact.first_name] * contact.times }}",
            "repeating a list 100,000,000 times would make 100,000,000 items, "
            "more than the 1,000,000 a template can make",
        ),
        ("{{ 9 ** (contact.score ** 4) }}", "a number would have more than 4,000 digits"),
        ("{{ (9 ** 4000) * (9 ** 4000) }}", "a number would have more than 4,000 digits"),
        (
            "{{ contact.first_name|center(contact.times) }}",
            "a width of 100,000,000 would make 100,000,000 characters",
        ),
        (
            "{{ contact.first_name.rjust(contact.times) }}",
            "a width of 100,000,000 would make 100,000,000 characters",
        ),
        (
            "{{ contact.first_name|indent(contact.times) }}",
            "a width of 100,000,000 would make 100,000,000 characters",
        ),
        (
            "{{ ((contact.first_name ~ ' ') * 100000)|wordwrap(1, wrapstring='-' * 100) }}",
            "wordwrap could make more than the 1,000,000 characters a template can make",
        ),
        (
            "{{ (contact.first_name * 250000)|replace('a', contact.first_name * 1000) }}",
            "this replace would make 2,000,500,000 characters",
        ),
        (
            "{{ (contact.first_name * 250000).replace('S', 'SS') }}",
            "this replace would make 1,250,000 characters",
        ),
        (
            "{{ ('%' ~ contact.times ~ 's')|format(contact.first_name) }}",
            "this format could make more than the 1,000,000 characters",
        ),
        (
            "{{ '{0:>{1}}'.format(contact.first_name, contact.times) }}",
            "a field 100,000,000 wide would make 100,000,000 characters",
        ),
        (
            "{{ ('{0}' * 300000).format(contact.first_name * 1000) }}",
            "this format could make more than the 1,000,000 characters",
        ),
        (
            "{{ ([contact.first_name * 1000] * 1000)|join(', ') }}",
            "joining these texts could make more than the 1,000,000 characters",
        ),
        (
            "{{ ', '.join([contact.first_name * 1000] * 1000) }}",
            "joining these texts could make more than the 1,000,000 characters",
        ),
        (
            "{% set ns = namespace(s=contact.first_name) %}{% for i in range(40) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
            "joining these texts could make more than the 1,000,000 characters",
        ),
        (
            "{% macro grow(s, n) %}{% if n %}{{ grow(s + s, n - 1) }}{% endif %}{% endmacro %}"
            "{{ grow(contact.first_name, 40) }}",
            "joining these texts would make 1,048,576 characters",
        ),
        (
            "{% set all = [contact.first_name * 1000] * 1000 %}{{ all }}",
            "printing this value could make more than the 1,000,000 characters",
        ),
        (
            "{{ range(contact.times)|list }}",
            "range(100000000) would count 100,000,000 numbers, "
            "more than the 100,000 a template can count",
        ),
        (
            "{{ ([[contact.first_name] * 1000] * 50)|tojson(indent=contact.times) }}",
            "tojson(indent=100,000,000) could make more than the 1,000,000 characters",
        ),
        ("{{ lipsum(contact.times) }}", "lipsum(100,000,000) could make more than the 1,000,000"),
        (
            "{% macro m() %}{% for i in range(100000) %}{{ contact.first_name * 250000 }}"
            "{% endfor %}{% endmacro %}{{ m() }}",
            "it would print more than 10,000,000 characters along the way",
        ),
    ],
)
def test_a_value_too_big_to_build_is_refused_before_it_is_built(
    template: str, problem: str, peak: Callable[[], float]
) -> None:
    with pytest.raises(TemplateTooLarge) as refused:
        render(template, SARA, what="the body")
    assert str(refused.value).startswith("the body cannot be rendered: ")
    assert problem in str(refused.value)
    assert type(refused.value).__name__ == "Template.TooLarge"
    assert isinstance(refused.value, TemplateError)  # a Crm.TemplateError as before
    assert peak() < 50


def test_output_is_capped_as_it_streams() -> None:
    assert len(render("{{ contact.first_name * 250 }}", SARA, max_chars=ONE_LINE)) == 1_000
    with pytest.raises(TemplateTooLarge) as refused:
        render("{{ contact.first_name * 250 }}!", SARA, what="the subject", max_chars=ONE_LINE)
    assert str(refused.value) == "the subject would be longer than 1,000 characters"

    body = "{% for i in range(1000) %}{{ contact.first_name * 250 }}{% endfor %}"
    assert len(render(body, SARA)) == LONG_TEXT
    with pytest.raises(TemplateTooLarge) as refused:
        render(body + ".", SARA, what="the body")
    assert str(refused.value) == "the body would be longer than 1,000,000 characters"
    # plain text, over the cap, is refused alike
    with pytest.raises(TemplateTooLarge, match="the subject would be longer than 1,000"):
        render("x" * 1_001, SARA, what="the subject", max_chars=ONE_LINE)


def test_the_time_budget_stops_a_slow_loop(peak: Callable[[], float]) -> None:
    started = time.perf_counter()
    with pytest.raises(TemplateTooSlow) as slow:
        render(SLOW_LOOP, SARA, what="the body", seconds=0.2)
    assert time.perf_counter() - started < 1.2  # the budget, not the 10**10 steps
    assert (
        str(slow.value) == "the body took more than 0.2 seconds to render; make its loops smaller"
    )
    assert type(slow.value).__name__ == "Template.TooSlow"
    with pytest.raises(TemplateTooSlow):  # nothing in the loop but text, and a string loop
        render(
            "{% for a in contact.first_name * 99999 %}{% for b in range(99999) %}.{% endfor %}"
            "{% endfor %}",
            SARA,
            seconds=0.2,
        )
    assert peak() < 50


@pytest.mark.parametrize(
    ("template", "tag"),
    [
        ("{% include 'header.html' %}", "include"),
        ("{% import 'macros.html' as m %}{{ m.hello() }}", "import"),
        ("{% from 'macros.html' import hello %}{{ hello() }}", "from … import"),
        ("{% extends 'base.html' %}{% block body %}x{% endblock %}", "extends"),
    ],
)
def test_including_another_template_is_a_named_template_error(template: str, tag: str) -> None:
    with pytest.raises(TemplateError) as failed:
        render(template, SARA)
    assert type(failed.value).__name__ == "Crm.TemplateError"
    assert str(failed.value) == (
        f"template error on line 1: templates cannot include other templates ({{% {tag} %}}); "
        "write the text in this field instead"
    )


def test_other_failures_of_template_code_are_crm_template_errors() -> None:
    for template, message in [
        ("{{ 1 / contact.score * 0 }}{{ 1 / 0 }}", "template failed: division by zero"),
        (
            "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
            "template failed: it nests too deeply (brackets, tags, or a macro calling itself)",
        ),
        ("{{ 2.0 ** contact.times }}", "template failed: (34, 'Numerical result out of range')"),
    ]:
        with pytest.raises(TemplateError) as failed:
            render(template, SARA)
        assert type(failed.value).__name__ == "Crm.TemplateError"
        assert str(failed.value) == message


def test_ordinary_templates_render_as_before() -> None:
    context = {
        "contact": {"first_name": "Sara", "score": 42, "tags": ["vip", "new"], "city": None},
        "deal": {"amount": 1250.5},
    }
    template = (
        "Hi {{ contact.first_name|title }} ({{ contact.score * 2 }} pts, "
        "{{ contact.tags|join(', ') }}){{ contact.city }} {{ '%.2f'|format(deal.amount) }} "
        "{{ '{:>6}'.format(contact.score) }} {{ '-' * 3 }} {{ 2 ** 10 }} "
        "{% for t in contact.tags %}{{ loop.index }}:{{ t|upper }} {% endfor %}"
        "{{ contact.first_name ~ '!' }} {{ range(3)|sum }} {{ [1, 2] + [3] }}"
    )
    assert render(template, context) == (
        "Hi Sara (84 pts, vip, new) 1250.50     42 --- 1024 1:VIP 2:NEW Sara! 3 [1, 2, 3]"
    )
    html = render("<p>{{ contact.first_name ~ ' <b>' }}</p>", context, html=True)
    assert html == "<p>Sara &lt;b&gt;</p>"


# --- the send_email step ------------------------------------------------------------------


@pytest.fixture
def aws(store: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """SES ready to send, and Sara, whose fields the hostile templates multiply."""
    monkeypatch.setenv("CRMFLOW_PUBLIC_URL", "https://crm.example.com/")
    monkeypatch.setenv("CRMFLOW_UNSUBSCRIBE_SECRET", "s3cret")
    boto3.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity="acme.com")
    sara = contacts.create_contact(
        {
            "email": "sara@example.com",
            "first_name": "Sara",
            "email_consent": True,
            "custom": {"times": TIMES},
        }
    )
    return sara.contact_id


def send(params: dict[str, Any], contact_id: str) -> dict[str, Any]:
    event = {
        "node": "n1",
        "kind": "send_email",
        "params": {**EMAIL, **params},
        "enrollment": {"id": "enr-1", "flow_id": "f", "flow_version": 1, "contact_id": contact_id},
        "trigger": {},
        "execution": "arn:aws:states:us-east-1:1:execution:f:enr-1",
        "state": "n1",
        "attempt": 0,
    }
    return send_email.handle(parse(event, "send_email"))


def failure(params: dict[str, Any], contact_id: str) -> tuple[str, str]:
    with pytest.raises(CrmError) as caught:
        send(params, contact_id)
    return type(caught.value).__name__, str(caught.value)


def sent() -> list[Any]:
    return ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"subject": "{{ contact.first_name * 100000000 }}"},
            "the subject cannot be rendered: repeating a text 100,000,000 times would make "
            f"400,000,000 characters, {TOO_LONG}",
        ),
        (
            {"body": "{{ contact.first_name|center(contact.times) }}"},
            f"the body cannot be rendered: a width of 100,000,000 would make 100,000,000 "
            f"characters, {TOO_LONG}",
        ),
        (
            {"body": "{{ [contact.first_name] * contact.times }}"},
            "the body cannot be rendered: repeating a list 100,000,000 times would make "
            "100,000,000 items, more than the 1,000,000 a template can make",
        ),
        (
            {"preheader": "{{ 9 ** contact.times }}"},
            "the preheader cannot be rendered: a number would have more than 4,000 digits",
        ),
        (
            {"subject": "{{ contact.first_name * 200 }}, {{ contact.first_name * 100 }}"},
            "the subject would be longer than 1,000 characters",
        ),
        (
            {
                "body": "{% for i in range(2000) %}{{ contact.first_name * 200 }}{% endfor %}",
                "body_format": "text",
            },
            "the body would be longer than 1,000,000 characters",
        ),
    ],
)
def test_a_hostile_email_is_a_step_error_and_nothing_is_sent(
    aws: str, params: dict[str, Any], message: str, peak: Callable[[], float]
) -> None:
    name, cause = failure(params, aws)
    assert (name, cause) == ("Template.TooLarge", message)
    assert sent() == []
    assert peak() < 50
    # nothing was claimed: the step, fixed, sends once
    assert send({}, aws)["sent"] is True


def test_a_slow_email_template_stops_at_the_time_budget(aws: str) -> None:
    started = time.perf_counter()
    name, cause = failure({"body": SLOW_LOOP}, aws)
    assert time.perf_counter() - started < rendering.RENDER_SECONDS + 0.9
    assert (name, cause) == (
        "Template.TooSlow",
        "the body took more than 1 second to render; make its loops smaller",
    )
    assert sent() == []


# --- the API's test runs ------------------------------------------------------------------


def _flow(subject: str) -> dict[str, Any]:
    return {
        "schema_version": "1.0",
        "id": "hostile",
        "name": "Hostile",
        "trigger": {"id": "start", "kind": "webhook", "params": {}},
        "nodes": [
            {
                "id": "mail",
                "kind": "send_email",
                "params": {**EMAIL, "subject": subject, "purpose": "transactional"},
            },
            {"id": "done", "kind": "end"},
        ],
        "edges": [{"from": "start", "to": "mail"}, {"from": "mail", "to": "done"}],
    }


@pytest.fixture
def api(crm: None) -> Api:
    return Api()


def test_the_exact_subject_of_the_issue_is_refused_promptly_in_little_memory(
    api: Api, peak: Callable[[], float]
) -> None:
    marketer = api.key("marketer")
    hostile = _flow("{{ 'x' * 100000000 }}")
    problem = (
        "$.nodes[0].params.subject [node mail]: template error on line 1: repeating a text "
        f"100,000,000 times would make 100,000,000 characters, {TOO_LONG}"
    )

    saved = api.post("/flows", marketer, {"flow": hostile})  # a draft, with its error listed
    assert saved.status == 201, saved.body
    listed = saved.body["errors"]
    assert [f"{e['path']} [node {e['node_id']}]: {e['message']}" for e in listed] == [problem]
    answer = api.post("/flows/hostile/test-runs", marketer, {"contact": {"first_name": "Sara"}})
    assert answer.status == 422 and answer.error["code"] == "FlowInvalid"
    assert [e["message"] for e in answer.error["report"]["errors"]] == [problem.split(": ", 1)[1]]

    sent_along = api.post("/flows/hostile/test-runs", marketer, {"flow": hostile})
    assert sent_along.status == 422 and sent_along.error["code"] == "FlowInvalid"

    assert peak() < 50


def test_a_test_run_names_a_template_error_only_known_at_render_time(
    api: Api, peak: Callable[[], float]
) -> None:
    hostile = _flow("{{ contact.first_name * 100000000 }}")
    answer = api.post(
        "/flows/hostile/test-runs",
        api.key("marketer"),
        {"flow": hostile, "contact": {"first_name": "Sara"}},
    )
    assert answer.status == 200, answer.body
    assert answer.body["status"] == "failed"
    assert answer.body["path"][0]["error"] == {
        "error": "Template.TooLarge",
        "cause": "the subject cannot be rendered: repeating a text 100,000,000 times would make "
        f"400,000,000 characters, {TOO_LONG}",
    }
    assert answer.body["emails"] == []
    assert peak() < 50


def test_a_test_run_shares_one_rendering_budget_across_its_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The shared budget is 10 s; a smaller one (a setting, not a stand-in) keeps this fast.
    monkeypatch.setattr(rendering, "TEST_RUN_SECONDS", 0.4)
    box = sandbox.Sandbox(contact=None)
    started = time.perf_counter()
    with sandbox.sandboxed(box):
        with pytest.raises(TemplateTooSlow, match=r"the body took more than 0\.3 seconds"):
            render(SLOW_LOOP, SARA, what="the body", seconds=0.3)
        with pytest.raises(TemplateTooSlow) as shared:
            render(SLOW_LOOP, SARA, what="the message", seconds=0.3)
        assert str(shared.value) == (
            "the message was not rendered: this test run's templates took more than 0.4 "
            "seconds together"
        )
        with pytest.raises(TemplateTooSlow):  # spent: the rest fail at once
            render(SLOW_LOOP, SARA, seconds=0.3)
    assert time.perf_counter() - started < 1.5  # 0.4 s of budget, whatever the calls
    # another test run (or none) starts afresh
    with sandbox.sandboxed(sandbox.Sandbox(contact=None)):
        assert render("{{ contact.first_name }}", SARA) == "Sara"


def test_an_api_call_that_meets_a_limit_answers_4xx_naming_it() -> None:
    from functions.api.errors import error_body

    status, body = error_body(TemplateTooLarge("the subject would be longer than 1,000 characters"))
    assert (status, body["error"]["code"]) == (422, "TooLarge")
    status, body = error_body(TemplateTooSlow("the body took more than 1 second to render"))
    assert (status, body["error"]["code"]) == (422, "TooSlow")


def test_a_task_title_is_one_line_and_a_url_is_a_url(aws: str) -> None:
    from functions.steps import create_task, http_request
    from functions.store.models import User

    User("usr-omar", email="omar@acme.example", name="Omar").save()

    def run(module: Any, kind: str, params: dict[str, Any]) -> None:
        event = {
            "node": "n1",
            "kind": kind,
            "params": params,
            "enrollment": {"id": "enr-1", "flow_id": "f", "flow_version": 1, "contact_id": aws},
            "trigger": {},
            "execution": "arn:aws:states:us-east-1:1:execution:f:enr-1",
            "state": "n1",
            "attempt": 0,
        }
        module.handle(parse(event, kind))

    with pytest.raises(TemplateTooLarge, match="task title would be longer than 1,000"):
        run(
            create_task,
            "create_task",
            {"title": "{{ 'call ' * 300 }}", "assignee": {"rule": "user", "user_id": "usr-omar"}},
        )
    with pytest.raises(TemplateTooLarge, match="URL would be longer than 8,192"):
        run(http_request, "http_request", {"url": "https://a.example/{{ 'x' * 9000 }}"})
