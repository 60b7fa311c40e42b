"""Action: call another system over HTTP. Secrets are referenced by name, never inline.

Which secrets a flow may read is decided here, by name, so the editor, `crmflow validate`,
publishing and the step at run time (functions/secrets.py) apply one rule:

- Flows read only secrets whose name starts with `FLOW_` (`{{ secrets.FLOW_BILLING_TOKEN }}`,
  `auth_secret: FLOW_BILLING_TOKEN`). A flow's headers go to a host the marketer chooses,
  so reading a secret is handing it out; the prefix is the admin's grant. An admin grants
  a token to flows by storing it under a `FLOW_` name (`CRMFLOW_SECRET_FLOW_…`, or
  `FLOW_…` under the SSM prefix), and both the marketer (in the flow) and the admin (in
  the configuration) see from the name alone that flows can send it out.
- A prefix and not a list kept in configuration: validation has no deployment at hand (the
  editor and `crmflow validate` run on a laptop), so a list would let a flow validate and
  then fail in production, and a list can drift from the secrets it names. A name cannot.
- The secrets crmflow itself runs on never carry the prefix, so no configuration can hand
  them to a flow: hook signing keys are `HOOK_<FLOW_ID>`, the link-signing key is
  `CRMFLOW_UNSUBSCRIBE_SECRET` (not a named secret at all), API keys live hashed in
  DynamoDB. A `HOOK_` name is refused with its own message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Literal

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment
from pydantic import Field, model_validator

from flows import summaries as say
from flows.model import Flow, Node
from flows.nodes.base import Cost, Finding, TaskKind
from flows.params import LongTemplate, Params, SecretName, Template, Url

_HEADER = re.compile(r"^[A-Za-z0-9-]{1,100}$")
_SECRET_REF = re.compile(r"\{\{\s*secrets\.[A-Z][A-Z0-9_]*\s*\}\}")
_SENSITIVE = re.compile(r"authorization|api[-_]?key|token|secret|password|cookie", re.I)

FLOW_SECRET_PREFIX = "FLOW_"
_FLOW_SECRET = re.compile(r"^FLOW_[A-Z0-9_]{1,59}$")  # SecretName's rule, with the prefix
_NAME = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")
# Prefixes of crmflow's own secrets: refused with a message saying what they are.
_NEVER_FOR_FLOWS = {"HOOK_": "a hook's signing key"}
_PARSER = SandboxedEnvironment()  # parsing only, to find the secrets a template reads


def secret_refusal(name: str) -> str | None:
    """Why a flow may not read secret `name`, or None when it may (see the module's doc)."""
    if _FLOW_SECRET.match(name):
        return None
    if not _NAME.match(name):
        return f"{name[:70]!r} is not a secret name; flows read secrets named {FLOW_SECRET_PREFIX}…"
    for prefix, what in _NEVER_FOR_FLOWS.items():
        if name.startswith(prefix):
            return f"secret '{name}' is {what}; flows can never read it"
    return (
        f"secret '{name}' is not granted to flows: flows read only secrets named "
        f"{FLOW_SECRET_PREFIX}…; an admin grants this one by storing it as "
        f"{FLOW_SECRET_PREFIX}{name} (CRMFLOW_SECRET_{FLOW_SECRET_PREFIX}{name}, or under the SSM "
        f"prefix), and the flow names {FLOW_SECRET_PREFIX}{name}"
    )


@lru_cache(maxsize=1024)
def secret_uses(template: str) -> tuple[str | None, ...]:
    """The secret names a template reads, in order; None for a use that names no secret
    (`secrets[contact.x]`, `{% set s = secrets %}`…), which validation cannot check."""
    if "secrets" not in template:
        return ()
    try:
        tree = _PARSER.parse(template)
    except (TemplateSyntaxError, RecursionError):
        return ()  # the params model reports the template error
    uses: list[str | None] = []
    direct: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node.node, nodes.Name) and node.node.name == "secrets":
            direct.add(id(node.node))
            if isinstance(node, nodes.Getattr):
                uses.append(node.attr)
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                uses.append(node.arg.value)
            else:
                uses.append(None)
    for name in tree.find_all(nodes.Name):
        if name.name == "secrets" and name.ctx == "load" and id(name) not in direct:
            uses.append(None)
    return tuple(dict.fromkeys(uses))


class HttpRequestParams(Params):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field(
        "POST", description="The HTTP method."
    )
    url: Url = Field(description="https://… ; the path and query may use {{ }}.")
    headers: dict[str, Template] = Field(
        default_factory=dict,
        description="Request headers; credentials as {{ secrets.FLOW_NAME }}, never pasted in.",
    )
    auth_secret: SecretName | None = Field(
        None,
        description="Secret sent as 'Authorization: Bearer …'; a FLOW_… name (granted to flows).",
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
            for secret in secret_uses(value):
                refusal = secret_refusal(secret) if secret is not None else _INDIRECT
                if refusal:
                    yield Finding(f"params.headers.{name}", refusal)
        if params.auth_secret:
            refusal = secret_refusal(params.auth_secret)
            if refusal:
                yield Finding("params.auth_secret", refusal)

    def describe(self, params: HttpRequestParams, labels: Mapping[str, str]) -> str:
        return f"{params.method} {say.text(params.url)}"


_INDIRECT = (
    "name the secret in the template, as {{ secrets.FLOW_NAME }}: which secret a flow "
    "reads must be visible before it runs"
)


KIND = HttpRequest()
