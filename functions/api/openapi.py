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
    302: "Found: the Location header has where to go",
    400: "The request cannot be read: not JSON, a field missing, of the wrong type or unknown",
    401: "No API key, or an unknown, malformed or revoked one",
    403: "The key's role lacks the permission (named in the message)",
    404: "No such record",
    409: "Conflicts with a stored record (a contact already has this email)",
    413: "Too large",
    422: "Well-formed but refused by a rule of the CRM; a rejected flow lists every error",
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


def openapi(app: Any | None = None) -> dict[str, Any]:
    """The OpenAPI document of `app` (functions.app's by default)."""
    from pydantic.json_schema import models_json_schema

    from functions.api.bodies import model
    from functions.api.routing import ROUTES

    if app is None:
        from functions.app import app
    declared = {(r.method, r.path): r for r in ROUTES}
    names = sorted({n for r in ROUTES for n in (r.body, r.query) if n})
    _, defs = models_json_schema(
        [(model(n), "validation") for n in names], ref_template="#/components/schemas/{model}"
    )
    schemas = defs.get("$defs", {})
    queries = {r.query for r in ROUTES} - {r.body for r in ROUTES}  # inlined as parameters
    paths: dict[str, Any] = {}
    for path in sorted(app.routes):
        for method in sorted(app.routes[path]):
            entry = app.routes[path][method]
            doc = declared.get((method, path))
            operation = (
                _operation(doc, schemas)
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
            },
            "schemas": {
                "Error": _ERROR_SCHEMA,
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


def _operation(doc: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    description = " ".join(part for part in (doc.description, f"Needs `{doc.permission}`.") if part)
    operation: dict[str, Any] = {
        "operationId": doc.name,
        "summary": doc.summary,
        "description": description,
        "tags": [doc.path.strip("/").split("/", 1)[0]],
        "x-permission": doc.permission,
    }
    if doc.public:
        operation["security"] = []  # no API key: a signature or a signed token instead
    if doc.query:
        operation["parameters"] = _query_parameters(schemas[doc.query])
    if doc.body:
        operation["requestBody"] = {
            "required": doc.body_required,
            "content": {doc.content_type: {"schema": {"$ref": f"#/components/schemas/{doc.body}"}}},
        }
    elif doc.content_type != "application/json":
        operation["requestBody"] = {
            "required": True,
            "content": {doc.content_type: {"schema": {"type": "string"}}},
        }
    responses: dict[str, Any] = {str(doc.status): {"description": _STATUS_TEXT[doc.status]}}
    for status in doc.errors:
        responses[str(status)] = {
            "description": _STATUS_TEXT[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    operation["responses"] = responses
    return operation


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
