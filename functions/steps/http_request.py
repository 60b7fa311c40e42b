"""http_request: call another system once per execution step, refusing private targets.

The call happens inside once(): a retried Task returns the first answer instead of calling
again, and the `Idempotency-Key: <execution>#<state>` header lets the remote dedupe the
one case once() cannot see (a timeout after the remote acted, then a retry). 5xx and 429
raise Http.Retryable (a Crm.Transient, so the flow's Retry backs off); timeouts raise
Http.Timeout; any other unexpected status raises Http.BadStatus.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from typing import Any
from urllib.parse import quote, urlsplit

from functions import net
from functions.errors import HttpBadStatus, HttpRetryable, InvalidParams, TemplateError
from functions.render import ONE_LINE, contact_view, render
from functions.secrets import Secrets, used_values
from functions.steps.base import Step, once
from functions.store.contacts import get_contact

log = logging.getLogger(__name__)

MAX_JSON_BODY = 8 * 1024  # a parsed JSON answer below this goes into the state document
MAX_TEXT_BODY = 2 * 1024  # anything else is cut to this (the document must stay small)
ERROR_BODY_CHARS = 200
USER_AGENT = "crmflow/0.1 (+http_request step)"
_URL_SAFE = "/?#[]@!$&'()*+,;=:%~-._"  # reserved and unreserved: only the rest is escaped
_REDACTED = "[secret]"

# Browsers and most servers stop at 8 KB of URL; a longer one is a template gone wrong.
MAX_URL = 8_192


def handle(step: Step) -> dict[str, Any]:
    return once(step, lambda: _call(step))


def _call(step: Step) -> dict[str, Any]:
    params = step.params
    context = _Context(step)
    url = _url(
        render(params.url, context.for_template(params.url), what="the URL", max_chars=MAX_URL)
    )
    secrets = Secrets()
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json, */*;q=0.5"}
    for name, template in params.headers.items():
        value = render(
            template,
            context.for_template(template, secrets),
            what=f"header {name}",
            max_chars=ONE_LINE * 8,  # a bearer token or a JWT, not a document
        )
        headers[name] = _header(name, value)
    if params.auth_secret:
        _put(headers, "Authorization", f"Bearer {secrets[params.auth_secret]}")
    _put(headers, "Idempotency-Key", step.effect_key)
    body = _body(params.body, headers, context) if params.body is not None else None

    host = urlsplit(url).hostname
    log.info("http_request %s %s (node %s)", params.method, host, step.node)
    response = net.request(
        params.method,
        url,
        headers=headers,
        body=body,
        timeout=params.timeout_seconds,
        max_body=MAX_JSON_BODY,
    )
    log.info("http_request %s %s answered %s", params.method, host, response.status)
    text = _redact(response.body.decode(_charset(response.headers), "replace"), secrets)
    if not _expected(response.status, params.expected_status):
        where = f"{params.method} {host} answered {response.status}"
        if response.status >= 500 or response.status == 429:
            raise HttpRetryable(where)
        raise HttpBadStatus(f"{where}: {text[:ERROR_BODY_CHARS]}")
    return {"status": response.status, "body": _result_body(text, response)}


class _Context:
    """Template data, read only when a template asks: the contact costs a DynamoDB read."""

    def __init__(self, step: Step) -> None:
        self.step = step
        self._contact: dict[str, Any] | None = None

    def for_template(self, source: str, secrets: Secrets | None = None) -> dict[str, Any]:
        context: dict[str, Any] = {"trigger": self.step.trigger}
        if "contact" in source:
            if self._contact is None:
                self._contact = contact_view(get_contact(self.step.contact_id))
            context["contact"] = self._contact
        if secrets is not None:  # only headers see secrets: never the URL or the body
            context["secrets"] = secrets
        return context


def _url(rendered: str) -> str:
    # flows/ checked that templates fill only the path and query; escape what a value may
    # bring that a request line cannot carry (spaces, non-ASCII). Use |urlencode in the
    # template to escape & and = inside a value.
    url = quote(rendered.strip(), safe=_URL_SAFE)
    if urlsplit(url).scheme not in ("http", "https"):
        raise InvalidParams(f"the URL must start with http:// or https://, got {url[:80]!r}")
    return url


def _put(headers: dict[str, str], name: str, value: str) -> None:
    """Set a header, replacing one the flow wrote in another case."""
    for key in [k for k in headers if k.lower() == name.lower()]:
        del headers[key]
    headers[name] = value


def _header(name: str, value: str) -> str:
    if re.search(r"[\r\n\x00]", value):
        raise InvalidParams(f"header '{name}' renders to a value with a line break")
    return value.strip()


def _body(template: str, headers: dict[str, str], context: _Context) -> bytes:
    text = render(template, context.for_template(template))
    kind = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if kind is None:
        kind = "application/json" if _is_json(text) else "text/plain; charset=utf-8"
        headers["Content-Type"] = kind
    elif "json" in kind.lower():
        try:
            json.loads(text)
        except ValueError as exc:
            raise TemplateError(
                f"the body is not valid JSON after rendering ({exc}); "
                "use |tojson for values that may contain quotes"
            ) from None
    return text.encode("utf-8")


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _expected(status: int, expected: list[int]) -> bool:
    return status in expected if expected else 200 <= status < 300


def _charset(headers: dict[str, str]) -> str:
    match = re.search(r"charset=\"?([\w-]+)", headers.get("content-type", ""), re.I)
    if match:
        try:
            return codecs.lookup(match.group(1)).name
        except LookupError:
            pass
    return "utf-8"


def _result_body(text: str, response: net.Response) -> Any:
    kind = response.headers.get("content-type", "")
    if not response.truncated and ("json" in kind or text.lstrip()[:1] in ("{", "[")):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return _cut(text, MAX_TEXT_BODY)


def _cut(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def _redact(text: str, secrets: Secrets) -> str:
    # A remote that echoes the request (or an error page quoting it) must not carry a
    # secret into the state document, the execution history or an error message.
    for value in used_values(secrets):
        if value:
            text = text.replace(value, _REDACTED)
    return text
