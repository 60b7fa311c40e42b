"""The checked-in generated files match the code, and the schema knows every kind the
templates use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.model import SCHEMA_VERSION
from flows.nodes import REGISTRY
from flows.reference import nodes_markdown
from flows.schema import SCHEMA_ID, schema_text

ROOT = Path(__file__).parents[2]
SCHEMA_FILE = ROOT / "flows" / "schema" / "flow.schema.json"
NODES_DOC = ROOT / "docs" / "nodes.md"
TEMPLATES = sorted((ROOT / "flows" / "templates").glob("*.flow.json"))
STALE = "is stale: run `make schema` and commit the result"


def test_checked_in_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), f"{SCHEMA_FILE.name} {STALE}"


def test_checked_in_node_reference_is_current() -> None:
    assert NODES_DOC.read_text(encoding="utf-8") == nodes_markdown(), f"docs/nodes.md {STALE}"


def _kind_consts(schema: dict, variants_of: str) -> set[str]:
    """The `kind` consts of the oneOf behind a top-level property (the trigger, the nodes)."""
    prop = schema["properties"][variants_of]
    if prop.get("type") == "array":
        prop = prop["items"]
    assert "oneOf" in prop, f"{variants_of}: the node kinds must be a oneOf keyed on kind"
    assert prop["discriminator"]["propertyName"] == "kind"
    consts = set()
    for ref in prop["oneOf"]:
        target = schema["$defs"][ref["$ref"].rsplit("/", 1)[-1]]
        consts.add(target["properties"]["kind"]["const"])
    return consts


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def test_schema_identifies_itself(schema) -> None:
    assert schema["$id"] == SCHEMA_ID
    assert SCHEMA_VERSION in schema["$id"]


def test_schema_lists_every_registered_kind_in_its_slot(schema) -> None:
    triggers = {n for n, k in REGISTRY.items() if k.category == "trigger"}
    assert _kind_consts(schema, "trigger") == triggers
    assert _kind_consts(schema, "nodes") == set(REGISTRY) - triggers


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_schema_knows_every_kind_a_template_uses(schema, template: Path) -> None:
    doc = json.loads(template.read_text(encoding="utf-8"))
    assert doc["trigger"]["kind"] in _kind_consts(schema, "trigger"), template.name
    steps = _kind_consts(schema, "nodes")
    unknown = sorted({n["kind"] for n in doc["nodes"]} - steps)
    assert unknown == [], f"{template.name} uses kinds the schema lacks: {unknown}"


def test_schema_accepts_a_valid_flow_and_rejects_an_invalid_one(schema) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not a dependency")
    validator = jsonschema.Draft202012Validator(schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    fixtures = ROOT / "tests" / "fixtures"
    valid = json.loads((fixtures / "minimal.flow.json").read_text(encoding="utf-8"))
    assert [e.message for e in validator.iter_errors(valid)] == []
    invalid = json.loads((fixtures / "invalid.flow.json").read_text(encoding="utf-8"))
    assert [list(e.absolute_path) for e in validator.iter_errors(invalid)] == [["nodes", 0]]
