"""The moto patches, on moto's real Step Functions interpreter.

Each test fails if moto moves or changes what infra.local.moto_patches relies on.
"""

from __future__ import annotations

import copy
import datetime as dt
import gc
import inspect
import json
import threading
import time
import types
import uuid
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError

from infra.errors import MotoPatchError, UnresolvedPlaceholderError
from infra.local import moto_patches, sfn_runner
from infra.local.sfn_runner import LocalSfn, function_arn, local_sfn

pytestmark = pytest.mark.moto

SCALE = 1e-6
THREE_DAYS = 3 * 24 * 3600


def crm_error(name: str) -> type[Exception]:
    """An exception class whose __name__ is an ASL error name, as functions/ raises them."""
    return type(name, (Exception,), {})


def lambda_task(fn: str, next_state: str | None = None, **extra: Any) -> dict:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": f"${{{fn}}}", "Payload.$": "$"},
        **extra,
    }
    return state | ({"Next": next_state} if next_state else {"End": True})


def machine(start: str, **states: dict) -> dict:
    return {"StartAt": start, "States": states}


@pytest.fixture(scope="module")
def sfn() -> LocalSfn:
    with local_sfn(time_scale=SCALE) as local:
        yield local


@pytest.fixture
def scale(sfn: LocalSfn):
    """Set another time scale for one test."""
    yield moto_patches.apply
    moto_patches.apply(SCALE)


# --- the pin and the targets -------------------------------------------------------------


def test_moto_is_the_pinned_version() -> None:
    assert moto.__version__ == moto_patches.PINNED_MOTO


def test_another_moto_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(MotoPatchError, match=r"pinned to moto 5\.2\.5 but moto 9\.9\.9") as err:
        moto_patches.apply()
    assert "re-check" in str(err.value)


# Targets that are module references, not functions: the module each must still be.
MODULE_TARGETS = {moto_patches.RETRY_TIME: time, moto_patches.TRANSACT_COPY: copy}


@pytest.mark.parametrize("target", moto_patches.PATCH_TARGETS, ids=lambda t: t.label)
def test_every_patched_target_still_exists_with_its_signature(sfn: LocalSfn, target) -> None:
    owner = target.resolve_owner()
    assert target.attribute in vars(owner), f"moto no longer defines {target.label}"
    assert getattr(owner, target.attribute) is not moto_patches.original(target)  # patched
    original = moto_patches.original(target)
    if target.params is None:
        assert original is MODULE_TARGETS[target]
    else:
        assert tuple(inspect.signature(original).parameters) == target.params


ASL = "moto.stepfunctions.parser.asl"
CALLERS = [
    # (moto function that must still call a patched target, the call it must contain)
    (
        f"{ASL}.component.state.exec.state_task.lambda_eval_utils",
        "execute_lambda_function_integration",
        "_invoke_lambda_function(",
    ),
    (
        f"{ASL}.component.state.wait.wait_function.wait_function",
        "WaitFunction._eval_body",
        "self._wait_interval(",
    ),
    (
        f"{ASL}.component.state.exec.state_task.service.state_task_service_callback",
        "StateTaskServiceCallback._eval_integration_pattern",
        "self._eval_wait_for_task_token(",
    ),
    (
        f"{ASL}.eval.callback.callback",
        "CallbackEndpoint.setup_heartbeat_endpoint",
        "HeartbeatEndpoint(",
    ),
    (f"{ASL}.component.common.retry.retrier_decl", "RetrierDecl._eval_body", "time.sleep("),
    (f"{ASL}.component.program.program", "Program._eval_body", "env.set_error("),
    (
        "moto.stepfunctions.parser.backend.execution_worker",
        "ExecutionWorker._execution_logic",
        "program = self._get_evaluation_entrypoint()",
    ),
    (f"{ASL}.utils.json_path", "extract_json", "parse(path)"),
    (f"{ASL}.component.common.path.result_path", "ResultPath._eval_body", "parse("),
    (
        "moto.dynamodb.responses",
        "DynamoHandler.transact_write_items",
        "self.dynamodb_backend.transact_write_items(",
    ),
]


@pytest.mark.parametrize(("module", "qualname", "call"), CALLERS, ids=[c[1] for c in CALLERS])
def test_moto_still_reaches_the_patched_targets(module: str, qualname: str, call: str) -> None:
    obj: Any = __import__(module, fromlist=["_"])
    for part in qualname.split("."):
        obj = getattr(obj, part)
    assert call in inspect.getsource(obj)


def test_moto_transactions_still_back_up_whole_tables_through_the_copy_module(sfn) -> None:
    # TRANSACT_COPY turns this backup into the live table, so that moto's rollback (assigning
    # the backup back) restores nothing and TRANSACT_WRITE's item-level rollback is the one.
    source = inspect.getsource(moto_patches.original(moto_patches.TRANSACT_WRITE))
    assert "original_table_state[table_name] = copy.deepcopy(" in source
    assert "self.tables[table_name] = original_table_state[table_name]" in source


def test_mock_internals_read_by_the_runner_exist(sfn: LocalSfn) -> None:
    assert moto_patches.mock_is_active() is True
    assert moto_patches.executions_enabled() is True


def test_apply_again_only_changes_the_scale(scale) -> None:
    lambda_eval_utils = moto_patches.LAMBDA_INVOKE.resolve_owner()
    bridge = lambda_eval_utils._invoke_lambda_function
    scale(0.5)
    assert moto_patches.time_scale() == 0.5
    assert lambda_eval_utils._invoke_lambda_function is bridge
    assert moto_patches.original(moto_patches.LAMBDA_INVOKE) is not bridge


@pytest.mark.parametrize(
    ("given", "name"),
    [
        ("crmflow-FnX", "crmflow-FnX"),
        ("crmflow-FnX:live", "crmflow-FnX"),
        ("123456789012:function:crmflow-FnX", "crmflow-FnX"),
        ("arn:aws:lambda:us-east-1:123456789012:function:crmflow-FnX", "crmflow-FnX"),
        ("arn:aws:lambda:us-east-1:123456789012:function:crmflow-FnX:7", "crmflow-FnX"),
    ],
)
def test_function_names_and_arns_resolve_to_the_name(given: str, name: str) -> None:
    assert moto_patches.function_name_of(given) == name


# --- the Lambda bridge -------------------------------------------------------------------


def test_a_task_runs_its_python_handler_and_the_result_lands_in_the_output(sfn) -> None:
    seen: list[tuple[Any, Any]] = []

    def lookup(event: dict, context: Any) -> dict:
        seen.append((event, context))
        return {"contact": {"id": event["contact_id"], "email": "ana@example.com"}}

    asl = machine(
        "Lookup",
        Lookup=lambda_task(
            "FnLookup", "Direct", ResultSelector={"found.$": "$.Payload"}, ResultPath="$.lookup"
        ),
        Direct={"Type": "Task", "Resource": "${FnLookup}", "ResultPath": "$.direct", "End": True},
    )
    result = sfn.run(asl, {"contact_id": "c-1"}, {"FnLookup": lookup})

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["lookup"] == {
        "found": {"contact": {"id": "c-1", "email": "ana@example.com"}}
    }
    assert result.output["direct"] == {"contact": {"id": "c-1", "email": "ana@example.com"}}
    assert result.states_entered == ["Lookup", "Direct"]
    event, context = seen[0]
    assert event == {"contact_id": "c-1"}
    assert context.function_name == "crmflow-FnLookup"
    assert context.invoked_function_arn == function_arn("FnLookup")
    assert 0 < context.get_remaining_time_in_millis() <= 900_000
    assert context.aws_request_id != seen[1][1].aws_request_id


def test_a_raised_crm_error_is_caught_by_its_asl_name(sfn) -> None:
    def lookup(event: dict, context: Any) -> dict:
        raise crm_error("Crm.ContactNotFound")(f"no contact {event['contact_id']}")

    asl = machine(
        "Lookup",
        Lookup=lambda_task(
            "FnLookup",
            "Found",
            Catch=[
                {"ErrorEquals": ["Crm.ContactNotFound"], "ResultPath": "$.error", "Next": "Missing"}
            ],
        ),
        Found={"Type": "Succeed"},
        Missing={"Type": "Pass", "End": True},
    )
    result = sfn.run(asl, {"contact_id": "c-404"}, {"FnLookup": lookup})

    assert result.status == "SUCCEEDED"
    assert result.states_entered == ["Lookup", "Missing"]
    assert result.output["error"]["Error"] == "Crm.ContactNotFound"
    cause = json.loads(result.output["error"]["Cause"])
    assert cause["errorType"] == "Crm.ContactNotFound"
    assert cause["errorMessage"] == "no contact c-404"
    # Like the Python runtime, only the handler's frames: the bridge hides its own.
    assert len(cause["stackTrace"]) == 1
    assert "in lookup" in cause["stackTrace"][0]


def test_an_unserialisable_result_is_a_runtime_marshal_error(sfn) -> None:
    asl = machine("Bad", Bad=lambda_task("FnBad"))
    result = sfn.run(asl, {}, {"FnBad": lambda event, context: {"when": dt.date(2025, 1, 1)}})

    assert result.status == "FAILED"
    assert result.error == "Runtime.MarshalError"
    assert "Unable to marshal response" in json.loads(result.cause)["errorMessage"]


def test_an_unregistered_function_fails_with_resource_not_found(sfn) -> None:
    asl = machine("Call", Call=lambda_task("FnMissing"))
    result = sfn.run(asl, {}, {}, substitutions={"FnMissing": function_arn("FnMissing")})

    assert result.status == "FAILED"
    assert result.error == "Lambda.ResourceNotFoundException"
    assert f"Function not found: {function_arn('FnMissing')}" in result.cause


def test_a_placeholder_without_handler_is_refused_before_running(sfn) -> None:
    with pytest.raises(UnresolvedPlaceholderError, match="FnNobody"):
        sfn.run(machine("Call", Call=lambda_task("FnNobody")), {}, {})


# --- time scaling ------------------------------------------------------------------------


def _in_three_days() -> str:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=THREE_DAYS)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


WAIT_FORMS = {
    "Seconds": lambda: {"Seconds": THREE_DAYS},
    "SecondsPath": lambda: {"SecondsPath": "$.wait"},
    "Timestamp": lambda: {"Timestamp": _in_three_days()},
    "TimestampPath": lambda: {"TimestampPath": "$.until"},
}


@pytest.mark.parametrize("form", WAIT_FORMS)
def test_a_three_day_wait_is_scaled(sfn, form: str) -> None:
    asl = machine("Wait", Wait={"Type": "Wait", **WAIT_FORMS[form](), "End": True})
    moto_patches.reset_scaled_waits()
    result = sfn.run(asl, {"wait": THREE_DAYS, "until": _in_three_days()}, {}, timeout=10)

    assert result.status == "SUCCEEDED"
    # Scaled, not skipped: the interpreter asked for three days and slept 3 days x SCALE.
    [(what, simulated, real)] = moto_patches.scaled_waits()
    assert what == "wait"
    assert simulated == pytest.approx(THREE_DAYS, abs=60)
    assert real == pytest.approx(simulated * SCALE)


def test_a_day_long_task_token_timeout_is_scaled_and_caught(sfn) -> None:
    tokens: list[str] = []
    asl = machine(
        "AwaitReply",
        AwaitReply={
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "${FnPark}", "Payload": {"token.$": "$$.Task.Token"}},
            "TimeoutSeconds": 86400,
            "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "NoReply"}],
            "Next": "Replied",
        },
        Replied={"Type": "Succeed"},
        NoReply={"Type": "Pass", "End": True},
    )
    moto_patches.reset_scaled_waits()
    result = sfn.run(
        asl, {}, {"FnPark": lambda event, context: tokens.append(event["token"])}, timeout=10
    )

    assert ("task_timeout", 86400, pytest.approx(86400 * SCALE)) in moto_patches.scaled_waits()
    assert tokens, "the handler never received $$.Task.Token"
    assert result.states_entered == ["AwaitReply", "NoReply"]
    assert result.output["Error"] == "States.Timeout"


def test_a_task_token_resumed_from_another_thread_continues_with_the_result(sfn, scale) -> None:
    scale(1e-4)  # the one-day timeout becomes 8.6 s: ample for the reply below

    def park(event: dict, context: Any) -> None:
        def reply() -> None:
            time.sleep(0.05)
            sfn.client.send_task_success(
                taskToken=event["token"], output=json.dumps({"answer": "yes"})
            )

        threading.Thread(target=reply, daemon=True).start()

    asl = machine(
        "AwaitReply",
        AwaitReply={
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "${FnPark}", "Payload": {"token.$": "$$.Task.Token"}},
            "TimeoutSeconds": 86400,
            "ResultPath": "$.reply",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
            "Next": "Done",
        },
        Done={"Type": "Pass", "End": True},
        Failed={"Type": "Fail", "Error": "Unexpected"},
    )
    result = sfn.run(asl, {"contact_id": "c-1"}, {"FnPark": park})

    assert result.status == "SUCCEEDED", result.output
    assert result.states_entered == ["AwaitReply", "Done"]
    assert result.output == {"contact_id": "c-1", "reply": {"answer": "yes"}}


def test_a_stopped_execution_waiting_for_its_token_ends_aborted_and_runs_nothing_more(
    sfn, scale
) -> None:
    scale(1.0)  # a day-long wait in real time: only the stop can end it within the test
    parked = threading.Event()
    after: list[str] = []
    asl = machine(
        "AwaitReply",
        AwaitReply={
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "${FnPark}", "Payload": {"token.$": "$$.Task.Token"}},
            "TimeoutSeconds": 86400,
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Afterwards"}],
            "End": True,
        },
        Afterwards={
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${FnAfter}", "Payload": {}},
            "End": True,
        },
    )
    handlers = {
        "FnPark": lambda event, context: parked.set(),
        "FnAfter": lambda event, context: after.append("ran"),
    }
    arn = sfn.create(asl, handlers)
    with sfn_runner._registered(handlers):
        execution = sfn.client.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
        assert parked.wait(10)
        sfn.client.stop_execution(executionArn=execution, error="Crm.Unenrolled", cause="removed")
        deadline = time.monotonic() + 10
        while sfn.client.describe_execution(executionArn=execution)["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.1)  # anything still to run after the stop would run now

    described = sfn.client.describe_execution(executionArn=execution)
    assert described["status"] == "ABORTED"
    events = sfn.client.get_execution_history(executionArn=execution)["events"]
    assert events[-1]["type"] == "ExecutionAborted"
    assert after == []


def test_retry_with_full_jitter_and_max_delay_retries_until_success(sfn) -> None:
    calls: list[float] = []

    def flaky(event: dict, context: Any) -> dict:
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise crm_error("Crm.Throttled")("slow down")
        return {"sent": True}

    asl = machine(
        "Send",
        Send=lambda_task(
            "FnSend",
            Retry=[
                {
                    "ErrorEquals": ["Crm.Throttled"],
                    "IntervalSeconds": 60,
                    "BackoffRate": 2.0,
                    "MaxAttempts": 3,
                    "MaxDelaySeconds": 90,
                    "JitterStrategy": "FULL",
                }
            ],
            ResultSelector={"result.$": "$.Payload"},
        ),
    )
    moto_patches.reset_scaled_waits()
    result = sfn.run(asl, {}, {"FnSend": flaky}, timeout=10)

    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"result": {"sent": True}}
    assert len(calls) == 3
    retries = [(s, r) for what, s, r in moto_patches.scaled_waits() if what == "retry"]
    assert len(retries) == 2
    for simulated, real in retries:  # jittered, capped by MaxDelaySeconds, then scaled
        assert 0 <= simulated <= 90
        assert real == pytest.approx(simulated * SCALE)


# --- parsing once ------------------------------------------------------------------------


def unique_comment() -> str:
    """A Comment that makes a definition's text, and so its cache entry, new to the process."""
    return f"test {uuid.uuid4().hex}"


def test_a_definition_is_parsed_once_for_all_its_executions(sfn, monkeypatch) -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    asl = machine("Echo", Echo={"Type": "Pass", "End": True}) | {"Comment": unique_comment()}
    arn = sfn.create(asl, {})  # CreateStateMachine validates by parsing: not counted
    parsed: list[str] = []
    parse = AmazonStateLanguageParser.parse

    def counting_parse(definition: str) -> Any:
        parsed.append(definition)
        return parse(definition)

    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(counting_parse))
    results = [sfn.execute(arn, {"n": n}, {}) for n in range(5)]

    assert [r.output for r in results] == [{"n": n} for n in range(5)]
    assert len(parsed) == 1


def _fan_out_definition() -> dict:
    # Parallel of a Map whose Task retries, and a Task whose error a Catch sends to a Pass
    # with a Result: every construct that could keep per-run state on a shared component.
    retry = [{"ErrorEquals": ["Crm.Flaky"], "IntervalSeconds": 60, "MaxAttempts": 1}]
    double = lambda_task(
        "FnDouble", ResultSelector={"v.$": "$.Payload.doubled"}, OutputPath="$.v", Retry=retry
    )
    caught = [{"ErrorEquals": ["Crm.Rejected"], "ResultPath": "$.error", "Next": "Fallback"}]
    each = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "Double",
            "States": {"Double": double},
        },
        "End": True,
    }
    check = {
        "Check": lambda_task("FnCheck", ResultSelector={"ok.$": "$.Payload.checked"}, Catch=caught),
        "Fallback": {
            "Type": "Pass",
            "Result": {"fallback": True},
            "ResultPath": "$.fallback",
            "End": True,
        },
    }
    fan = {
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "Each", "States": {"Each": each}},
            {"StartAt": "Check", "States": check},
        ],
        "End": True,
    }
    return machine("Fan", Fan=fan) | {"Comment": unique_comment()}


def test_concurrent_executions_of_one_parsed_definition_keep_their_own_state(sfn) -> None:
    both_in_flight = threading.Barrier(2, timeout=10)
    failed_before: set[tuple[str, int]] = set()
    lock = threading.Lock()

    def double(event: dict, context: Any) -> dict:
        with lock:  # each item fails once per execution: its retry must succeed
            first_try = (event["tag"], event["value"]) not in failed_before
            failed_before.add((event["tag"], event["value"]))
        if first_try:
            raise crm_error("Crm.Flaky")("try again")
        return {"doubled": event["value"] * 2}

    def check(event: dict, context: Any) -> dict:
        both_in_flight.wait()  # both executions are inside the shared program at once
        if event["check"] == "bad":
            raise crm_error("Crm.Rejected")(f"{event['tag']} rejected")
        return {"checked": event["tag"]}

    handlers = {"FnDouble": double, "FnCheck": check}
    arn = sfn.create(_fan_out_definition(), handlers)
    inputs = {
        "a": {"tag": "a", "check": "ok", "items": [{"tag": "a", "value": v} for v in (1, 2, 3)]},
        "b": {"tag": "b", "check": "bad", "items": [{"tag": "b", "value": v} for v in (10, 20)]},
    }
    with sfn_runner._registered(handlers):
        started = {
            tag: sfn.client.start_execution(
                stateMachineArn=arn, name=f"fan-{tag}-{uuid.uuid4().hex[:8]}", input=json.dumps(i)
            )["executionArn"]
            for tag, i in inputs.items()
        }
        a, b = (sfn._wait_for_end(started[tag], timeout=20) for tag in ("a", "b"))

    assert (a.status, b.status) == ("SUCCEEDED", "SUCCEEDED"), (a.cause, b.cause)
    assert a.output == [[2, 4, 6], {"ok": "a"}]
    doubled_b, checked_b = b.output
    assert doubled_b == [20, 40]
    assert checked_b["error"]["Error"] == "Crm.Rejected"
    assert checked_b["fallback"] == {"fallback": True}
    assert {k: v for k, v in checked_b.items() if k not in ("error", "fallback")} == inputs["b"]
    assert len(failed_before) == 5  # one retry per item, counted per execution


def _reachable(root: Any) -> list[Any]:
    """Every object reachable from `root` through instances and containers (not through
    modules, classes or functions): independent of how the patch walks the program."""
    skipped = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType)
    seen: set[int] = set()
    found, pending = [], [root]
    while pending:
        node = pending.pop()
        if id(node) in seen or isinstance(node, skipped):
            continue
        seen.add(id(node))
        found.append(node)
        pending.extend(gc.get_referents(node))
    return found


def test_a_shared_program_has_its_heap_keys_before_any_execution_reads_them(sfn) -> None:
    # heap_key is created on first read; created lazily by two executions at once, one of
    # them would lose the retry count it keeps in its env.heap under it.
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    definition = json.dumps(_fan_out_definition())
    worker = types.SimpleNamespace(
        _evaluation_details=types.SimpleNamespace(
            state_machine_details=types.SimpleNamespace(definition=definition)
        )
    )
    program = ExecutionWorker._get_evaluation_entrypoint(worker)

    assert ExecutionWorker._get_evaluation_entrypoint(worker) is program
    components = [node for node in _reachable(program) if isinstance(node, EvalComponent)]
    assert {"MaxAttemptsDecl", "BackoffRateDecl"} <= {type(c).__name__ for c in components}
    assert all("_EvalComponent__heap_key" in vars(c) for c in components)


def test_each_jsonpath_is_parsed_once(sfn, monkeypatch) -> None:
    import jsonpath_ng
    import jsonpath_ng.ext
    from jsonpath_ng.parser import JsonPathParser
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    parsed: list[str] = []
    parse = JsonPathParser.parse  # what both moto's parse functions end in

    def counting_parse(self: Any, string: str, lexer: Any = None) -> Any:
        parsed.append(string)
        return parse(self, string, lexer)

    monkeypatch.setattr(JsonPathParser, "parse", counting_parse)
    field = f"f{uuid.uuid4().hex}"  # paths no earlier test has cached
    asl = machine(
        "Copy",
        Copy={
            "Type": "Pass",
            "Parameters": {"value.$": f"$.{field}"},  # utils/json_path.extract_json
            "ResultPath": f"$.{field}_copy",  # component/common/path/result_path
            "End": True,
        },
    )
    arn = sfn.create(asl, {})
    outputs = [sfn.execute(arn, {field: n}, {}).output for n in range(3)]

    assert outputs == [{field: n, f"{field}_copy": {"value": n}} for n in range(3)]
    assert parsed.count(f"$.{field}") == 1
    assert parsed.count(f"$.{field}_copy") == 1
    # Used three times, the shared path objects still equal freshly parsed ones.
    assert json_path.parse(f"$.{field}") == jsonpath_ng.ext.parse(f"$.{field}")
    assert result_path.parse(f"$.{field}_copy") == jsonpath_ng.parse(f"$.{field}_copy")


# --- DynamoDB transactions ---------------------------------------------------------------

KEY_SCHEMAS = {"hash": ("pk",), "hash+range": ("pk", "sk")}


@pytest.fixture
def dynamodb(sfn, monkeypatch) -> Any:
    # As infra/local/env.py sets it: botocore's account-based endpoints miss moto's streams.
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    return boto3.client("dynamodb", region_name=sfn_runner.REGION)


def make_table(dynamodb: Any, keys: tuple[str, ...]) -> str:
    """A table with these key attributes, a stream and a GSI on `email`."""
    name = f"tx-{uuid.uuid4().hex[:12]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": k, "KeyType": t}
            for k, t in zip(keys, ("HASH", "RANGE"), strict=False)
        ],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in (*keys, "email")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-email",
                "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return name


def item_key(keys: tuple[str, ...], pk: str) -> dict:
    return {k: {"S": pk if k == "pk" else "profile"} for k in keys}


def scan(dynamodb: Any, table: str) -> list[dict]:
    return sorted(dynamodb.scan(TableName=table)["Items"], key=lambda i: i["pk"]["S"])


def by_email(dynamodb: Any, table: str, email: str) -> list[dict]:
    return dynamodb.query(
        TableName=table,
        IndexName="by-email",
        KeyConditionExpression="email = :e",
        ExpressionAttributeValues={":e": {"S": email}},
    )["Items"]


def stream_events(dynamodb: Any, table: str) -> list[tuple[str, dict]]:
    streams = boto3.client("dynamodbstreams", region_name=sfn_runner.REGION)
    arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    return [(r["eventName"], r["dynamodb"]["Keys"]) for r in records]


def seeded_table(dynamodb: Any, keys: tuple[str, ...]) -> str:
    table = make_table(dynamodb, keys)
    for n in range(5):
        dynamodb.put_item(
            TableName=table,
            Item=item_key(keys, f"other-{n}") | {"email": {"S": f"o{n}@example.com"}},
        )
    dynamodb.put_item(
        TableName=table,
        Item=item_key(keys, "existing")
        | {"email": {"S": "e@example.com"}, "n": {"N": "1"}, "tags": {"SS": ["a"]}},
    )
    return table


def writes(table: str, keys: tuple[str, ...]) -> list[dict]:
    """A Put of a new item and an Update of an existing one."""
    return [
        {
            "Put": {
                "TableName": table,
                "Item": item_key(keys, "new") | {"email": {"S": "new@example.com"}},
            }
        },
        {
            "Update": {
                "TableName": table,
                "Key": item_key(keys, "existing"),
                "UpdateExpression": "SET n = n + :one, email = :e ADD tags :t",
                "ExpressionAttributeValues": {
                    ":one": {"N": "1"},
                    ":e": {"S": "changed@example.com"},
                    ":t": {"SS": ["b"]},
                },
            }
        },
    ]


@pytest.mark.parametrize("keys", KEY_SCHEMAS.values(), ids=KEY_SCHEMAS)
def test_a_cancelled_transaction_leaves_every_item_as_it_was(dynamodb, keys) -> None:
    table = seeded_table(dynamodb, keys)
    before, events_before = scan(dynamodb, table), stream_events(dynamodb, table)
    check_fails = {
        "ConditionCheck": {
            "TableName": table,
            "Key": item_key(keys, "other-0"),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }

    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=[*writes(table, keys), check_fails])

    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert cancelled.value.response["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"},
    ]
    assert scan(dynamodb, table) == before  # the new item absent, the updated one as it was
    assert by_email(dynamodb, table, "new@example.com") == []
    assert by_email(dynamodb, table, "changed@example.com") == []
    assert len(by_email(dynamodb, table, "e@example.com")) == 1
    assert stream_events(dynamodb, table) == events_before
    # The same writes without the failing check do apply: the rollback above undid them.
    dynamodb.transact_write_items(TransactItems=writes(table, keys))
    existing = dynamodb.get_item(TableName=table, Key=item_key(keys, "existing"))["Item"]
    assert existing["n"] == {"N": "2"}
    assert sorted(existing["tags"]["SS"]) == ["a", "b"]
    assert len(scan(dynamodb, table)) == len(before) + 1
    assert len(stream_events(dynamodb, table)) == len(events_before) + 2


def test_a_transaction_moto_rejects_half_way_undoes_its_first_writes(dynamodb) -> None:
    keys = KEY_SCHEMAS["hash+range"]
    table = seeded_table(dynamodb, keys)
    before = scan(dynamodb, table)
    again = {
        "ConditionCheck": {
            "TableName": table,
            "Key": item_key(keys, "new"),
            "ConditionExpression": "attribute_exists(pk)",
        }
    }

    # moto applies the Put and the Update, then finds the second part on "new" and raises.
    with pytest.raises(ClientError) as rejected:
        dynamodb.transact_write_items(TransactItems=[*writes(table, keys), again])

    assert rejected.value.response["Error"]["Code"] == "ValidationException"
    assert "multiple operations on one item" in rejected.value.response["Error"]["Message"]
    assert scan(dynamodb, table) == before


def test_a_transaction_copies_no_table(dynamodb, monkeypatch) -> None:
    from moto.dynamodb.models.table import Table

    keys = KEY_SCHEMAS["hash"]
    table = seeded_table(dynamodb, keys)
    copied: list[type] = []
    deepcopy = copy.deepcopy

    def recording_deepcopy(value: Any, memo: Any = None) -> Any:
        copied.append(type(value))
        return deepcopy(value, memo)

    monkeypatch.setattr(copy, "deepcopy", recording_deepcopy)
    fails = {
        "ConditionCheck": {**writes(table, keys)[1]["Update"], "ConditionExpression": "n > :one"}
    }
    del fails["ConditionCheck"]["UpdateExpression"]
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=[writes(table, keys)[0], fails])
    dynamodb.transact_write_items(TransactItems=writes(table, keys))

    assert copied, "the transactions ran through no deepcopy at all: is the spy in place?"
    assert Table not in copied


def test_registry_is_empty_after_each_run(sfn) -> None:
    assert moto_patches.registered() == []


# --- CloudFormation: a RestApi's Body ----------------------------------------------------


def test_a_template_rest_api_gets_the_methods_of_its_body_and_deploys(sfn) -> None:
    function = "arn:aws:lambda:us-east-1:123456789012:function:api"
    integration = {
        "type": "aws_proxy",
        "httpMethod": "POST",
        "uri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function}/invocations",
    }
    body = {
        "swagger": "2.0",
        "info": {"title": "crm", "version": "1"},
        "paths": {
            "/contacts": {"post": {"x-amazon-apigateway-integration": integration}},
            "/contacts/{contact_id}": {
                "get": {"x-amazon-apigateway-integration": integration},
                "x-amazon-apigateway-any-method": {},  # extensions are not methods
            },
        },
    }
    template = {
        "Resources": {
            "Api": {
                "Type": "AWS::ApiGateway::RestApi",
                "Properties": {"Name": "crm", "Body": body},
            },
            "Deployment": {
                "Type": "AWS::ApiGateway::Deployment",
                "Properties": {"RestApiId": {"Ref": "Api"}, "StageName": "api"},
            },
        }
    }
    cfn = boto3.client("cloudformation", region_name=sfn_runner.REGION)
    cfn.create_stack(StackName=f"api-{uuid.uuid4().hex[:8]}", TemplateBody=json.dumps(template))
    apigateway = boto3.client("apigateway", region_name=sfn_runner.REGION)
    (api,) = [a for a in apigateway.get_rest_apis()["items"] if a["name"] == "crm"]
    methods = {
        r["path"]: sorted(r.get("resourceMethods", {}))
        for r in apigateway.get_resources(restApiId=api["id"])["items"]
    }
    assert methods["/contacts"] == ["POST"]
    assert methods["/contacts/{contact_id}"] == ["GET"]
    method = apigateway.get_method(
        restApiId=api["id"],
        resourceId=next(
            r["id"]
            for r in apigateway.get_resources(restApiId=api["id"])["items"]
            if r["path"] == "/contacts"
        ),
        httpMethod="POST",
    )
    assert method["methodIntegration"]["type"] == "AWS_PROXY"
    assert apigateway.get_deployments(restApiId=api["id"])["items"]  # moto deployed it
