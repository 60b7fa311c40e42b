"""The CRM record fields a flow may refer to, and the grammar of a field reference.

A field reference is `name` (a contact field), or `scope.name` where scope is
`contact`, `deal`, `company` (known fields only), `custom` (a contact custom field) or
`trigger` (a key of the payload that started the enrollment).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

FieldType = Literal["string", "number", "date", "datetime", "boolean", "tags", "email", "phone"]


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: FieldType
    label: str


def _fields(*rows: tuple[str, FieldType, str]) -> dict[str, FieldInfo]:
    return {name: FieldInfo(name, type_, label) for name, type_, label in rows}


CONTACT_FIELDS = _fields(
    ("id", "string", "Contact id"),
    ("email", "email", "Email"),
    ("first_name", "string", "First name"),
    ("last_name", "string", "Last name"),
    ("full_name", "string", "Full name"),
    ("phone", "phone", "Phone (E.164)"),
    ("company_name", "string", "Company name"),
    ("company_id", "string", "Company id"),
    ("job_title", "string", "Job title"),
    ("owner_id", "string", "Owner (user id)"),
    ("lifecycle_stage", "string", "Lifecycle stage"),
    ("lead_status", "string", "Lead status"),
    ("score", "number", "Lead score"),
    ("temperature", "string", "Lead temperature (cold/warm/hot)"),
    ("tags", "tags", "Tags"),
    ("source", "string", "Source"),
    ("country", "string", "Country"),
    ("city", "string", "City"),
    ("time_zone", "string", "Time zone (IANA)"),
    ("locale", "string", "Locale"),
    ("email_consent", "boolean", "Email consent"),
    ("subscription_status", "string", "Subscription status"),
    ("sms_opt_out", "boolean", "SMS opt-out"),
    ("created_at", "datetime", "Created"),
    ("updated_at", "datetime", "Updated"),
    ("last_contacted_at", "datetime", "Last contacted"),
    ("last_email_opened_at", "datetime", "Last email opened"),
    ("last_email_clicked_at", "datetime", "Last email clicked"),
    ("emails_sent", "number", "Emails sent"),
    ("emails_opened", "number", "Emails opened"),
    ("emails_clicked", "number", "Emails clicked"),
    ("purchases", "number", "Purchases"),
    ("total_spent", "number", "Total spent"),
    ("first_purchase_at", "datetime", "First purchase"),
    ("last_purchase_at", "datetime", "Last purchase"),
    ("products", "tags", "Products bought"),
    ("renewal_date", "date", "Renewal date"),
    ("subscription_ends_at", "date", "Subscription ends"),
    ("birthday", "date", "Birthday"),
    ("budget", "number", "Budget"),
    ("timeline", "string", "Purchase timeline"),
    ("preferred_send_hour", "number", "Hour the contact usually opens email"),
)

DEAL_FIELDS = _fields(
    ("id", "string", "Deal id"),
    ("name", "string", "Deal name"),
    ("pipeline", "string", "Pipeline"),
    ("stage", "string", "Stage"),
    ("amount", "number", "Amount"),
    ("currency", "string", "Currency"),
    ("owner_id", "string", "Owner (user id)"),
    ("close_date", "date", "Close date"),
    ("created_at", "datetime", "Created"),
)

COMPANY_FIELDS = _fields(
    ("id", "string", "Company id"),
    ("name", "string", "Name"),
    ("domain", "string", "Domain"),
    ("industry", "string", "Industry"),
    ("size", "number", "Employees"),
    ("country", "string", "Country"),
    ("owner_id", "string", "Owner (user id)"),
)

# Lifecycle stages in the order contacts move through them (HubSpot's, which the templates
# and the demo data use): reports rank them, the condition builder lists them.
LIFECYCLE_STAGES: tuple[str, ...] = (
    "subscriber",
    "lead",
    "marketing_qualified",
    "sales_qualified",
    "opportunity",
    "customer",
    "evangelist",
)

KNOWN_SCOPES: dict[str, dict[str, FieldInfo]] = {
    "contact": CONTACT_FIELDS,
    "deal": DEAL_FIELDS,
    "company": COMPANY_FIELDS,
}
FREE_SCOPES = ("custom", "trigger")
DATE_TYPES = ("date", "datetime")

_NAME = r"[a-z][a-z0-9_]{0,63}"
FIELD_REF = re.compile(rf"^(?:(contact|deal|company|custom|trigger)\.)?({_NAME})$")


def split_ref(ref: str) -> tuple[str, str] | None:
    """Return (scope, name) of a well-formed field reference, or None."""
    match = FIELD_REF.match(ref)
    if not match:
        return None
    return match.group(1) or "contact", match.group(2)


def field_info(ref: str) -> FieldInfo | None:
    """The declared field behind a reference, None for custom/trigger or unknown fields."""
    parts = split_ref(ref)
    if parts is None or parts[0] in FREE_SCOPES:
        return None
    return KNOWN_SCOPES[parts[0]].get(parts[1])


def type_phrase(type_: FieldType) -> str:
    """'a number field', 'an email field': for messages."""
    return f"{'an' if type_[0] in 'aeiou' else 'a'} {type_} field"


def check_ref(ref: str, *, want: tuple[FieldType, ...] | None = None) -> str | None:
    """Why `ref` is not a usable field reference, or None when it is."""
    parts = split_ref(ref)
    if parts is None:
        return (
            f"'{ref}' is not a field name: use lowercase letters, digits and _ "
            "(e.g. 'score', 'deal.stage', 'custom.plan', 'trigger.budget')"
        )
    scope, name = parts
    if scope in FREE_SCOPES:
        return None
    fields = KNOWN_SCOPES[scope]
    info = fields.get(name)
    if info is None:
        close = difflib.get_close_matches(name, list(fields), n=1)
        hint = (
            f"; did you mean '{close[0]}'?"
            if close
            else f"; for your own fields use 'custom.{name}'"
        )
        return f"unknown {scope} field '{name}'{hint}"
    if want and info.type not in want:
        return f"field '{ref}' is {type_phrase(info.type)}, expected {' or '.join(want)}"
    return None
