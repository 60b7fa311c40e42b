"""`crmflow package`: chalice package's SAM template with crmflow's resources merged in,
the runtime pinned, and a zip that imports every handler on its own (with boto3, as
Lambda provides it). The package is built once per run (tests/infra/conftest.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from functions.steps import HANDLERS
from infra.aws.package import PROVIDED_BY_LAMBDA, RUNTIME

SITE = Path(__import__("boto3").__file__).resolve().parents[1]
LAMBDA_PROVIDES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py")


def test_the_template_has_every_function_on_the_pinned_runtime_and_the_tables(dist: Path) -> None:
    template = json.loads((dist / "sam.json").read_text(encoding="utf-8"))
    resources = template["Resources"]
    functions = {n: r for n, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    assert (
        len(functions) >= len(HANDLERS) + 1
    )  # every step, the API handler, the stream and schedule ones
    assert {r["Properties"]["Runtime"] for r in functions.values()} == {RUNTIME}
    assert {
        json.dumps(r["Properties"]["Environment"]["Variables"]["CRMFLOW_TABLE_PREFIX"])
        for r in functions.values()
    } == {'{"Fn::Sub": "crmflow-${Stage}"}'}
    assert template["Parameters"]["Stage"]["Default"] == "ci"
    tables = [r for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table"]
    assert len(tables) >= 25
    assert "Stage" in template["Parameters"]


def test_the_zip_leaves_out_what_lambda_provides(dist: Path) -> None:
    with zipfile.ZipFile(dist / "deployment.zip") as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    assert {"functions", "flows", "pydantic", "pynamodb", "jinja2", "chalice"} <= tops
    assert not [t for t in tops if t.startswith(PROVIDED_BY_LAMBDA)]


def test_the_zip_alone_imports_every_handler(dist: Path, tmp_path: Path) -> None:
    unpacked = tmp_path / "task"
    with zipfile.ZipFile(dist / "deployment.zip") as archive:
        archive.extractall(unpacked)
    runtime = tmp_path / "runtime"  # what the Lambda runtime adds: boto3 and its own needs
    runtime.mkdir()
    for name in LAMBDA_PROVIDES:
        (runtime / name).symlink_to(SITE / name)
    modules = ["app", "functions.app", *(f"functions.steps.{h}" for h in HANDLERS)]
    script = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import importlib\n"
        "for name in sys.argv[3:]: importlib.import_module(name)\n"
        "import functions, pydantic; print(functions.__file__, pydantic.__file__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-I", "-c", script, str(unpacked), str(runtime), *modules],
        capture_output=True,
        text=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert all(str(unpacked) in path for path in done.stdout.split())


def test_packaging_again_works_offline_from_the_kept_wheels(
    dist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.aws.package import WHEELHOUSE, package

    assert list(WHEELHOUSE.glob("pydantic_core-*manylinux*.whl"))  # kept by the first run
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens there
    again = package("ci", tmp_path / "dist", tmp_path / "build")
    with zipfile.ZipFile(again / "deployment.zip") as archive:
        assert any(n.startswith("pydantic_core/") for n in archive.namelist())
