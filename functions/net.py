"""Outbound HTTP for flows: refuse private targets, then talk only to the address checked.

A flow's URL is user input, and Lambdas sit next to the instance metadata service and
the VPC: a request to 169.254.169.254, 10.x or localhost could leak credentials. So the
host is resolved once, every address is checked, and the connection goes to that checked
IP (Host header and TLS SNI/certificate name stay the URL's host), so a DNS answer that
changes between the check and the connect (rebinding) cannot redirect it. Redirects are
followed only to the same origin, each re-checked the same way.

CRMFLOW_HTTP_ALLOW lets flows reach chosen private targets: comma-separated host names,
IPs or networks, each with an optional port (`localhost:8080`, `10.0.0.0/8:8443`,
`[::1]:8080`, `[fd00::/8]:443`). An entry matches host AND port: without a port it allows
only 80 and 443, so allowing a host's web server does not open its other services (on the
local stack, moto's AWS endpoint listens on localhost too).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from functions import sandbox
from functions.errors import HttpRefused, HttpRetryable, HttpTimeout

ALLOW_ENV = "CRMFLOW_HTTP_ALLOW"
MAX_REDIRECTS = 3
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_BARE_PORTS = frozenset(_DEFAULT_PORTS.values())  # what an allow-list entry without a port allows
_SECRET_HEADER_WORDS = ("auth", "key", "token", "secret", "signature", "cookie")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """Where a URL leads: its scheme, host name and port, and the checked IP to dial."""

    scheme: str
    host: str
    port: int
    address: str
    path: str  # path and query, as sent on the request line

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == _DEFAULT_PORTS[self.scheme] else f"{name}:{self.port}"


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes  # at most `max_body` bytes (+1, so callers can tell it was cut)
    truncated: bool


def check_target(url: str) -> None:
    """Http.Refused when `url` is not http(s) or its host resolves to a non-public address
    (private, loopback, link-local, multicast, reserved, unspecified) not allow-listed."""
    resolve(url)


def resolve(url: str) -> Target:
    """Resolve `url`'s host once and check every address; the Target to connect to."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise HttpRefused(f"only http and https URLs are allowed, not '{scheme or url}'")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise HttpRefused("the URL has no host")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise HttpRefused(f"the URL's port is not a number: {url!r}") from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        # Transient: DNS failures are usually passing; the flow's Retry gives it time.
        raise HttpRetryable(f"cannot resolve {host}: {exc}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise HttpRetryable(f"{host} has no address")
    hosts, networks = _allowed()
    if (host, port) not in hosts:
        for address in addresses:
            why = _non_public(address)
            if why and not any(
                address in net and port in ports
                for net, ports in networks
                if net.version == address.version
            ):
                name = f"[{host}]" if ":" in host else host
                listed = name if port in _BARE_PORTS else f"{name}:{port}"
                raise HttpRefused(
                    f"{host} resolves to {address}, a {why} address; requests to it on port "
                    f"{port} are refused unless {ALLOW_ENV} lists {listed} (an entry without "
                    "a port allows only 80 and 443)"
                )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme, host, port, str(addresses[0]), path)


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    body: bytes | None,
    timeout: float,
    max_body: int,
) -> Response:
    """One HTTP exchange, redirects to the same origin followed (each target re-checked).

    Http.Timeout when the whole exchange takes longer than `timeout`; Http.Retryable when
    the connection fails. The body is read up to `max_body` + 1 bytes, the rest dropped.
    """
    test_run = sandbox.active()
    if test_run is not None:  # a test run calls nobody: it shows the request it would make
        shown = body.decode("utf-8", "replace") if body else None
        test_run.record("http", method=method, url=url, headers=_hidden(headers), body=shown)
        return Response(200, {"content-type": "application/json"}, b"{}", False)
    deadline = time.monotonic() + timeout
    target = resolve(url)
    origin = target.origin
    for _ in range(MAX_REDIRECTS + 1):
        response = _exchange(method, target, headers, body, deadline, max_body)
        location = response.headers.get("location")
        if response.status not in REDIRECTS or not location:
            return response
        next_url = urljoin(f"{target.scheme}://{target.host_header}{target.path}", location)
        if _origin(next_url) != origin:
            return response  # another host: not followed, the caller sees the 3xx
        target = resolve(next_url)  # the same name may resolve elsewhere now: check again
        if response.status == 303 or (response.status in (301, 302) and method != "GET"):
            method, body = "GET", None
    return response


def _exchange(
    method: str,
    target: Target,
    headers: dict[str, str],
    body: bytes | None,
    deadline: float,
    max_body: int,
) -> Response:
    left = deadline - time.monotonic()
    if left <= 0:
        raise HttpTimeout(f"{method} {target.host} took longer than allowed")
    pool = _pool(target, left)
    sent = {k: v for k, v in headers.items() if k.lower() != "host"}
    sent["Host"] = target.host_header
    try:
        with pool:
            raw = pool.urlopen(
                method,
                target.path,
                body=body,
                headers=sent,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
            try:
                data = _read(raw, deadline, max_body + 1)
            finally:
                raw.release_conn()
                raw.close()
    except Urllib3Timeout:
        raise HttpTimeout(f"{method} {target.host} did not answer in time") from None
    except SSLError as exc:
        raise HttpRefused(f"TLS with {target.host} failed: {_reason(exc)}") from None
    except (HTTPError, OSError) as exc:
        raise HttpRetryable(f"{method} {target.host} failed: {_reason(exc)}") from None
    return Response(
        status=raw.status,
        headers={k.lower(): v for k, v in raw.headers.items()},
        body=data[:max_body],
        truncated=len(data) > max_body,
    )


def _hidden(headers: dict[str, str]) -> dict[str, str]:
    """Headers fit to show: credentials replaced (a test run's answer is shown to people)."""
    return {
        name: "[hidden]" if any(w in name.lower() for w in _SECRET_HEADER_WORDS) else value
        for name, value in headers.items()
    }


def _pool(target: Target, timeout: float) -> urllib3.HTTPConnectionPool:
    """A one-off pool dialling the checked IP; TLS names the URL's host (SNI, certificate)."""
    limits = urllib3.Timeout(connect=timeout, read=timeout)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=limits,
            maxsize=1,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    return urllib3.HTTPConnectionPool(
        target.address, target.port, timeout=limits, maxsize=1, retries=False
    )


def _read(raw: urllib3.BaseHTTPResponse, deadline: float, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        if time.monotonic() > deadline:  # a server dripping bytes must not hold us forever
            raise HttpTimeout("the response took longer than allowed")
        chunk = raw.read(min(16_384, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        return None
    return scheme, (parts.hostname or "").rstrip(".").lower(), port


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return str(reason)[:200]


def _non_public(address: IPAddress) -> str | None:
    """Why `address` must not be reached from a flow, or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return _non_public(embedded)
    for why, flag in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("non-global", not address.is_global),  # shared (100.64/10), documentation, …
    ):
        if flag:
            return why
    return None


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _allowed() -> tuple[set[tuple[str, int]], list[tuple[Network, frozenset[int]]]]:
    """(host, port) pairs and (network, ports) of CRMFLOW_HTTP_ALLOW; see the module's doc."""
    hosts: set[tuple[str, int]] = set()
    networks: list[tuple[Network, frozenset[int]]] = []
    for raw in os.environ.get(ALLOW_ENV, "").split(","):
        entry, ports = _split_port(raw.strip().lower())
        if not entry or ports is None:
            continue  # an entry whose port is not a port allows nothing
        try:
            networks.append((ipaddress.ip_network(entry, strict=False), ports))
        except ValueError:
            hosts.update((entry.rstrip("."), port) for port in ports)
    return hosts, networks


def _split_port(entry: str) -> tuple[str, frozenset[int] | None]:
    """(host or network, the ports it allows): `[v6]:port` and `name:port` carry one port;
    a bare entry, an unbracketed IPv6 address among them, allows 80 and 443."""
    if entry.startswith("["):
        inside, _, rest = entry[1:].partition("]")
        if not rest:
            return inside, _BARE_PORTS
        return inside, _port(rest[1:]) if rest.startswith(":") else None
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        return name, _port(port)
    return entry, _BARE_PORTS


def _port(text: str) -> frozenset[int] | None:
    if not text.isdigit() or not 0 < int(text) < 65536:
        return None
    return frozenset({int(text)})
