"""The moto patches, on moto's real Step Functions interpreter.

Each test fails if moto moves or changes what infra.local.moto_patches relies on.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import threading
import time
from typing import Any

import moto
import pytest

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


@pytest.mark.parametrize("target", moto_patches.PATCH_TARGETS, ids=lambda t: t.label)
def test_every_patched_target_still_exists_with_its_signature(sfn: LocalSfn, target) -> None:
    owner = target.resolve_owner()
    assert target.attribute in vars(owner), f"moto no longer defines {target.label}"
    assert getattr(owner, target.attribute) is not moto_patches.original(target)  # patched
    original = moto_patches.original(target)
    if target.params is None:
        assert original is time  # retrier_decl's `time` module
    else:
        assert tuple(inspect.signature(original).parameters) == target.params


CALLERS = [
    # (moto function that must still call a patched target, the call it must contain)
    (
        "component.state.exec.state_task.lambda_eval_utils",
        "execute_lambda_function_integration",
        "_invoke_lambda_function(",
    ),
    (
        "component.state.wait.wait_function.wait_function",
        "WaitFunction._eval_body",
        "self._wait_interval(",
    ),
    (
        "component.state.exec.state_task.service.state_task_service_callback",
        "StateTaskServiceCallback._eval_integration_pattern",
        "self._eval_wait_for_task_token(",
    ),
    ("eval.callback.callback", "CallbackEndpoint.setup_heartbeat_endpoint", "HeartbeatEndpoint("),
    ("component.common.retry.retrier_decl", "RetrierDecl._eval_body", "time.sleep("),
    ("component.program.program", "Program._eval_body", "env.set_error("),
]


@pytest.mark.parametrize(("module", "qualname", "call"), CALLERS, ids=[c[1] for c in CALLERS])
def test_moto_still_reaches_the_patched_targets(module: str, qualname: str, call: str) -> None:
    obj: Any = __import__(f"moto.stepfunctions.parser.asl.{module}", fromlist=["_"])
    for part in qualname.split("."):
        obj = getattr(obj, part)
    assert call in inspect.getsource(obj)


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


def test_registry_is_empty_after_each_run(sfn) -> None:
    assert moto_patches.registered() == []
