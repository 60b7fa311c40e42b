"""The editor against a live API: the app's HTTP server on a free port of 127.0.0.1, over
moto in this process (the `engine` of tests/functions: tables, Step Functions running the
flows with the real step Lambdas, SES). Pages run in streamlit's AppTest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.functions.conftest import _fake_credentials, engine, store  # noqa: F401 (fixtures)

PAGES = Path(__file__).resolve().parents[2] / "editor" / "pages"


@pytest.fixture(scope="session")
def api_server() -> Iterator[str]:
    """One HTTP server for the session: chalice's local server can be made once per
    process (it rebases the app's class). It serves whatever moto each test mocks."""
    from functions.app import app
    from infra.local.server import ApiServer, free_port

    server = ApiServer(app, free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def live_api(engine: None, api_server: str, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    """The API's URL, over this test's moto with the demo data; the editor's key (an
    admin's) is in its environment."""
    from functions.auth import issue_key
    from infra.local.seed import seed_demo_data
    from infra.local.templates import template_documents, verify_senders

    verify_senders(template_documents())
    seed_demo_data()
    monkeypatch.setenv("CRMFLOW_API_URL", api_server)
    monkeypatch.setenv("CRMFLOW_API_KEY", issue_key("editor tests", "admin", by="tests")[1])
    return api_server


def page(name: str) -> AppTest:
    """A page of the editor, ready to run."""
    return AppTest.from_file(str(PAGES / f"page_{name}.py"), default_timeout=60)
