"""The process environment of the local stack: fake credentials, one region, the moto
endpoint, and the settings the handlers read from os.environ (on AWS the stage sets them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

REGION = "us-east-1"  # the one region of the local stack and of tests

# Fake, so that nothing the local stack does can reach a real account.
FAKE_CREDENTIALS: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # botocore 1.44 would otherwise build account-based DynamoDB endpoints (see DESIGN).
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}
# A profile or a per-service endpoint would send calls somewhere else than the local moto.
HIDDEN: tuple[str, ...] = (
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_STEPFUNCTIONS",
    "AWS_ENDPOINT_URL_SFN",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_ENDPOINT_URL_SES",
    "AWS_ENDPOINT_URL_SESV2",
    "AWS_ENDPOINT_URL_SNS",
)
# Senders of the internal notifications; its domain is verified with the templates' ones.
NOTIFY_FROM = "crmflow <notifications@acme.example>"


def handler_settings(public_url: str, unsubscribe_secret: str) -> dict[str, str]:
    """What the step handlers and the API read from the environment."""
    return {
        "CRMFLOW_PUBLIC_URL": public_url,
        "CRMFLOW_UNSUBSCRIBE_SECRET": unsubscribe_secret,
        "CRMFLOW_NOTIFY_FROM": NOTIFY_FROM,
    }


def server_settings(endpoint: str, moto_port: int) -> dict[str, str]:
    """Every boto3 client and PynamoDB model of this process talks to the moto server;
    moto's own executor finds it through MOTO_PORT."""
    return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "MOTO_PORT": str(moto_port)}


@contextmanager
def patched_environ(values: Mapping[str, str], hidden: tuple[str, ...] = ()) -> Iterator[None]:
    """Set `values` and remove `hidden` for the block; the previous environment comes back."""
    saved = {key: os.environ.get(key) for key in (*values, *hidden)}
    for key in hidden:
        os.environ.pop(key, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
