"""CRMFLOW_HTTP_ALLOW matches host AND port: a bare entry allows 80 and 443 only, so
allowing `localhost` does not open the local AWS endpoint (or any other service) on it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from functions import net, steps
from functions.errors import HttpRefused
from functions.store import contacts
from tests.functions.step_payloads import payload


def allowed(url: str) -> bool:
    try:
        net.check_target(url)
    except HttpRefused:
        return False
    return True


@pytest.mark.parametrize(
    ("entries", "url", "expected"),
    [
        ("localhost", "http://localhost:5050/", False),  # moto's port on the local stack
        ("localhost", "http://localhost/", True),
        ("localhost", "https://localhost/", True),
        ("localhost", "http://localhost:443/", True),
        ("localhost", "https://localhost:80/", True),
        ("localhost", "http://localhost:8080/", False),
        ("localhost:8080", "http://localhost:8080/x", True),
        ("localhost:8080", "https://localhost:8080/x", True),
        ("localhost:8080", "http://localhost:8081/x", False),
        ("localhost:8080", "http://localhost/x", False),
        ("localhost:8080", "https://localhost/x", False),
        ("localhost:8080, localhost", "http://localhost/x", True),
        ("LOCALHOST.:8080", "http://localhost:8080/x", True),
        ("127.0.0.1", "http://127.0.0.1:5050/", False),
        ("127.0.0.1", "http://127.0.0.1/", True),
        ("127.0.0.1:5050", "http://127.0.0.1:5050/", True),
        ("10.1.0.0/16", "http://10.1.2.3/", True),
        ("10.1.0.0/16", "http://10.1.2.3:6379/", False),
        ("10.1.0.0/16:6379", "http://10.1.2.3:6379/", True),
        ("10.1.0.0/16:6379", "http://10.1.2.3/", False),
        ("::1", "http://[::1]/", True),
        ("::1", "http://[::1]:8080/", False),
        ("[::1]", "http://[::1]:8080/", False),
        ("[::1]:8080", "http://[::1]:8080/", True),
        ("[::1]:8080", "http://[::1]/", False),
        ("[fd00::/8]:8443", "https://[fd00::5]:8443/", True),
        ("[fd00::/8]:8443", "https://[fd00::5]/", False),
        ("localhost:http", "http://localhost/", False),  # not a port: the entry allows nothing
        ("localhost:0", "http://localhost/", False),
        ("localhost:70000", "http://localhost/", False),
    ],
)
def test_entries_match_host_and_port(monkeypatch, entries, url, expected) -> None:
    monkeypatch.setenv(net.ALLOW_ENV, entries)
    assert allowed(url) is expected


def test_the_refusal_says_which_entry_would_allow_it(monkeypatch) -> None:
    monkeypatch.setenv(net.ALLOW_ENV, "localhost")
    with pytest.raises(HttpRefused) as caught:
        net.check_target("http://localhost:5050/moto-api/")
    message = str(caught.value)
    assert "on port 5050 are refused unless CRMFLOW_HTTP_ALLOW lists localhost:5050" in message
    assert "an entry without a port allows only 80 and 443" in message


def test_public_hosts_need_no_entry_on_any_port(monkeypatch) -> None:
    monkeypatch.setenv(net.ALLOW_ENV, "localhost")
    assert allowed("https://93.184.215.14:8443/x")


# --- through the step, against a real server ----------------------------------------------


class Service:
    """Something private listening on 127.0.0.1 on a port other than 80/443."""

    def __init__(self) -> None:
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.hits += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def service() -> Iterator[Service]:
    running = Service()
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()


def _call(url: str, contact_id: str, state: str) -> dict[str, Any]:
    event = payload("http_request", {"url": url}, contact_id, state=state)
    return steps.run("http_request", event)


def test_a_bare_host_does_not_open_its_other_ports(store, service, monkeypatch) -> None:
    sara = contacts.create_contact({"email": "sara@example.com"}).contact_id
    url = f"http://127.0.0.1:{service.port}/private"
    monkeypatch.setenv(net.ALLOW_ENV, "127.0.0.1")
    with pytest.raises(HttpRefused):
        _call(url, sara, "first")
    assert service.hits == 0  # refused before any connection
    monkeypatch.setenv(net.ALLOW_ENV, f"127.0.0.1:{service.port}")
    assert _call(url, sara, "second")["status"] == 200
    assert service.hits == 1
