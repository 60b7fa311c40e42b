"""Properties over generated flows: every valid flow compiles to ASL that statelint accepts
and whose states all connect; no document, however broken, makes validate raise."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from statelint.linter import Linter

from flows.compiler import compile_flow
from flows.nodes import REGISTRY
from flows.validate import validate

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- a pool of valid params per kind (written by hand, not derived from the code under test) -

CRITERIA = [
    {"groups": [{"conditions": [{"field": "score", "op": "at_least", "value": 50}]}]},
    {
        "match": "all",
        "groups": [
            {"conditions": [{"field": "tags", "op": "contains", "value": "vip"}]},
            {
                "match": "any",
                "conditions": [
                    {"field": "country", "op": "is_one_of", "value": ["DE", "FR"]},
                    {"field": "email_consent", "op": "equals", "value": True},
                ],
            },
        ],
    },
    {"groups": [{"conditions": [{"field": "deal.stage", "op": "is_set"}]}]},
]

ACTIONS: dict[str, list[dict[str, Any]]] = {
    "update_record": [
        {"add_tags": ["vip"]},
        {"set": {"lead_status": "open"}},
        {"increment": {"score": 5}},
    ],
    "send_email": [
        {
            "subject": "Hi {{ contact.first_name }}",
            "body": "<p>Hello</p>",
            "from_email": "Acme <hi@acme.example>",
        },
        {
            "subject": "سلام",
            "body": "متن",
            "from_email": "hi@acme.example",
            "purpose": "transactional",
        },
    ],
    "send_sms": [{"message": "Hi {{ contact.first_name }}"}],
    "send_notification": [{"subject": "New lead", "message": "Call them"}],
    "create_task": [{"title": "Call"}, {"title": "Demo", "due_in": {"amount": 2, "unit": "hours"}}],
    "http_request": [{"url": "https://api.acme.example/hook"}],
    "enroll_in_flow": [{"flow_id": "nurture"}],
    "remove_from_flow": [{"flow_id": "nurture"}],
    "assign_owner": [{"team_id": "sales"}],
    "create_record": [{"record": "note", "values": {"body": "hi"}}],
}
CONTROL: dict[str, list[dict[str, Any]]] = {
    "wait": [
        {"duration": {"amount": 5, "unit": "minutes"}},
        {"duration": {"amount": 3, "unit": "days"}},
    ],
    "wait_until": [
        {"at": "2030-01-02T10:00:00+02:00"},
        {"field": "renewal_date", "offset": {"amount": 7, "unit": "days"}},
        {"window": {"days": ["mon", "wed"], "start": "09:00", "end": "17:00"}},
        {"preferred_hour": True},
    ],
    "wait_for_event": [
        {"event": "purchase", "timeout": {"amount": 3, "unit": "days"}},
        {
            "event": "custom",
            "custom_name": "demo_booked",
            "timeout": {"amount": 2, "unit": "hours"},
        },
    ],
    "branch": [{"criteria": c} for c in CRITERIA],
    "goal": [{"criteria": c} for c in CRITERIA],
    "switch": [
        {"field": "country", "cases": [{"name": "de", "values": ["DE", "AT"]}]},
        {
            "field": "deal.stage",
            "cases": [
                {"name": "won", "values": ["won"]},
                {"name": "lost", "values": ["lost"]},
                {"name": "big", "values": [1, 2.5]},
            ],
        },
    ],
    "ab_split": [
        {"variants": [{"name": "a", "weight": 50}, {"name": "b", "weight": 50}]},
        {
            "variants": [
                {"name": "short", "weight": 1},
                {"name": "long", "weight": 98},
                {"name": "none", "weight": 1},
            ]
        },
    ],
    "end": [{}],
}
POOL = {**ACTIONS, **CONTROL}
TRIGGERS = [
    {"kind": "webhook", "params": {}},
    {"kind": "record_created", "params": {"record": "deal"}},
    {"kind": "event", "params": {"event": "form_submitted"}},
]


def outputs(kind: str, params: dict[str, Any]) -> list[tuple[str, bool]]:
    """(output name, required) per kind, as docs/flow-format.md lists them."""
    if kind in ACTIONS:
        return [("next", False), ("error", False)]
    if kind in ("wait", "wait_until", "goal"):
        return [("next", False)]
    if kind == "branch":
        return [("yes", True), ("no", True)]
    if kind == "switch":
        return [(c["name"], True) for c in params["cases"]] + [("default", True)]
    if kind == "ab_split":
        return [(v["name"], True) for v in params["variants"]]
    if kind == "wait_for_event":
        return [("happened", True), ("timed_out", True)]
    assert kind == "end"
    return []


node_ids = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,15}", fullmatch=True)


@st.composite
def valid_flows(draw: st.DrawFn) -> dict[str, Any]:
    """A random DAG: node i may only lead to later nodes; the last node is an end."""
    count = draw(st.integers(1, 12))
    ids = draw(st.lists(node_ids, min_size=count + 2, max_size=count + 2, unique=True))
    trigger_id, steps = ids[0], ids[1:]
    kinds = [draw(st.sampled_from(sorted(POOL))) for _ in range(count)] + ["end"]
    nodes, edges = [], [{"from": trigger_id, "to": steps[0]}]
    for i, (node_id, kind) in enumerate(zip(steps, kinds, strict=True)):
        params = copy.deepcopy(draw(st.sampled_from(POOL[kind])))
        nodes.append({"id": node_id, "kind": kind, "label": kind, "params": params})
        later = steps[i + 1 :]
        for output, required in outputs(kind, params):
            # Mostly connect `next` (to the following node, to grow long paths), rarely `error`.
            connect = required or draw(st.integers(0, 9)) < (8 if output == "next" else 3)
            if later and connect:
                to = later[0] if draw(st.booleans()) else draw(st.sampled_from(later))
                found = {"from": node_id, "to": to}
                if output != "next" or draw(st.booleans()):
                    found["output"] = output
                edges.append(found)
    # Keep what the trigger reaches (an unreached node's edges go with it).
    reached, todo = set(), [steps[0]]
    while todo:
        current = todo.pop()
        if current not in reached:
            reached.add(current)
            todo += [e["to"] for e in edges if e["from"] == current]
    trigger = {"id": trigger_id, **copy.deepcopy(draw(st.sampled_from(TRIGGERS)))}
    return {
        "schema_version": "1.0",
        "id": "prop-flow",
        "name": "Generated",
        "trigger": trigger,
        "nodes": [n for n in nodes if n["id"] in reached],
        "edges": [e for e in edges if e["from"] == trigger_id or e["from"] in reached],
    }


def targets(state: dict[str, Any]) -> list[str]:
    found = [state["Next"]] if "Next" in state else []
    found += [c["Next"] for c in state.get("Choices", [])]
    found += [state["Default"]] if "Default" in state else []
    found += [c["Next"] for c in state.get("Catch", [])]
    return found


def test_the_params_pool_is_valid() -> None:
    for kind, pool in POOL.items():
        for params in pool:
            REGISTRY[kind].Params.model_validate(params)


@FAST
@given(valid_flows())
def test_valid_flows_validate_compile_and_lint(flow: dict[str, Any]) -> None:
    report = validate(flow)
    assert [str(e) for e in report.errors] == []
    compiled = compile_flow(flow)
    definition = compiled.definition
    assert Linter.validate(definition) == []
    states = definition["States"]
    for node in flow["nodes"]:
        assert node["id"] in states
    for name, state in states.items():
        for target in targets(state):
            assert target in states, f"{name} → {target}, which does not exist"
        assert ("End" in state) + ("Next" in state) <= 1, name
    reached, todo = set(), [definition["StartAt"]]
    while todo:
        current = todo.pop()
        if current not in reached:
            reached.add(current)
            todo += targets(states[current])
    assert reached == set(states), f"unreachable: {set(states) - reached}"
    # Same flow, same bytes, including through a text round trip.
    assert compile_flow(json.dumps(flow)).asl == compiled.asl
    stats = compiled.stats
    assert 1 <= stats.min_transitions <= stats.max_transitions <= len(states)
    assert stats.path_count >= 1


# --- junk ---------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
words = (
    st.text(max_size=12)
    | st.sampled_from(sorted(REGISTRY))
    | st.sampled_from(
        ["next", "error", "yes", "no", "default", "happened", "timed_out", "met", "a", "b", ""]
    )
)
flow_shaped = st.fixed_dictionaries(
    {},
    optional={
        "schema_version": st.sampled_from(["1.0", "2.0", 1]) | json_values,
        "id": words | json_values,
        "name": words | json_values,
        "trigger": st.fixed_dictionaries(
            {}, optional={"id": words, "kind": words | json_values, "params": json_values}
        )
        | json_values,
        "nodes": st.lists(
            st.fixed_dictionaries(
                {}, optional={"id": words, "kind": words | json_values, "params": json_values}
            )
            | json_values,
            max_size=4,
        )
        | json_values,
        "edges": st.lists(
            st.fixed_dictionaries(
                {}, optional={"from": words, "to": words, "output": words | json_values}
            ),
            max_size=4,
        )
        | json_values,
        "settings": json_values,
    },
)


def check_never_raises(doc: Any) -> None:
    report = validate(doc)
    for issue in [*report.errors, *report.warnings]:
        assert issue.path.startswith("$"), issue
        assert issue.message, issue
    if report.ok:  # whatever validates, compiles
        assert Linter.validate(compile_flow(doc).definition) == []


@FAST
@given(json_values)
def test_validate_never_raises_on_any_json(doc: Any) -> None:
    check_never_raises(doc)
    try:
        text = json.dumps(doc)
    except ValueError:
        return
    check_never_raises(text)


@FAST
@given(flow_shaped)
def test_validate_never_raises_on_flow_shaped_junk(doc: dict[str, Any]) -> None:
    check_never_raises(doc)
    check_never_raises(json.dumps(doc))


@FAST
@given(st.binary(max_size=64) | st.text(max_size=64))
def test_validate_never_raises_on_bytes_and_text(raw: bytes | str) -> None:
    check_never_raises(raw)


def _slots(value: Any, path: tuple = ()) -> list[tuple]:
    """Every (container path, key) in a JSON document."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((path, key))
            found += _slots(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((path, index))
            found += _slots(item, (*path, index))
    return found


@st.composite
def mutated_flows(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(draw(valid_flows()))
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(doc)
        if not slots:
            break
        path, key = draw(st.sampled_from(slots))
        parent = doc
        for part in path:
            parent = parent[part]
        action = draw(st.sampled_from(["delete", "junk", "word", "kind"]))
        if action == "delete":
            del parent[key]
        elif action == "junk":
            parent[key] = draw(json_values)
        elif action == "word":
            parent[key] = draw(words)
        else:  # another kind, same params: a mismatched params model
            found = doc.get("nodes")
            nodes = [n for n in found if isinstance(n, dict)] if isinstance(found, list) else []
            if nodes:
                draw(st.sampled_from(nodes))["kind"] = draw(st.sampled_from(sorted(REGISTRY)))
    return doc


@FAST
@given(mutated_flows())
def test_validate_never_raises_on_mutated_flows(doc: dict[str, Any]) -> None:
    check_never_raises(doc)
    check_never_raises(json.dumps(doc))
