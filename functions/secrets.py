"""Secrets by name, for steps that call other systems (API keys, tokens).

A flow names a secret (`FLOW_API_TOKEN`), never holds its value. The value comes from the
environment (`CRMFLOW_SECRET_FLOW_API_TOKEN`, set per stage) or, when
`CRMFLOW_SECRETS_SSM_PREFIX` is set (e.g. `/crmflow/prod/`), from SSM Parameter Store
(SecureString, decrypted), cached for a few minutes per Lambda container. Values are never
logged and never put in errors or results: messages name the secret only.

Flows reach secrets only through `Secrets`, which checks every name against the rule in
flows/nodes/http_request.py (only `FLOW_…` names; hook signing keys never) before it reads
anything: validation refuses other names too, and this catches flows saved before the rule
and names chosen at run time. `secret()` itself is crmflow's own door (hook signatures).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from flows.nodes.http_request import secret_refusal
from functions.errors import MissingSecret, SecretNotGranted, Transient

ENV_PREFIX = "CRMFLOW_SECRET_"
SSM_PREFIX_ENV = "CRMFLOW_SECRETS_SSM_PREFIX"
CACHE_SECONDS = 300  # a rotated secret is picked up within five minutes

_cache: dict[str, tuple[float, str]] = {}
_lock = threading.Lock()
_client: Any = None
_quiet = threading.local()


def secret(name: str) -> str:
    """The value of secret `name`, any name: for crmflow's own use, never a flow's (flows go
    through `Secrets`). Crm.MissingSecret when it is configured nowhere."""
    value = os.environ.get(ENV_PREFIX + name)
    if value:
        return value
    prefix = os.environ.get(SSM_PREFIX_ENV)
    if prefix:
        key = prefix + name
        with _lock:
            cached = _cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        value = _from_ssm(key, name)
        if value is not None:
            with _lock:
                _cache[key] = (time.monotonic() + CACHE_SECONDS, value)
            return value
    where = f"{ENV_PREFIX}{name}" + (f" or SSM parameter {prefix}{name}" if prefix else "")
    raise MissingSecret(f"secret '{name}' is not configured (set {where})")


def clear_cache() -> None:
    global _client
    with _lock:
        _cache.clear()
        _client = None


class Secrets:
    """`{{ secrets.FLOW_NAME }}` in templates (and `auth_secret`): fetches only the secrets a
    template uses, only those granted to flows (Crm.SecretNotGranted otherwise, before any
    read), and remembers their values so callers can redact them from anything they return.

    Not a Mapping on purpose: a template can look one secret up by name, but cannot list,
    iterate or reach the remembered values (the sandbox hides `_` attributes)."""

    __slots__ = ("_used",)

    def __init__(self) -> None:
        self._used: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        if not isinstance(name, str):
            raise KeyError(name)
        if name not in self._used:
            refusal = secret_refusal(name)
            if refusal:
                raise SecretNotGranted(refusal)
            self._used[name] = secret(name)
        return self._used[name]

    def __iter__(self) -> Iterator[str]:
        return iter(())  # `{{ secrets|list }}` lists nothing

    def __repr__(self) -> str:
        return "<secrets>"


def used_values(secrets: Secrets) -> list[str]:
    """The values `secrets` handed out so far (to redact them from answers)."""
    return list(secrets._used.values())


def _from_ssm(key: str, name: str) -> str | None:
    from botocore.exceptions import BotoCoreError, ClientError

    _quiet.on = True  # botocore logs whole response bodies at DEBUG: not this one
    try:
        reply = _ssm().get_parameter(Name=key, WithDecryption=True)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ParameterNotFound":
            return None
        if code in ("AccessDeniedException", "ValidationException"):
            raise MissingSecret(f"secret '{name}' cannot be read from SSM ({code})") from None
        raise Transient(f"reading secret '{name}' from SSM failed ({code})") from None
    except BotoCoreError as exc:
        raise Transient(f"reading secret '{name}' from SSM failed ({type(exc).__name__})") from None
    finally:
        _quiet.on = False
    return reply["Parameter"]["Value"]


def _ssm() -> Any:
    global _client
    with _lock:
        if _client is None:
            import boto3

            _client = boto3.client("ssm")
        return _client


def _not_while_fetching(record: logging.LogRecord) -> bool:
    return not getattr(_quiet, "on", False)


for _logger in ("botocore.parsers", "botocore.endpoint", "botocore.hooks", "botocore.auth"):
    logging.getLogger(_logger).addFilter(_not_while_fetching)
