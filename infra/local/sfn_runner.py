"""Run an ASL definition on moto's real Step Functions interpreter, in this process.

    with local_sfn(time_scale=1e-6) as sfn:
        result = sfn.run(asl, {"contact_id": "c-1"}, {"FnSendEmail": send_email})

`${Name}` placeholders (CloudFormation DefinitionSubstitutions style) name Lambda functions:
each entry of `handlers` becomes the ARN of function `crmflow-<Name>` and its Python handler
is registered with the in-process Lambda bridge (infra.local.moto_patches) for the run.
The registry is process-wide: two concurrent runs must not map one Name to two handlers.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.errors import ExecutionTimeoutError, MockNotConfiguredError, UnresolvedPlaceholderError
from infra.local import moto_patches
from infra.local.env import FAKE_CREDENTIALS, HIDDEN, REGION, patched_environ

ACCOUNT_ID = "123456789012"
FUNCTION_PREFIX = "crmflow-"
ROLE_NAME = "crmflow-local-sfn"
MOCK_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "states.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@dataclass(frozen=True)
class ExecutionResult:
    """How one execution ended, and the states it went through."""

    status: str
    output: Any
    error: str | None
    cause: str | None
    states_entered: list[str]
    history: list[dict]


def function_arn(name: str) -> str:
    """ARN that a `${Name}` placeholder becomes when `handlers` provides Name."""
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{FUNCTION_PREFIX}{name}"


def substitute(definition: str | dict, values: Mapping[str, str]) -> str:
    """Replace `${Name}` placeholders; raise if any placeholder has no value."""
    text = definition if isinstance(definition, str) else json.dumps(definition)
    missing = sorted({n for n in _PLACEHOLDER.findall(text) if n not in values})
    if missing:
        raise UnresolvedPlaceholderError(
            f"no handler or substitution for placeholder(s): {', '.join(missing)}"
        )
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


class LocalSfn:
    """Clients bound to the active moto mock; do not keep one past its mock context."""

    def __init__(self) -> None:
        if not moto_patches.executions_enabled():
            raise MockNotConfiguredError(
                "the active moto mock does not execute state machines: open it with "
                f"mock_aws(config={MOCK_CONFIG!r}) or use infra.local.sfn_runner.local_sfn()"
            )
        if not moto_patches.is_applied():
            moto_patches.apply()
        self.client = boto3.client("stepfunctions", region_name=REGION)
        self._iam = boto3.client("iam", region_name=REGION)
        self._role_arn: str | None = None

    @property
    def role_arn(self) -> str:
        """An IAM role for state machines (moto wants one), created on first use."""
        if self._role_arn is None:
            self._role_arn = _ensure_role(self._iam)
        return self._role_arn

    def run(
        self,
        definition: str | dict,
        input: dict,
        handlers: Mapping[str, Callable],
        *,
        substitutions: Mapping[str, str] | None = None,
        name: str = "run",
        timeout: float = 30.0,
    ) -> ExecutionResult:
        """Create a state machine, execute it to the end, delete it, report how it went."""
        machine_arn = self.create(definition, handlers, substitutions=substitutions, name=name)
        try:
            return self.execute(machine_arn, input, handlers, name=name, timeout=timeout)
        finally:
            self.client.delete_state_machine(stateMachineArn=machine_arn)

    def create(
        self,
        definition: str | dict,
        handler_keys: Iterable[str],
        *,
        substitutions: Mapping[str, str] | None = None,
        name: str = "run",
    ) -> str:
        """Create a state machine whose `${Key}` placeholders point at the bridge's functions.
        Parsing ASL is moto's slowest call: create once, `execute` many times."""
        values = {key: function_arn(key) for key in handler_keys} | dict(substitutions or {})
        return self._create_state_machine(substitute(definition, values), name)

    def execute(
        self,
        machine_arn: str,
        input: dict,
        handlers: Mapping[str, Callable],
        *,
        name: str = "run",
        timeout: float = 30.0,
    ) -> ExecutionResult:
        """Start one execution with these handlers registered and wait for its end."""
        with _registered(handlers):
            arn = self.client.start_execution(
                stateMachineArn=machine_arn, name=_unique(name), input=json.dumps(input)
            )["executionArn"]
            return self._wait_for_end(arn, timeout)

    def _create_state_machine(self, asl: str, name: str) -> str:
        response = self.client.create_state_machine(
            name=_unique(name), definition=asl, roleArn=self.role_arn
        )
        return response["stateMachineArn"]

    def _wait_for_end(self, execution_arn: str, timeout: float) -> ExecutionResult:
        deadline = time.monotonic() + timeout
        delay = 0.002  # short first: most local executions end within tens of ms
        while True:
            described = self.client.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return self._result(described)
            if time.monotonic() > deadline:
                self._give_up(execution_arn, timeout)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _give_up(self, execution_arn: str, timeout: float) -> None:
        entered = _states_entered(self._history(execution_arn))
        self.client.stop_execution(executionArn=execution_arn, error="crmflow.RunnerTimeout")
        raise ExecutionTimeoutError(
            f"execution {execution_arn} still RUNNING after {timeout} s; states entered: {entered}"
        )

    def _result(self, described: dict) -> ExecutionResult:
        history = self._history(described["executionArn"])
        failure = _failure_details(history)
        output = described.get("output")
        return ExecutionResult(
            status=described["status"],
            output=json.loads(output) if output is not None else None,
            error=described.get("error", failure.get("error")),
            cause=described.get("cause", failure.get("cause")),
            states_entered=_states_entered(history),
            history=history,
        )

    def _history(self, execution_arn: str) -> list[dict]:
        pages = self.client.get_paginator("get_execution_history").paginate(
            executionArn=execution_arn
        )
        return [event for page in pages for event in page["events"]]


def run_definition(
    definition: str | dict,
    input: dict,
    handlers: Mapping[str, Callable],
    *,
    substitutions: Mapping[str, str] | None = None,
    name: str = "run",
    timeout: float = 30.0,
) -> ExecutionResult:
    """Run `definition` in the active mock_aws context, or in a fresh `local_sfn()`."""
    kwargs = {"substitutions": substitutions, "name": name, "timeout": timeout}
    if moto_patches.mock_is_active():
        return LocalSfn().run(definition, input, handlers, **kwargs)
    with local_sfn() as sfn:
        return sfn.run(definition, input, handlers, **kwargs)


@contextmanager
def local_sfn(time_scale: float = 1.0) -> Iterator[LocalSfn]:
    """A mock_aws context that executes state machines, with Lambda and time patches applied."""
    from moto import mock_aws  # moto is a dev dependency: import it only when used

    previous_scale = moto_patches.time_scale() if moto_patches.is_applied() else 1.0
    # Fake credentials, no endpoint or profile: nothing can leave the mock.
    with (
        patched_environ(FAKE_CREDENTIALS, ("AWS_ENDPOINT_URL", *HIDDEN)),
        mock_aws(config=MOCK_CONFIG),
    ):
        moto_patches.apply(time_scale)
        try:
            yield LocalSfn()
        finally:
            moto_patches.apply(previous_scale)


# --- helpers -----------------------------------------------------------------------------


@contextmanager
def _registered(handlers: Mapping[str, Callable]) -> Iterator[None]:
    names = [FUNCTION_PREFIX + key for key in handlers]
    for function_name, handler in zip(names, handlers.values(), strict=True):
        moto_patches.register(function_name, handler)
    try:
        yield
    finally:
        for function_name in names:
            moto_patches.unregister(function_name)


def _ensure_role(iam: Any) -> str:
    try:
        return iam.get_role(RoleName=ROLE_NAME)["Role"]["Arn"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchEntity":
            raise
    created = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=_TRUST_POLICY)
    return created["Role"]["Arn"]


def _unique(name: str) -> str:
    # State machine and execution names: 1-80 of [A-Za-z0-9_-]; unique so runs never collide.
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", name)[:60] or "run"
    return f"{safe}-{uuid.uuid4().hex[:12]}"


def _states_entered(history: list[dict]) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in history
        if event["type"].endswith("StateEntered")
    ]


def _failure_details(history: list[dict]) -> dict:
    for event in reversed(history):
        details = event.get("executionFailedEventDetails")
        if details is not None:
            return details
    return {}
