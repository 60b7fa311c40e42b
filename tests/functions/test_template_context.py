"""What personalisation templates can read in the step handlers (docs/flow-format.md):
`contact.id`, `owner.first_name` and `owner.email` (also when only reply_to names the
owner), and `deal.*` / `company.*` in emails, notifications, tasks and SMS. Each was
missing until the shipped templates ran end to end (tests/functions/test_template_runs*)."""

from __future__ import annotations

import email
from email.policy import default as default_policy
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from functions.steps import create_task, send_email, send_notification, send_sms
from functions.steps.base import parse
from functions.store import contacts, records
from functions.store.models import User

REGION = "us-east-1"
HANDLERS = {
    "send_email": send_email,
    "send_notification": send_notification,
    "create_task": create_task,
    "send_sms": send_sms,
}


@pytest.fixture
def aws(store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMFLOW_PUBLIC_URL", "https://crm.example.com")
    monkeypatch.setenv("CRMFLOW_UNSUBSCRIBE_SECRET", "s3cret")
    monkeypatch.setenv("CRMFLOW_NOTIFY_FROM", "crmflow <notify@acme.com>")
    boto3.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity="acme.com")
    User("u_layla", email="layla@acme.com", name="ليلى منصور", role="sales_rep").save()


def run(kind: str, params: dict[str, Any], contact_id: str, trigger: dict | None = None) -> Any:
    event = {
        "node": "n1",
        "kind": kind,
        "params": params,
        "enrollment": {"id": "enr-1", "flow_id": "f", "flow_version": 1, "contact_id": contact_id},
        "trigger": trigger or {},
        "execution": f"arn:aws:states:us-east-1:1:execution:f:{kind}",
        "state": "n1",
    }
    return HANDLERS[kind].handle(parse(event, kind))


def last_mail() -> email.message.EmailMessage:
    raw = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages[-1].raw_data
    return email.message_from_string(raw, policy=default_policy)  # type: ignore[return-value]


@pytest.fixture
def youssef(aws) -> str:
    contact = contacts.create_contact(
        {"email": "youssef@example.com", "first_name": "يوسف", "owner_id": "u_layla"}
    )
    records.create_deal(
        {
            "name": "Jordan Medical: new business",
            "pipeline": "new-business",
            "stage": "negotiation",
            "amount": 12000,
            "contact_id": contact.contact_id,
        }
    )
    return contact.contact_id


def test_an_email_reads_the_contact_id_and_the_owner_and_replies_reach_the_owner(youssef) -> None:
    run(
        "send_email",
        {
            "subject": "Your case {{ contact.id }}",
            "body": "<p>Best, {{ owner.first_name }}</p>",
            "from_email": "Acme Sales <sales@acme.com>",
            "reply_to": "{{ owner.email }}",  # the only mention of the owner
        },
        youssef,
    )
    message = last_mail()
    assert message["Subject"] == f"Your case \u2068{youssef}\u2069"
    assert message["Reply-To"] == "layla@acme.com"
    assert "Best, <bdi>ليلى</bdi>" in message.get_body(("html",)).get_content()


def test_tasks_notifications_emails_and_texts_read_the_contacts_deal(youssef) -> None:
    task = run(
        "create_task",
        {
            "title": "Book a call for {{ deal.name }} ({{ deal.stage }})",
            "assignee": {"rule": "owner"},
            "due_in": {"amount": 1, "unit": "days"},
        },
        youssef,
    )
    assert records.get_task(task["task_id"]).title == (
        "Book a call for Jordan Medical: new business (negotiation)"
    )
    run(
        "send_notification",
        {"subject": "Deal won: {{ deal.name }}", "message": "{{ deal.amount }}"},
        youssef,
    )
    assert last_mail()["Subject"] == "Deal won: \u2068Jordan Medical: new business\u2069"
    contacts.update_contact(youssef, lambda c: setattr(c, "phone", "+962791234567"))
    run("send_sms", {"message": "{{ deal.name }} is signed"}, youssef)
    [(_, text)] = sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values()
    assert text == "Jordan Medical: new business is signed"


def test_a_template_naming_a_deal_the_contact_does_not_have_renders_it_empty(aws) -> None:
    lead = contacts.create_contact({"email": "lead@example.com", "owner_id": "u_layla"}).contact_id
    task = run(
        "create_task",
        {
            "title": "Follow up {{ deal.name | default('(no deal)') }}",
            "assignee": {"rule": "owner"},
        },
        lead,
    )
    assert records.get_task(task["task_id"]).title == "Follow up (no deal)"
