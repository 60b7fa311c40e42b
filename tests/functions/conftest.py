"""The CRM store on moto, in-process: every table created, nothing leaves the process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from infra.local import moto_patches


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, a region, moto's DynamoDB and all CRM tables, fresh per test."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)  # an endpoint would send calls past the mock
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(name, value)
    moto_patches.apply()  # among them: DynamoDB requests applied atomically, as on AWS
    with mock_aws():
        from functions.store.tables import create_all

        create_all()
        yield
