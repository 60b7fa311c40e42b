"""SES's bounces and complaints, as its configuration set publishes them to SNS, reach the
`email_feedback` Lambda (functions/app.py, invoked through Chalice's test client with an
SNS event): the address is suppressed, the contact's status and timeline say why, and a
re-delivered message changes nothing more."""

from __future__ import annotations

import json
from typing import Any

from chalice.test import Client

from functions.app import app
from functions.steps.send_email import skip_reason
from functions.store.contacts import create_contact, get_contact, timeline
from functions.store.fields import contact_fields
from functions.store.models import Suppression


def report(kind: str, *addresses: str, message_id: str = "0100-abc", **extra: Any) -> dict:
    """An SES event-publishing record, as SNS carries it."""
    body: dict[str, Any] = {
        "eventType": kind,
        "mail": {
            "messageId": message_id,
            "source": "hello@acme.com",
            "destination": list(addresses),
        },
    }
    if kind == "Bounce":
        body["bounce"] = {
            "bounceType": extra.get("bounce_type", "Permanent"),
            "bounceSubType": "General",
            "bouncedRecipients": [
                {"emailAddress": a, "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
                for a in addresses
            ],
        }
    elif kind == "Complaint":
        body["complaint"] = {
            "complaintFeedbackType": "abuse",
            "complainedRecipients": [{"emailAddress": a} for a in addresses],
        }
    return body


def deliver(body: dict) -> dict:
    with Client(app) as client:
        event = client.events.generate_sns_event(message=json.dumps(body))
        return client.lambda_.invoke("email_feedback", event).payload


def contact(email: str) -> str:
    return create_contact(contact_fields({"email": email, "first_name": "Reza"})).contact_id


def activities(contact_id: str) -> list:
    return timeline(contact_id)[0]


def kinds(contact_id: str) -> list[str]:
    return [a.kind for a in activities(contact_id)]


def test_a_permanent_bounce_suppresses_the_address_and_says_so_on_the_timeline(store) -> None:
    reza = contact("reza@example.com")
    answer = deliver(report("Bounce", "Reza@Example.com"))
    assert answer == {"handled": [{"email": "reza@example.com", "outcome": "bounced"}]}
    assert Suppression.get("reza@example.com").reason == "bounced"
    saved = get_contact(reza)
    assert saved.subscription_status == "bounced"
    assert skip_reason(saved, "transactional") == "bounced"  # not even a receipt now
    (bounced,) = [a for a in activities(reza) if a.kind == "email_bounced"]
    assert bounced.data["message_id"] == "0100-abc"
    assert "550 5.1.1" in bounced.data["diagnostic"]


def test_a_redelivered_report_is_handled_once(store) -> None:
    reza = contact("reza@example.com")
    first = deliver(report("Complaint", "reza@example.com"))
    again = deliver(report("Complaint", "reza@example.com"))
    assert first == again
    assert kinds(reza).count("email_complained") == 1
    assert get_contact(reza).subscription_status == "complained"


def test_a_transient_bounce_only_goes_on_the_timeline(store) -> None:
    reza = contact("reza@example.com")
    answer = deliver(report("Bounce", "reza@example.com", bounce_type="Transient"))
    assert answer["handled"][0]["outcome"] == "noted"
    assert Suppression.count("reza@example.com") == 0
    assert get_contact(reza).subscription_status == "subscribed"
    assert "email_bounced" in kinds(reza)


def test_a_later_complaint_does_not_soften_a_bounce(store) -> None:
    reza = contact("reza@example.com")
    deliver(report("Bounce", "reza@example.com", message_id="m1"))
    deliver(report("Complaint", "reza@example.com", message_id="m2"))
    assert Suppression.get("reza@example.com").reason == "bounced"
    assert get_contact(reza).subscription_status == "bounced"


def test_an_address_no_contact_has_is_still_suppressed(store) -> None:
    answer = deliver(report("Bounce", "gone@example.com", "not an address"))
    assert [h["outcome"] for h in answer["handled"]] == ["bounced", "not an address"]
    assert Suppression.get("gone@example.com").reason == "bounced"


def test_deliveries_and_other_reports_are_ignored(store) -> None:
    assert deliver({"eventType": "Delivery", "mail": {"messageId": "x"}}) == {"handled": []}
