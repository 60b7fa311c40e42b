"""The CRM store on moto, in-process: every table created, nothing leaves the process."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from infra.local import moto_patches
from infra.local.sfn_runner import MOCK_CONFIG

# Simulated seconds per real second in `engine` tests: a day's wait lasts ~0.09 s.
ENGINE_TIME_SCALE = 1e-6


def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)  # an endpoint would send calls past the mock
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, a region, moto's DynamoDB and all CRM tables, fresh per test."""
    _fake_credentials(monkeypatch)
    moto_patches.apply()  # among them: DynamoDB requests applied atomically, as on AWS
    with mock_aws():
        from functions.store.tables import create_all

        create_all()
        yield


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`store`, plus moto's Step Functions executing state machines, every step Lambda of
    functions/app.py on the in-process bridge, a verified SES sender, and compressed time."""
    from functions.publish import FUNCTION_ARN_ENV, STATES_ROLE_ENV
    from infra.local.lambdas import register_app_functions, unregister_app_functions

    _fake_credentials(monkeypatch)
    monkeypatch.setenv("CRMFLOW_PUBLIC_URL", "https://crm.example.com")
    monkeypatch.setenv("CRMFLOW_UNSUBSCRIBE_SECRET", "s3cret")
    monkeypatch.setenv("CRMFLOW_NOTIFY_FROM", "crmflow <notify@acme.com>")
    for name in (FUNCTION_ARN_ENV, STATES_ROLE_ENV):
        monkeypatch.setenv(name, "")  # register_app_functions sets them; undone after
    with mock_aws(config=MOCK_CONFIG):
        moto_patches.apply(ENGINE_TIME_SCALE)
        from functions.store.tables import create_all

        create_all()
        boto3.client("sesv2").create_email_identity(EmailIdentity="acme.com")
        register_app_functions()
        try:
            yield
        finally:
            _stop_running_executions()  # waits left behind would fail noisily on teardown
            _join_interpreter_threads()
            unregister_app_functions()
            moto_patches.apply()


def _join_interpreter_threads(timeout: float = 30.0) -> None:
    """Wait for moto's interpreter threads to end. A stopped run may still be inside a step
    Lambda; left running, its write would land in the next test's fresh tables (seen as a
    stray Enrollment row in another test)."""
    from moto.stepfunctions.parser.utils import TMP_THREADS

    deadline = time.monotonic() + timeout
    for thread in list(TMP_THREADS):
        thread.join(max(0.0, deadline - time.monotonic()))
    TMP_THREADS[:] = [thread for thread in TMP_THREADS if thread.is_alive()]


def _stop_running_executions() -> None:
    sfn = boto3.client("stepfunctions")
    for machine in sfn.list_state_machines()["stateMachines"]:
        running = sfn.list_executions(
            stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"
        )["executions"]
        for execution in running:
            # moto fails to stop a run whose worker has not begun; it ends with the mock.
            with contextlib.suppress(Exception):
                sfn.stop_execution(executionArn=execution["executionArn"])
