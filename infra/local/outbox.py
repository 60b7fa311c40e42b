"""Every email the local stack "sends" (moto's SES keeps them in memory and forgets them
on exit), written as an .eml file to the data directory's outbox: open one in a mail
client to see what a contact would have received."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from infra.local.sfn_runner import ACCOUNT_ID, REGION


def sent_messages() -> list[Any]:
    """moto's record of the messages SES accepted in this process (SES v1 and v2 share it)."""
    from moto.ses.models import ses_backends

    return ses_backends[ACCOUNT_ID][REGION].sent_messages


def as_bytes(message: Any) -> bytes:
    """The message as sent: raw messages as they are, simple ones rebuilt as MIME."""
    raw = getattr(message, "raw_data", None)
    if raw is not None:
        return raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    built = EmailMessage()
    built["From"] = message.source
    built["To"] = ", ".join(message.destinations.get("ToAddresses", []))
    built["Subject"] = message.subject
    built.set_content(message.body)
    return built.as_bytes()


class Outbox:
    """Polls moto's sent messages and writes the new ones to `folder`."""

    def __init__(self, folder: Path, every: float = 1.0) -> None:
        self.folder, self.every = folder, every
        self.written = 0
        self._seen = len(sent_messages())  # messages from before the stack started
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="crmflow-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    def flush(self) -> int:
        """Write the messages sent since the last flush; how many."""
        with self._lock:
            messages = sent_messages()[self._seen :]
            if messages:
                self.folder.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            for offset, message in enumerate(messages):
                number = self.written + offset + 1
                name = f"{stamp}-{number:05d}-{_safe(getattr(message, 'id', ''))}.eml"
                (self.folder / name).write_bytes(as_bytes(message))
            self._seen += len(messages)
            self.written += len(messages)
            return len(messages)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.flush()


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)[:40] or "message"
