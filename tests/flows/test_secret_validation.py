"""Which secrets a flow may read: only FLOW_… names, refused at validation with the path,
the node and how to grant one; hook signing keys never, whatever the flow writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.nodes.http_request import secret_refusal, secret_uses
from flows.validate import validate

TEMPLATES = Path(__file__).resolve().parents[2] / "flows" / "templates"
URL = "https://collector.example.net/in"
NOT_GRANTED = (
    "secret 'API_TOKEN' is not granted to flows: flows read only secrets named FLOW_…; an "
    "admin grants this one by storing it as FLOW_API_TOKEN (CRMFLOW_SECRET_FLOW_API_TOKEN, "
    "or under the SSM prefix), and the flow names FLOW_API_TOKEN"
)
HOOK_KEY = "secret 'HOOK_LEAD_CAPTURE' is a hook's signing key; flows can never read it"
INDIRECT = (
    "name the secret in the template, as {{ secrets.FLOW_NAME }}: which secret a flow reads "
    "must be visible before it runs"
)


def _call(flow, node, edge, **params):
    return flow(
        nodes=[node("step", "http_request", url=URL, **params)], edges=[edge("start", "step")]
    )


def test_a_hook_signing_key_in_a_header_is_refused_by_name(flow, node, edge, errors) -> None:
    doc = _call(flow, node, edge, headers={"X-Leak": "{{ secrets.HOOK_LEAD_CAPTURE }}"})
    assert errors(doc) == [f"$.nodes[0].params.headers.X-Leak [node step]: {HOOK_KEY}"]


def test_a_secret_not_granted_to_flows_is_refused_with_how_to_grant_it(
    flow, node, edge, errors
) -> None:
    doc = _call(flow, node, edge, headers={"Authorization": "Bearer {{ secrets.API_TOKEN }}"})
    assert errors(doc) == [f"$.nodes[0].params.headers.Authorization [node step]: {NOT_GRANTED}"]


@pytest.mark.parametrize(
    ("name", "message"), [("HOOK_LEAD_CAPTURE", HOOK_KEY), ("API_TOKEN", NOT_GRANTED)]
)
def test_auth_secret_is_held_to_the_same_rule(flow, node, edge, errors, name, message) -> None:
    doc = _call(flow, node, edge, auth_secret=name)
    assert errors(doc) == [f"$.nodes[0].params.auth_secret [node step]: {message}"]


@pytest.mark.parametrize(
    "template",
    [
        "{{ secrets['HOOK_LEAD_CAPTURE'] }}",  # item syntax
        "{{ secrets.HOOK_LEAD_CAPTURE | lower }}",
        "{% if true %}{{ secrets.HOOK_LEAD_CAPTURE }}{% endif %}",
    ],
)
def test_every_spelling_of_a_lookup_is_checked(flow, node, edge, errors, template) -> None:
    doc = _call(flow, node, edge, headers={"X-Leak": template})
    assert errors(doc) == [f"$.nodes[0].params.headers.X-Leak [node step]: {HOOK_KEY}"]


@pytest.mark.parametrize(
    "template",
    [
        "{{ secrets[trigger.which] }}",  # the name would come from the caller
        "{% set s = secrets %}{{ s.HOOK_LEAD_CAPTURE }}",
        "{{ secrets | attr('HOOK_LEAD_CAPTURE') }}",
        "{{ [secrets][0].HOOK_LEAD_CAPTURE }}",
    ],
)
def test_a_secret_chosen_at_run_time_or_passed_around_is_refused(
    flow, node, edge, errors, template
) -> None:
    doc = _call(flow, node, edge, headers={"X-Leak": template})
    assert errors(doc) == [f"$.nodes[0].params.headers.X-Leak [node step]: {INDIRECT}"]


def test_granted_secrets_validate(flow, node, edge, errors) -> None:
    doc = _call(
        flow,
        node,
        edge,
        auth_secret="FLOW_BILLING_TOKEN",
        headers={
            "X-Api-Key": "{{ secrets.FLOW_PARTNER_KEY }}",
            "X-Alt": "{{ secrets['FLOW_X1'] }}",
        },
    )
    assert errors(doc) == []


def test_every_problem_of_one_node_is_reported_at_once(flow, node, edge) -> None:
    doc = _call(
        flow,
        node,
        edge,
        auth_secret="HOOK_LEAD_CAPTURE",
        headers={"X-One": "{{ secrets.API_TOKEN }}", "X-Two": "{{ secrets.FLOW_OK }}"},
    )
    report = validate(doc)
    assert [(e.path, e.node_id) for e in report.errors] == [
        ("$.nodes[0].params.headers.X-One", "step"),
        ("$.nodes[0].params.auth_secret", "step"),
    ]


@pytest.mark.parametrize(
    ("name", "refused"),
    [
        ("FLOW_BILLING_TOKEN", False),
        ("FLOW_HOOK_LEAD_CAPTURE", False),  # an admin stored this copy for flows on purpose
        ("HOOK_LEAD_CAPTURE", True),
        ("API_TOKEN", True),
        ("FLOW_", True),
        ("flow_token", True),
        ("FLOW_../HOOK_X", True),  # names a template computes at run time are checked too
        ("FLOW_X" + "Y" * 60, True),  # longer than a secret name may be
    ],
)
def test_the_rule(name: str, refused: bool) -> None:
    assert (secret_refusal(name) is not None) is refused


def test_secret_uses_lists_names_in_order_once() -> None:
    text = "{{ secrets.FLOW_A }}-{{ secrets['FLOW_B'] }}-{{ secrets.FLOW_A }}-{{ contact.secrets }}"
    assert secret_uses(text) == ("FLOW_A", "FLOW_B")
    assert secret_uses("{{ secrets[contact.id] }}") == (None,)
    assert secret_uses("no template") == ()


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.flow.json")), ids=lambda p: p.name)
def test_templates_read_only_granted_secrets(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    for item in doc["nodes"]:
        if item["kind"] != "http_request":
            continue
        params = item["params"]
        names = [n for t in params.get("headers", {}).values() for n in secret_uses(t)]
        names += [params["auth_secret"]] if params.get("auth_secret") else []
        assert all(n is not None and secret_refusal(n) is None for n in names), names
    assert validate(doc).ok
