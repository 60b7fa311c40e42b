"""Fixtures shared by the AWS packaging and deployment tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`crmflow package --stage ci`, built once for the run: it fetches Lambda's wheels
    from PyPI."""
    from infra.aws.package import package

    root = tmp_path_factory.mktemp("package")
    return package("ci", root / "dist", root / "build")
