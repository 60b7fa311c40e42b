"""The servers of the local stack: moto (all of AWS), the Chalice app's HTTP API, and the
Streamlit editor. Each starts and stops on its own; infra.local.stack runs them together."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra.local.sfn_runner import MOCK_CONFIG

HOST = "127.0.0.1"  # never 0.0.0.0: the local stack has no authentication worth the name
ROOT = Path(__file__).resolve().parents[2]
EDITOR_APP = ROOT / "editor" / "app.py"


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether a server could listen on `port` now. SO_REUSEADDR as the servers set it:
    connections of a stack that just stopped (TIME_WAIT) do not count."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    """A port nobody listens on right now (for tests and `--port 0`)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


# One line per request from moto's server, and moto's dump of every failed execution (a
# failed flow is on its enrollment, with the error), would bury what the stack says.
_QUIET = {"werkzeug": logging.ERROR, "moto.stepfunctions.parser": logging.CRITICAL}


def quiet_logs() -> None:
    for name, level in _QUIET.items():
        logging.getLogger(name).setLevel(level)


@contextmanager
def quieted_logs() -> Iterator[None]:
    """quiet_logs() for the block; the levels before come back after it."""
    saved = {name: logging.getLogger(name).level for name in _QUIET}
    quiet_logs()
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


class MotoServer:
    """moto's server in this process, so the in-process Lambda bridge sees the Step
    Functions interpreter's calls; state machines execute for real.

    Served as moto's ThreadedMotoServer serves it (moto's WSGI app, werkzeug's threaded
    server, moto's request handler), with room for a `middleware` in front of the app:
    the journal (journal.py) sees every request before it is answered."""

    def __init__(
        self,
        port: int,
        host: str = HOST,
        middleware: Callable[[Any], Any] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self._middleware = middleware
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app: Any = DomainDispatcherApplication(create_backend_app)
        if self._middleware is not None:
            app = self._middleware(app)
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="crmflow-moto", daemon=True
        )
        self._thread.start()
        self._post("/moto-api/config", MOCK_CONFIG)

    def stop(self) -> None:
        """Stop listening. Requests in progress finish on their own (daemon) threads."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._server.server_close()
            self._thread = None

    def _post(self, path: str, body: Any) -> None:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


class ApiServer:
    """The Chalice app (functions/app.py) served by `chalice local`'s threaded server."""

    def __init__(self, app: Any, port: int, host: str = HOST) -> None:
        from chalice.config import Config
        from chalice.local import create_local_server

        self.host, self.port = host, port
        # Stage variables of .chalice/config.json are not copied into os.environ by the
        # local server: the stack sets what the handlers read (infra.local.env).
        self._server = create_local_server(app, Config(chalice_stage="local"), host, port)
        self._thread = threading.Thread(
            target=self._server.server.serve_forever, name="crmflow-api", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.server.shutdown()
            self._thread.join(timeout=5)
        self._server.server.server_close()


class Editor:
    """`streamlit run editor/app.py` in a child process, when the editor exists."""

    def __init__(self, port: int, host: str = HOST, app: Path = EDITOR_APP) -> None:
        self.host, self.port, self.app = host, port, app
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def unavailable(self) -> str | None:
        """Why the editor cannot start here, or None when it can."""
        if not self.app.exists():
            return f"not built yet ({self.app.relative_to(ROOT)} does not exist)"
        if not _has_module("streamlit"):
            return "streamlit is not installed (make install)"
        return None

    def start(self, settings: dict[str, str] | None = None) -> None:
        """Start it; `settings` are added to its environment (the API's URL and key)."""
        command = [
            sys.executable,
            *("-m", "streamlit", "run", str(self.app)),
            *("--server.address", self.host, "--server.port", str(self.port)),
            *("--server.headless", "true", "--browser.gatherUsageStats", "false"),
        ]
        # The child inherits the stack's environment: moto's endpoint and fake credentials.
        environment = {**os.environ, **(settings or {})}
        self._process = subprocess.Popen(
            command, cwd=ROOT, env=environment, preexec_fn=_die_with_parent
        )

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=3)  # a stop of the stack has STOP_SECONDS in all
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _die_with_parent() -> None:
    """In the editor's process before it runs: ask Linux to end it (SIGTERM) when the
    stack's process dies. Without it a `kill -9` of the stack leaves the editor holding its
    port, and the next `make run` is refused. Elsewhere there is no such call: nothing."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _has_module(name: str) -> bool:
    from importlib.util import find_spec

    return find_spec(name) is not None
