"""The node kinds' declarations (registry, params models, outputs), conditions, durations
and SMS segment counting."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from flows.conditions import Condition
from flows.issues import issues_from
from flows.nodes import REGISTRY, get_kind, kinds_in
from flows.nodes.base import Output
from flows.params import Duration
from flows.sms import segments
from flows.validate import validate

CRITERIA = {"groups": [{"conditions": [{"field": "score", "op": "at_least", "value": 50}]}]}

# The smallest params each kind accepts. A new kind needs an entry here (see the test below).
EXAMPLES: dict[str, dict[str, Any]] = {
    # triggers
    "webhook": {},
    "record_created": {},
    "record_updated": {},
    "field_changed": {"field": "lifecycle_stage"},
    "stage_changed": {},
    "owner_assigned": {},
    "record_deleted": {},
    "schedule": {"expression": "rate(1 day)", "criteria": CRITERIA},
    "date_relative": {"field": "renewal_date"},
    "event": {"event": "form_submitted"},
    "segment": {"segment_id": "vip-customers"},
    # actions
    "send_email": {"subject": "Hi", "body": "Hello", "from_email": "hi@acme.com"},
    "send_sms": {"message": "Hi"},
    "send_notification": {"subject": "New lead", "message": "Call them"},
    "update_record": {"add_tags": ["engaged"]},
    "create_record": {"record": "note", "values": {"body": "Called"}},
    "create_task": {"title": "Call {{ contact.first_name }}"},
    "assign_owner": {"team_id": "sales"},
    "score_lead": {"rules": [{"criteria": CRITERIA, "points": 10}]},
    "http_request": {"url": "https://api.example.com/leads"},
    "enroll_in_flow": {"flow_id": "nurture"},
    "remove_from_flow": {"flow_id": "nurture"},
    # control
    "wait": {"duration": {"amount": 3}},
    "wait_until": {"at": "2030-01-01T09:00:00+00:00"},
    "wait_for_event": {"event": "purchase", "timeout": {"amount": 7}},
    "branch": {"criteria": CRITERIA},
    "switch": {"field": "country", "cases": [{"name": "europe", "values": ["DE"]}]},
    "ab_split": {"variants": [{"name": "a", "weight": 50}, {"name": "b", "weight": 50}]},
    "goal": {"criteria": CRITERIA},
    "end": {},
}

KINDS = sorted(REGISTRY)


def test_every_registered_kind_has_an_example():
    assert sorted(EXAMPLES) == KINDS


@pytest.mark.parametrize("name", KINDS)
def test_kind_declares_its_metadata(name):
    kind = REGISTRY[name]
    assert kind.name == name
    assert kind.display_name.strip()
    assert kind.category in ("trigger", "action", "control")
    assert kind.description.strip().endswith(".")
    assert get_kind(name) is kind


@pytest.mark.parametrize("name", KINDS)
def test_every_param_has_a_description(name):
    fields = REGISTRY[name].Params.model_fields
    undescribed = [f for f, info in fields.items() if not (info.description or "").strip()]
    assert undescribed == [], f"{name}: params without a description: {undescribed}"


@pytest.mark.parametrize("name", KINDS)
def test_the_example_params_validate(name):
    REGISTRY[name].Params.model_validate(EXAMPLES[name])


@pytest.mark.parametrize("name", KINDS)
def test_unknown_params_are_errors_with_a_suggestion(name):
    kind = REGISTRY[name]
    fields = list(kind.Params.model_fields)
    wrong = fields[0] + "x" if fields else "colour"
    with pytest.raises(ValidationError) as caught:
        kind.Params.model_validate({**EXAMPLES[name], wrong: 1})
    [issue] = issues_from(caught.value, "$.params", "n", fields)
    hint = f"; did you mean '{fields[0]}'?" if fields else ""
    assert str(issue) == f"$.params.{wrong} [node n]: unknown field '{wrong}'{hint}"


@pytest.mark.parametrize("name", [k.name for k in kinds_in("action") + kinds_in("control")])
def test_the_example_validates_as_a_step_of_a_flow(name):
    params = EXAMPLES[name]
    outputs = REGISTRY[name].outputs(REGISTRY[name].Params.model_validate(params))
    edges = [{"from": "start", "to": "step"}]
    leaving = [o for o in outputs if o.required] or outputs[:1]  # end: none
    edges += [{"from": "step", "to": "done", "output": o.name} for o in leaving]
    doc = {
        "schema_version": "1.0",
        "id": "example",
        "name": "Example",
        "trigger": {"id": "start", "kind": "webhook"},
        "nodes": [{"id": "step", "kind": name, "params": params}, {"id": "done", "kind": "end"}],
        "edges": edges,
    }
    if name == "end":
        doc["nodes"], doc["edges"] = doc["nodes"][:1], edges[:1]
    assert [str(e) for e in validate(doc).errors] == []


@pytest.mark.parametrize("name", [k.name for k in kinds_in("trigger")])
def test_the_example_validates_as_the_trigger_of_a_flow(name):
    doc = {
        "schema_version": "1.0",
        "id": "example",
        "name": "Example",
        "trigger": {"id": "start", "kind": name, "params": EXAMPLES[name]},
        "nodes": [{"id": "done", "kind": "end"}],
        "edges": [{"from": "start", "to": "done"}],
    }
    assert [str(e) for e in validate(doc).errors] == []


# --- outputs ---------------------------------------------------------------------------


def _outputs(name: str, params: dict[str, Any] | None = None) -> list[tuple[str, bool]]:
    kind = REGISTRY[name]
    parsed = kind.Params.model_validate(EXAMPLES[name] if params is None else params)
    return [(o.name, o.required) for o in kind.outputs(parsed)]


def test_branch_outputs_yes_and_no():
    assert _outputs("branch") == [("yes", True), ("no", True)]


def test_switch_outputs_its_cases_then_default():
    params = {
        "field": "country",
        "cases": [{"name": "europe", "values": ["DE", "FR"]}, {"name": "asia", "values": ["IR"]}],
    }
    assert _outputs("switch", params) == [("europe", True), ("asia", True), ("default", True)]


def test_ab_split_outputs_its_variants():
    params = {"variants": [{"name": "short", "weight": 30}, {"name": "long", "weight": 70}]}
    assert _outputs("ab_split", params) == [("short", True), ("long", True)]


def test_wait_for_event_outputs_happened_and_timed_out():
    assert _outputs("wait_for_event") == [("happened", True), ("timed_out", True)]


def test_end_has_no_outputs():
    assert _outputs("end") == []


@pytest.mark.parametrize("name", ["wait", "wait_until", "goal"])
def test_single_path_control_nodes_have_an_optional_next(name):
    assert _outputs(name) == [("next", False)]


@pytest.mark.parametrize("name", [k.name for k in kinds_in("action")])
def test_actions_have_optional_next_and_error(name):
    assert _outputs(name) == [("next", False), ("error", False)]


@pytest.mark.parametrize("name", [k.name for k in kinds_in("trigger")])
def test_triggers_have_a_required_next(name):
    assert _outputs(name) == [("next", True)]


def test_output_labels_name_the_variant_weight():
    kind = REGISTRY["ab_split"]
    params = kind.Params.model_validate(EXAMPLES["ab_split"])
    assert kind.outputs(params) == [Output("a", "a (50%)"), Output("b", "b (50%)")]


def test_the_categories_partition_the_registry():
    names = [k.name for c in ("trigger", "action", "control") for k in kinds_in(c)]
    assert sorted(names) == KINDS
    assert len(kinds_in("trigger")) == 11


# --- conditions ------------------------------------------------------------------------


def _condition_errors(condition: dict[str, Any]) -> list[str]:
    try:
        Condition.model_validate(condition)
    except ValidationError as exc:
        return [str(i) for i in issues_from(exc, "$.condition", None)]
    return []


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        # engagement: a node, no field needed
        ({"op": "opened"}, "'opened' needs 'node': the id of a send_email node"),
        ({"op": "not_clicked", "node": ""}, "'not_clicked' needs 'node': the id of a send_email node"),
        # every other op needs a field
        ({"op": "equals", "value": "x"}, "'equals' needs 'field'"),
        # presence: no value
        ({"field": "phone", "op": "is_set", "value": True}, "'is_set' takes no value; remove 'value'"),
        # numbers
        ({"field": "score", "op": "at_least", "value": "50"}, "'at_least' needs a number as 'value', got '50'"),
        ({"field": "score", "op": "greater_than", "value": True}, "'greater_than' needs a number as 'value', got True"),
        ({"field": "score", "op": "less_than"}, "'less_than' needs a number as 'value', got None"),
        # days: a number and a date field
        ({"field": "created_at", "op": "within_last_days", "value": "7"}, "'within_last_days' needs a number as 'value', got '7'"),
        ({"field": "score", "op": "more_than_days_ago", "value": 7}, "'more_than_days_ago' needs a date field; 'score' is a number field"),
        ({"field": "email", "op": "within_next_days", "value": 7}, "'within_next_days' needs a date field; 'email' is an email field"),
        # lists
        ({"field": "country", "op": "is_one_of", "value": []}, "'is_one_of' needs a non-empty list as 'value'"),
        ({"field": "country", "op": "is_none_of", "value": "DE"}, "'is_none_of' needs a non-empty list as 'value'"),
        # single values
        ({"field": "tags", "op": "contains"}, "'contains' needs a single text or number as 'value'"),
        ({"field": "tags", "op": "equals", "value": ["vip"]}, "'equals' needs a single text or number as 'value'"),
        ({"field": "city", "op": "starts_with", "value": {"a": 1}}, "'starts_with' needs a single text or number as 'value'"),
    ],
)  # fmt: skip
def test_condition_value_rules(condition, message):
    assert _condition_errors(condition) == [f"$.condition: {message}"]


@pytest.mark.parametrize(
    "condition",
    [
        {"op": "opened", "node": "welcome"},
        {"op": "clicked", "node": "welcome"},
        {"field": "phone", "op": "is_not_set"},
        {"field": "score", "op": "at_most", "value": 99.5},
        {"field": "last_email_opened_at", "op": "within_last_days", "value": 30},
        {"field": "renewal_date", "op": "within_next_days", "value": 30},
        {"field": "custom.trial_ends", "op": "within_next_days", "value": 3},  # type unknown
        {"field": "country", "op": "is_one_of", "value": ["DE", "FR"]},
        {"field": "tags", "op": "contains", "value": "vip"},
        {"field": "email_consent", "op": "equals", "value": True},
        {"field": "deal.amount", "op": "not_equals", "value": 0},
    ],
)
def test_well_formed_conditions(condition):
    assert _condition_errors(condition) == []


def test_an_unknown_op_lists_the_ops():
    [message] = _condition_errors({"field": "score", "op": "bigger", "value": 1})
    assert message.startswith("$.condition.op: 'bigger' is not allowed: input should be 'equals', ")
    assert message.endswith(", 'clicked' or 'not_clicked'")


def test_a_condition_reports_its_field_error_at_the_field():
    assert _condition_errors({"field": "scroe", "op": "is_set"}) == [
        "$.condition.field: unknown contact field 'scroe'; did you mean 'score'?"
    ]


# --- durations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "unit", "seconds"),
    [(0, "minutes", 0), (90, "minutes", 5400), (5, "hours", 18000), (3, "days", 259200), (2, "weeks", 1209600)],
)  # fmt: skip
def test_duration_seconds(amount, unit, seconds):
    duration = Duration(amount=amount, unit=unit)
    assert duration.seconds == seconds
    assert str(duration) == f"{amount} {unit}"


def test_a_duration_is_in_days_by_default():
    assert Duration.model_validate({"amount": 3}).seconds == 3 * 86400


def test_a_negative_duration_is_refused():
    with pytest.raises(ValidationError) as caught:
        Duration.model_validate({"amount": -1})
    assert [str(i) for i in issues_from(caught.value, "$.d", None)] == [
        "$.d.amount: input should be greater than or equal to 0, got -1"
    ]


# --- SMS segments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),  # multi-part messages carry 153 each
        ("a" * 307, 3),
        ("س" * 70, 1),  # Persian: UCS-2, 70 a part
        ("س" * 71, 2),
        ("سلام" * 33 + "ab", 2),  # one non-GSM character makes it all UCS-2
        ("€" * 80, 1),  # GSM-7's extension table: two characters each
        ("€" * 81, 2),
        ("😀" * 35, 1),  # an emoji is two UCS-2 units
        ("😀" * 36, 2),
    ],
    ids=lambda v: v if isinstance(v, int) else f"{v[:1]}x{len(v)}",
)
def test_sms_segments(text, parts):
    assert segments(text) == parts
