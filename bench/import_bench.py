"""Contact import throughput on in-process moto, next to raw BatchWriteItem of the same
Contact items on the same moto in the same run.

The import does the whole job: parse, map, validate (email syntax, E.164 phones), dedupe,
check the claims (BatchGetItem) and write Contact + EmailClaim + ContactIndex rows: three
items a row with one tag, two with --no-tags. Two raw baselines send already serialised
items, 25 per request: the same items the import writes (the target's comparison: what
the import adds over writing its own data), and the Contact items alone (one item a row:
moto's cost of the claim and index rows shows as the gap). Target: import rows/s >= 70 %
of raw. Run: `.venv/bin/python bench/import_bench.py --rows 50000`.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from typing import Any

NAMES = [
    ("Ali", "Rezaei"),
    ("علی", "رضایی"),
    ("سارة", "العلي"),
    ("Mina", "Karimi"),
    ("John", "Smith"),
]
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


def written_items(text: str) -> list[tuple[str, dict[str, Any]]]:
    """What the import writes, serialised before the clock starts: per row a Contact, its
    EmailClaim and one ContactIndex row per tag, as (table suffix, item)."""
    from functions.store.contacts import build_contact

    items = []
    for line in text.splitlines()[1:]:
        email, first, last, phone, company, tag = line.split(",")
        fields = {
            "email": email,
            "first_name": first,
            "last_name": last,
            "phone": phone.replace(" ", ""),
            "company_name": company,
            "tags": {tag} if tag else set(),
        }
        contact = build_contact(fields).serialize()
        cid = contact["contact_id"]
        items.append(("contacts", contact))
        items.append(("email-claims", {"email": contact["email"], "contact_id": cid}))
        if tag:
            items.append(("contact-index", {"key": {"S": f"tag#{tag}"}, "contact_id": cid}))
    return items


def time_raw(items: list[tuple[str, dict[str, Any]]]) -> tuple[float, float]:
    """BatchWriteItem of `items`, 25 a request, into fresh copies of their tables."""
    import boto3

    from functions.store.tables import table_name

    client = boto3.client("dynamodb")
    copies = {suffix: fresh_copy(client, table_name(suffix)) for suffix in {s for s, _ in items}}
    start = clock()
    for i in range(0, len(items), 25):
        request: dict[str, list] = {}
        for suffix, item in items[i : i + 25]:
            request.setdefault(copies[suffix], []).append({"PutRequest": {"Item": item}})
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems")
    return since(start)


def fresh_copy(client: Any, source: str) -> str:
    """A new table with the contacts table's keys and indexes (moto's cost per item
    depends on them)."""
    desc = client.describe_table(TableName=source)["Table"]
    indexes = [
        {k: g[k] for k in ("IndexName", "KeySchema", "Projection")}
        for g in desc.get("GlobalSecondaryIndexes", [])
    ]
    name = f"{source}-raw-{time.time_ns()}"
    extra = {"GlobalSecondaryIndexes": indexes} if indexes else {}
    client.create_table(
        TableName=name,
        KeySchema=desc["KeySchema"],
        AttributeDefinitions=desc["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    return name


def one_run(text: str, rows: int) -> dict[str, float]:
    """rows/s of the import and of raw writes, by wall and by CPU time."""
    from moto import mock_aws

    with mock_aws():
        from functions.store.tables import create_all

        create_all()
        (wall, cpu), imported = time_import(text)
        assert imported == rows, f"imported {imported} of {rows}"
        items = written_items(text)
        raw_wall, raw_cpu = time_raw(items)
        contacts_wall, contacts_cpu = time_raw([i for i in items if i[0] == "contacts"])
    return {
        "import": rows / wall,
        "raw": rows / raw_wall,
        "import_cpu": rows / cpu,
        "raw_cpu": rows / raw_cpu,
        "contacts": rows / contacts_wall,
        "contacts_cpu": rows / contacts_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs; the median is reported")
    parser.add_argument(
        "--no-tags", action="store_true", help="rows without tags: no ContactIndex rows to write"
    )
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
    print(
        f"{'raw, same items':22} {med['raw']:12,.0f} {med['raw_cpu']:12,.0f}"
        "  (Contact + EmailClaim + ContactIndex)"
    )
    print(
        f"{'raw, Contact items':22} {med['contacts']:12,.0f} {med['contacts_cpu']:12,.0f}"
        "  (one item a row)"
    )
    print(
        f"import / raw same items: {med['import'] / med['raw']:.0%} wall, "
        f"{med['import_cpu'] / med['raw_cpu']:.0%} CPU (target >= 70%)"
    )
    print(
        f"import / raw Contact items: {med['import'] / med['contacts']:.0%} wall, "
        f"{med['import_cpu'] / med['contacts_cpu']:.0%} CPU"
    )


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
