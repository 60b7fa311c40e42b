"""The compiler: flow JSON in, deterministic ASL (JSONPath) out, with the shapes the runtime
relies on — retries, catches, sinks, placeholders, waits, callbacks, routes, A/B buckets,
path statistics and cost estimates."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from typing import Any

import pytest

from flows import memo
from flows.compiler import END_STATE, FAIL_STATE, FAILED_STATE, compile_flow
from flows.contract import ContractError, bucket, execution_input
from flows.cost import estimate_dict
from flows.errors import FlowInvalid
from flows.nodes.base import RETRY

# --- building flows -------------------------------------------------------------------------

CRITERIA = {"groups": [{"conditions": [{"field": "score", "op": "at_least", "value": 50}]}]}
CUSTOMER = {
    "groups": [{"conditions": [{"field": "lifecycle_stage", "op": "equals", "value": "customer"}]}]
}
EMAIL = {
    "subject": "Hi {{ contact.first_name }}",
    "body": "<p>Hello</p>",
    "from_email": "Acme <hi@acme.example>",
}


def node(node_id: str, kind: str, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "params": params}


def edge(source: str, to: str, output: str | None = None) -> dict[str, Any]:
    found = {"from": source, "to": to}
    if output is not None:
        found["output"] = output
    return found


def make_flow(nodes: list[dict], edges: list[dict], flow_id: str = "test-flow") -> dict:
    return {
        "schema_version": "1.0",
        "id": flow_id,
        "name": "Test flow",
        "trigger": {"id": "start", "kind": "webhook"},
        "nodes": nodes,
        "edges": [edge("start", nodes[0]["id"]), *edges],
    }


def states_of(flow: dict) -> dict[str, dict[str, Any]]:
    return compile_flow(flow).definition["States"]


def tasks(definition: dict) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in definition["States"].items() if s["Type"] == "Task"}


def is_finish(state: dict) -> bool:
    return state["Parameters"]["Payload"]["kind"] == "finish"


# One flow that uses every control kind and an action with and without an error output.
RICH = make_flow(
    [
        node("tag", "update_record", add_tags=["new"]),
        node("pause", "wait", duration={"amount": 2, "unit": "hours"}),
        node("until", "wait_until", at="2030-01-02T10:00:00+02:00"),
        node("window", "wait_until", window={"days": ["mon", "tue"]}),
        node("renewal", "wait_until", field="renewal_date", offset={"amount": 7, "unit": "days"}),
        node("listen", "wait_for_event", event="purchase", timeout={"amount": 3, "unit": "days"}),
        node("vip", "branch", criteria=CRITERIA),
        node("won", "goal", criteria=CUSTOMER),
        node(
            "split", "ab_split", variants=[{"name": "a", "weight": 30}, {"name": "b", "weight": 70}]
        ),
        node(
            "by_country",
            "switch",
            field="country",
            cases=[
                {"name": "de", "values": ["DE", "AT"]},
                {"name": "fr", "values": ["FR"]},
            ],
        ),
        node("mail", "send_email", **EMAIL),
        node("hook", "http_request", url="https://api.acme.example/hook"),
        node("apology", "send_sms", message="Sorry, something went wrong"),
        node("bye", "end"),
    ],
    [
        edge("tag", "pause"),
        edge("pause", "until"),
        edge("until", "window"),
        edge("window", "renewal"),
        edge("renewal", "listen"),
        edge("listen", "vip", "happened"),
        edge("listen", "bye", "timed_out"),
        edge("vip", "won", "yes"),
        edge("vip", "split", "no"),
        edge("split", "by_country", "a"),
        edge("split", "bye", "b"),
        edge("by_country", "mail", "de"),
        edge("by_country", "hook", "fr"),
        edge("by_country", "bye", "default"),
        edge("hook", "apology", "error"),
        edge("hook", "bye"),
    ],
)


@pytest.fixture(scope="module")
def rich() -> Any:
    return compile_flow(RICH)


# --- determinism ----------------------------------------------------------------------------


def test_compiling_twice_gives_byte_identical_asl() -> None:
    first = compile_flow(RICH).asl
    assert compile_flow(RICH).asl == first
    assert compile_flow(json.dumps(RICH)).asl == first
    assert compile_flow(json.dumps(RICH).encode()).asl == first


def test_a_reserialised_copy_compiles_to_the_same_bytes(rich) -> None:
    assert compile_flow(json.loads(json.dumps(RICH))).asl == rich.asl
    # The parsed model written back out (defaults filled in) still compiles the same.
    assert compile_flow(rich.flow.to_json()).asl == rich.asl


def test_cold_and_warm_compilations_agree(rich) -> None:
    warm = compile_flow(RICH).asl
    memo.clear()
    assert compile_flow(RICH).asl == warm == rich.asl


def test_key_order_in_params_does_not_change_the_definition(rich) -> None:
    shuffled = json.loads(json.dumps(RICH, sort_keys=True))
    assert json.loads(compile_flow(shuffled).asl) == json.loads(rich.asl)


def test_asl_and_compact_asl_are_the_same_document(rich) -> None:
    assert json.loads(rich.asl_compact) == json.loads(rich.asl) == rich.definition
    assert rich.asl.endswith("}\n")


# --- names, start, sinks ----------------------------------------------------------------------


def test_node_ids_become_state_names_and_start_at_is_the_triggers_successor(rich) -> None:
    states = rich.definition["States"]
    assert rich.definition["StartAt"] == "tag"
    for n in RICH["nodes"]:
        assert n["id"] in states
    assert "start" not in states  # the trigger emits no state
    synthetic = [s for s in states if s not in {n["id"] for n in RICH["nodes"]}]
    assert all(s.startswith("crmflow.") or "." in s for s in synthetic), synthetic


def test_every_task_has_the_standard_retry_with_backoff_and_jitter(rich) -> None:
    found = tasks(rich.definition)
    assert len(found) >= 10
    for name, state in found.items():
        assert state["Retry"] == RETRY, name
        (rule,) = state["Retry"]
        assert rule["BackoffRate"] > 1
        assert rule["MaxAttempts"] >= 2
        assert rule["MaxDelaySeconds"] >= rule["IntervalSeconds"]
        assert rule["JitterStrategy"] == "FULL"
        assert "States.ALL" not in rule["ErrorEquals"]  # never retry our own decisions
        assert "Crm.Transient" in rule["ErrorEquals"]


def test_every_working_task_catches_everything_into_the_recorded_failure(rich) -> None:
    for name, state in tasks(rich.definition).items():
        if is_finish(state):
            assert "Catch" not in state, f"{name}: a finish state must not catch into itself"
            continue
        last = state["Catch"][-1]
        assert last["ErrorEquals"] == ["States.ALL"], name
        assert last["ResultPath"] == "$.error", name
        expected = "apology" if name == "hook" else FAILED_STATE
        assert last["Next"] == expected, name


def test_the_error_output_replaces_the_recorded_failure_when_connected() -> None:
    flow = make_flow(
        [
            node("hook", "http_request", url="https://api.acme.example/hook"),
            node("alert", "send_notification", subject="Hook failed", message="See history"),
        ],
        [edge("hook", "alert", "error")],
    )
    states = states_of(flow)
    assert states["hook"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "alert"}
    ]
    assert states["hook"]["Next"] == END_STATE  # unconnected next
    assert states["alert"]["Catch"][-1]["Next"] == FAILED_STATE


def test_recorded_failure_then_fail_state(rich) -> None:
    states = rich.definition["States"]
    failed = states[FAILED_STATE]
    assert failed["Type"] == "Task"
    assert failed["Next"] == FAIL_STATE
    assert failed["Parameters"]["FunctionName"] == "${FnFinish}"
    payload = failed["Parameters"]["Payload"]
    assert payload["reason"] == "failed"
    assert payload["error.$"] == "$.error"
    fail = states[FAIL_STATE]
    assert fail["Type"] == "Fail"
    assert fail["Error"] == "Crm.FlowFailed"
    assert fail["Cause"]


def test_unconnected_next_leads_to_the_shared_end(rich) -> None:
    states = rich.definition["States"]
    assert states["mail"]["Next"] == END_STATE
    assert states["won.route"]["Default"] == END_STATE
    end = states[END_STATE]
    assert end["Type"] == "Task"
    assert end["End"] is True
    assert "Next" not in end
    assert end["Parameters"]["Payload"]["reason"] == "completed"
    assert end["Parameters"]["FunctionName"] == "${FnFinish}"


def test_sinks_are_emitted_only_when_used() -> None:
    flow = make_flow(
        [node("pause", "wait", duration={"amount": 1, "unit": "days"}), node("bye", "end")],
        [edge("pause", "bye")],
    )
    assert set(states_of(flow)) == {"pause", "bye"}


def test_end_node_is_a_terminal_finish_task() -> None:
    flow = make_flow([node("bye", "end")], [])
    bye = states_of(flow)["bye"]
    assert bye["End"] is True
    assert bye["Parameters"]["Payload"]["reason"] == "ended"


# --- Lambda placeholders --------------------------------------------------------------------


def test_lambda_arns_are_placeholders_and_substitution_keys_list_exactly_those_used(rich) -> None:
    used = set()
    for name, state in tasks(rich.definition).items():
        function = state["Parameters"]["FunctionName"]
        match = re.fullmatch(r"\$\{(Fn[A-Z][A-Za-z]*)\}", function)
        assert match, (name, function)
        used.add(match.group(1))
        assert state["Resource"].startswith("arn:aws:states:::lambda:invoke")
    assert "arn:aws:lambda" not in rich.asl
    assert set(rich.substitution_keys) == used
    assert list(rich.substitution_keys) == sorted(rich.substitution_keys)
    assert set(rich.substitution_keys) == {
        "FnUpdateRecord",
        "FnResolveWait",
        "FnWaitForEvent",
        "FnEvaluate",
        "FnFinish",
        "FnSendEmail",
        "FnHttpRequest",
        "FnSendSms",
    }


def test_a_flow_of_waits_only_needs_no_step_lambdas_but_finish() -> None:
    compiled = compile_flow(
        make_flow([node("pause", "wait", duration={"amount": 5, "unit": "minutes"})], [])
    )
    assert compiled.substitution_keys == ("FnFinish",)


# --- waits ------------------------------------------------------------------------------------


def test_wait_is_a_wait_state_in_seconds(rich) -> None:
    assert rich.definition["States"]["pause"] == {"Type": "Wait", "Seconds": 7200, "Next": "until"}


@pytest.mark.parametrize(
    ("at", "stamp"),
    [
        ("2030-01-02T10:00:00+02:00", "2030-01-02T08:00:00Z"),
        ("2030-01-01T00:30:00-05:00", "2030-01-01T05:30:00Z"),
        ("2029-12-31T23:59:59Z", "2029-12-31T23:59:59Z"),
    ],
)
def test_wait_until_a_fixed_moment_is_a_utc_timestamp(at: str, stamp: str) -> None:
    flow = make_flow([node("until", "wait_until", at=at)], [])
    states = states_of(flow)
    assert states["until"] == {"Type": "Wait", "Timestamp": stamp, "Next": END_STATE}
    assert "until.wait" not in states


@pytest.mark.parametrize("name", ["window", "renewal"])
def test_wait_until_a_field_or_window_resolves_then_waits_on_the_timestamp(rich, name) -> None:
    states = rich.definition["States"]
    task = states[name]
    assert task["Type"] == "Task"
    assert task["Parameters"]["FunctionName"] == "${FnResolveWait}"
    assert task["Parameters"]["Payload"]["kind"] == "wait_until"
    assert task["Next"] == f"{name}.wait"
    assert task["Catch"][-1]["Next"] == FAILED_STATE
    wait = states[f"{name}.wait"]
    assert wait["Type"] == "Wait"
    assert wait["TimestampPath"] == "$.last.result.until"
    assert "Seconds" not in wait and "Timestamp" not in wait
    assert states["window.wait"]["Next"] == "renewal"
    assert states["renewal.wait"]["Next"] == "listen"


def test_wait_for_event_is_a_callback_task_with_timeout(rich) -> None:
    state = rich.definition["States"]["listen"]
    assert state["Type"] == "Task"
    assert state["Resource"].endswith(".waitForTaskToken")
    assert state["TimeoutSeconds"] == 3 * 86400
    assert state["Parameters"]["FunctionName"] == "${FnWaitForEvent}"
    assert state["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    timeout, everything = state["Catch"]  # the timeout must come before States.ALL
    assert timeout["ErrorEquals"] == ["States.Timeout"]
    assert timeout["Next"] == "bye"
    assert everything["ErrorEquals"] == ["States.ALL"]
    assert everything["Next"] == FAILED_STATE
    assert state["Next"] == "vip"


# --- decisions ------------------------------------------------------------------------------


def test_branch_evaluates_then_routes_on_the_answer(rich) -> None:
    states = rich.definition["States"]
    task = states["vip"]
    assert task["Parameters"]["FunctionName"] == "${FnEvaluate}"
    assert task["Parameters"]["Payload"]["params"] == {"criteria": CRITERIA}
    assert task["Next"] == "vip.route"
    assert states["vip.route"] == {
        "Type": "Choice",
        "Choices": [{"Variable": "$.last.result.output", "StringEquals": "yes", "Next": "won"}],
        "Default": "split",
    }


def test_switch_routes_each_case_in_order_with_a_default(rich) -> None:
    states = rich.definition["States"]
    assert states["by_country"]["Next"] == "by_country.route"
    route = states["by_country.route"]
    assert route["Type"] == "Choice"
    assert [(c["Variable"], c["StringEquals"], c["Next"]) for c in route["Choices"]] == [
        ("$.last.result.output", "de", "mail"),
        ("$.last.result.output", "fr", "hook"),
    ]
    assert route["Default"] == "bye"


def test_goal_leaves_by_a_met_finish_state(rich) -> None:
    states = rich.definition["States"]
    assert states["won"]["Next"] == "won.route"
    route = states["won.route"]
    assert route["Choices"] == [
        {"Variable": "$.last.result.output", "StringEquals": "met", "Next": "won.met"}
    ]
    met = states["won.met"]
    assert met["Type"] == "Task"
    assert met["End"] is True
    assert met["Parameters"]["Payload"]["reason"] == "goal"
    assert met["Parameters"]["Payload"]["node"] == "won"


def test_goal_with_a_connected_next_continues_there() -> None:
    flow = make_flow(
        [node("won", "goal", criteria=CUSTOMER), node("nudge", "send_sms", message="Still there?")],
        [edge("won", "nudge")],
    )
    assert states_of(flow)["won.route"]["Default"] == "nudge"


# --- A/B split -------------------------------------------------------------------------------


def _lookup(data: dict, path: str) -> Any:
    assert path.startswith("$.")
    for part in path[2:].split("."):
        data = data[part]
    return data


_NUMERIC = {
    "NumericEquals": lambda a, b: a == b,
    "NumericLessThan": lambda a, b: a < b,
    "NumericLessThanEquals": lambda a, b: a <= b,
    "NumericGreaterThan": lambda a, b: a > b,
    "NumericGreaterThanEquals": lambda a, b: a >= b,
    "StringEquals": lambda a, b: a == b,
}


def _matches(rule: dict, data: dict) -> bool:
    """Step Functions' Choice rule semantics, for the operators the compiler uses."""
    if "And" in rule:
        return all(_matches(r, data) for r in rule["And"])
    if "Or" in rule:
        return any(_matches(r, data) for r in rule["Or"])
    if "Not" in rule:
        return not _matches(rule["Not"], data)
    ops = [op for op in _NUMERIC if op in rule]
    assert len(ops) == 1, f"unsupported rule {rule}"
    return _NUMERIC[ops[0]](_lookup(data, rule["Variable"]), rule[ops[0]])


def route(choice: dict, data: dict) -> str:
    assert choice["Type"] == "Choice"
    for rule in choice["Choices"]:
        if _matches(rule, data):
            return rule["Next"]
    return choice["Default"]


def split_flow(split_id: str, weights: list[int]) -> dict:
    names = [f"v{i}" for i in range(len(weights))]
    variants = [{"name": n, "weight": w} for n, w in zip(names, weights, strict=True)]
    ends = [node(f"to_{n}", "end") for n in names]
    return make_flow(
        [node(split_id, "ab_split", variants=variants), *ends],
        [edge(split_id, f"to_{n}", n) for n in names],
    )


def assignment(split_id: str, weights: list[int]) -> list[str]:
    """The variant each bucket 0..99 goes to, by running the compiled Choice."""
    choice = states_of(split_flow(split_id, weights))[split_id]
    return [route(choice, {"enrollment": {"bucket": b}}).removeprefix("to_") for b in range(100)]


WEIGHT_SETS = [
    [50, 50],
    [1, 99],
    [99, 1],
    [30, 70],
    [33, 33, 34],
    [25, 25, 25, 25],
    [1, 1, 98],
    [10] * 10,
    [5, 10, 15, 20, 50],
]


@pytest.mark.parametrize("weights", WEIGHT_SETS, ids=lambda w: "-".join(map(str, w)))
@pytest.mark.parametrize("split_id", ["split", "subject_test", "x", "Offer-B"])
def test_each_variant_gets_exactly_its_weight_in_buckets(split_id: str, weights: list[int]) -> None:
    counts = Counter(assignment(split_id, weights))
    assert counts == {f"v{i}": w for i, w in enumerate(weights)}


def test_a_split_has_no_lambda_and_reads_only_the_bucket() -> None:
    state = states_of(split_flow("split", [30, 70]))["split"]
    text = json.dumps(state)
    assert set(re.findall(r'"Variable": "([^"]+)"', text)) == {"$.enrollment.bucket"}
    assert len(state["Choices"]) == 1  # the last variant is the Default


def test_splits_with_different_ids_do_not_assign_alike() -> None:
    first = assignment("subject_test", [50, 50])
    second = assignment("offer_test", [50, 50])
    assert first != second
    # And over several ids, the splits are not all the same rotation.
    rotations = {tuple(assignment(f"split{i}", [50, 50])) for i in range(6)}
    assert len(rotations) >= 3


def test_contacts_split_by_weight_end_to_end() -> None:
    choice = states_of(split_flow("split", [30, 70]))["split"]
    picks = Counter(
        route(
            choice,
            execution_input(
                enrollment_id=f"e{i}", flow_id="test-flow", flow_version=1, contact_id=f"c{i}"
            ),
        )
        for i in range(10_000)
    )
    assert 2_700 <= picks["to_v0"] <= 3_300
    assert picks["to_v0"] + picks["to_v1"] == 10_000


# --- the execution contract --------------------------------------------------------------------


def test_bucket_is_stable_and_salted_by_flow() -> None:
    # Pinned: changing the hash would move live contacts to other variants mid-experiment.
    assert [bucket("welcome", f"contact-{i}") for i in range(5)] == [4, 90, 34, 85, 25]
    # The flow id salts the hash: one contact is not in the same half of every experiment.
    same = sum(bucket("welcome", f"c{i}") == bucket("other", f"c{i}") for i in range(1000))
    assert same < 50


def test_bucket_is_roughly_uniform() -> None:
    counts = Counter(bucket("drip-campaign", f"contact-{i}") for i in range(10_000))
    assert set(counts) == set(range(100))
    assert min(counts.values()) >= 50
    assert max(counts.values()) <= 150


def test_execution_input_carries_the_bucket() -> None:
    doc = execution_input(
        enrollment_id="enr-1",
        flow_id="welcome",
        flow_version=3,
        contact_id="contact-1",
        trigger={"form": "demo"},
    )
    assert doc == {
        "enrollment": {
            "id": "enr-1",
            "flow_id": "welcome",
            "flow_version": 3,
            "contact_id": "contact-1",
            "bucket": bucket("welcome", "contact-1"),
        },
        "trigger": {"form": "demo"},
    }


def test_execution_input_refuses_trigger_data_over_8_kb() -> None:
    fine = {"blob": "x" * 8000}
    assert (
        execution_input(
            enrollment_id="e", flow_id="f", flow_version=1, contact_id="c", trigger=fine
        )["trigger"]
        == fine
    )
    with pytest.raises(ContractError, match=r"trigger data is 9,\d{3} bytes.*8,192") as info:
        execution_input(
            enrollment_id="e",
            flow_id="f",
            flow_version=1,
            contact_id="c",
            trigger={"blob": "x" * 9000},
        )
    assert "store large payloads on the record" in str(info.value)
    # Bytes, not characters: 3,000 Persian letters are 6,000 bytes.
    with pytest.raises(ContractError):
        execution_input(
            enrollment_id="e",
            flow_id="f",
            flow_version=1,
            contact_id="c",
            trigger={"note": "س" * 4500},
        )


# --- the state document stays small ----------------------------------------------------------

ALLOWED_PAYLOAD_KEYS = {
    "node",
    "kind",
    "params",
    "enrollment",
    "trigger",
    "execution",
    "state",
    "attempt",
    "task_token",
    "reason",
    "error",
}
ALLOWED_PATHS = {
    "$.enrollment",
    "$.trigger",
    "$.error",
    "$$.Execution.Id",
    "$$.State.Name",
    "$$.State.RetryCount",
    "$$.Task.Token",
}


def test_the_asl_never_copies_contact_data_into_the_state(rich) -> None:
    for name, state in rich.definition["States"].items():
        assert "InputPath" not in state and "OutputPath" not in state, name
        if state["Type"] == "Task":
            payload = state["Parameters"]["Payload"]
            assert {k.removesuffix(".$") for k in payload} <= ALLOWED_PAYLOAD_KEYS, name
            assert {v for k, v in payload.items() if k.endswith(".$")} <= ALLOWED_PATHS, name
            assert set(state["Parameters"]) == {"FunctionName", "Payload"}, name
            assert state["ResultPath"] == "$.last", name  # replaced, never accumulated
            assert state["ResultSelector"] in ({"result.$": "$.Payload"}, {"result.$": "$"})
            for catch in state.get("Catch", []):
                assert catch["ResultPath"] in ("$.error", None), name
        if state["Type"] == "Choice":
            variables = set(re.findall(r'"Variable": "([^"]+)"', json.dumps(state)))
            assert variables <= {"$.last.result.output", "$.enrollment.bucket"}, name


def _json_paths(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value} if value.startswith("$") and not value.startswith("${") else set()
    if isinstance(value, dict):
        return set().union(*(_json_paths(v) for v in value.values()), set())
    if isinstance(value, list):
        return set().union(*(_json_paths(v) for v in value), set())
    return set()


def test_every_path_in_the_asl_reads_the_small_contract(rich) -> None:
    reads = _json_paths(rich.definition["States"])
    assert reads == ALLOWED_PATHS | {
        "$.last",
        "$.last.result.output",
        "$.last.result.until",
        "$.enrollment.bucket",
        "$.Payload",
        "$",
    }


# --- path statistics and cost ----------------------------------------------------------------

# start → a → b (branch) —yes→ c → e (end)
#                       —no→  d (send_email) → w (wait) → e
DIAMOND = make_flow(
    [
        node("a", "update_record", add_tags=["x"]),
        node("b", "branch", criteria=CRITERIA),
        node("c", "update_record", add_tags=["hot"]),
        node("d", "send_email", **EMAIL),
        node("w", "wait", duration={"amount": 1, "unit": "days"}),
        node("e", "end"),
    ],
    [
        edge("a", "b"),
        edge("b", "c", "yes"),
        edge("b", "d", "no"),
        edge("c", "e"),
        edge("d", "w"),
        edge("w", "e"),
    ],
)


def test_path_stats_of_a_diamond_by_hand() -> None:
    stats = compile_flow(DIAMOND).stats
    # States: a b b.route c d w e + crmflow.failed + crmflow.fail (error paths not counted).
    assert stats.states == 9
    assert stats.path_count == 2
    assert stats.min_transitions == 5  # a b b.route c e
    assert stats.max_transitions == 6  # a b b.route d w e
    assert sorted(stats.paths) == [
        ("a", "b", "b.route", "c", "e"),
        ("a", "b", "b.route", "d", "w", "e"),
    ]
    # update_record 1/1/3, evaluate 1/2/0, send_email 1/2/3 + 1 email, end 1/0/2, wait nothing.
    assert stats.min_use == {
        "lambda_calls": 4,
        "ddb_reads": 4,
        "ddb_writes": 8,
        "emails": 0,
        "sms": 0,
    }
    assert stats.max_use == {
        "lambda_calls": 4,
        "ddb_reads": 5,
        "ddb_writes": 8,
        "emails": 1,
        "sms": 0,
    }
    as_dict = stats.to_dict()
    assert as_dict["transitions"] == {"min": 5, "max": 6}
    assert as_dict["per_contact"]["emails"] == {"min": 0, "max": 1}


def test_paths_that_join_are_counted_per_route() -> None:
    # Three outputs of a switch into one node, then two ways on: 2 distinct paths, since
    # two outputs into the same state are one route.
    flow = make_flow(
        [
            node(
                "sw",
                "switch",
                field="country",
                cases=[{"name": "de", "values": ["DE"]}, {"name": "fr", "values": ["FR"]}],
            ),
            node("tag", "update_record", add_tags=["eu"]),
            node("other", "send_sms", message="Hi"),
        ],
        [
            edge("sw", "tag", "de"),
            edge("sw", "tag", "fr"),
            edge("sw", "other", "default"),
            edge("tag", "other"),
        ],
    )
    stats = compile_flow(flow).stats
    assert stats.path_count == 2
    assert (stats.min_transitions, stats.max_transitions) == (4, 5)  # sw sw.route [tag] other end


def test_a_fixed_wait_until_costs_no_lambda_call() -> None:
    flow = make_flow(
        [node("until", "wait_until", at="2030-01-01T09:00:00Z"), node("bye", "end")],
        [edge("until", "bye")],
    )
    stats = compile_flow(flow).stats
    assert stats.min_use["lambda_calls"] == stats.max_use["lambda_calls"] == 1  # the end only
    assert stats.max_use["ddb_reads"] == 0


def test_cost_estimate_of_the_diamond_by_hand() -> None:
    estimate = estimate_dict(compile_flow(DIAMOND).stats, 1000)
    assert estimate["contacts"] == 1000
    lines = {(r["service"], r["unit"]): r for r in estimate["lines"]}
    assert list(lines) == [
        ("Step Functions", "state transitions"),
        ("Lambda", "invocations"),
        ("DynamoDB", "write units"),
        ("DynamoDB", "read units"),
        ("SES", "emails"),
        ("SNS", "SMS parts"),
    ]
    # $0.025 per 1,000 transitions: 5..6 per contact.
    sfn = lines["Step Functions", "state transitions"]
    assert sfn["per_contact"] == {"min": 5, "max": 6}
    assert sfn["usd"]["min"] == pytest.approx(0.125)
    assert sfn["usd"]["max"] == pytest.approx(0.150)
    # $0.20 per million requests + 0.25 GB x 0.12 s x $0.0000166667 per GB-s: 4 a contact.
    lam = lines["Lambda", "invocations"]
    assert lam["per_contact"] == {"min": 4, "max": 4}
    assert (
        lam["usd"]["min"]
        == lam["usd"]["max"]
        == pytest.approx(4000 * (0.2e-6 + 0.25 * 0.12 * 0.0000166667))
    )
    # $0.625 per million writes (8 a contact); $0.125 per million reads (4..5).
    assert lines["DynamoDB", "write units"]["usd"]["max"] == pytest.approx(0.005)
    reads = lines["DynamoDB", "read units"]["usd"]
    assert (reads["min"], reads["max"]) == (pytest.approx(0.0005), pytest.approx(0.000625))
    # $0.10 per 1,000 emails, at most one a contact.
    ses = lines["SES", "emails"]["usd"]
    assert (ses["min"], ses["max"]) == (0, pytest.approx(0.1))
    assert lines["SNS", "SMS parts"]["usd"] == {"min": 0, "max": 0}
    lambda_usd = 4000 * 7.00001e-7
    assert estimate["total_usd"]["min"] == pytest.approx(0.125 + lambda_usd + 0.005 + 0.0005)
    assert estimate["total_usd"]["max"] == pytest.approx(
        0.150 + lambda_usd + 0.005 + 0.000625 + 0.1
    )


def test_cost_scales_linearly_with_contacts() -> None:
    stats = compile_flow(DIAMOND).stats
    one, thousand = estimate_dict(stats, 1), estimate_dict(stats, 1000)
    assert thousand["total_usd"]["max"] == pytest.approx(1000 * one["total_usd"]["max"])


# --- invalid flows ----------------------------------------------------------------------------


def test_compiling_an_invalid_flow_raises_with_the_report() -> None:
    flow = make_flow([node("tag", "update_recrod", add_tags=["x"])], [edge("tag", "ghost")])
    with pytest.raises(FlowInvalid) as info:
        compile_flow(flow)
    errors = {(e.path, e.node_id) for e in info.value.report.errors}
    assert errors == {("$.nodes[0].kind", "tag"), ("$.edges[1].to", "tag")}
    assert "$.nodes[0].kind" in str(info.value)
    assert "did you mean 'update_record'" in str(info.value)


def test_compiling_broken_json_raises_flow_invalid() -> None:
    with pytest.raises(FlowInvalid) as info:
        compile_flow("{not json")
    assert info.value.report.errors[0].path == "$"


def test_the_compiled_definition_is_not_changed_by_compiling_again(rich) -> None:
    before = copy.deepcopy(rich.definition)
    compile_flow(make_flow([node("tag", "update_record", add_tags=["new"])], []))
    compile_flow(RICH)
    assert rich.definition == before
