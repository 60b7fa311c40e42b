"""In-process cost of step handlers on moto (not a test): median milliseconds per call,
and the cold import time of the Lambda entry module.

    .venv/bin/python bench/steps_bench.py [--calls 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

CALLS: dict[str, Callable[[str, int], dict[str, Any]]] = {}


def _event(kind: str, params: dict[str, Any], contact_id: str, n: int) -> dict[str, Any]:
    return {
        "node": "n1",
        "kind": kind,
        "params": params,
        "enrollment": {
            "id": f"e{n}",
            "flow_id": "bench",
            "flow_version": 1,
            "contact_id": contact_id,
            "bucket": 1,
        },
        "trigger": {},
        # One execution per kind and call: a shared key would hit once()'s stored result.
        "execution": f"arn:aws:states:us-east-1:123456789012:execution:bench:{kind}-{n}",
        "state": "n1",
        "attempt": 0,
    }


def _cases() -> dict[str, tuple[str, dict[str, Any]]]:
    criteria = {"groups": [{"conditions": [{"field": "score", "op": "at_least", "value": 5}]}]}
    email = {
        "subject": "Hi {{ contact.first_name }}",
        "body": "<p>Hello</p>",
        "from_email": "Acme <hi@acme.example>",
        "purpose": "transactional",
    }
    return {
        "update_record": ("update_record", {"increment": {"score": 1}, "add_tags": ["bench"]}),
        "evaluate (branch)": ("branch", {"criteria": criteria}),
        "send_email": ("send_email", email),
    }


def measure(calls: int) -> dict[str, float]:
    from functions import steps
    from functions.store.contacts import create_contact

    contact = create_contact({"email": "bench@example.com", "first_name": "Bench"})
    results = {}
    for label, (kind, params) in _cases().items():
        handler = "evaluate" if kind == "branch" else kind
        times = []
        for n in range(calls):
            event = _event(kind, params, contact.contact_id, n)
            began = time.perf_counter()
            steps.run(handler, event)
            times.append((time.perf_counter() - began) * 1000)
        results[label] = statistics.median(times)
    return results


def cold_import_ms(code: str, runs: int = 7) -> float:
    """Median wall time of `code` in a fresh interpreter, less an empty interpreter's."""

    def once(text: str) -> float:
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", text], check=True)
        return (time.perf_counter() - began) * 1000

    bare = statistics.median(once("pass") for _ in range(runs))
    return statistics.median(once(code) for _ in range(runs)) - bare


# A Lambda's cold start imports the entry module, then its one handler's module on the
# first call (functions.steps imports handlers lazily): the lightest and heaviest handlers.
COLD = {
    "functions.app": "import functions.app",
    "functions.app + finish": "import functions.app, functions.steps.finish",
    "functions.app + send_email": "import functions.app, functions.steps.send_email",
    "functions.app + assign_owner": "import functions.app, functions.steps.assign_owner",
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=300, help="calls per handler (default 300)")
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        CRMFLOW_PUBLIC_URL="https://crm.example.com",
        CRMFLOW_UNSUBSCRIBE_SECRET="bench",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    with mock_aws():
        from functions.store.tables import create_all

        create_all()
        import boto3

        boto3.client("sesv2").create_email_identity(EmailIdentity="acme.example")
        results = measure(args.calls)
    print(f"in-process cost per call on moto (median of {args.calls})")
    for label, ms in results.items():
        print(f"  {label:<20} {ms:7.2f} ms")
    print("cold import in a fresh interpreter (median of 7; target <= 250 ms)")
    for label, code in COLD.items():
        print(f"  {label:<30} {cold_import_ms(code):5.0f} ms")


if __name__ == "__main__":
    main()
