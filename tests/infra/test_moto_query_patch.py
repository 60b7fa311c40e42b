"""The Query patch of infra/local/moto_patches.py answers what moto (and DynamoDB) would:
the same items, in the same order, with the same paging, for table and index Queries with
string and number keys; only the cost changes (the partition, not the table)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from infra.local import moto_patches


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    moto_patches.apply()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": n, "AttributeType": t}
                for n, t in (("pk", "S"), ("sk", "S"), ("shard", "N"), ("at", "S"), ("g", "S"))
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by_shard",
                    "KeySchema": [
                        {"AttributeName": "shard", "KeyType": "HASH"},
                        {"AttributeName": "at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                },
                {
                    "IndexName": "by_g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                },
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for i in range(60):
            item = {
                "pk": {"S": f"p{i % 3}"},
                "sk": {"S": f"{'ab' if i % 2 else 'ac'}{59 - i:03d}"},
                "shard": {"N": str(i % 4) if i % 5 else f"{i % 4}.0"},  # 1 and 1.0 are one
                "at": {"S": f"2026-01-{i % 28 + 1:02d}T00:{i:02d}"},
            }
            if i % 6 == 0:
                item["g"] = {"S": "six"}  # a sparse index
            dynamodb.put_item(TableName="t", Item=item)
        yield dynamodb


def _all_pages(client, **query) -> list[list[str]]:
    pages, start = [], None
    while True:
        answer = client.query(
            TableName="t", **query, **({"ExclusiveStartKey": start} if start else {})
        )
        pages.append([i["sk"]["S"] for i in answer["Items"]])
        start = answer.get("LastEvaluatedKey")
        if not start:
            return pages


def test_a_table_query_reads_its_partition_in_order_with_begins_with_and_paging(client) -> None:
    expected = sorted(f"ab{59 - i:03d}" for i in range(60) if i % 3 == 1 and i % 2)
    pages = _all_pages(
        client,
        KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
        ExpressionAttributeValues={":p": {"S": "p1"}, ":s": {"S": "ab"}},
        Limit=4,
    )
    assert [sk for page in pages for sk in page] == expected
    assert all(len(page) <= 4 for page in pages)
    backwards = client.query(
        TableName="t",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p2"}},
        ScanIndexForward=False,
    )["Items"]
    assert [i["sk"]["S"] for i in backwards] == sorted(
        (f"{'ab' if i % 2 else 'ac'}{59 - i:03d}" for i in range(60) if i % 3 == 2), reverse=True
    )
    nothing = client.query(
        TableName="t",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p9"}},
    )
    assert nothing["Items"] == []


def test_an_index_query_finds_numbers_by_value_and_pages_newest_first(client) -> None:
    rows = [i for i in range(60) if i % 4 == 1]
    expected = [
        f"{'ab' if i % 2 else 'ac'}{59 - i:03d}"
        for i in sorted(rows, key=lambda i: f"2026-01-{i % 28 + 1:02d}T00:{i:02d}", reverse=True)
    ]
    pages = _all_pages(
        client,
        IndexName="by_shard",
        KeyConditionExpression="shard = :s",
        ExpressionAttributeValues={":s": {"N": "1"}},
        ScanIndexForward=False,
        Limit=5,
    )
    assert [sk for page in pages for sk in page] == expected  # "1.0" rows too
    sparse = client.query(
        TableName="t",
        IndexName="by_g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "six"}},
    )["Items"]
    assert sorted(i["sk"]["S"] for i in sparse) == sorted(
        f"{'ab' if i % 2 else 'ac'}{59 - i:03d}" for i in range(60) if i % 6 == 0
    )


def test_the_table_is_whole_again_after_a_query(client) -> None:
    client.query(
        TableName="t",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p0"}},
    )
    assert client.scan(TableName="t")["Count"] == 60
