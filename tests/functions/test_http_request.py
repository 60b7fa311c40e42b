"""http_request against a real HTTP server on 127.0.0.1 (allow-listed), and the guard
that refuses private targets before any connection is made."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
import urllib3

from functions import net, secrets
from functions.errors import (
    CrmError,
    HttpBadStatus,
    HttpRefused,
    HttpRetryable,
    HttpTimeout,
    MissingSecret,
    TemplateError,
    Transient,
)
from functions.steps import http_request
from functions.steps.base import parse
from functions.store import contacts
from functions.store.models import SideEffect
from tests.functions.step_payloads import payload

TOKEN = "tok-3f9a1c77e2-very-secret"
API_KEY = "key-8d21b0aa55-also-secret"
EXECUTION = "arn:aws:states:us-east-1:1:execution:f:enr-1"


class Server:
    """A tiny HTTP server that records every request and answers by path."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                outer.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                    }
                )
                route = self.path.split("?", 1)[0]
                if route == "/slow":
                    time.sleep(2.5)
                status, reply, kind, extra = outer.route(route, self, body)
                data = reply.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, route: str, req: BaseHTTPRequestHandler, body: str):  # type: ignore[no-untyped-def]
        js = "application/json"
        if route in ("/ok", "/slow"):
            return 201, json.dumps({"ok": True, "id": 42}), js, {}
        if route == "/echo":
            seen = {
                "auth": req.headers.get("Authorization"),
                "key": req.headers.get("X-Api-Key"),
                "body": body,
                "type": req.headers.get("Content-Type"),
                "host": req.headers.get("Host"),
            }
            return 200, json.dumps(seen), js, {}
        if route == "/fail":
            return 500, "boom", "text/plain", {}
        if route == "/busy":
            return 429, "slow down", "text/plain", {"Retry-After": "30"}
        if route == "/big":
            return 200, "x" * 20_000, "text/plain", {}
        if route == "/bigjson":
            return 200, json.dumps({"items": ["y" * 100] * 200}), js, {}
        if route == "/moved":
            return 302, "", "text/plain", {"Location": "/ok"}
        if route == "/away":
            return 302, "", "text/plain", {"Location": "https://elsewhere.example.com/x"}
        if route == "/echo-secret-error":
            return (
                403,
                f"forbidden for {req.headers.get('Authorization')} " + "z" * 500,
                "text/plain",
                {},
            )
        return 404, "not here " + "n" * 500, "text/plain", {}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    running = Server()
    monkeypatch.setenv(net.ALLOW_ENV, f"127.0.0.1:{running.port}")  # a bare host: 80/443 only
    yield running
    running.close()


@pytest.fixture
def sara(store):
    return contacts.create_contact({"email": "sara@example.com", "first_name": "Sara"})


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CRMFLOW_SECRET_FLOW_API_TOKEN", TOKEN)
    monkeypatch.setenv("CRMFLOW_SECRET_FLOW_API_KEY", API_KEY)
    monkeypatch.delenv(secrets.SSM_PREFIX_ENV, raising=False)
    secrets.clear_cache()
    yield
    secrets.clear_cache()


def step(params: dict[str, Any], contact_id: str, **extra: Any):  # type: ignore[no-untyped-def]
    extra.setdefault("trigger", {"plan": "pro"})
    extra.setdefault("execution", EXECUTION)
    return parse(payload("http_request", params, contact_id, node="call", **extra), "http_request")


def call(params: dict[str, Any], contact_id: str, **extra: Any) -> dict[str, Any]:
    return http_request.handle(step(params, contact_id, **extra))


def failure(params: dict[str, Any], contact_id: str, **extra: Any) -> CrmError:
    with pytest.raises(CrmError) as caught:
        call(params, contact_id, **extra)
    return caught.value


def test_success_returns_status_and_parsed_json(server, sara) -> None:
    result = call(
        {
            "url": server.url("/ok?who={{ contact.first_name }}"),
            "body": '{"plan": "{{ trigger.plan }}"}',
        },
        sara.contact_id,
    )
    assert result == {"status": 201, "body": {"ok": True, "id": 42}}
    [seen] = server.requests
    assert (seen["method"], seen["path"], seen["body"]) == (
        "POST",
        "/ok?who=Sara",
        '{"plan": "pro"}',
    )
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["headers"]["Idempotency-Key"] == f"{EXECUTION}#call"


def test_5xx_and_429_are_retryable(server, sara) -> None:
    for path in ("/fail", "/busy"):
        error = failure({"method": "GET", "url": server.url(path)}, sara.contact_id)
        assert type(error).__name__ == "Http.Retryable"
        assert isinstance(error, HttpRetryable) and isinstance(error, Transient)
    assert len(server.requests) == 2  # no retries of our own: the flow's Retry backs off


def test_unexpected_status_is_bad_status_with_a_short_body(server, sara) -> None:
    error = failure(
        {"method": "GET", "url": server.url("/nothing"), "expected_status": []}, sara.contact_id
    )
    assert isinstance(error, HttpBadStatus) and not isinstance(error, Transient)
    message = str(error)
    assert message.startswith("GET 127.0.0.1 answered 404: not here nnn")
    assert len(message.split(": ", 1)[1]) == 200


def test_expected_status_list_decides_success(server, sara) -> None:
    result = call(
        {"method": "GET", "url": server.url("/nothing"), "expected_status": [404]}, sara.contact_id
    )
    assert result["status"] == 404
    error = failure(
        {"method": "GET", "url": server.url("/ok"), "expected_status": [200]},
        sara.contact_id,
        state="other",
    )
    assert isinstance(error, HttpBadStatus)


def test_slow_server_times_out(server, sara) -> None:
    started = time.monotonic()
    error = failure({"url": server.url("/slow"), "timeout_seconds": 1}, sara.contact_id)
    assert isinstance(error, HttpTimeout) and isinstance(error, Transient)
    assert type(error).__name__ == "Http.Timeout"
    assert time.monotonic() - started < 2.0


def test_a_failed_call_leaves_no_claim_so_a_retry_calls_again(server, sara) -> None:
    with pytest.raises(HttpRetryable):
        call({"method": "GET", "url": server.url("/fail")}, sara.contact_id)
    with pytest.raises(HttpRetryable):
        call({"method": "GET", "url": server.url("/fail")}, sara.contact_id)
    assert len(server.requests) == 2


def test_duplicate_invocation_makes_one_request(server, sara) -> None:
    params = {"url": server.url("/ok"), "body": '{"a": 1}'}
    first = call(params, sara.contact_id)
    second = call(params, sara.contact_id)
    assert first == second
    assert len(server.requests) == 1
    call(params, sara.contact_id, state="call.again")  # another state: its own call
    assert len(server.requests) == 2


def test_secrets_arrive_but_never_reach_logs_results_or_errors(server, sara, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    params = {
        "url": server.url("/echo"),
        "auth_secret": "FLOW_API_TOKEN",
        "headers": {"X-Api-Key": "{{ secrets.FLOW_API_KEY }}"},
        "body": '{"secret": "{{ secrets.FLOW_API_KEY }}"}',  # the body cannot see secrets
    }
    result = call(params, sara.contact_id)
    [seen] = server.requests
    assert seen["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert seen["headers"]["X-Api-Key"] == API_KEY
    assert seen["body"] == '{"secret": ""}'
    assert result["body"]["auth"] == "Bearer [secret]"
    assert result["body"]["key"] == "[secret]"
    stored = SideEffect.get(f"{EXECUTION}#call").result
    error = failure(
        {"method": "GET", "url": server.url("/echo-secret-error"), "auth_secret": "FLOW_API_TOKEN"},
        sara.contact_id,
        state="err",
    )
    assert isinstance(error, HttpBadStatus) and "Bearer [secret]" in str(error)
    for text in (caplog.text, json.dumps(result), json.dumps(stored), str(error)):
        assert TOKEN not in text and API_KEY not in text
    assert "http_request POST 127.0.0.1" in caplog.text  # the log is there, the secret not


def test_templates_cannot_list_or_reach_fetched_secrets(server, sara) -> None:
    headers = {
        "X-Api-Key": "{{ secrets.FLOW_API_KEY }}",
        "X-List": "[{{ secrets|list|join(',') }}]",
        "X-Inner": "[{{ secrets._used }}]",
        "X-Repr": "[{{ secrets }}]",
    }
    call({"method": "GET", "url": server.url("/ok"), "headers": headers}, sara.contact_id)
    seen = server.requests[0]["headers"]
    assert (seen["X-List"], seen["X-Inner"], seen["X-Repr"]) == ("[]", "[]", "[<secrets>]")


def test_missing_secret_is_named_and_nothing_is_sent(server, sara) -> None:
    error = failure({"url": server.url("/ok"), "auth_secret": "FLOW_NOT_SET"}, sara.contact_id)
    assert type(error).__name__ == "Crm.MissingSecret" and isinstance(error, MissingSecret)
    assert "NOT_SET" in str(error) and "CRMFLOW_SECRET_FLOW_NOT_SET" in str(error)
    error = failure(
        {"url": server.url("/ok"), "headers": {"X-Token": "{{ secrets.FLOW_ALSO_MISSING }}"}},
        sara.contact_id,
    )
    assert isinstance(error, MissingSecret) and "ALSO_MISSING" in str(error)
    assert server.requests == []


def test_secret_from_ssm_is_decrypted_cached_and_not_logged(store, monkeypatch, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    value = "ssm-value-51c0ffee"
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/crmflow/test/HOOK_TOKEN", Value=value, Type="SecureString")
    caplog.clear()  # the test's own put logs the value; what follows must not
    monkeypatch.setenv(secrets.SSM_PREFIX_ENV, "/crmflow/test/")
    assert secrets.secret("HOOK_TOKEN") == value
    ssm.delete_parameter(Name="/crmflow/test/HOOK_TOKEN")
    assert secrets.secret("HOOK_TOKEN") == value  # cached for the container
    with pytest.raises(MissingSecret, match="HOOK_OTHER"):
        secrets.secret("HOOK_OTHER")
    assert value not in caplog.text


def test_body_rules(server, sara) -> None:
    call({"url": server.url("/echo"), "body": "plain {{ trigger.plan }}"}, sara.contact_id)
    assert server.requests[-1]["headers"]["Content-Type"] == "text/plain; charset=utf-8"
    assert server.requests[-1]["body"] == "plain pro"
    broken = {
        "url": server.url("/echo"),
        "headers": {"Content-Type": "application/json"},
        "body": '{"plan": {{ trigger.plan }}}',
    }
    error = failure(broken, sara.contact_id, state="b")
    assert isinstance(error, TemplateError) and "not valid JSON" in str(error)
    assert len(server.requests) == 1


def test_large_answers_stay_small_in_the_state_document(server, sara) -> None:
    big = call({"method": "GET", "url": server.url("/big")}, sara.contact_id, state="a")
    assert big["body"] == "x" * 2048
    big_json = call({"method": "GET", "url": server.url("/bigjson")}, sara.contact_id, state="b")
    assert isinstance(big_json["body"], str) and len(big_json["body"]) == 2048


def test_same_origin_redirects_are_followed_others_are_not(server, sara) -> None:
    result = call({"method": "GET", "url": server.url("/moved")}, sara.contact_id, state="a")
    assert result == {"status": 201, "body": {"ok": True, "id": 42}}
    assert [r["path"] for r in server.requests] == ["/moved", "/ok"]
    error = failure({"method": "GET", "url": server.url("/away")}, sara.contact_id)
    assert isinstance(error, HttpBadStatus) and "302" in str(error)
    assert len(server.requests) == 3


def test_connects_to_the_checked_address_with_the_name_as_host(server, sara, monkeypatch) -> None:
    """DNS rebinding: the name is resolved once; a second answer is never used."""
    answers = iter(["127.0.0.1", "10.0.0.5"])
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    result = call({"url": f"http://hooks.example.com:{server.port}/echo"}, sara.contact_id)
    assert result["body"]["host"] == f"hooks.example.com:{server.port}"
    assert len(server.requests) == 1


def test_https_dials_the_ip_but_verifies_the_name() -> None:
    target = net.Target("https", "api.example.com", 443, "93.184.215.14", "/v1")
    pool = net._pool(target, 5)
    assert isinstance(pool, urllib3.HTTPSConnectionPool)
    assert pool.host == "93.184.215.14"
    assert pool.assert_hostname == "api.example.com"
    assert pool.conn_kw["server_hostname"] == "api.example.com"
    assert target.host_header == "api.example.com"


# --- the guard, with no allow-list: refused before any connection -------------------------


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(net.ALLOW_ENV, raising=False)

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", forbidden)
    monkeypatch.setattr(socket, "create_connection", forbidden)
    monkeypatch.setattr(urllib3.util.connection, "create_connection", forbidden)


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "10.0.0.5", "169.254.169.254", "192.168.1.9", "172.16.0.1"]
)
def test_private_targets_are_refused_by_the_handler(store, sara, no_connections, host) -> None:
    error = failure({"url": f"http://{host}/latest/meta-data/"}, sara.contact_id)
    assert type(error).__name__ == "Http.Refused" and isinstance(error, HttpRefused)
    assert host in str(error)


def test_a_name_resolving_to_loopback_is_refused(store, sara, no_connections, monkeypatch) -> None:
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == "evil.example.com":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    error = failure({"url": "https://evil.example.com/hook"}, sara.contact_id)
    assert isinstance(error, HttpRefused)
    assert "evil.example.com resolves to 127.0.0.1, a loopback address" in str(error)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/x",  # the flow model refuses dotless hosts; the guard does too
        "http://[::1]:8080/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://[fe80::1]/x",
        "http://[fd00::1]/x",
        "http://0.0.0.0/x",
        "http://224.0.0.1/x",
        "http://100.64.0.1/x",
        "http://2130706433/x",  # 127.0.0.1 as one number
        "ftp://example.com/x",
        "file:///etc/passwd",
    ],
)
def test_guard_refuses(no_connections, url) -> None:
    with pytest.raises(HttpRefused):
        net.check_target(url)


def test_allow_list_takes_hosts_ips_and_cidrs(monkeypatch) -> None:
    monkeypatch.setenv(net.ALLOW_ENV, "localhost, 10.1.0.0/16 ,::1")
    net.check_target("http://localhost/x")
    net.check_target("http://10.1.2.3/x")
    net.check_target("http://[::1]/x")
    with pytest.raises(HttpRefused):
        net.check_target("http://10.2.0.1/x")
    with pytest.raises(HttpRefused):
        net.check_target("http://169.254.169.254/x")


def test_public_addresses_pass(monkeypatch) -> None:
    monkeypatch.delenv(net.ALLOW_ENV, raising=False)
    net.check_target("https://93.184.215.14/x")
    net.check_target("http://[2606:4700::1111]/x")
