"""send_email, send_sms and send_notification on moto: what leaves (SES's and SNS's
sent-message stores), what is skipped, and what lands on the contact's timeline."""

from __future__ import annotations

import email
import json
import re
import threading
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from functions import email as mail
from functions.errors import CrmError
from functions.steps import send_email, send_notification, send_sms
from functions.steps.base import parse
from functions.store import contacts, normalize
from functions.store.contacts import now
from functions.store.models import Suppression, Team, User

REGION = "us-east-1"
SENDER = "Acme <hello@acme.com>"
PUBLIC = "https://crm.example.com"
FSI, PDI = "\u2068", "\u2069"  # each interpolated value is a bidi isolate
HANDLERS = {"send_email": send_email, "send_sms": send_sms, "send_notification": send_notification}


@pytest.fixture
def aws(store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMFLOW_PUBLIC_URL", PUBLIC + "/")
    monkeypatch.setenv("CRMFLOW_UNSUBSCRIBE_SECRET", "s3cret")
    monkeypatch.setenv("CRMFLOW_NOTIFY_FROM", "crmflow <notify@acme.com>")
    monkeypatch.delenv("CRMFLOW_HTTP_ALLOW", raising=False)
    boto3.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity="acme.com")


def run(kind: str, params: dict[str, Any], contact_id: str, **extra: Any) -> dict[str, Any]:
    """Invoke a handler the way the Lambda entry does: the compiler's payload, parsed."""
    event = {
        "node": "n1",
        "kind": kind,
        "params": params,
        "enrollment": {
            "id": "enr-1",
            "flow_id": "welcome",
            "flow_version": 2,
            "contact_id": contact_id,
            "bucket": 3,
        },
        "trigger": extra.pop("trigger", {}),
        "execution": extra.pop("execution", "arn:aws:states:us-east-1:1:execution:welcome:enr-1"),
        "state": "n1",
        "attempt": 0,
    }
    return HANDLERS[kind].handle(parse(event, kind))


def failure(kind: str, params: dict[str, Any], contact_id: str) -> tuple[str, str]:
    with pytest.raises(CrmError) as caught:
        run(kind, params, contact_id)
    return type(caught.value).__name__, str(caught.value)


def sent() -> list[Any]:
    return ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages


def mime(index: int = -1) -> EmailMessage:
    return email.message_from_string(sent()[index].raw_data, policy=default_policy)


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def kinds(contact_id: str) -> list[str]:
    items, _ = contacts.timeline(contact_id)
    return [a.kind for a in items]


EMAIL = {
    "subject": "Hi {{ contact.first_name }}, welcome",
    "body": "<p>Hello {{ contact.first_name }} from {{ contact.company_name }}</p>",
    "from_email": SENDER,
    "fallbacks": {"contact.first_name": "there"},
}


# --- send_email --------------------------------------------------------------------------


def test_personalised_email_with_a_fallback_for_the_missing_name(aws) -> None:
    nameless = contacts.create_contact({"email": "x@example.com", "company_name": "Initech"})
    result = run("send_email", {**EMAIL, "reply_to": "sales@acme.com"}, nameless.contact_id)

    assert result["sent"] is True and result["message_id"]
    [message] = sent()
    assert message.destinations == ["x@example.com"]  # once, from the To header
    parsed = mime()
    assert parsed["Subject"] == f"Hi {FSI}there{PDI}, welcome"
    assert (parsed["From"], parsed["To"], parsed["Reply-To"]) == (
        SENDER,
        "x@example.com",
        "sales@acme.com",
    )
    assert "<p>Hello <bdi>there</bdi> from <bdi>Initech</bdi></p>" in html_of(parsed)
    assert f"Hello {FSI}there{PDI} from {FSI}Initech{PDI}" in text_of(parsed)
    contact = contacts.get_contact(nameless.contact_id)
    assert contact.custom["emails_sent"] == 1
    assert contact.last_contacted_at is not None
    items, _ = contacts.timeline(nameless.contact_id)
    assert [(a.kind, a.data) for a in items] == [
        (
            "email_sent",
            {
                "node": "n1",
                "enrollment": "enr-1",
                "flow_id": "welcome",
                "purpose": "marketing",
                "message_id": result["message_id"],
                "subject": f"Hi {FSI}there{PDI}, welcome",
            },
        )
    ]


def test_marketing_email_has_a_signed_one_click_unsubscribe_and_an_open_pixel(aws) -> None:
    sara = contacts.create_contact({"email": "sara@example.com", "first_name": "Sara"})
    run("send_email", EMAIL, sara.contact_id)

    parsed = mime()
    link = parsed["List-Unsubscribe"].strip("<>")
    assert link.startswith(f"{PUBLIC}/u/")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The link names the email it came in, so reports count an unsubscribe against it.
    assert mail.read_unsubscribe(link.rsplit("/", 1)[1]) == (sara.contact_id, "enr-1", "n1")
    html = html_of(parsed)
    assert f'href="{link}"' in html
    pixel = f"{PUBLIC}/t/o/"
    assert pixel in html
    token = html.split(pixel, 1)[1].split('"', 1)[0]
    assert mail.verify(mail.OPEN, token) == f"{sara.contact_id}|enr-1|n1"
    assert mail.verify(mail.UNSUBSCRIBE, token) is None  # an open token unsubscribes nobody


def test_unsubscribe_tokens_cannot_be_forged() -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CRMFLOW_UNSUBSCRIBE_SECRET", "s3cret")
        token = mail.sign(mail.UNSUBSCRIBE, "c_1")
        value, signature = token.split(".")
        forged = mail.sign(mail.UNSUBSCRIBE, "c_2").split(".")[0] + "." + signature
        assert mail.verify(mail.UNSUBSCRIBE, token) == "c_1"
        for bad in (forged, value, "", "..", "%%.%%", token + "x"):
            assert mail.verify(mail.UNSUBSCRIBE, bad) is None
        env.setenv("CRMFLOW_UNSUBSCRIBE_SECRET", "rotated")
        assert mail.verify(mail.UNSUBSCRIBE, token) is None


def test_links_are_tracked_through_signed_redirects_and_the_unsubscribe_link_is_not(aws) -> None:
    sara = contacts.create_contact({"email": "sara@example.com", "first_name": "سارا"})
    body = (
        '<p><a href="https://acme.com/offer?a=1&amp;b=2">عرض</a> '
        "<a href='https://acme.com/fa/پیشنهاد'>پیشنهاد</a> "
        '<a href="mailto:help@acme.com">mail</a> <a href="#top">top</a></p>'
    )
    run("send_email", {**EMAIL, "body": body}, sara.contact_id)
    page = html_of(mime())
    links = re.findall(r"""href=["']([^"']+)["']""", page)
    tracked = [link for link in links if "/t/c/" in link]
    assert [mail.read_click(link.rsplit("/", 1)[1]) for link in tracked] == [
        (sara.contact_id, "enr-1", "n1", "https://acme.com/offer?a=1&b=2"),
        (sara.contact_id, "enr-1", "n1", "https://acme.com/fa/پیشنهاد"),
    ]
    assert "mailto:help@acme.com" in links and "#top" in links
    assert any(link.startswith(PUBLIC + "/u/") for link in links)  # unsubscribe, untracked
    assert mail.read_click(tracked[0].rsplit("/", 1)[1][:-2] + "xx") is None  # forged


def test_links_stay_as_written_when_click_tracking_is_off(aws) -> None:
    sara = contacts.create_contact({"email": "sara@example.com"})
    text = {
        **EMAIL,
        "body": "See https://acme.com/a (or https://acme.com/b).",
        "body_format": "text",
    }
    run("send_email", {**text, "track_clicks": False}, sara.contact_id)
    assert "See https://acme.com/a (or https://acme.com/b)." in text_of(mime())
    run(
        "send_email",
        text,
        sara.contact_id,
        execution="arn:aws:states:us-east-1:1:execution:welcome:enr-2",
    )
    plain = text_of(mime())
    assert "https://acme.com/a" not in plain and plain.count(PUBLIC + "/t/c/") == 2


def test_transactional_email_has_no_unsubscribe(aws) -> None:
    sara = contacts.create_contact({"email": "sara@example.com", "first_name": "Sara"})
    params = {**EMAIL, "purpose": "transactional", "track_opens": False, "body_format": "text"}
    run("send_email", params, sara.contact_id)

    parsed = mime()
    assert "List-Unsubscribe" not in parsed
    assert not parsed.is_multipart()
    # text: not escaped; the empty company gets no isolate
    assert parsed.get_content().strip() == f"<p>Hello {FSI}Sara{PDI} from </p>"


def test_a_persian_template_reads_right_to_left_with_its_text_intact(aws) -> None:
    mina = contacts.create_contact({"email": "mina@example.com", "first_name": "مینا"})
    params = {
        **EMAIL,
        "subject": "{{ contact.first_name }} عزیز، خوش آمدید",
        "body": "<p>سلام {{ contact.first_name }}، سفارش ۱۲۳ شما ارسال شد.</p>",
        "preheader": "پیش‌نمایش",
    }
    run("send_email", params, mina.contact_id)  # no locale: the template decides

    parsed = mime()
    assert parsed["Subject"] == f"{FSI}مینا{PDI} عزیز، خوش آمدید"
    html = html_of(parsed)
    assert html.startswith('<!DOCTYPE html><html dir="rtl">')
    assert '<div dir="rtl"><p>سلام <bdi>مینا</bdi>، سفارش ۱۲۳ شما ارسال شد.</p></div>' in html
    assert "پیش‌نمایش" in html  # the zero-width non-joiner survives
    assert "لغو اشتراک" in html  # the footer in the template's language
    assert f"سلام {FSI}مینا{PDI}، سفارش ۱۲۳ شما ارسال شد." in text_of(parsed)


# An English subject and body as a marketer writes them, sent to a Persian contact.
ENGLISH = {
    **EMAIL,
    "subject": "{{ contact.first_name }}, 3 leaks in your follow-ups",
    "body": "<p>Hi {{ contact.first_name }}. Your team at {{ contact.company_name }} "
    "loses leads. Read <a href='https://acme.example/leaks?n={{ contact.first_name }}'>"
    "the guide</a>.</p>",
}


def test_an_english_email_to_a_persian_contact_stays_left_to_right(aws) -> None:
    sara = contacts.create_contact(
        {
            "email": "sara@example.com",
            "first_name": "سارا",
            "company_name": "پارس صنعت",
            "locale": "fa-IR",
        }
    )
    params = {**ENGLISH, "track_clicks": False}
    run("send_email", params, sara.contact_id)

    parsed = mime()
    # The name is isolated: shown as written, not reordered into "3 سارا, leaks…".
    assert parsed["Subject"] == f"{FSI}سارا{PDI}, 3 leaks in your follow-ups"
    html = html_of(parsed)
    assert html.startswith('<!DOCTYPE html><html dir="ltr">')
    assert 'dir="rtl"' not in html  # the contact's locale decides nothing
    assert (
        "<p>Hi <bdi>سارا</bdi>. Your team at <bdi>پارس صنعت</bdi> loses leads. "
        "Read <a href='https://acme.example/leaks?n=سارا'>the guide</a>.</p>"
    ) in html  # no <bdi> inside the href
    assert ">Unsubscribe</a>" in html and "لغو اشتراک" not in html
    text = text_of(parsed)
    assert f"Hi {FSI}سارا{PDI}. Your team at {FSI}پارس صنعت{PDI} loses leads." in text


def test_an_english_product_name_in_a_persian_email_is_isolated(aws) -> None:
    reza = contacts.create_contact(
        {"email": "reza@example.com", "first_name": "رضا", "custom": {"plan": "Pro Max 2"}}
    )
    params = {
        **EMAIL,
        "subject": "{{ contact.plan }} برای شما فعال شد",
        "body": "<p>{{ contact.first_name }} عزیز، اشتراک {{ contact.plan }} شما فعال است.</p>",
        "body_format": "html",
    }
    run("send_email", params, reza.contact_id)

    parsed = mime()
    assert parsed["Subject"] == f"{FSI}Pro Max 2{PDI} برای شما فعال شد"
    html = html_of(parsed)
    assert (
        '<div dir="rtl"><p><bdi>رضا</bdi> عزیز، اشتراک <bdi>Pro Max 2</bdi> شما فعال است.</p></div>'
    ) in html
    assert f"اشتراک {FSI}Pro Max 2{PDI} شما" in text_of(parsed)


def test_a_plain_text_arabic_email_isolates_values_and_keeps_urls_whole(aws) -> None:
    omar = contacts.create_contact(
        {
            "email": "omar@example.com",
            "first_name": "Omar",
            "custom": {"website": "https://omar.example/a"},
        }
    )
    params = {
        **EMAIL,
        "subject": "مرحبا {{ contact.first_name }}",
        "body": "مرحبا {{ contact.first_name }}، موقعك {{ contact.website }} جاهز.",
        "body_format": "text",
    }
    run("send_email", params, omar.contact_id)

    parsed = mime()
    assert parsed["Subject"] == f"مرحبا {FSI}Omar{PDI}"
    text = text_of(parsed)
    assert text.startswith(f"مرحبا {FSI}Omar{PDI}، موقعك {FSI}{PUBLIC}/t/c/")
    # The tracked link ends where the URL did, before the isolate's end.
    token = re.search(r"/t/c/([A-Za-z0-9_.-]+)", text)[1]
    assert mail.read_click(token)[3] == "https://omar.example/a"
    assert f"{token}{PDI} جاهز." in text
    assert "إلغاء الاشتراك" in text  # an Arabic template's footer


def test_a_mixed_template_lets_each_paragraph_find_its_direction(aws) -> None:
    sara = contacts.create_contact({"email": "sara@example.com", "first_name": "Sara"})
    params = {
        **EMAIL,
        "subject": "Welcome · خوش آمدید",
        "body": "<p>Welcome, {{ contact.first_name }}!</p><p>خوش آمدید، {{ contact.first_name }}!</p>",
    }
    run("send_email", params, sara.contact_id)
    html = html_of(mime())
    assert '<html dir="auto">' in html and '<div dir="auto">' in html


def test_a_declared_direction_wins(aws) -> None:
    sara = contacts.create_contact({"email": "sara@example.com", "first_name": "سارا"})
    run("send_email", {**EMAIL, "direction": "rtl"}, sara.contact_id)
    assert '<html dir="rtl">' in html_of(mime())
    body = "<html dir='rtl'><body><p>{{ contact.first_name }}: Acme</p></body></html>"
    run("send_email", {**EMAIL, "body": body}, sara.contact_id, execution="exec-2")
    assert '<div dir="rtl"><p><bdi>سارا</bdi>: Acme</p></div>' in html_of(mime())


def test_values_in_a_title_or_an_attribute_get_no_bdi(aws) -> None:
    sara = contacts.create_contact({"email": "sara@example.com", "first_name": "سارا"})
    body = (
        "<html><head><title>For {{ contact.first_name }}</title></head><body>"
        '<img alt="{{ contact.first_name }}" src="https://acme.example/l.png">'
        "<p>Hi {{ contact.first_name }}</p></body></html>"
    )
    run("send_email", {**EMAIL, "body": body}, sara.contact_id)
    html = html_of(mime())
    assert "<title>For سارا</title>" in html
    assert '<img alt="سارا" src="https://acme.example/l.png">' in html
    assert "<p>Hi <bdi>سارا</bdi></p>" in html


def test_html_body_escapes_contact_data(aws) -> None:
    evil = contacts.create_contact({"email": "e@example.com", "first_name": "<script>x</script>"})
    run("send_email", EMAIL, evil.contact_id)
    html = html_of(mime())
    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_a_whole_html_document_keeps_its_head(aws) -> None:
    sara = contacts.create_contact({"email": "sara@example.com", "first_name": "Sara"})
    body = "<html><head><title>T</title></head><body style='x'><h1>Hi {{ contact.first_name }}</h1></body></html>"
    run("send_email", {**EMAIL, "body": body}, sara.contact_id)
    html = html_of(mime())
    assert html.startswith("<html><head><title>T</title></head><body style='x'>")
    assert '<div dir="ltr"><h1>Hi <bdi>Sara</bdi></h1></div>' in html
    assert html.count("<body") == 1 and html.rstrip().endswith("</body></html>")


def test_unsubscribed_contact_is_skipped_and_the_skip_is_on_the_timeline(aws) -> None:
    gone = contacts.create_contact(
        {"email": "gone@example.com", "subscription_status": "unsubscribed"}
    )
    result = run("send_email", EMAIL, gone.contact_id)

    assert result == {"sent": False, "skipped": "unsubscribed"}
    assert sent() == []
    items, _ = contacts.timeline(gone.contact_id)
    assert [(a.kind, a.data["reason"]) for a in items] == [("email_skipped", "unsubscribed")]
    # a receipt is still owed to an unsubscribed contact
    receipt = run(
        "send_email", {**EMAIL, "purpose": "transactional"}, gone.contact_id, execution="exec-2"
    )
    assert receipt["sent"] is True and len(sent()) == 1


@pytest.mark.parametrize("reason", ["bounced", "complained"])
def test_suppressed_address_is_skipped_even_for_transactional_email(aws, reason) -> None:
    bad = contacts.create_contact({"email": "bad@example.com"})
    Suppression("bad@example.com", reason=reason, at=now()).save()
    result = run("send_email", {**EMAIL, "purpose": "transactional"}, bad.contact_id)
    assert result == {"sent": False, "skipped": reason}
    assert sent() == []
    assert kinds(bad.contact_id) == ["email_skipped"]


def test_suppression_list_unsubscribe_skips_marketing(aws) -> None:
    sara = contacts.create_contact({"email": "sara@example.com"})
    Suppression("sara@example.com", reason="unsubscribed", at=now()).save()
    assert run("send_email", EMAIL, sara.contact_id) == {"sent": False, "skipped": "unsubscribed"}


def test_a_duplicate_invocation_sends_one_email(aws) -> None:
    sara = contacts.create_contact({"email": "sara@example.com", "first_name": "Sara"})
    first = run("send_email", EMAIL, sara.contact_id)
    second = run("send_email", EMAIL, sara.contact_id)  # Lambda / Step Functions retry

    assert first == second
    assert len(sent()) == 1
    assert kinds(sara.contact_id) == ["email_sent"]
    assert contacts.get_contact(sara.contact_id).custom["emails_sent"] == 1


@pytest.mark.parametrize(
    "template",
    [
        "{{ contact.__class__ }}{{ ''.__class__ }}",
        "{{ contact.items.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.environ }}",
        "{{ lipsum.__globals__ }}",
    ],
)
def test_unsafe_attributes_render_as_nothing(aws, template) -> None:
    sara = contacts.create_contact({"email": "sara@example.com", "first_name": "Sara"})
    params = {**EMAIL, "body": f"<p>Hi {template}!</p>", "track_opens": False}
    assert run("send_email", params, sara.contact_id)["sent"] is True

    assert '<div dir="ltr"><p>Hi !</p></div>' in html_of(mime())
    raw = sent()[-1].raw_data
    for leak in ("<class", "subclasses", "globals", "environ", "AWS_", "s3cret", "testing"):
        assert leak not in raw, leak


def test_an_unknown_filter_is_refused_with_the_params_before_anything_is_claimed(aws) -> None:
    sara = contacts.create_contact({"email": "sara@example.com"})
    body = "{{ contact.first_name | no_such_filter }}"
    name, message = failure("send_email", {**EMAIL, "body": body}, sara.contact_id)
    assert name == "Crm.InvalidParams"
    assert "unknown filter 'no_such_filter'" in message
    assert sent() == [] and kinds(sara.contact_id) == []


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    ],
)
def test_an_escape_attempt_or_broken_template_is_crm_template_error(aws, template) -> None:
    sara = contacts.create_contact({"email": "sara@example.com"})
    name, message = failure("send_email", {**EMAIL, "body": template}, sara.contact_id)
    assert name == "Crm.TemplateError"
    assert message.startswith("template failed: ")
    assert "<class" not in message
    assert sent() == []
    assert kinds(sara.contact_id) == []
    # nothing was claimed: a fixed template on the same step sends (once)
    assert run("send_email", EMAIL, sara.contact_id)["sent"] is True


def test_missing_contact_is_a_named_error(aws) -> None:
    assert failure("send_email", EMAIL, "c_missing") == (
        "Crm.ContactNotFound",
        "no contact has id 'c_missing'",
    )


def test_unverified_sender_fails_and_a_retry_may_send(aws) -> None:
    sara = contacts.create_contact({"email": "sara@example.com"})
    with pytest.raises(Exception, match="Did not have authority"):
        run("send_email", {**EMAIL, "from_email": "x@unverified.org"}, sara.contact_id)
    assert kinds(sara.contact_id) == []
    # the claim was released: the retry (after the identity is fixed) sends
    boto3.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity="unverified.org")
    assert run("send_email", {**EMAIL, "from_email": "x@unverified.org"}, sara.contact_id)["sent"]


# --- send_sms ----------------------------------------------------------------------------


def sms() -> list[tuple[str, str]]:
    return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())


def test_sms_goes_to_the_e164_phone_normalised_from_persian_digits(aws) -> None:
    phone = normalize.phone("۰۹۱۲ ۳۴۵ ۶۷۸۹", "IR")
    reza = contacts.create_contact({"email": "r@example.com", "first_name": "رضا", "phone": phone})
    result = run(
        "send_sms", {"message": "سلام {{ contact.first_name }}، کد شما ۴۲"}, reza.contact_id
    )

    assert result["sent"] is True
    assert sms() == [("+989123456789", "سلام رضا، کد شما ۴۲")]
    items, _ = contacts.timeline(reza.contact_id)
    assert [(a.kind, a.data["to"]) for a in items] == [("sms_sent", "+989123456789")]
    assert contacts.get_contact(reza.contact_id).last_contacted_at is not None


def test_sms_normalises_an_old_record_written_in_persian_digits(aws) -> None:
    old = contacts.create_contact(
        {"email": "o@example.com", "phone": "۰۹۱۲۳۴۵۶۷۸۹", "country": "IR"}
    )
    run("send_sms", {"message": "hi"}, old.contact_id)
    assert sms() == [("+989123456789", "hi")]


def test_sms_opt_out_is_skipped_and_recorded(aws) -> None:
    quiet = contacts.create_contact(
        {"email": "q@example.com", "phone": "+4915112345678", "sms_opt_out": True}
    )
    assert run("send_sms", {"message": "hi"}, quiet.contact_id) == {
        "sent": False,
        "skipped": "opted_out",
    }
    assert sms() == []
    assert kinds(quiet.contact_id) == ["sms_skipped"]


@pytest.mark.parametrize("phone", [None, "12", "not a number"])
def test_no_usable_phone_is_crm_no_phone(aws, phone) -> None:
    nobody = contacts.create_contact({"email": "n@example.com", "phone": phone})
    name, _ = failure("send_sms", {"message": "hi"}, nobody.contact_id)
    assert name == "Crm.NoPhone"
    assert sms() == []


def test_a_duplicate_sms_invocation_sends_one(aws) -> None:
    reza = contacts.create_contact({"email": "r@example.com", "phone": "+989123456789"})
    run("send_sms", {"message": "hi"}, reza.contact_id)
    run("send_sms", {"message": "hi"}, reza.contact_id)
    assert len(sms()) == 1


# --- send_notification -------------------------------------------------------------------


@pytest.fixture
def team(aws) -> Team:
    for user_id, name in (("u1", "Ana"), ("u2", "Bijan"), ("u3", "Chen")):
        User(user_id, email=f"{user_id}@acme.com", name=name).save()
    User("u4", email="u4@acme.com", name="Gone", active=False).save()
    sales = Team("t1", name="Sales", members=["u1", "u2", "u3", "u2", "u4"])
    sales.save()
    return sales


NOTE = {"subject": "New lead: {{ contact.first_name }}", "message": "Call {{ contact.email }}"}


def test_notification_to_a_team_emails_every_active_member_once(team) -> None:
    lead = contacts.create_contact({"email": "lead@example.com", "first_name": "لیلا"})
    result = run("send_notification", {**NOTE, "to": "team", "team_id": "t1"}, lead.contact_id)

    assert result["to"] == ["u1", "u2", "u3"]
    [message] = sent()
    assert sorted(message.destinations) == ["u1@acme.com", "u2@acme.com", "u3@acme.com"]
    parsed = mime()
    assert parsed["Subject"] == f"New lead: {FSI}لیلا{PDI}"
    assert parsed.get_content().strip() == f"Call {FSI}lead@example.com{PDI}"
    assert "List-Unsubscribe" not in parsed
    assert kinds(lead.contact_id) == ["notification_sent"]


def test_notification_to_the_owner(team) -> None:
    lead = contacts.create_contact({"email": "lead@example.com", "owner_id": "u2"})
    run("send_notification", NOTE, lead.contact_id)
    assert sent()[0].destinations == ["u2@acme.com"]


def test_notification_without_an_owner_is_crm_no_assignee(team) -> None:
    orphan = contacts.create_contact({"email": "o@example.com"})
    assert failure("send_notification", NOTE, orphan.contact_id)[0] == "Crm.NoAssignee"
    ghost = contacts.create_contact({"email": "g@example.com", "owner_id": "u_deleted"})
    assert failure("send_notification", NOTE, ghost.contact_id)[0] == "Crm.NoAssignee"
    assert sent() == []


def test_notification_to_an_unknown_user_or_team_is_named(team) -> None:
    lead = contacts.create_contact({"email": "lead@example.com"})
    params = {**NOTE, "to": "user", "user_id": "nobody"}
    assert failure("send_notification", params, lead.contact_id)[0] == "Crm.RecordNotFound"
    params = {**NOTE, "to": "team", "team_id": "nope"}
    assert failure("send_notification", params, lead.contact_id)[0] == "Crm.RecordNotFound"


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append((self.path, json.loads(self.rfile.read(length))))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook(aws):
    _Hook.received, _Hook.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_webhook_notification_posts_the_json(hook, monkeypatch) -> None:
    monkeypatch.setenv("CRMFLOW_HTTP_ALLOW", hook.removeprefix("http://"))  # host:port
    lead = contacts.create_contact({"email": "lead@example.com", "first_name": "Sara"})
    params = {**NOTE, "channel": "webhook", "webhook_url": hook + "/hooks/{{ contact.contact_id }}"}
    result = run("send_notification", params, lead.contact_id)
    again = run("send_notification", params, lead.contact_id)  # a retry: no second post

    assert result == again == {"sent": True, "channel": "webhook", "status": 200}
    [(path, body)] = _Hook.received
    assert path == f"/hooks/{lead.contact_id}"
    assert (body["subject"], body["message"], body["contact_id"]) == (
        "New lead: Sara",
        "Call lead@example.com",
        lead.contact_id,
    )
    assert body["flow"]["id"] == "welcome"
    assert sent() == []


def test_webhook_to_a_loopback_address_is_refused_without_the_allow_list(hook) -> None:
    lead = contacts.create_contact({"email": "lead@example.com"})
    params = {**NOTE, "channel": "webhook", "webhook_url": hook + "/x"}
    assert failure("send_notification", params, lead.contact_id)[0] == "Http.Refused"
    assert _Hook.received == []


@pytest.mark.parametrize(
    ("status", "error"), [(500, "Http.Retryable"), (429, "Http.Retryable"), (404, "Http.BadStatus")]
)
def test_webhook_failures_are_named(hook, monkeypatch, status, error) -> None:
    monkeypatch.setenv("CRMFLOW_HTTP_ALLOW", hook.removeprefix("http://"))  # host:port
    _Hook.status = status
    lead = contacts.create_contact({"email": "lead@example.com"})
    params = {**NOTE, "channel": "webhook", "webhook_url": hook + "/x"}
    assert failure("send_notification", params, lead.contact_id)[0] == error


def test_ses_throttling_is_crm_transient_and_releases_the_step(aws, monkeypatch) -> None:
    from botocore.exceptions import ClientError

    sara = contacts.create_contact({"email": "sara@example.com"})

    class Throttled:
        def send_email(self, **request: Any) -> Any:
            raise ClientError({"Error": {"Code": "TooManyRequestsException"}}, "SendEmail")

    with monkeypatch.context() as patch:
        patch.setattr(mail, "client", lambda service: Throttled())
        assert failure("send_email", EMAIL, sara.contact_id)[0] == "Crm.Transient"
    assert run("send_email", EMAIL, sara.contact_id)["sent"] is True  # the retry sends
