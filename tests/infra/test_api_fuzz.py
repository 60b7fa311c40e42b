"""schemathesis, an outside fuzzer, against the running local API (`crmflow up`), from the
OpenAPI document the code generates: every operation, with data that fits its schema and
data that does not. No answer may be a server error, and every answer must be one the
document describes (status, content type and body schema).

Bounded and seeded (derandomized) so that it fits CI and fails the same way twice. The
requests made are counted in build/test-artifacts/fuzz.json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from functions.api.openapi import openapi
from tests.infra.test_local_stack import StackProcess

EXAMPLES = 30  # per operation and mode
SCHEMA = schemathesis.openapi.from_dict(openapi())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def _shaped(body) -> bool:
    # A form or file body described as any text cannot be made invalid.
    return body.definition.get("schema", {}).get("type") != "string"


# Invalid data needs something the document constrains: a body or a query. A path's
# string parameters take any text (an unknown id is a 404, not invalid).
CONSTRAINED = [o for o in OPERATIONS if o.query or any(_shaped(b) for b in o.body)]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


SUMMARY = Path(__file__).resolve().parents[2] / "build" / "test-artifacts" / "fuzz.json"
CALLS: dict[str, int] = {}  # requests made, per operation and mode


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StackProcess, str]]:
    data = tmp_path_factory.mktemp("fuzz") / "data"
    process = StackProcess(data)
    try:
        process.wait_until_up()
        yield process, (data / "api-key").read_text().strip()
    finally:
        process.stop()
        SUMMARY.parent.mkdir(parents=True, exist_ok=True)
        total = {"operations": len(OPERATIONS), "requests": sum(CALLS.values()), "by": CALLS}
        SUMMARY.write_text(json.dumps(total, indent=1, sort_keys=True))


def _name(operation) -> str:
    return f"{operation.method.upper()} {operation.path}"


@pytest.mark.parametrize(
    ("operation", "mode"),
    [(o, GenerationMode.POSITIVE) for o in OPERATIONS]
    + [(o, GenerationMode.NEGATIVE) for o in CONSTRAINED],
    ids=lambda v: v.value if isinstance(v, GenerationMode) else _name(v),
)
def test_every_operation_answers_as_documented(stack, operation, mode) -> None:
    """Valid data (positive) and data the document says is invalid (negative, which must
    then be refused with a 4xx)."""
    process, key = stack
    checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case) -> None:
        response = case.call(base_url=process.api, headers={"Authorization": f"Bearer {key}"})
        name = f"{_name(operation)} {mode.value}"
        CALLS[name] = CALLS.get(name, 0) + 1
        case.validate_response(response, checks=checks)

    fuzz()
