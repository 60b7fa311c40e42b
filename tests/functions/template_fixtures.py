"""Fixtures of the template runs (on top of conftest's `engine`). Test modules import them
by their function names; pytest knows them by the names given here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from functions import net
from functions.store.tables import table_name
from functions.triggers.records import handle_stream
from infra.local.streams import StreamPoller
from tests.functions.template_support import Remote, StepLambdas, seed_people


@pytest.fixture(name="crm")
def crm_fixture(store: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store (no engine) with the templates' people, and the settings their emails
    need: what test runs read."""
    monkeypatch.setenv("CRMFLOW_PUBLIC_URL", "https://crm.example.com")
    monkeypatch.setenv("CRMFLOW_UNSUBSCRIBE_SECRET", "s3cret")
    monkeypatch.setenv("CRMFLOW_NOTIFY_FROM", "crmflow <notify@acme.com>")
    # Publishing (for flows a template enrolls in) creates a state machine; none runs here.
    account = "arn:aws:lambda:us-east-1:123456789012"
    monkeypatch.setenv("CRMFLOW_FUNCTION_ARN", f"{account}:function:crmflow-test-{{handler}}")
    monkeypatch.setenv("CRMFLOW_STATES_ROLE_ARN", "arn:aws:iam::123456789012:role/crmflow-states")
    # customer-lifecycle's billing call
    monkeypatch.setenv("CRMFLOW_SECRET_FLOW_BILLING_API_TOKEN", "bill-tok-5e1c")
    seed_people()


@pytest.fixture(name="people")
def people_fixture(engine: None) -> None:
    """The users and teams the templates name."""
    seed_people()


@pytest.fixture(name="stream")
def stream_fixture(engine: None) -> StreamPoller:
    """The contacts, deals and companies streams, delivered to the record trigger when a
    test polls (as the event source mapping does on AWS)."""
    tables = [table_name(t) for t in ("contacts", "deals", "companies")]
    poller = StreamPoller(tables, lambda event: handle_stream(event["Records"]))
    poller.poll_once()  # start after what the fixtures wrote
    return poller


@pytest.fixture(name="remote")
def remote_fixture(engine: None, monkeypatch: pytest.MonkeyPatch) -> Remote:
    fake = Remote()
    monkeypatch.setattr(net, "request", fake.request)
    return fake


@pytest.fixture(name="lambdas")
def lambdas_fixture(engine: None) -> Iterator[StepLambdas]:
    observed = StepLambdas()
    yield observed
    observed.restore()
