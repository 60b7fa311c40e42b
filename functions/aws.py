"""The AWS clients the handlers share: created on first use (the Lambda entry module stays
light), one per service and region, and one rule for which AWS errors are transient."""

from __future__ import annotations

import functools
import threading
from typing import Any

from functions.errors import Transient
from functions.sandbox import intercept_aws
from functions.store.tables import region

_CLIENT_LOCK = threading.Lock()


@functools.cache
def _client(service: str, region_name: str) -> Any:
    import boto3  # on first send, not at import: the Lambda entry module stays light

    with _CLIENT_LOCK:  # boto3's default session is not safe to build from two threads
        return boto3.client(service, region_name=region_name)


def client(service: str) -> Any:
    """A boto3 client per service and region, created on first use and reused."""
    return _client(service, region())


# Throttling and outages pass: the flow's Retry on Crm.Transient waits them out. Anything
# else (an unverified sender, a rejected message) stays a ClientError, which Catch sees.
_TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
        "KMSThrottlingException",
    }
)


def call(operation: Any, **request: Any) -> Any:
    """An AWS call whose throttling and server errors become Crm.Transient."""
    from botocore.exceptions import ClientError, ConnectionError

    recorded = intercept_aws(operation, request)  # a test run sends nothing
    if recorded is not None:
        return recorded
    try:
        return operation(**request)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _TRANSIENT_CODES:
            raise Transient(f"{operation.__name__}: {code}") from None
        raise
    except ConnectionError as exc:
        raise Transient(f"{operation.__name__}: {exc}") from None
