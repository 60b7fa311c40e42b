"""What every route does before and after its own work, declared once: authenticate,
check the permission, parse the query and the body, answer JSON, map errors.

    @route(bp, "/contacts/{contact_id}", permission="contacts:read")
    def show(call: Call, contact_id: str) -> dict: ...

`route` also records what it declared (permission, query and body models, status) in
ROUTES, from which functions.api.openapi writes the OpenAPI document.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, get_origin

from chalice import Blueprint, Response

from flows.issues import json_path, message_for
from functions import json_input
from functions.api.errors import error_response
from functions.auth import Principal, principal_for, require
from functions.errors import BadRequest, BodyTooLarge
from functions.store.plain import plain as record_json  # noqa: F401 (the API's name)

log = logging.getLogger("crmflow.api")

JSON = "application/json"
MAX_ID = 256  # record ids in paths; ours are under 40 characters
# Request bodies: a JSON body this size is far past any record's; a route that takes files
# (imports) says its own, up to what a Lambda is handed (6 MB).
MAX_BODY = 1_000_000


@dataclass(frozen=True)
class RouteDoc:
    """What a route declared: the OpenAPI document is written from these."""

    method: str
    path: str
    name: str
    permission: str
    summary: str
    description: str
    status: int
    query: str | None = None  # the names of models in functions.api.bodies
    body: str | None = None
    content_type: str = JSON  # of the request body
    errors: tuple[int, ...] = ()
    public: bool = False  # no API key: the view checks a signature or a signed token
    body_required: bool = True  # False: an empty body is the body model's defaults
    max_body: int = MAX_BODY  # bytes
    answer: str | None = None  # the model of a JSON answer, in functions.api.answers
    answer_types: tuple[str, ...] = (JSON,)  # what a success answer may be sent as
    also: tuple[int, ...] = ()  # other success statuses (same answer), e.g. 204
    headers: tuple[tuple[str, str], ...] = ()  # request headers it reads: (name, what for)
    auth: tuple[str, ...] = ()  # a public route's ways to authenticate (security schemes)
    body_doc: str | None = None  # the model a body the view reads itself is documented by


ROUTES: list[RouteDoc] = []


@dataclass
class Call:
    """One authenticated request, as a view sees it."""

    principal: Principal | None  # None on public routes
    query: Any = None  # the query model, when the route declared one
    body: Any = None  # the body model, or the raw bytes for a non-JSON body
    headers: Mapping[str, str] = field(default_factory=dict)

    def require(self, permission: str, **scope: Any) -> None:
        require(
            principal_for(self.headers) if self.principal is None else self.principal,
            permission,
            **scope,
        )


def learn_public_url(context: Mapping[str, Any] | None) -> None:
    """On AWS the API's own Lambda cannot be told the API's URL (in CloudFormation the API
    names the function, so the function cannot name the API): its first request tells it.
    Links built in the API (test runs, email previews) then point where the others do."""
    if "AWS_LAMBDA_FUNCTION_NAME" not in os.environ:
        return
    from functions.email import PUBLIC_URL_ENV

    if os.environ.get(PUBLIC_URL_ENV):
        return
    domain, stage = (context or {}).get("domainName"), (context or {}).get("stage")
    if domain and stage:
        os.environ[PUBLIC_URL_ENV] = f"https://{domain}/{stage}"


def route(
    bp: Blueprint,
    path: str,
    *,
    method: str = "GET",
    permission: str,
    query: str | None = None,
    body: str | None = None,
    content_type: str = JSON,
    status: int = 200,
    errors: Iterable[int] = (),
    public: bool = False,
    body_required: bool = True,
    max_body: int = MAX_BODY,
    answer: str | None = None,
    answer_types: tuple[str, ...] = (JSON,),
    also: Iterable[int] = (),
    headers: Mapping[str, str] | None = None,
    auth: Iterable[str] = (),
    body_doc: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `view(call, **path_params)` on `bp`. `query` and `body` name models in
    functions.api.bodies; with `body_required=False` an empty body stands for the body
    model's defaults. The view returns a JSON-able value (sent with `status`) or a
    Response; it raises named errors for the rest. A `public` route takes no API key up
    front: its view authenticates the request itself (a signature, a signed token), and
    `permission` says in words what it needs. A body over `max_body` bytes is refused
    from its Content-Length, before it is read. `answer` names the model of the JSON
    answer (functions.api.answers) for the OpenAPI document; `answer_types` lists the
    media types of non-JSON answers (a page, a CSV file, an image). For the document only:
    `headers` (name: what for) a route reads, `auth` (a public route's security schemes)
    and `body_doc` (the model of a body the view reads raw)."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def handler(**path_params: str) -> Response:
            request = bp.current_request
            learn_public_url(request.context)
            try:
                refuse_large_body(request.headers, max_body)
                principal = None if public else principal_for(request.headers)
                if principal is not None:
                    log.info("%s %s by key %s", method, path, principal.key_id)
                    require(principal, permission)
                for name, value in path_params.items():
                    # Ids are DynamoDB keys; public routes carry signed tokens, not ids.
                    if (
                        not public and len(value) > MAX_ID
                    ):  # DynamoDB refuses longer keys: no such record
                        raise field_error(name, f"longer than {MAX_ID} characters")
                call = Call(principal, headers=request.headers)
                if query is not None:
                    call.query = parse_query(query, request.query_params)
                if body is not None and not body_required and not _given(request.raw_body):
                    call.body = validated(body, {}, "body")
                elif body is not None:
                    call.body = parse_json(body, request.raw_body)
                elif content_type != JSON:
                    call.body = request.raw_body
                result = view(call, **path_params)
            except Exception as exc:
                return error_response(exc)
            if isinstance(result, Response):
                return result
            return json_response(result, status)

        bp.route(path, methods=[method], content_types=[content_type], name=view.__name__)(handler)
        summary, _, description = (view.__doc__ or "").strip().partition("\n")
        ROUTES.append(
            RouteDoc(
                method,
                path,
                view.__name__,
                permission,
                summary.strip(),
                " ".join(description.split()),
                status,
                query,
                body,
                content_type,
                _documented_errors(
                    # A query or a path parameter that cannot be read is a 400.
                    [*errors, *([400] if query or "{" in path else [])],
                    public,
                    takes_body=method != "GET",
                ),
                public,
                body_required,
                max_body,
                answer,
                answer_types,
                tuple(also),
                tuple((headers or {}).items()),
                tuple(auth),
                body_doc,
            )
        )
        return view

    return register


def _documented_errors(errors: Iterable[int], public: bool, takes_body: bool) -> tuple[int, ...]:
    """What a route may answer besides success, beyond what it declared: any keyed route
    401 and 403; any route with a body 400 (unreadable), 409 (the record changed under
    us), 413 (too large), 415 (not the declared media type) and 422 (a rule of the CRM);
    every route 503 (a temporary failure: retry)."""
    found = set(errors) | {503}
    if not public:
        found |= {401, 403}
    if takes_body:
        found |= {400, 409, 413, 415, 422}
    return tuple(sorted(found))


def json_response(value: Any, status: int = 200) -> Response:
    # ensure_ascii=False: Arabic and Persian names travel as themselves, not \\u escapes.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    return Response(
        body=text, status_code=status, headers={"Content-Type": "application/json; charset=utf-8"}
    )


# --- reading requests ----------------------------------------------------------------------


def refuse_large_body(headers: Mapping[str, str], limit: int) -> None:
    """BodyTooLarge when the request says its body is over `limit` bytes: checked before
    the body is read, so a huge upload costs nothing."""
    declared = (headers.get("content-length") or "").strip()
    if declared.isdecimal() and int(declared) > limit:
        raise BodyTooLarge(
            f"the body is {int(declared):,} bytes; this call takes at most {limit:,}"
        )


def parse_json(name: str, raw: bytes | str | None) -> Any:
    """The body as the model `name`; BadRequest naming the problem (not JSON, a field
    missing or of the wrong type, an unknown field)."""
    if not raw or not raw.strip():
        raise BadRequest("the body is empty: send a JSON object")
    return validated(name, json_input.loads(raw), "body")


def _given(raw: bytes | str | None) -> bool:
    # Only a body of no bytes is absent: whitespace is a body, and not JSON.
    return bool(raw)


def parse_query(name: str, params: Any) -> Any:
    """The query string as the model `name` (repeated parameters for list fields)."""
    from functions.api.bodies import model as named

    model = named(name)
    data: dict[str, Any] = {}
    for param in params or ():
        field = model.model_fields.get(param)
        many = field is not None and (
            field.annotation is list or get_origin(field.annotation) is list
        )
        data[param] = params.getlist(param) if many else params.get(param)
    return validated(name, data, "query")


def validated(name: str, data: Any, where: str) -> Any:
    """`data` as the model `name`; BadRequest naming each field at fault."""
    from pydantic import ValidationError

    from functions.api.bodies import model as named

    model = named(name)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(err, list(model.model_fields), where) for err in exc.errors()]
        error = BadRequest(
            f"the {where} has {len(problems)} problem(s): "
            + "; ".join(p["message"] for p in problems)
        )
        error.fields = problems  # type: ignore[attr-defined]
        raise error from None


def field_error(name: str, message: str) -> Exception:
    """A BadRequest about one field: the message and `fields` both name it."""
    error = BadRequest(f"{name}: {message}")
    error.fields = [{"field": name, "message": str(error)}]  # type: ignore[attr-defined]
    return error


def _problem(error: Any, fields: list[str], where: str) -> dict[str, str]:
    name = json_path("", error["loc"]).lstrip(".") or where
    if error["type"] == "missing":
        text = f"{name} is required"
    elif error["type"] == "extra_forbidden":
        text = message_for(error, fields)
    elif error["type"] in ("model_type", "model_attributes_type", "dict_type") and name == where:
        text = f"the {where} must be a JSON object"
    elif name == where:  # a rule over several fields
        text = message_for(error, fields)
    else:
        text = f"{name}: {message_for(error, fields)}"
    return {"field": name, "message": text}


# --- cursors ---------------------------------------------------------------------------------


def encode_cursor(key: Mapping[str, Any] | None) -> str | None:
    """An opaque cursor for the next page: base64url of the last key read."""
    if not key:
        return None
    text = json.dumps(key, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, keys: Mapping[str, str | None]) -> dict[str, Any] | None:
    """The key a cursor holds, checked against what this list's keys look like: `keys`
    maps each key attribute to the value it must have (None: any string or number)."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        key = None
    if not isinstance(key, dict) or set(key) != set(keys) or not all(_keyed(key, keys)):
        raise BadRequest("cursor: not a cursor this list gave out; start again without one")
    return key


def _keyed(key: dict[str, Any], keys: Mapping[str, str | None]) -> Iterable[bool]:
    for name, wanted in keys.items():
        value = key[name]
        if not (isinstance(value, dict) and len(value) == 1):
            yield False
            continue
        [(kind, text)] = value.items()
        # Our cursors hold strings and counts only; anything else was not given out by us.
        ok = isinstance(text, str) and (kind == "S" or (kind == "N" and text.isdecimal()))
        yield ok and (wanted is None or value == {"S": wanted})


# --- answers ---------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    if hasattr(value, "model_dump"):  # a pydantic model
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON")
