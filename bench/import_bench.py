"""Contact import throughput on in-process moto, next to raw BatchWriteItem of the same
Contact items on the same moto in the same run.

The import does the whole job: parse, map, validate (email syntax, E.164 phones), dedupe,
check the claims (BatchGetItem) and write Contact + EmailClaim + ContactIndex rows: three
items a row with one tag, two with --no-tags. The raw baseline only sends the already
serialised Contact items, 25 per request, so the ratio is bounded by moto's cost of the
extra items (measured: a claim ~22 %, an index row ~28 % of a Contact item's cost). Target: import
rows/s >= 70 % of raw. Run: `.venv/bin/python bench/import_bench.py --rows 50000`.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from typing import Any

NAMES = [("Ali", "Rezaei"), ("علی", "رضایی"), ("سارة", "العلي"), ("Mina", "Karimi"), ("John", "Smith")]
TAGS = ["lead", "customer", "vip", "newsletter"]


def fake_env() -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        os.environ.pop(name, None)  # calls must stay inside the mock
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        os.environ[name] = "testing"
    os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = "us-east-1"


def generate(rows: int, tags: bool = True) -> str:
    lines = ["Email,First Name,Last Name,Phone,Company,Tags"]
    tag_of = TAGS if tags else [""] * len(TAGS)
    for i in range(rows):
        first, last = NAMES[i % len(NAMES)]
        phone = f"+49 151 {10_000_000 + i:08d}"
        lines.append(f"user{i}@example.com,{first},{last},{phone},Acme {i % 97},{tag_of[i % 4]}")
    return "\n".join(lines) + "\n"


def clock() -> tuple[float, float]:
    # CPU time too: other work on a shared 2-core machine inflates wall time, not CPU time.
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = clock()
    return wall - start[0], cpu - start[1]


def time_import(text: str) -> tuple[tuple[float, float], int]:
    from functions.store.importer import import_contacts

    start = clock()
    report = import_contacts(io.StringIO(text))
    return since(start), report.imported


def contact_items(text: str) -> list[dict[str, Any]]:
    """The same Contact items the import writes, serialised before the clock starts."""
    from functions.store.contacts import build_contact

    items = []
    for line in text.splitlines()[1:]:
        email, first, last, phone, company, tag = line.split(",")
        fields = {"email": email, "first_name": first, "last_name": last,
                  "phone": phone.replace(" ", ""), "company_name": company,
                  "tags": {tag} if tag else set()}
        items.append(build_contact(fields).serialize())
    return items


def time_raw(items: list[dict[str, Any]]) -> tuple[float, float]:
    import boto3

    from functions.store.models import Contact

    client = boto3.client("dynamodb")
    table = fresh_copy(client, Contact.Meta.table_name)
    start = clock()
    for i in range(0, len(items), 25):
        request = {table: [{"PutRequest": {"Item": item}} for item in items[i:i + 25]]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems")
    return since(start)


def fresh_copy(client: Any, source: str) -> str:
    """A new table with the contacts table's keys and indexes (moto's cost per item
    depends on them)."""
    desc = client.describe_table(TableName=source)["Table"]
    indexes = [{k: g[k] for k in ("IndexName", "KeySchema", "Projection")}
               for g in desc.get("GlobalSecondaryIndexes", [])]
    name = f"{source}-raw-{time.time_ns()}"
    client.create_table(TableName=name, KeySchema=desc["KeySchema"],
                        AttributeDefinitions=desc["AttributeDefinitions"],
                        GlobalSecondaryIndexes=indexes, BillingMode="PAY_PER_REQUEST")
    return name


def one_run(text: str, rows: int) -> dict[str, float]:
    """rows/s of the import and of raw writes, by wall and by CPU time."""
    from moto import mock_aws

    with mock_aws():
        from functions.store.tables import create_all

        create_all()
        (wall, cpu), imported = time_import(text)
        assert imported == rows, f"imported {imported} of {rows}"
        raw_wall, raw_cpu = time_raw(contact_items(text))
    return {"import": rows / wall, "raw": rows / raw_wall,
            "import_cpu": rows / cpu, "raw_cpu": rows / raw_cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs; the median is reported")
    parser.add_argument("--no-tags", action="store_true",
                        help="rows without tags: no ContactIndex rows to write")
    parser.add_argument("--profile", action="store_true", help="cProfile the import (one run)")
    args = parser.parse_args()
    fake_env()
    text = generate(args.rows, tags=not args.no_tags)
    if args.profile:
        profile(text)
        return
    runs = [one_run(text, args.rows) for _ in range(args.repeat)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"rows: {args.rows:,}, one tag each: {not args.no_tags}, runs: {args.repeat} (median)")
    print(f"{'':22} {'wall rows/s':>12} {'CPU rows/s':>12}")
    print(f"{'import_contacts':22} {med['import']:12,.0f} {med['import_cpu']:12,.0f}")
    print(f"{'raw batch_write_item':22} {med['raw']:12,.0f} {med['raw_cpu']:12,.0f}  (Contact items only)")
    print(f"ratio: {med['import'] / med['raw']:.0%} wall, "
          f"{med['import_cpu'] / med['raw_cpu']:.0%} CPU (target >= 70%)")


def profile(text: str) -> None:
    import cProfile
    import pstats

    from moto import mock_aws

    with mock_aws():
        from functions.store.tables import create_all

        create_all()
        cProfile.runctx("time_import(text)", globals(), {"text": text}, "/tmp/import.prof")
    pstats.Stats("/tmp/import.prof").sort_stats("cumulative").print_stats(35)


if __name__ == "__main__":
    main()
