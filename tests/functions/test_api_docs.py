"""The checked-in OpenAPI description and docs/api.md match the code; the error mapper
answers every named error with a 4xx (or a 500 that shows nothing)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from functions import errors
from functions.api.errors import error_body
from functions.api.openapi import openapi, openapi_text, permissions_markdown
from functions.api.routing import ROUTES
from functions.app import app

ROOT = Path(__file__).parents[2]
OPENAPI_FILE = ROOT / "docs" / "openapi.json"
API_DOC = ROOT / "docs" / "api.md"
STALE = "is stale: run `make schema` and commit the result"


def test_checked_in_openapi_is_current() -> None:
    assert OPENAPI_FILE.read_text(encoding="utf-8") == openapi_text(), f"docs/openapi.json {STALE}"


def test_openapi_describes_every_route_with_its_permission_and_bodies() -> None:
    document = openapi()
    assert document["openapi"] == "3.1.0"
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        assert operation["x-permission"] == route.permission
        assert str(route.status) in operation["responses"]
        if route.public:  # a signature or a signed token, or the schemes it names
            assert operation["security"] == [{scheme: []} for scheme in route.auth]
        else:
            assert {"401", "403"} <= set(operation["responses"])
        if route.body:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[-1] in document["components"]["schemas"]
    for path, methods in app.routes.items():
        assert set(document["paths"][path]) == {m.lower() for m in methods}
    search = document["paths"]["/contacts"]["get"]["parameters"]
    assert {p["name"] for p in search} >= {"email", "owner", "not_contacted_days", "cursor"}
    required = document["components"]["schemas"]["NewContact"]["required"]
    assert required == ["email"]


def test_api_doc_carries_the_permission_table_and_every_route() -> None:
    text = API_DOC.read_text(encoding="utf-8")
    assert permissions_markdown() in text, "docs/api.md: paste permissions_markdown()'s table"
    documented = set(re.findall(r"^#### `(GET|POST|PUT|PATCH|DELETE) ([^`]+)`", text, re.M))
    assert documented == {(r.method, r.path) for r in ROUTES}


STATUS = {
    errors.BadRequest: 400,
    errors.UnreadableFile: 400,
    errors.BadMapping: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.ContactNotFound: 404,
    errors.RecordNotFound: 404,
    errors.FlowNotFound: 404,
    errors.EnrollmentNotFound: 404,
    errors.DuplicateEmail: 409,
    errors.SegmentExists: 409,
    errors.ConflictRetriesExhausted: 409,
    errors.TriggerTooLarge: 413,
    errors.InvalidRecord: 422,
    errors.InvalidParams: 422,
    errors.FlowRejected: 422,
    errors.WrongTrigger: 422,
    errors.Suppressed: 422,
    errors.NotConfigured: 500,
    errors.Transient: 503,
}


@pytest.mark.parametrize("error", list(STATUS), ids=lambda e: e.__name__)
def test_each_named_error_has_its_status_and_names_itself(error) -> None:
    status, body = error_body(error("what went wrong"))
    assert status == STATUS[error]
    assert body == {"error": {"code": error.__name__.split(".")[-1], "message": "what went wrong"}}


def test_a_rejected_flow_carries_its_report_and_an_unexpected_error_shows_nothing() -> None:
    rejected = errors.FlowRejected("the flow has 1 error(s): …")
    rejected.report = {"ok": False, "errors": [{"path": "$.nodes[0]"}], "warnings": []}
    assert error_body(rejected)[1]["error"]["report"] == rejected.report
    status, body = error_body(KeyError("secret internals"))
    assert status == 500
    assert "secret" not in json.dumps(body) and body["error"]["code"] == "InternalError"
