"""The condition builder (editor/conditions.py) in streamlit's AppTest: every template's
criteria load and come back unchanged; rows and groups are added and removed by button;
operators follow the field's type; the JSON view takes valid edits only; and the node
forms (editor/forms.py) draw criteria with it and email steps as a pick by label."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from flows.conditions import Criteria

TEMPLATES = Path(__file__).resolve().parents[2] / "flows" / "templates"
EMAILS = [("welcome", "Welcome email"), ("lesson_1", "Lesson 1"), ("lesson_2", "Lesson 2")]


def _template_criteria() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(TEMPLATES.glob("*.flow.json")):
        document = json.loads(path.read_text())
        for node in [document["trigger"], *document.get("nodes", [])]:
            criteria = (node.get("params") or {}).get("criteria")
            if isinstance(criteria, dict):
                found.append((f"{path.name.split('.')[0]}:{node['id']}", criteria))
    return found


CRITERIA = _template_criteria()


def builder_app(value, emails, custom_fields) -> None:
    import streamlit as st

    from editor.conditions import condition_builder

    st.session_state["out"] = condition_builder(
        "c", value, emails=[tuple(e) for e in emails], custom_fields=custom_fields
    )


def run(value: Any, custom_fields: list[str] | None = None) -> AppTest:
    at = AppTest.from_function(
        builder_app, args=(value, EMAILS, custom_fields or []), default_timeout=30
    )
    return at.run()


def test_the_templates_have_criteria_to_load() -> None:
    assert len(CRITERIA) >= 10
    assert any(c["groups"][0]["conditions"][0].get("node") for _, c in CRITERIA)


@pytest.mark.parametrize("criteria", [c for _, c in CRITERIA], ids=[n for n, _ in CRITERIA])
def test_each_templates_criteria_come_back_unchanged(criteria: dict[str, Any]) -> None:
    at = run(criteria)
    assert not at.exception
    assert at.session_state["out"] == criteria
    Criteria.model_validate(at.session_state["out"])
    at.run()  # and again after a rerun, from the widgets' own state
    assert at.session_state["out"] == criteria


def by_key(widgets: Any, end: str) -> Any:
    return next(w for w in widgets if w.key and w.key.endswith(end))


def test_engagement_rows_pick_the_email_by_its_label() -> None:
    clicked = {
        "match": "any",
        "groups": [{"match": "all", "conditions": [{"op": "clicked", "node": "lesson_1"}]}],
    }
    at = run(clicked)
    node = by_key(at.selectbox, ":node")
    assert node.options == ["Welcome email", "Lesson 1", "Lesson 2"]
    assert node.value == "lesson_1"
    node.select("welcome").run()
    assert at.session_state["out"]["groups"][0]["conditions"] == [
        {"op": "clicked", "node": "welcome"}
    ]
    op = next(s for s in at.selectbox if ":op:" in (s.key or ""))
    assert op.options == ["opened", "clicked", "did not open", "did not click"]


def test_operators_and_values_follow_the_fields_type() -> None:
    at = run(None)
    assert at.session_state["out"] is None
    at.button(key="c:start").click().run()
    assert at.session_state["out"] == {
        "match": "any",
        "groups": [{"match": "all", "conditions": [{"field": "tags", "op": "contains"}]}],
    }
    field = next(s for s in at.selectbox if (s.key or "").endswith(":field"))
    assert "First name" in field.options and "Deal: Stage" in field.options
    field.select("score").run()
    op = next(s for s in at.selectbox if ":op:score" in (s.key or ""))
    assert op.options[:6] == [
        "is",
        "is not",
        "is more than",
        "is at least",
        "is less than",
        "is at most",
    ]
    op.select("at_least").run()
    by_key(at.number_input, ":value:score:at_least").set_value(50).run()
    assert at.session_state["out"]["groups"][0]["conditions"] == [
        {"field": "score", "op": "at_least", "value": 50}
    ]
    field = next(s for s in at.selectbox if (s.key or "").endswith(":field"))
    field.select("lifecycle_stage").run()
    op = next(s for s in at.selectbox if ":op:lifecycle_stage" in (s.key or ""))
    op.select("is_one_of").run()
    stages = by_key(at.multiselect, ":value:lifecycle_stage:is_one_of")
    assert "marketing_qualified" in stages.options
    stages.select("lead").select("customer").run()
    assert at.session_state["out"]["groups"][0]["conditions"] == [
        {"field": "lifecycle_stage", "op": "is_one_of", "value": ["lead", "customer"]}
    ]
    Criteria.model_validate(at.session_state["out"])
    field = next(s for s in at.selectbox if (s.key or "").endswith(":field"))
    field.select("last_contacted_at").run()
    op = next(s for s in at.selectbox if ":op:last_contacted_at" in (s.key or ""))
    assert op.options == [
        "in the last N days",
        "more than N days ago",
        "in the next N days",
        "is set",
        "is not set",
    ]


def test_rows_and_groups_are_added_and_removed() -> None:
    vip = {
        "match": "any",
        "groups": [
            {"match": "all", "conditions": [{"field": "tags", "op": "contains", "value": "vip"}]}
        ],
    }
    at = run(vip, custom_fields=["plan"])
    next(b for b in at.button if (b.key or "").endswith(":add")).click().run()
    groups = at.session_state["out"]["groups"]
    assert groups[0]["conditions"][1] == {"field": "tags", "op": "contains"}
    field = [s for s in at.selectbox if (s.key or "").endswith(":field")][1]
    assert "Custom: plan" in field.options
    field.select("custom.plan").run()
    by_key(at.text_input, ":value:custom.plan:equals").input("pro").run()
    assert at.session_state["out"]["groups"][0] == {
        "match": "all",
        "conditions": [
            {"field": "tags", "op": "contains", "value": "vip"},
            {"field": "custom.plan", "op": "equals", "value": "pro"},
        ],
    }
    at.button(key="c:add_group").click().run()
    assert len(at.session_state["out"]["groups"]) == 2
    next(b for b in at.button if (b.key or "").endswith(":remove") and ":g" in b.key).click().run()
    assert len(at.session_state["out"]["groups"]) == 1
    removes = [b for b in at.button if (b.key or "").endswith(":remove") and ":r" in b.key]
    removes[0].click().run()
    assert at.session_state["out"] is None


def test_the_json_view_takes_valid_edits_and_refuses_others() -> None:
    criteria = CRITERIA[0][1]
    at = run(criteria)
    at.toggle(key="c:as_json").set_value(True).run()
    area = at.text_area[0]
    assert json.loads(area.value) == criteria
    area.input('{"groups": [{"conditions": [{"field": "score", "op": "at_least"}]}]}').run()
    assert at.session_state["out"] == criteria
    assert "needs a number" in at.error[0].value
    edited = {
        "match": "all",
        "groups": [
            {"match": "any", "conditions": [{"field": "score", "op": "at_most", "value": 9}]}
        ],
    }
    at.text_area[0].input(json.dumps(edited)).run()
    assert at.session_state["out"] == edited
    at.toggle(key="c:as_json").set_value(False).run()
    assert at.session_state["out"] == edited
    assert not at.exception


def form_app(kind: str, params: dict, emails: list, with_preview: bool) -> None:
    import streamlit as st

    from editor import forms
    from flows.nodes import REGISTRY

    def preview(criteria: dict) -> dict:
        st.session_state["asked"] = st.session_state.get("asked", 0) + 1
        return {"count": 2, "exact": True, "sample": [{"contact_id": "c1", "name": "Sara"}]}

    schema = REGISTRY[kind].Params.model_json_schema()
    st.session_state["out"] = forms.params_form(
        "n1",
        schema,
        params,
        [],
        emails=[tuple(e) for e in emails],
        preview=preview if with_preview else None,
    )


def form(kind: str, params: dict, *, with_preview: bool = False) -> AppTest:
    at = AppTest.from_function(
        form_app, args=(kind, params, EMAILS, with_preview), default_timeout=30
    )
    return at.run()


def test_wait_for_event_picks_the_email_step_by_label_not_by_id() -> None:
    params = {
        "event": "email_opened",
        "email_node": "lesson_2",
        "timeout": {"amount": 2, "unit": "days"},
    }
    at = form("wait_for_event", params)
    assert not at.exception
    assert not [t for t in at.text_input if t.key == "param:n1:email_node"]
    pick = at.selectbox(key="param:n1:email_node")
    assert pick.options == ["— any email —", "Welcome email", "Lesson 1", "Lesson 2"]
    assert pick.value == "lesson_2"
    pick.select("welcome").run()
    assert at.session_state["out"] == {**params, "email_node": "welcome"}


def test_criteria_params_get_the_builder_and_a_trigger_the_live_count() -> None:
    criteria = dict(CRITERIA[0][1])
    at = form("branch", {"criteria": criteria})
    assert not at.exception and not at.text_area  # no JSON box
    assert at.session_state["out"] == {"criteria": criteria}
    assert not [c for c in at.caption if "match now" in c.value]

    vip = {
        "match": "any",
        "groups": [
            {"match": "all", "conditions": [{"field": "tags", "op": "contains", "value": "vip"}]}
        ],
    }
    at = form("segment", {"criteria": vip}, with_preview=True)
    assert at.session_state["out"] == {"criteria": vip}
    assert "2 contacts match now" in [c.value for c in at.caption]
    assert "e.g. Sara" in [c.value for c in at.caption]
    at.run()
    assert at.session_state["asked"] == 1  # counted once per distinct criteria


def _template_nodes(*kinds: str) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path in sorted(TEMPLATES.glob("*.flow.json")):
        document = json.loads(path.read_text())
        for node in [document["trigger"], *document.get("nodes", [])]:
            if node["kind"] in kinds:
                name = f"{path.name.split('.')[0]}:{node['id']}"
                found.append((name, node["kind"], node.get("params") or {}))
    return found


STRUCTURED = _template_nodes("switch", "score_lead", "branch", "goal", "wait_for_event")


@pytest.mark.parametrize(
    ("kind", "params"), [n[1:] for n in STRUCTURED], ids=[n[0] for n in STRUCTURED]
)
def test_template_forms_with_lists_and_criteria_come_back_unchanged(
    kind: str, params: dict
) -> None:
    at = form(kind, params)
    assert not at.exception
    assert at.session_state["out"] == params
    assert not at.text_area  # no JSON box left for these kinds
    at.run()
    assert at.session_state["out"] == params


def test_switch_cases_are_added_removed_and_typed_without_json() -> None:
    params = {"field": "score", "cases": [{"name": "low", "values": [1, 2]}]}
    at = form("switch", params)
    at.button(key="param:n1:cases:add").click().run()
    new = next(t for t in at.text_input if t.key.endswith(":name") and not t.value)
    new.input("high").run()
    values = [t for t in at.text_input if t.key.endswith(":values")][1]
    values.input("90, 100, vip").run()
    assert at.session_state["out"]["cases"] == [
        {"name": "low", "values": [1, 2]},
        {"name": "high", "values": [90, 100, "vip"]},
    ]
    next(b for b in at.button if b.key.endswith(":remove")).click().run()
    assert at.session_state["out"]["cases"] == [{"name": "high", "values": [90, 100, "vip"]}]


@pytest.mark.usefixtures("engine")
def test_the_client_asks_the_api_how_many_contacts_match(live_api: str) -> None:
    from editor.client import Api, ApiError
    from functions.store.contacts import create_contact

    create_contact({"email": "preview-vip@example.com", "tags": {"preview-vip"}})
    api = Api(live_api)
    vip = {
        "groups": [{"conditions": [{"field": "tags", "op": "contains", "value": "preview-vip"}]}]
    }
    answer = api.preview_segment(vip)
    assert (answer["count"], answer["exact"]) == (1, True)
    assert answer["sample"][0]["name"] == "preview-vip@example.com"
    by_score = {"groups": [{"conditions": [{"field": "score", "op": "at_least", "value": 5}]}]}
    with pytest.raises(ApiError) as refused:
        api.preview_segment(by_score)
    assert refused.value.status == 422 and "add one of" in refused.value.message


def _every_operator() -> list[dict[str, Any]]:
    """A condition for each operator of each kind of field, with a value of its type."""
    from editor.conditions import OPS_BY_TYPE

    samples = {
        "first_name": ("string", "Sara"),
        "score": ("number", 40),
        "total_spent": ("number", 99.5),
        "renewal_date": ("date", 30),
        "email_consent": ("boolean", False),
        "tags": ("tags", "vip"),
        "lifecycle_stage": ("string", "lead"),
        "deal.amount": ("number", 1000),
        "custom.plan": (None, "pro"),
        "custom.seats": (None, 12),
    }
    found = []
    for field, (kind, sample) in samples.items():
        for op in OPS_BY_TYPE[kind]:
            condition: dict[str, Any] = {"field": field, "op": op}
            if op in ("is_set", "is_not_set"):
                pass
            elif op in ("is_one_of", "is_none_of"):
                condition["value"] = [sample, "other"] if isinstance(sample, str) else [sample, 7]
            elif op.endswith("_days") or op == "more_than_days_ago":
                condition["value"] = 14
            elif op in ("greater_than", "at_least", "less_than", "at_most"):
                condition["value"] = sample if not isinstance(sample, str) else 3
            else:
                condition["value"] = sample
            found.append(condition)
    return found


def test_every_operator_of_every_field_type_comes_back_unchanged() -> None:
    rows = _every_operator()
    criteria = {
        "match": "all",
        "groups": [
            {"match": "any", "conditions": rows[start : start + 40]}
            for start in range(0, len(rows), 40)
        ],
    }
    Criteria.model_validate(criteria)
    at = run(criteria, custom_fields=["plan"])
    assert not at.exception
    assert at.session_state["out"] == criteria
