"""Table names and creation. Names carry a prefix (stage) from CRMFLOW_TABLE_PREFIX, so
tests, local runs and AWS stages never share a table."""

from __future__ import annotations

import os

PREFIX_ENV = "CRMFLOW_TABLE_PREFIX"


def table_name(suffix: str) -> str:
    return f"{os.environ.get(PREFIX_ENV, 'crmflow')}-{suffix}"


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def create_all(wait: bool = True) -> None:
    """Create every CRM table that does not exist yet (local stack and tests; on AWS the
    CloudFormation template creates them)."""
    from functions.store.models import ALL_MODELS

    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=wait)


def stream_arn(suffix: str) -> str:
    """The stream of a table, for the record-trigger Lambdas. Deployments set
    CRMFLOW_<SUFFIX>_STREAM_ARN (the ARN exists once the table does); the local stack polls
    the streams itself and never reads this."""
    name = f"CRMFLOW_{suffix.upper().replace('-', '_')}_STREAM_ARN"
    account = os.environ.get("CRMFLOW_ACCOUNT_ID", "123456789012")
    return os.environ.get(name) or (
        f"arn:aws:dynamodb:{region()}:{account}:table/{table_name(suffix)}/stream/local"
    )
