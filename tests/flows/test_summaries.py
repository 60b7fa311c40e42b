"""Each node kind's one-line summary of its settings (the canvas label until one is typed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.nodes import REGISTRY
from tests.flows.test_nodes import EXAMPLES

TEMPLATES = sorted((Path(__file__).resolve().parents[2] / "flows" / "templates").glob("*.json"))


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_kind_summarises_its_example(name):
    kind = REGISTRY[name]
    text = kind.summary(kind.Params.model_validate(EXAMPLES[name]))
    assert text.strip() and len(text) <= 80 and "\n" not in text
    assert kind.summary(EXAMPLES[name]) == text  # raw params are validated first


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_invalid_or_missing_params_fall_back_to_the_display_name(name):
    kind = REGISTRY[name]
    assert kind.summary(None) == kind.display_name
    assert kind.summary({"no_such_param": 1}) == kind.display_name


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_template_step_has_a_short_summary(path):
    document = json.loads(path.read_text(encoding="utf-8"))
    for spec in [document["trigger"], *document["nodes"]]:
        text = REGISTRY[spec["kind"]].summary(spec["params"])
        assert text.strip() and len(text) <= 80, (spec["id"], text)


@pytest.mark.parametrize(
    ("name", "params", "text"),
    [
        ("wait", {"duration": {"amount": 2, "unit": "days"}}, "Wait 2 days"),
        ("wait", {"duration": {"amount": 1, "unit": "weeks"}}, "Wait 1 week"),
        (
            "send_email",
            {
                "subject": "Welcome to Acme, {{ contact.first_name | default('there') }}",
                "body": "Hi",
                "from_email": "hi@acme.com",
            },
            "Email: Welcome to Acme, [First name]",
        ),
        ("branch", EXAMPLES["branch"], "If score is at least 50"),
        ("update_record", {"add_tags": ["vip"]}, "Add tag vip"),
        ("send_sms", {"message": "Your code is " + "1234 " * 30}, None),
        (
            "create_task",
            {"title": "Call {{ contact.first_name }}"},
            "Create task: Call [First name]",
        ),
        (
            "record_created",
            {
                "criteria": {
                    "groups": [
                        {"conditions": [{"field": "tags", "op": "contains", "value": "newsletter"}]}
                    ]
                }
            },
            "When a contact is created with tag newsletter",
        ),
    ],
)
def test_summaries_read_as_plain_words(name, params, text):
    got = REGISTRY[name].summary(params)
    if text is None:  # long text is cut to one line with an ellipsis
        assert got.startswith("SMS: Your code is 1234") and got.endswith("…") and len(got) == 80
    else:
        assert got == text


def test_wait_for_event_names_the_email_step_by_its_label():
    params = {
        "event": "email_opened",
        "email_node": "welcome",
        "timeout": {"amount": 2, "unit": "days"},
    }
    kind = REGISTRY["wait_for_event"]
    assert kind.summary(params, {"welcome": "Welcome email"}) == (
        "Wait up to 2 days for an open of 'Welcome email'"
    )
    assert kind.summary(params) == "Wait up to 2 days for an open of 'welcome'"
