"""One botocore data loader for every PynamoDB connection of the local stack.

PynamoDB gives each model's connection its own botocore session, and each new session
parses botocore's endpoint rules and the DynamoDB service model from JSON again: ~0.15 s
per model, ~3 s for the CRM's tables before the first request. A loader shared by those
sessions parses each file once (measured: 0.15 s → 0.015 s per connection). Sessions,
credentials and clients stay separate; only the parsed, read-only data files are shared.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_saved: list[Callable[[], Any]] = []


def share_loader() -> None:
    """From now on, PynamoDB's new botocore sessions share one data loader (idempotent)."""
    import botocore.loaders
    import botocore.session
    import pynamodb.connection.base as pynamodb_base

    with _lock:
        if _saved:
            return
        loader = botocore.loaders.create_loader()
        original = pynamodb_base.get_session

        def get_session() -> Any:
            session = original()
            session.register_component("data_loader", loader)
            return session

        _saved.append(original)
        pynamodb_base.get_session = get_session


def unshare_loader() -> None:
    import pynamodb.connection.base as pynamodb_base

    with _lock:
        if _saved:
            pynamodb_base.get_session = _saved.pop()


@contextmanager
def shared_loader() -> Iterator[None]:
    """share_loader() for the block only (unless it was shared before it)."""
    already = bool(_saved)
    share_loader()
    try:
        yield
    finally:
        if not already:
            unshare_loader()
