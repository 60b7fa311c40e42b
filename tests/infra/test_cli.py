"""The `crmflow` command line, run as users run it: the installed console script in a
subprocess, checked by exit status and output."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from flows.compiler import compile_flow
from flows.schema import SCHEMA_ID

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
MINIMAL = FIXTURES / "minimal.flow.json"
INVALID = FIXTURES / "invalid.flow.json"
MENA = FIXTURES / "mena_export.csv"
SCRIPT = Path(sys.executable).parent / "crmflow"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "infra.cli"]
COMMANDS = [
    "validate", "compile", "cost", "simulate", "schema", "docs", "broadcast", "reports",
    "import", "settings",
]  # fmt: skip


def crmflow(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*COMMAND, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def test_group_help_lists_every_command() -> None:
    result = crmflow("--help")
    assert result.returncode == 0
    assert "Usage: crmflow" in result.stdout
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = crmflow(command, "--help")
    assert result.returncode == 0, result.stderr
    assert f"Usage: crmflow {command}" in result.stdout
    assert "-h, --help" in result.stdout


def test_validate_a_valid_flow() -> None:
    result = crmflow("validate", MINIMAL)
    assert result.returncode == 0, result.stderr
    assert "minimal.flow.json: valid" in result.stdout


def test_validate_an_invalid_flow_prints_each_error_with_its_path() -> None:
    result = crmflow("validate", INVALID)
    assert result.returncode == 1
    assert "2 error(s)" in result.stderr
    assert "$.nodes[0].kind [node tag]: unknown node kind 'update_recrod'" in result.stderr
    assert "did you mean 'update_record'?" in result.stderr
    assert "$.edges[1].to" in result.stderr and "'ghost'" in result.stderr


def test_validate_several_files_fails_if_one_fails() -> None:
    result = crmflow("validate", MINIMAL, INVALID)
    assert result.returncode == 1
    assert "minimal.flow.json: valid" in result.stdout
    assert "invalid.flow.json: 2 error(s)" in result.stderr


def test_validate_json_output() -> None:
    result = crmflow("validate", "--json", MINIMAL, INVALID)
    assert result.returncode == 1
    found = json.loads(result.stdout)
    assert found[str(MINIMAL)]["ok"] is True
    errors = found[str(INVALID)]["errors"]
    assert [e["path"] for e in errors] == ["$.nodes[0].kind", "$.edges[1].to"]
    assert all(e["node_id"] == "tag" for e in errors)


def test_validate_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.flow.json"
    result = crmflow("validate", missing)
    assert result.returncode == 1
    assert f"cannot read {missing}" in result.stderr
    assert "No such file" in result.stderr


def test_validate_a_file_that_is_not_json(tmp_path: Path) -> None:
    broken = tmp_path / "broken.flow.json"
    broken.write_text("{ this is not json", encoding="utf-8")
    result = crmflow("validate", broken)
    assert result.returncode == 1
    assert "not valid JSON" in result.stderr


def test_validate_a_json_document_that_is_not_a_flow(tmp_path: Path) -> None:
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]", encoding="utf-8")
    result = crmflow("validate", listing)
    assert result.returncode == 1
    assert "$: a flow is a JSON object" in result.stderr


def test_compile_to_a_file_writes_the_compiled_asl(tmp_path: Path) -> None:
    out = tmp_path / "asl" / "minimal.asl.json"
    result = crmflow("compile", MINIMAL, "-o", out)
    assert result.returncode == 0, result.stderr
    expected = compile_flow(MINIMAL.read_bytes()).asl
    assert out.read_text(encoding="utf-8") == expected
    assert json.loads(expected)["StartAt"] == "tag"
    assert "states" in result.stderr and str(out) in result.stderr


def test_compile_to_stdout() -> None:
    result = crmflow("compile", MINIMAL)
    assert result.returncode == 0, result.stderr
    assert result.stdout == compile_flow(MINIMAL.read_bytes()).asl
    assert "1 path(s)" in result.stderr


def test_compile_several_files_needs_an_output_folder(tmp_path: Path) -> None:
    other = tmp_path / "other.flow.json"
    doc = json.loads(MINIMAL.read_text(encoding="utf-8"))
    doc["id"] = "other"
    other.write_text(json.dumps(doc), encoding="utf-8")
    refused = crmflow("compile", MINIMAL, other)
    assert refused.returncode == 2
    assert "several flows need -o" in refused.stderr
    folder = tmp_path / "out"
    result = crmflow("compile", MINIMAL, other, "-o", folder)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["minimal.asl.json", "other.asl.json"]
    assert (folder / "other.asl.json").read_text(encoding="utf-8") == compile_flow(doc).asl


def test_compile_an_invalid_flow_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "invalid.asl.json"
    result = crmflow("compile", INVALID, "-o", out)
    assert result.returncode == 1
    assert "$.nodes[0].kind" in result.stderr
    assert not out.exists()


def test_cost_as_json_has_lines_and_totals() -> None:
    result = crmflow("cost", MINIMAL, "--contacts", "1000", "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["flow"] == "minimal"
    # tag → pause → done: 3 transitions; update_record 1/1/3 and end 1/0/2.
    assert found["transitions"] == {"min": 3, "max": 3}
    assert found["path_count"] == 1
    cost = found["cost"]
    assert cost["contacts"] == 1000
    lines = {(r["service"], r["unit"]): r for r in cost["lines"]}
    assert lines["Step Functions", "state transitions"]["usd"]["max"] == pytest.approx(0.075)
    assert lines["Lambda", "invocations"]["per_contact"] == {"min": 2, "max": 2}
    assert lines["DynamoDB", "write units"]["per_contact"] == {"min": 5, "max": 5}
    assert lines["DynamoDB", "read units"]["per_contact"] == {"min": 1, "max": 1}
    assert cost["total_usd"]["min"] == pytest.approx(sum(r["usd"]["min"] for r in cost["lines"]))
    assert cost["total_usd"]["max"] == pytest.approx(
        0.075 + 2000 * (0.2e-6 + 0.25 * 0.12 * 0.0000166667) + 5000 * 0.625e-6 + 1000 * 0.125e-6
    )


def test_cost_as_a_table() -> None:
    result = crmflow("cost", MINIMAL, "-n", "500")
    assert result.returncode == 0, result.stderr
    assert "Minimal (minimal) — 500 contacts" in result.stdout
    assert "Step Functions" in result.stdout and "total" in result.stdout


def test_cost_refuses_zero_contacts_and_invalid_flows() -> None:
    assert crmflow("cost", MINIMAL, "--contacts", "0").returncode == 2
    invalid = crmflow("cost", INVALID)
    assert invalid.returncode == 1
    assert "$.nodes[0].kind" in invalid.stderr


def test_schema_prints_the_json_schema() -> None:
    result = crmflow("schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["$id"] == SCHEMA_ID
    assert schema["$schema"].startswith("https://json-schema.org/")


def test_schema_and_docs_write_files(tmp_path: Path) -> None:
    schema, docs = tmp_path / "s" / "flow.schema.json", tmp_path / "nodes.md"
    assert crmflow("schema", "-o", schema).returncode == 0
    assert crmflow("docs", "-o", docs).returncode == 0
    assert json.loads(schema.read_text(encoding="utf-8"))["$id"] == SCHEMA_ID
    assert docs.read_text(encoding="utf-8").startswith("# Node kinds")


# --- import -------------------------------------------------------------------------------


def test_import_of_a_mena_export_counts_every_row(tmp_path: Path) -> None:
    # --local starts empty: no stored contact to merge into, so row 8 is new here.
    report = tmp_path / "report.csv"
    result = crmflow("import", "--local", MENA, "--region", "IR", "--report", report)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "15 rows read: 9 new, 2 merged, 2 rejected, 2 empty rows skipped, 5 warnings"
        f" — see {report}\n"
    )
    with open(report, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert [r[:3] for r in rows] == [
        ["row", "outcome", "field"],
        ["5", "warning", "phone"],
        ["9", "rejected", "email"],
        ["10", "rejected", "email"],
        ["13", "warning", "phone"],
        ["13", "warning", "score"],
        ["13", "warning", "time_zone"],
        ["13", "warning", "email_consent"],
    ]
    assert rows[1][3] == (
        "'+98 955 123 4567' is outside the number ranges known to be in use in IR; "
        "stored as +989551234567, check it"
    )


def test_import_without_a_region_keeps_a_national_number_as_typed() -> None:
    result = crmflow("import", "--local", MENA)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("9 new, 2 merged, 2 rejected, 2 empty rows skipped, 6 warnings\n")
    assert (
        "  row 6: imported, with a warning: phone: '0912 111 2233' is not a phone number: it "
        "has no country code; write it with one, e.g. +49…, or give the country; kept as typed "
        "in custom.phone_as_typed"
    ) in result.stderr


def test_import_refuses_a_region_that_is_not_a_country_code() -> None:
    result = crmflow("import", "--local", MENA, "--region", "XX")
    assert result.returncode == 2
    assert "'XX' is not a two-letter country code (ISO 3166)" in result.stderr


def test_settings_set_needs_a_setting_to_change() -> None:
    result = crmflow("settings", "set")
    assert result.returncode == 2
    assert "name a setting to change, e.g. --default-region IR" in result.stderr
