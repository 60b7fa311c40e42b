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
