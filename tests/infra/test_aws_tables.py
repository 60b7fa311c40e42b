"""The CRM tables as the AWS template declares them (infra/aws/tables.py), deployed into
moto's CloudFormation, match the tables the code creates and queries: same keys, indexes,
projections and streams; TTL where items expire; recovery and on-demand on all."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.store.models import ALL_MODELS
from infra.aws.tables import STAGE_PARAMETER, logical_id, table_resources

REGION = "us-east-1"


def shape(described: dict[str, Any]) -> dict[str, Any]:
    """What must agree between two tables: keys, attribute types, indexes, stream."""
    indexes = {
        i["IndexName"]: (
            sorted((k["AttributeName"], k["KeyType"]) for k in i["KeySchema"]),
            i["Projection"]["ProjectionType"],
        )
        for i in described.get("GlobalSecondaryIndexes", [])
    }
    stream = described.get("StreamSpecification") or {}
    return {
        "keys": sorted((k["AttributeName"], k["KeyType"]) for k in described["KeySchema"]),
        "attributes": sorted(
            (a["AttributeName"], a["AttributeType"]) for a in described["AttributeDefinitions"]
        ),
        "indexes": indexes,
        "stream": stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
    }


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


def test_the_tables_pass_cfn_lint() -> None:
    # The whole template is linted in test_aws_template.py; here the tables on their own.
    from cfnlint.api import lint_all

    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {STAGE_PARAMETER: {"Type": "String"}},
        "Resources": table_resources(),
    }
    found = lint_all(json.dumps(template))
    problems = [str(m) for m in found if m.rule.id[0] in "EW"]  # errors and warnings; not I
    assert problems == []


def test_every_model_has_a_table_resource_with_a_unique_name() -> None:
    resources = table_resources()
    assert len(resources) == len(ALL_MODELS)
    names = [r["Properties"]["TableName"]["Fn::Sub"] for r in resources.values()]
    assert len(set(names)) == len(names)
    assert all(name.startswith(f"crmflow-${{{STAGE_PARAMETER}}}-") for name in names)


def test_items_that_expire_have_ttl_and_streams_are_where_record_triggers_read() -> None:
    resources = table_resources()
    with_ttl = {
        m.__name__
        for m in ALL_MODELS
        if "TimeToLiveSpecification" in resources[logical_id(m)]["Properties"]
    }
    # Every model with an `expires` attribute declares it as its TTL, and only those.
    assert with_ttl == {m.__name__ for m in ALL_MODELS if "expires" in m.get_attributes()}
    streamed = {
        m.__name__
        for m in ALL_MODELS
        if "StreamSpecification" in resources[logical_id(m)]["Properties"]
    }
    assert streamed == {"Contact", "Company", "Deal"}
    for resource in resources.values():
        properties = resource["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }
        assert resource["DeletionPolicy"] == "Retain"
        assert properties["KeySchema"][0]["KeyType"] == "HASH"


@pytest.mark.usefixtures("aws")
def test_the_template_deploys_into_cloudformation_and_matches_the_code_tables() -> None:
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {STAGE_PARAMETER: {"Type": "String"}},
        "Resources": table_resources(),
    }
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(
        StackName="crmflow-test",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": STAGE_PARAMETER, "ParameterValue": "test"}],
    )
    status = cloudformation.describe_stacks(StackName="crmflow-test")["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE"
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for model in ALL_MODELS:
        model.create_table(billing_mode="PAY_PER_REQUEST", wait=False)  # as the local stack does
        deployed = dynamodb.describe_table(TableName=f"crmflow-test-{model.Meta.suffix}")["Table"]
        local = dynamodb.describe_table(TableName=model.Meta.table_name)["Table"]
        assert shape(deployed) == shape(local), model.__name__
        if getattr(model.Meta, "stream_view_type", None):
            assert deployed["LatestStreamArn"]
        # moto's CloudFormation does not apply TimeToLiveSpecification (it leaves TTL
        # disabled), so TTL is checked on the template above, not here.
