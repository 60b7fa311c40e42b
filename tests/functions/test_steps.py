"""Step handlers through the Chalice app's Lambda functions, on moto."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client

from functions.app import app
from functions.errors import CrmError
from functions.store import contacts
from functions.store.models import SideEffect
from tests.functions.step_payloads import payload


@pytest.fixture
def client(store):
    with Client(app) as chalice_client:
        yield chalice_client


@pytest.fixture
def sara(store):
    return contacts.create_contact(
        {"email": "sara@example.com", "first_name": "سارا", "score": 10, "tags": {"lead"}}
    )


def invoke(client: Client, function: str, event: dict[str, Any]) -> Any:
    return client.lambda_.invoke(function, event).payload


def error_of(client: Client, function: str, event: dict[str, Any]) -> tuple[str, str]:
    """(error name Step Functions would see, message): the runtime reports the class name."""
    with pytest.raises(CrmError) as caught:
        client.lambda_.invoke(function, event)
    return type(caught.value).__name__, str(caught.value)


def test_update_record_sets_increments_tags_and_stage(client, sara) -> None:
    params = {
        "set": {"source": "{{ trigger.utm }}", "custom.plan": "pro"},
        "increment": {"score": 15},
        "add_tags": ["VIP"],
        "remove_tags": ["lead"],
        "lifecycle_stage": "customer",
    }
    result = invoke(
        client,
        "update_record",
        payload("update_record", params, sara.contact_id, trigger={"utm": "newsletter"}),
    )
    contact = contacts.get_contact(sara.contact_id)
    assert result["updated"] == ["custom.plan", "lifecycle_stage", "score", "source"]
    assert (contact.source, contact.custom["plan"], contact.score) == ("newsletter", "pro", 25)
    assert contact.tags == {"vip"}
    assert contact.lifecycle_stage == "customer"
    items, _ = contacts.timeline(sara.contact_id)
    assert [(a.kind, a.data["to"]) for a in items] == [("stage_changed", "customer")]


def test_a_retried_update_record_increments_once(client, sara) -> None:
    event = payload("update_record", {"increment": {"score": 5}}, sara.contact_id)
    first = invoke(client, "update_record", event)
    second = invoke(client, "update_record", event)  # Lambda/Step Functions retry
    assert first == second
    assert contacts.get_contact(sara.contact_id).score == 15
    assert SideEffect.get(f"{event['execution']}#{event['state']}").status == "done"


def test_a_bad_payload_names_the_field(client, sara) -> None:
    name, message = error_of(
        client,
        "update_record",
        payload("update_record", {"increment": {"score": "lots"}}, sara.contact_id),
    )
    assert name == "Crm.InvalidParams"
    assert message.startswith("params.increment.score [node step1]: ")


def test_unknown_contact_is_a_named_error(client, store) -> None:
    name, message = error_of(
        client, "update_record", payload("update_record", {"add_tags": ["x"]}, "c_missing")
    )
    assert (name, message) == ("Crm.ContactNotFound", "no contact has id 'c_missing'")


CRITERIA_HOT = {"groups": [{"conditions": [{"field": "score", "op": "at_least", "value": 50}]}]}


@pytest.mark.parametrize(
    ("kind", "params", "score", "output"),
    [
        ("branch", {"criteria": CRITERIA_HOT}, 60, "yes"),
        ("branch", {"criteria": CRITERIA_HOT}, 10, "no"),
        ("goal", {"criteria": CRITERIA_HOT}, 60, "met"),
        ("goal", {"criteria": CRITERIA_HOT}, 10, "next"),
        ("switch", {"field": "country", "cases": [{"name": "iran", "values": ["IR"]}]}, 0, "iran"),
    ],
)
def test_evaluate_reads_the_contact_fresh(client, store, kind, params, score, output) -> None:
    contact = contacts.create_contact({"email": "a@example.com", "score": score, "country": "IR"})
    event = payload(kind, params, contact.contact_id)
    assert invoke(client, "evaluate", event) == {"output": output}


def test_every_lambda_a_compiled_template_calls_is_registered_and_has_a_handler() -> None:
    from pathlib import Path

    from flows import compile_flow
    from functions import steps
    from functions.app import app as chalice_app

    called = set()
    for path in sorted(Path("flows/templates").glob("*.flow.json")):
        called |= set(compile_flow(path.read_text()).handlers)
    registered = {function.name for function in chalice_app.pure_lambda_functions}
    assert registered == set(steps.HANDLERS)
    assert called <= registered, f"templates call unregistered Lambdas: {called - registered}"
    assert {"resolve_wait", "finish", "wait_for_event", "enroll_in_flow"} <= called
