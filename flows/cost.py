"""Dollar estimates for running a flow on AWS, from the compiled flow's path statistics.

All prices live here, with the date they were read. They are list prices for us-east-1,
on-demand, without free tiers; check the AWS pricing pages before budgeting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows.paths import PathStats

PRICES_AS_OF = "2025-06-01"
REGION = "us-east-1"
# Per unit, in USD.
STEP_FUNCTIONS_TRANSITION = 0.025 / 1000  # Standard workflows, per state transition
LAMBDA_REQUEST = 0.20 / 1_000_000
LAMBDA_GB_SECOND = 0.0000166667  # x86
LAMBDA_MEMORY_GB = 256 / 1024  # crmflow's step functions are configured with 256 MB
LAMBDA_AVG_SECONDS = 0.120  # assumed average step duration (measure yours in CloudWatch)
DYNAMODB_WRITE = 0.625 / 1_000_000  # on-demand write request unit
DYNAMODB_READ = 0.125 / 1_000_000  # on-demand read request unit
SES_EMAIL = 0.10 / 1000
SNS_SMS = 0.00645  # varies by destination country; an assumed US average per part
SOURCES = (
    "https://aws.amazon.com/step-functions/pricing/",
    "https://aws.amazon.com/lambda/pricing/",
    "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    "https://aws.amazon.com/ses/pricing/",
    "https://aws.amazon.com/sns/sms-pricing/",
)


@dataclass(frozen=True)
class Line:
    service: str
    unit: str
    per_contact_min: float  # units
    per_contact_max: float
    unit_price: float

    def dollars(self, contacts: int) -> tuple[float, float]:
        return (
            self.per_contact_min * self.unit_price * contacts,
            self.per_contact_max * self.unit_price * contacts,
        )


def estimate(stats: PathStats) -> list[Line]:
    lo, hi = stats.min_use, stats.max_use
    lambda_unit = LAMBDA_REQUEST + LAMBDA_GB_SECOND * LAMBDA_MEMORY_GB * LAMBDA_AVG_SECONDS
    return [
        Line(
            "Step Functions",
            "state transitions",
            stats.min_transitions,
            stats.max_transitions,
            STEP_FUNCTIONS_TRANSITION,
        ),
        Line("Lambda", "invocations", lo["lambda_calls"], hi["lambda_calls"], lambda_unit),
        Line("DynamoDB", "write units", lo["ddb_writes"], hi["ddb_writes"], DYNAMODB_WRITE),
        Line("DynamoDB", "read units", lo["ddb_reads"], hi["ddb_reads"], DYNAMODB_READ),
        Line("SES", "emails", lo["emails"], hi["emails"], SES_EMAIL),
        Line("SNS", "SMS parts", lo["sms"], hi["sms"], SNS_SMS),
    ]


def estimate_dict(stats: PathStats, contacts: int) -> dict[str, Any]:
    lines = estimate(stats)
    rows = []
    for line in lines:
        low, high = line.dollars(contacts)
        rows.append(
            {
                "service": line.service,
                "unit": line.unit,
                "per_contact": {"min": line.per_contact_min, "max": line.per_contact_max},
                "unit_price_usd": line.unit_price,
                "usd": {"min": low, "max": high},
            }
        )
    return {
        "contacts": contacts,
        "prices_as_of": PRICES_AS_OF,
        "region": REGION,
        "lines": rows,
        "total_usd": {
            "min": sum(r["usd"]["min"] for r in rows),
            "max": sum(r["usd"]["max"] for r in rows),
        },
        "assumptions": f"Lambda {int(LAMBDA_MEMORY_GB * 1024)} MB for {LAMBDA_AVG_SECONDS * 1000:.0f} ms a call; "
        "no free tier; retries not counted; SMS priced for the US.",
        "sources": list(SOURCES),
    }
