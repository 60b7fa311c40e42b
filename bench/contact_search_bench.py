"""Server time of the contacts page's searches among imported contacts, on in-process moto
with crmflow's moto patches (as the local stack runs them): each search kind through the
HTTP API's own handler (chalice's local gateway: key check, query parsing, the store's
Queries, owner names, JSON), one page of 50. Target: median <= 300 ms for each kind on
50,000 contacts. The contacts are written by the CSV importer, as a real import would.

    .venv/bin/python bench/contact_search_bench.py [--contacts 50000] [--runs 15]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.import_bench import clock, fake_env, since  # noqa: E402

TARGET_MS = 300.0
FIRST = ["Sara", "سارا", "سارة", "Ali", "علی", "علي", "Mina", "مینا", "Omar", "عمر", "Emily"]
LAST = ["Mohammadi", "محمدی", "الكندري", "Karimi", "کریمی", "Rezaei", "رضایی", "Haddad", "حداد"]
COMPANIES = ["Pars Soft", "شركة النور", "Acme", "Northwind", "پارس صنعت", "Nakhl Trading"]
STAGES = ["subscriber", "lead", "customer", "opportunity"]
TAGS = ["vip", "newsletter", "webinar", "buyer"]
OWNERS = [f"usr-{n}" for n in range(20)]
MAILBOXES = ["sara", "ali", "mina", "omar", "emily", "reza", "layla", "noor", "james", "zahra"]
DOMAINS = ["example.com", "pars-soft.example", "nakhl.example", "northwind.example"]
# What people type, per kind: a page of 50 each. Several prefixes, in each script.
SEARCHES: dict[str, list[str]] = {
    "newest first": [""],
    "name (Latin)": ["name=sa", "name=sar", "name=kari", "name=mohammadi", "name=sara%20mo"],
    "name (Persian/Arabic)": [f"name={quote(t)}" for t in ("سا", "سار", "کری", "الکندری", "علی")],
    "email prefix": ["email=sa", "email=sara1", "email=omar123", "email=zahra49999@ex"],
    "company": ["company=pars", "company=nor", f"company={quote('النور')}", "company=trad"],
    "tag": ["tag=vip", "tag=buyer"],
    "stage": ["stage=lead", "stage=customer"],
    "owner": ["owner=usr-3", "owner=usr-17"],
}


def generate(contacts: int) -> str:
    lines = ["Email,First Name,Last Name,Company,Owner,Lifecycle Stage,Tags"]
    for i in range(contacts):
        lines.append(
            f"{MAILBOXES[i % len(MAILBOXES)]}{i}@{DOMAINS[i % len(DOMAINS)]},"
            f"{FIRST[i % len(FIRST)]},{LAST[i % len(LAST)]},"
            f"{COMPANIES[i % len(COMPANIES)]},{OWNERS[i % len(OWNERS)]},"
            f"{STAGES[i % len(STAGES)]},{TAGS[i % len(TAGS)]}"
        )
    return "\n".join(lines) + "\n"


def seed(contacts: int) -> float:
    """Import the contacts and name their owners; the import's seconds."""
    from functions.store.importer import import_contacts
    from functions.store.models import User

    for owner in OWNERS:
        User(owner, email=f"{owner}@acme.example", name=f"Owner {owner[4:]}").save()
    start = time.perf_counter()
    report = import_contacts(io.StringIO(generate(contacts)))
    assert report.imported == contacts, report.summary()
    return time.perf_counter() - start


def measure(runs: int) -> dict[str, tuple[float, float, int]]:
    """Per kind: median wall ms, median CPU ms, contacts on the first answer's page."""
    from chalice.test import Client

    from functions.app import app
    from functions.auth import issue_key

    key = issue_key("bench", "admin", user_id="usr-0", by="bench")[1]
    client = Client(app)
    headers = {"Authorization": f"Bearer {key}"}
    results = {}
    for kind, queries in SEARCHES.items():
        walls, cpus, found = [], [], None
        for n in range(runs):
            query = queries[n % len(queries)]
            start = clock()
            answer = client.http.get(f"/contacts?limit=50&{query}", headers=headers)
            wall, cpu = since(start)
            body = json.loads(answer.body)
            assert answer.status_code == 200, body
            if found is None:
                found = len(body["contacts"])
            walls.append(wall * 1000)
            cpus.append(cpu * 1000)
        results[kind] = (statistics.median(walls), statistics.median(cpus), found or 0)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=50_000, help="contacts to import")
    parser.add_argument("--runs", type=int, default=15, help="requests per kind; median shown")
    args = parser.parse_args()
    fake_env()
    from moto import mock_aws

    from infra.local import moto_patches

    moto_patches.apply()  # as the local stack and the tests run moto
    with mock_aws():
        from functions.store.tables import create_all

        create_all()
        seconds = seed(args.contacts)
        results = measure(args.runs)
    print(f"contacts: {args.contacts:,} (imported in {seconds:.1f} s), {args.runs} requests a kind")
    print(f"{'search':24} {'wall ms':>9} {'CPU ms':>9} {'page':>6}")
    for kind, (wall, cpu, found) in results.items():
        flag = "" if wall <= TARGET_MS else f"  over {TARGET_MS:.0f} ms"
        print(f"{kind:24} {wall:9.1f} {cpu:9.1f} {found:6}{flag}")
    worst = max(wall for wall, _, _ in results.values())
    print(f"slowest median: {worst:.1f} ms (target <= {TARGET_MS:.0f} ms)")


if __name__ == "__main__":
    main()
