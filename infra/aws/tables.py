"""The CRM's DynamoDB tables as CloudFormation resources, read off the PynamoDB models, so
the template and the code that queries the tables cannot drift apart: keys, indexes and
their projections, streams where record triggers read them, time to live where items
expire, point-in-time recovery on every table, and on-demand capacity."""

from __future__ import annotations

import re
from typing import Any

from pynamodb.models import Model

STAGE_PARAMETER = "Stage"
_KEY_ORDER = {"HASH": 0, "RANGE": 1}  # AWS wants the partition key first


def logical_id(model: type[Model]) -> str:
    """The table's name in the template: ContactsTable, EmailClaimsTable…"""
    words = re.split(r"[^a-zA-Z0-9]+", model.Meta.suffix)
    return "".join(w.capitalize() for w in words) + "Table"


def table_resource(model: type[Model]) -> dict[str, Any]:
    """One AWS::DynamoDB::Table for `model`, named crmflow-<stage>-<suffix>."""
    schema = model._get_schema()
    properties: dict[str, Any] = {
        "TableName": {"Fn::Sub": f"crmflow-${{{STAGE_PARAMETER}}}-{model.Meta.suffix}"},
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": _definitions(schema),
        "KeySchema": _keys(schema["key_schema"]),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }
    indexes = _indexes(schema.get("global_secondary_indexes", []))
    if indexes:
        properties["GlobalSecondaryIndexes"] = sorted(indexes, key=lambda i: i["IndexName"])
    local = _indexes(schema.get("local_secondary_indexes", []))
    if local:
        properties["LocalSecondaryIndexes"] = local
    stream = getattr(model.Meta, "stream_view_type", None)
    if stream:
        properties["StreamSpecification"] = {"StreamViewType": stream}
    ttl = getattr(model.Meta, "ttl_attribute", None)
    if ttl:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl, "Enabled": True}
    # Kept when the stack is deleted: a CRM's data outlives a mistaken teardown.
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def table_resources(models: tuple[type[Model], ...] | None = None) -> dict[str, Any]:
    """Every CRM table, by logical id."""
    if models is None:
        from functions.store.models import ALL_MODELS

        models = ALL_MODELS
    return {logical_id(model): table_resource(model) for model in models}


def _definitions(schema: dict[str, Any]) -> list[dict[str, str]]:
    # Each key attribute once, whether the table or one of its indexes uses it.
    seen: dict[str, str] = {}
    for definition in schema["attribute_definitions"]:
        seen[definition["AttributeName"]] = definition["AttributeType"]
    return [{"AttributeName": n, "AttributeType": t} for n, t in sorted(seen.items())]


def _indexes(indexes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "IndexName": index["index_name"],
            "KeySchema": _keys(index["key_schema"]),
            "Projection": _projection(index["projection"]),
        }
        for index in indexes
    ]


def _keys(keys: list[dict[str, str]]) -> list[dict[str, str]]:
    ordered = sorted(keys, key=lambda k: _KEY_ORDER[k["KeyType"]])
    return [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in ordered]


def _projection(projection: dict[str, Any]) -> dict[str, Any]:
    shown = {"ProjectionType": projection["ProjectionType"]}
    if projection.get("NonKeyAttributes"):
        shown["NonKeyAttributes"] = sorted(projection["NonKeyAttributes"])
    return shown
