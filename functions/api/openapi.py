"""The OpenAPI 3.1 description of the HTTP API, generated from the app's routes (Chalice's
`app.routes`), what each route declared to functions.api.routing (permission, query and
body models, status, errors) and the pydantic models' JSON Schemas. `crmflow openapi`
writes it to docs/openapi.json; a test fails when the checked-in copy is stale.

Also the permission table of docs/api.md, from the matrix in functions.auth.
"""

from __future__ import annotations

import json
import re
from typing import Any

from functions.auth import PERMISSIONS, ROLES

TITLE = "crmflow HTTP API"
VERSION = "1.0"
_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No content",
    302: "Found: the Location header has where to go",
    400: "The request cannot be read: not JSON, a field missing, of the wrong type or unknown",
    401: "No API key, or an unknown, malformed or revoked one",
    403: "The key's role lacks the permission (named in the message)",
    404: "No such record",
    409: "Conflicts with a stored record (a contact already has this email), or the record "
    "kept changing while it was written: read it again and retry",
    413: "Too large: the body (refused from its Content-Length) or the data it carries",
    415: "The body is not of the media type the call takes (answered by the gateway)",
    422: "Well-formed but refused by a rule of the CRM; a rejected flow lists every error",
    429: "Too many requests of this kind for now: the Retry-After header says when to retry",
    503: "A temporary failure: retry",
}
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "examples": ["Forbidden", "ContactNotFound"]},
                "message": {"type": "string"},
                "fields": {
                    "type": "array",
                    "description": "A malformed request: each field at fault.",
                    "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
                "report": {
                    "type": "object",
                    "description": "A rejected flow: every error and warning, with paths.",
                },
            },
        }
    },
}


# The gateway's own refusals (a media type it does not route) carry its shape, not ours.
_GATEWAY_ERROR_SCHEMA = {
    "type": "object",
    "required": ["Code", "Message"],
    "properties": {"Code": {"type": "string"}, "Message": {"type": "string"}},
}
_NO_BODY = (204, 302)


def openapi(app: Any | None = None) -> dict[str, Any]:
    """The OpenAPI document of `app` (functions.app's by default)."""
    from pydantic.json_schema import models_json_schema

    from functions.api.answers import answer_model
    from functions.api.bodies import model
    from functions.api.routing import ROUTES

    if app is None:
        from functions.app import app
    declared = {(r.method, r.path): r for r in ROUTES}
    names = sorted({n for r in ROUTES for n in (r.body, r.query, r.body_doc) if n})
    answers = sorted({r.answer for r in ROUTES if r.answer})
    # One call for both, so that pydantic names a model used both ways apart.
    keys, defs = models_json_schema(
        [(model(n), "validation") for n in names]
        + [(answer_model(n), "serialization") for n in answers],
        ref_template="#/components/schemas/{model}",
    )
    schemas = defs.get("$defs", {})
    # (mode, model name) -> the name its schema got in components
    refs = {
        **{("validation", n): _ref_name(keys[(model(n), "validation")]) for n in names},
        **{
            ("serialization", n): _ref_name(keys[(answer_model(n), "serialization")])
            for n in answers
        },
    }
    # Query models are inlined as parameters.
    queries = {refs["validation", r.query] for r in ROUTES if r.query} - {
        refs["validation", r.body] for r in ROUTES if r.body
    }
    paths: dict[str, Any] = {}
    for path in sorted(app.routes):
        for method in sorted(app.routes[path]):
            entry = app.routes[path][method]
            doc = declared.get((method, path))
            operation = (
                _operation(doc, schemas, refs)
                if doc
                else _undeclared(entry.view_function, entry.view_name)
            )
            operation["parameters"] = _path_parameters(path) + operation.get("parameters", [])
            if not operation["parameters"]:
                del operation["parameters"]
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Contacts, deals, tasks, imports, segments, flows and enrollments "
            "of crmflow. Every call "
            "carries an API key; its role decides what it may do (see docs/api.md).",
        },
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Authorization: Bearer crm_<id>_<secret>",
                },
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "signature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Crmflow-Signature",
                    "description": 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> '
                    "with the flow's hook secret; at most five minutes old (docs/triggers.md).",
                },
            },
            "schemas": {
                "Error": _ERROR_SCHEMA,
                "GatewayError": _GATEWAY_ERROR_SCHEMA,
                **{k: schemas[k] for k in sorted(schemas) if k not in queries},
            },
        },
    }


def openapi_text() -> str:
    return json.dumps(openapi(), indent=2, ensure_ascii=False) + "\n"


def permissions_markdown() -> str:
    """The permission matrix as a Markdown table: one row per permission, one column per
    role."""
    roles = list(ROLES)
    lines = [
        "| permission | " + " | ".join(f"`{r}`" for r in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for permission in PERMISSIONS:
        marks = ("✓" if permission in ROLES[r] else "" for r in roles)
        lines.append(f"| `{permission}` | " + " | ".join(marks) + " |")
    return "\n".join(lines) + "\n"


# --- helpers -----------------------------------------------------------------------------


def _ref_name(key: dict[str, Any]) -> str:
    return key["$ref"].rsplit("/", 1)[-1]


def _operation(
    doc: Any, schemas: dict[str, Any], refs: dict[tuple[str, str], str]
) -> dict[str, Any]:
    description = " ".join(part for part in (doc.description, f"Needs `{doc.permission}`.") if part)
    operation: dict[str, Any] = {
        "operationId": doc.name,
        "summary": doc.summary,
        "description": description,
        "tags": [doc.path.strip("/").split("/", 1)[0]],
        "x-permission": doc.permission,
    }
    if doc.public:
        # No API key needed: a signature or a signed token, or one of `auth`'s schemes.
        operation["security"] = [{scheme: []} for scheme in doc.auth]
    if doc.query:
        operation["parameters"] = _query_parameters(schemas[refs["validation", doc.query]])
    if doc.headers:
        operation.setdefault("parameters", []).extend(
            {
                "name": name,
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": text,
            }
            for name, text in doc.headers
        )
    if doc.body or doc.body_doc:
        operation["requestBody"] = {
            "required": doc.body_required,
            "content": {
                doc.content_type: {
                    "schema": {
                        "$ref": f"#/components/schemas/{refs['validation', doc.body or doc.body_doc]}"
                    }
                }
            },
        }
    elif doc.content_type != "application/json":
        operation["requestBody"] = {
            "required": True,
            "content": {doc.content_type: {"schema": {"type": "string"}}},
        }
    responses: dict[str, Any] = {}
    for status in (doc.status, *doc.also):
        responses[str(status)] = _success(doc, status, refs)
    # A page answers its own refusals (404: the link is not valid) as pages; what the
    # router refuses before the view runs is JSON, as everywhere.
    pages = "text/html" in doc.answer_types
    for status in doc.errors:
        if status == 415:
            schema, media = {"$ref": "#/components/schemas/GatewayError"}, "application/json"
        elif pages and status == 404:
            schema, media = {"type": "string"}, "text/html"
        else:
            schema, media = {"$ref": "#/components/schemas/Error"}, "application/json"
        responses[str(status)] = {
            "description": _STATUS_TEXT[status],
            "content": {media: {"schema": schema}},
        }
    operation["responses"] = responses
    return operation


def _success(doc: Any, status: int, refs: dict[tuple[str, str], str]) -> dict[str, Any]:
    response: dict[str, Any] = {"description": _STATUS_TEXT[status]}
    if status in _NO_BODY:
        return response
    content: dict[str, Any] = {}
    for media in doc.answer_types:
        if media == "application/json":
            schema = (
                {"$ref": f"#/components/schemas/{refs['serialization', doc.answer]}"}
                if doc.answer
                else {}
            )
        else:
            schema = (
                {"type": "string", "format": "binary"}
                if media.startswith("image/")
                else {"type": "string"}
            )
        content[media] = {"schema": schema}
    response["content"] = content
    return response


def _undeclared(view: Any, name: str) -> dict[str, Any]:
    # A route registered without functions.api.routing.route: what its docstring says.
    summary, _, description = (view.__doc__ or "").strip().partition("\n")
    operation = {"operationId": name, "summary": summary.strip(), "responses": {}}
    if description.strip():
        operation["description"] = " ".join(description.split())
    operation["responses"] = {"default": {"description": "See the description."}}
    return operation


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", path)
    ]


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        # A query parameter left out is absent, not null: say only what a given one is.
        options = [o for o in prop.pop("anyOf", ()) if o != {"type": "null"}]
        if len(options) == 1:
            prop.update(options[0])
        elif options:
            prop["anyOf"] = options
        if prop.get("default", 0) is None:
            del prop["default"]
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
        }
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters
