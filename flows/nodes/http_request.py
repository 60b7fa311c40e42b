"""Action: call another system over HTTP. Secrets are referenced by name, never inline."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import Field, model_validator

from flows.model import Flow, Node
from flows.nodes.base import Cost, Finding, TaskKind
from flows.params import LongTemplate, Params, SecretName, Template, Url

_HEADER = re.compile(r"^[A-Za-z0-9-]{1,100}$")
_SECRET_REF = re.compile(r"\{\{\s*secrets\.[A-Z][A-Z0-9_]*\s*\}\}")
_SENSITIVE = re.compile(r"authorization|api[-_]?key|token|secret|password|cookie", re.I)


class HttpRequestParams(Params):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field(
        "POST", description="The HTTP method."
    )
    url: Url = Field(description="https://… ; the path and query may use {{ }}.")
    headers: dict[str, Template] = Field(
        default_factory=dict,
        description="Request headers; credentials as {{ secrets.NAME }}, never pasted in.",
    )
    auth_secret: SecretName | None = Field(
        None, description="Secret sent as 'Authorization: Bearer …'."
    )
    body: LongTemplate | None = Field(None, max_length=100_000, description="JSON body template.")
    expected_status: list[int] = Field(
        default_factory=list, description="Statuses that count as success (empty: any 2xx)."
    )
    timeout_seconds: int = Field(
        10, ge=1, le=60, description="Give up on one attempt after this many seconds."
    )

    @model_validator(mode="after")
    def _shape(self) -> HttpRequestParams:
        bad = [h for h in self.headers if not _HEADER.match(h)]
        if bad:
            raise ValueError(f"'{bad[0]}' is not a valid header name")
        if self.method in ("GET", "DELETE") and self.body:
            raise ValueError(f"a {self.method} request has no body; remove 'body' or use POST")
        wrong = [s for s in self.expected_status if not 100 <= s <= 599]
        if wrong:
            raise ValueError(f"{wrong[0]} is not an HTTP status")
        return self


class HttpRequest(TaskKind):
    name = "http_request"
    display_name = "HTTP request"
    description = "Calls another system's API; retries on 5xx and 429, refuses private addresses."
    icon = "🌐"
    Params = HttpRequestParams
    handler = "http_request"
    cost = Cost(lambda_calls=1, ddb_reads=1, ddb_writes=2)

    def check(self, node: Node, params: HttpRequestParams, flow: Flow) -> Iterator[Finding]:
        for name, value in params.headers.items():
            if _SENSITIVE.search(name) and not _SECRET_REF.search(value):
                yield Finding(
                    f"params.headers.{name}",
                    f"header '{name}' looks like a credential: store it as a secret and write "
                    "{{ secrets.NAME }} (or use auth_secret) instead of pasting it",
                )


KIND = HttpRequest()
