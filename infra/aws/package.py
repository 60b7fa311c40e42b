"""`crmflow package`: the deployment artifact, built with `chalice package`.

Chalice wants a project of its own (app.py, .chalice/config.json, vendor/). So one is
assembled in build/chalice/:
- app.py re-exports `functions.app.app`;
- vendor/ holds `functions/`, `flows/` and the runtime dependencies, built for Lambda's
  platform (manylinux x86_64, CPython RUNTIME_PYTHON). boto3 and botocore are left out,
  because the Lambda runtime has them. The wheels are kept in build/wheels: fetched from
  PyPI the first time, they make every later packaging work offline.
Then `chalice package --merge-template` writes dist/: the SAM template with crmflow's own
resources merged in, and the deployment zip; infra/aws/template.finish completes each
function's part (its role, name, environment, stream, alarm) and pins its runtime.

The runtime is pinned here on purpose, not taken from the machine that builds.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from flows.cost import LAMBDA_MEMORY_GB
from infra.aws.access import policy_problems
from infra.aws.template import finish, merged_template
from infra.errors import PackageError

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_PYTHON = "3.11"
RUNTIME = f"python{RUNTIME_PYTHON}"
PLATFORM = "manylinux2014_x86_64"
SOURCES = ("functions", "flows")
# pyproject.toml's dependencies not shipped: Lambda has boto3, chalice adds its own
# runtime, and the command line (with the SAM translator it deploys by) is not deployed.
NOT_SHIPPED = frozenset({"boto3", "chalice", "click", "aws-sam-translator"})
WHEELHOUSE = ROOT / "build" / "wheels"  # Lambda's wheels, fetched once, then used offline
PROVIDED_BY_LAMBDA = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "bin")


def build_project(stage: str, build: Path, wheelhouse: Path = WHEELHOUSE) -> Path:
    """Assemble the Chalice project for `stage` in `build`; its path."""
    if build.exists():
        shutil.rmtree(build)
    vendor = build / "vendor"
    vendor.mkdir(parents=True)
    for name in SOURCES:
        shutil.copytree(
            ROOT / name, vendor / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    _vendor_dependencies(vendor, wheelhouse)
    (build / "app.py").write_text(
        '"""The deployed app: crmflow\'s, from functions/app.py."""\n\n'
        "from functions.app import app  # noqa: F401\n",
        encoding="utf-8",
    )
    (build / "requirements.txt").write_text("", encoding="utf-8")  # all is in vendor/
    config = build / ".chalice"
    config.mkdir()
    (config / "config.json").write_text(
        json.dumps(_chalice_config(stage), indent=2), encoding="utf-8"
    )
    return build


def package(
    stage: str, out: Path, build: Path | None = None, wheelhouse: Path = WHEELHOUSE
) -> Path:
    """Build and run `chalice package`; the folder with sam.json and deployment.zip."""
    out = out.resolve()  # chalice runs in the project's folder, not the caller's
    project = build_project(stage, build or ROOT / "build" / "chalice", wheelhouse)
    merge = project / "crmflow-resources.json"
    merge.write_text(json.dumps(merged_template(stage), indent=2), encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    command = [
        sys.executable, "-c", "from chalice.cli import main; main()", "package",
        "--stage", stage, "--merge-template", str(merge), str(out),
    ]  # fmt: skip
    # Chalice imports the app to read its routes and functions: from vendor/, as Lambda will.
    environment = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(project / "vendor"),
    }
    done = subprocess.run(command, cwd=project, env=environment, capture_output=True, text=True)
    if done.returncode != 0:
        raise PackageError(f"chalice package failed:\n{done.stdout}{done.stderr}")
    template = out / "sam.json"
    document = finish(json.loads(template.read_text(encoding="utf-8")), RUNTIME)
    problems = policy_problems(document)
    if problems:  # a new function or need granted more than it may: say so, ship nothing
        raise PackageError("the template's IAM policies allow too much:\n" + "\n".join(problems))
    template.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return out


def runtime_dependencies() -> list[str]:
    """What the handlers import, as pyproject.toml asks for it, less what is not shipped."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name = re.compile(r"^[A-Za-z0-9_.-]+")
    return [d for d in project["dependencies"] if name.match(d).group().lower() not in NOT_SHIPPED]


def _vendor_dependencies(vendor: Path, wheelhouse: Path) -> None:
    """Install the runtime dependencies for Lambda's platform into `vendor`, from the
    wheels in `wheelhouse`; only what is missing there is fetched from PyPI. Once the
    wheelhouse holds them, packaging works offline."""
    platform = [
        "--platform", PLATFORM, "--python-version", RUNTIME_PYTHON, "--implementation", "cp",
        "--only-binary=:all:",
    ]  # fmt: skip
    wanted = runtime_dependencies()
    install = ["install", "--target", str(vendor), "--no-index", "--find-links", str(wheelhouse)]
    if _pip([*install, *platform, *wanted]).returncode != 0:
        fetched = _pip(["download", "--dest", str(wheelhouse), *platform, *wanted])
        if fetched.returncode != 0:
            raise PackageError(
                f"{wheelhouse} lacks some of Lambda's dependencies and PyPI could not be "
                f"reached to fetch them; package once while online:\n{fetched.stderr}"
            )
        done = _pip([*install, *platform, *wanted])
        if done.returncode != 0:
            raise PackageError(f"could not install Lambda's dependencies:\n{done.stderr}")
    for name in PROVIDED_BY_LAMBDA:
        for path in vendor.glob(f"{name}*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    for cache in vendor.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def _pip(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check", *arguments]
    return subprocess.run(command, capture_output=True, text=True)


def _chalice_config(stage: str) -> dict:
    return {
        "version": "2.0",
        "app_name": "crmflow",
        "stages": {
            stage: {
                "api_gateway_stage": "api",
                # The size flows.cost prices a step at, so `crmflow cost` is this bill.
                "lambda_memory_size": int(LAMBDA_MEMORY_GB * 1024),
                "lambda_timeout": 60,  # the environment is template.finish's to set
            }
        },
    }
