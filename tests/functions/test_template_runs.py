"""The shipped templates end to end, part 1: lead capture, lead qualification, support
ticket routing, purchase thank-you and the email campaign. Each is published as shipped,
started by its real trigger (a signed hook, a record created on the contacts stream, a
form or purchase event), driven through every branch on moto's Step Functions
interpreter with the real step Lambdas, and judged by what it did: CRM records, SES
messages, tasks, timelines and the execution histories. Days pass in ~0.09 s (the
engine's time scale); events are delivered while the contact waits (StepLambdas)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from functions.enrollments import enrollments_of
from functions.store.contacts import create_contact, find_by_email, get_contact
from functions.store.models import Deal
from functions.triggers import events, webhook
from tests.functions.template_fixtures import (  # noqa: F401 (fixtures, by their names)
    lambdas_fixture,
    people_fixture,
    remote_fixture,
    stream_fixture,
)
from tests.functions.template_support import (
    EMAIL_OF,
    MEMBERS,
    Scripts,
    activities,
    assert_every_branch,
    click_email,
    email_from_node,
    enrollment_in,
    finished,
    flow_mail_to,
    mail_to,
    open_email,
    open_tasks,
    publish_template,
    sent_mail,
    variant_of,
)

SECRET = "whsec_lead_capture_7f3a"


def post(flow_id: str, payload: dict, secret: str) -> webhook.Answer:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Crmflow-Signature": webhook.sign(secret, body),
    }

    def no_api_key() -> None:
        raise AssertionError("a signed hook must not need an API key")

    return webhook.accept(flow_id, body, headers, no_api_key)


# --- lead capture: a signed web-form hook ---------------------------------------------------


def test_lead_capture_from_a_signed_web_form_routes_by_territory_and_qualifies(
    people, monkeypatch
) -> None:
    monkeypatch.setenv("CRMFLOW_SECRET_HOOK_LEAD_CAPTURE", SECRET)
    publish_template("lead-capture")
    forms = {
        "layla": {
            "email": " Layla.Haddad@Nakhl-Trading.example ",
            "first_name": "ليلى",
            "last_name": "حداد",
            "phone": "+971 50 123 4567",
            "company": "تجارة النخل",
            "job_title": "Procurement Manager",
            "country": "AE",
            "budget": 40000,
            "timeline": "this_quarter",
            "utm_source": "linkedin",
            "utm_campaign": "ramadan-2026",
            "page_url": "https://acme.example/ar/demo",
        },
        "emma": {
            "email": "emma.b@spree-ventures.example",
            "first_name": "Emma",
            "last_name": "Braun",
            "country": "DE",
            "budget": 3000,
            "timeline": "this_quarter",
        },
        "kenji": {
            "email": "kenji@tokyo-trading.example",
            "first_name": "健二",
            "country": "JP",
            "budget": 20000,
            "timeline": "next_year",
        },
    }
    answers = {name: post("lead-capture", form, SECRET) for name, form in forms.items()}
    runs = {}
    for name, answer in answers.items():
        assert (answer.status, answer.body["enrolled"]) == (202, True), answer
        record, status = finished(answer.body["enrollment_id"])
        assert (record.status, record.left_node, status) == ("ended", "done", "SUCCEEDED")
        runs[name] = record

    layla = find_by_email("layla.haddad@nakhl-trading.example")
    emma = find_by_email("emma.b@spree-ventures.example")
    kenji = find_by_email("kenji@tokyo-trading.example")
    # The hook created each contact from the mapping; record_source and the branch set the rest.
    assert (layla.first_name, layla.phone, layla.company_name) == (
        "ليلى",
        "+971501234567",
        "تجارة النخل",
    )
    assert (layla.custom["budget"], layla.custom["timeline"]) == (40000, "this_quarter")
    assert layla.source == "linkedin" and kenji.source == "website"
    assert (layla.custom["utm_campaign"], layla.custom["landing_page"]) == (
        "ramadan-2026",
        "https://acme.example/ar/demo",
    )
    assert kenji.custom["utm_campaign"] == "none"
    assert (layla.lifecycle_stage, layla.lead_status) == ("sales_qualified", "qualified")
    assert layla.tags == {"inbound", "web-form", "budget-fit"}
    for nurtured in (emma, kenji):
        assert (nurtured.lifecycle_stage, nurtured.lead_status) == ("lead", "nurture")
        assert nurtured.tags == {"inbound", "web-form", "not-ready"}
    # Territory rules: AE → MENA, DE → Europe, JP matches none → the inbound team; each
    # team's first turn goes to its first member.
    assert layla.owner_id == MEMBERS["sales-mena"][0] == "usr-omar"
    assert emma.owner_id == MEMBERS["sales-europe"][0] == "usr-emma"
    assert kenji.owner_id == MEMBERS["sales-inbound"][0] == "usr-james"

    # Every lead got one confirmation, personalised, from the sales address.
    for contact in (layla, emma, kenji):
        [confirm] = flow_mail_to(contact.email)
        assert confirm.node == "confirm" and confirm.sender == "Acme Sales <sales@acme.example>"
        assert confirm.subject == f"Thanks, {contact.first_name}: we have your request"
    assert "ليلى" in email_from_node(layla.email, "confirm").html
    # Only the qualified lead's owner is alerted, and gets the call task; the others get a review task.
    [alert] = mail_to(EMAIL_OF["usr-omar"])
    assert alert.subject == "New qualified lead: ليلى حداد"
    assert mail_to(EMAIL_OF["usr-emma"]) == [] and mail_to(EMAIL_OF["usr-james"]) == []
    [call] = open_tasks("usr-omar")
    assert (call.title, call.task_type, call.priority, call.contact_id) == (
        "Call ليلى حداد: qualified inbound lead",
        "call",
        "high",
        layla.contact_id,
    )
    assert timedelta(hours=3) < call.due_at - datetime.now(UTC) <= timedelta(hours=4)
    [review] = open_tasks("usr-emma")
    assert (review.title, review.task_type) == ("Review inbound lead Emma Braun", "todo")
    assert [t.title for t in open_tasks("usr-james")] == ["Review inbound lead 健二"]

    kinds = [kind for kind, _ in activities(layla.contact_id)]
    assert kinds[0] == "flow_entered" and kinds[-1] == "flow_left"
    for expected in (
        "owner_assigned",
        "email_sent",
        "stage_changed",
        "notification_sent",
        "task_created",
    ):
        assert expected in kinds
    assert_every_branch("lead-capture", [r.execution_arn for r in runs.values()])
    # The proof can fail: Layla's run alone never took the "not qualified" way.
    with pytest.raises(AssertionError, match=r"qualify\.route → mark_nurture"):
        assert_every_branch("lead-capture", [runs["layla"].execution_arn])


# --- lead qualification: a new contact on the contacts stream -------------------------------


def test_lead_qualification_scores_new_leads_and_takes_each_temperature(people, stream) -> None:
    publish_template("lead-qualification")
    publish_template("drip-campaign")  # where warm leads go
    leads = {
        "ali": {  # 20 title + 20 budget + 15 timeline + 15 pricing + 30 demo = 100: hot
            "email": "ali.rezaei@pars-industries.example",
            "first_name": "علی",
            "last_name": "رضایی",
            "company_name": "صنایع پارس",
            "job_title": "Head of Operations",
            "lifecycle_stage": "lead",
            "tags": {"demo-request", "visited-pricing"},
            "custom": {"budget": 30000, "timeline": "this_quarter"},
        },
        "mariam": {  # 30 demo: warm
            "email": "mariam.elsayed@example.com",
            "first_name": "مريم",
            "lifecycle_stage": "subscriber",
            "tags": {"demo-request"},
            "owner_id": "usr-layla",
        },
        "sam": {  # personal address: -10, cold; agreed to email
            "email": "sam.jones@gmail.com",
            "first_name": "Sam",
            "lifecycle_stage": "lead",
            "email_consent": True,
        },
        "nadia": {  # cold, no consent
            "email": "nadia@hotmail.com",
            "first_name": "Nadia",
            "lifecycle_stage": "subscriber",
        },
    }
    ids = {name: create_contact(fields).contact_id for name, fields in leads.items()}
    customer = create_contact({"email": "old.customer@example.com", "lifecycle_stage": "customer"})
    stream.poll_once()  # the stream delivers the INSERTs: record_created fires
    runs = {name: enrollment_in("lead-qualification", cid) for name, cid in ids.items()}
    done = {name: finished(run.enrollment_id) for name, run in runs.items()}
    for name, (record, status) in done.items():
        assert (record.status, record.left_node, status) == ("ended", "done", "SUCCEEDED"), name
    assert enrollment_ids(customer.contact_id) == []  # not a lead: the trigger's criteria

    ali, mariam, sam, nadia = (get_contact(ids[n]) for n in ("ali", "mariam", "sam", "nadia"))
    assert (ali.score, ali.temperature) == (100, "hot")
    assert (ali.lifecycle_stage, ali.lead_status) == ("opportunity", "open_deal")
    assert "hot-lead" in ali.tags
    assert ali.owner_id == MEMBERS["sales-inbound"][0]  # ensure_owner: round robin
    [deal] = Deal.by_contact.query(ali.contact_id)
    assert (deal.name, deal.pipeline_stage, deal.amount, deal.owner_id) == (
        "صنایع پارس: new business",
        "new-business#qualified",
        30000,
        ali.owner_id,
    )
    [alert] = mail_to(EMAIL_OF[ali.owner_id])
    assert alert.subject == "Hot lead, deal opened: علی رضایی"

    assert (mariam.score, mariam.temperature, mariam.lifecycle_stage) == (
        30,
        "warm",
        "marketing_qualified",
    )
    assert (mariam.lead_status, "warm-lead" in mariam.tags) == ("nurturing", True)
    handed = enrollment_in("drip-campaign", mariam.contact_id)
    assert handed.source["kind"] == "enroll_in_flow" and handed.source["node"] == "enroll_drip"
    assert finished(handed.enrollment_id)[0].left_node == "not_subscribed"  # no consent

    for cold in (sam, nadia):
        assert (cold.score, cold.temperature, cold.lifecycle_stage) == (-10, "cold", "lead")
        assert (cold.lead_status, "cold-lead" in cold.tags) == ("cold", True)
    [resources] = flow_mail_to(sam.email)
    assert resources.subject == "A few resources to get you started, Sam"
    assert resources.sender == "Acme <hello@acme.example>"
    assert "List-Unsubscribe" in resources.headers  # marketing email
    assert flow_mail_to(nadia.email) == [] and flow_mail_to(mariam.email) == []

    scored = [d for k, d in activities(ali.contact_id) if k == "score_changed"]
    assert scored[0]["after"] == 100 and "Requested a demo" in scored[0]["rules"]
    assert_every_branch("lead-qualification", [r.execution_arn for r in runs.values()])


def enrollment_ids(contact_id: str) -> list[str]:
    return [e.enrollment_id for e in enrollments_of(contact_id)]


# --- support ticket routing: a complaint form ------------------------------------------------


def test_support_tickets_are_routed_by_category_and_acknowledged_in_the_customers_language(
    people, lambdas
) -> None:
    publish_template("support-ticket-routing")
    contact_of = {
        "sara": create_contact(
            {
                "email": "sara.mohammadi@example.com",
                "first_name": "سارا",
                "last_name": "محمدی",
                "locale": "fa-IR",
            }
        ).contact_id,
        "omar": create_contact(
            {
                "email": "omar.alfarsi@riyadh-logistics.example",
                "first_name": "عمر",
                "locale": "ar-SA",
            }
        ).contact_id,
        "grace": create_contact(
            {"email": "grace.o@example.co.uk", "first_name": "Grace", "locale": "en-GB"}
        ).contact_id,
    }
    complaints = {  # email, category, subject; resolved within two days?
        "sara": ("sara.mohammadi@example.com", "refund", "بازپرداخت انجام نشد", True),
        "omar": ("omar.alfarsi@riyadh-logistics.example", "login", "لا أستطيع تسجيل الدخول", False),
        "tom": (
            "tom.walker@example.com",
            "damaged",
            "Parcel arrived broken",
            False,
        ),  # a new contact
        "grace": ("grace.o@example.co.uk", "pricing question", "Which plan?", True),
    }

    def resolved(name: str):
        def deliver() -> list[str]:
            return events.record_event(
                "custom",
                contact_id=contact_of[name],
                name="ticket_resolved",
                data={"by": "usr-hana"},
            ).resumed

        return lambdas.when_waiting(contact_of[name], "wait_resolved", deliver)

    resolving = Scripts({name: resolved(name) for name, c in complaints.items() if c[3]})
    started = {}
    for number, (name, (address, category, subject, _)) in enumerate(complaints.items(), 1001):
        outcome = events.record_event(
            "form_submitted",
            email=address,
            data={
                "form_id": "support-complaint",
                "category": category,
                "subject": subject,
                "message": f"{subject} — order A-{number}",
                "submission_id": f"TCK-{number}",
                "order_number": f"A-{number}",
                "first_name": "Tom" if name == "tom" else "",
            },
        )
        [started[name]] = outcome.started
    tom = find_by_email("tom.walker@example.com")
    assert (tom.first_name, tom.source) == ("Tom", "form")
    contact_of["tom"] = tom.contact_id
    assert resolving.join() == {"sara": [started["sara"]], "grace": [started["grace"]]}
    done = {name: finished(enrollment_id) for name, enrollment_id in started.items()}
    for name, (record, status) in done.items():
        assert (record.status, record.left_node, status) == ("ended", "done", "SUCCEEDED"), name

    # The team for the category was told, and got a high-priority task by round robin.
    expected = {
        "sara": ("billing-support", "refund", "بازپرداخت انجام نشد", "سارا محمدی"),
        "omar": ("technical-support", "login", "لا أستطيع تسجيل الدخول", "عمر"),
        "tom": ("logistics", "damaged", "Parcel arrived broken", "Tom"),
        "grace": ("customer-success", "pricing question", "Which plan?", "Grace"),
    }
    for name, (team, category, subject, full_name) in expected.items():
        members = {EMAIL_OF[m] for m in MEMBERS[team]}
        notices = [
            m for m in sent_to_any(members) if m.subject == f"New complaint ({category}): {subject}"
        ]
        assert len(notices) == 1 and set(notices[0].to) == members, (name, notices)
        assignee = MEMBERS[team][0]
        [task] = [t for t in open_tasks(assignee) if t.contact_id == contact_of[name]]
        assert task.title == f"Resolve complaint from {full_name}: {subject}"
        assert task.priority == "high"
        [note] = [d for k, d in activities(contact_of[name]) if k == "note"]
        assert note["body"].startswith(f"Complaint via website form ({category}), reference TCK-")

    # The acknowledgement speaks the customer's language, right to left where it should.
    [ack_fa] = flow_mail_to("sara.mohammadi@example.com")
    assert (ack_fa.node, ack_fa.subject) == ("ack_fa", "درخواست شما ثبت شد: شمارهٔ پیگیری TCK-1001")
    assert "سارا عزیز، سلام" in ack_fa.html and 'dir="rtl"' in ack_fa.html
    assert "سارا عزیز، سلام" in ack_fa.text
    [ack_ar] = flow_mail_to("omar.alfarsi@riyadh-logistics.example")
    assert (ack_ar.node, ack_ar.subject) == ("ack_ar", "تم تسجيل طلبك: رقم المتابعة TCK-1002")
    assert "مرحبًا عمر،" in ack_ar.html and 'dir="rtl"' in ack_ar.html
    for address, ref in (("tom.walker@example.com", 1003), ("grace.o@example.co.uk", 1004)):
        [ack_en] = flow_mail_to(address)
        assert ack_en.node == "ack_en"
        assert ack_en.subject == f"We have received your message (ref. TCK-{ref})"
        assert "List-Unsubscribe" not in ack_en.headers  # transactional

    # Unresolved after two days: the support managers hear of it, once each.
    escalations = mail_to(EMAIL_OF["usr-karim"])
    escalated = sorted(m.subject for m in escalations if m.subject.startswith("Unresolved"))
    assert escalated == [
        "Unresolved for 2 days: complaint TCK-1002",
        "Unresolved for 2 days: complaint TCK-1003",
    ]
    assert_every_branch("support-ticket-routing", [r.execution_arn for r, _ in done.values()])


def sent_to_any(addresses: set[str]) -> list:
    return [m for m in sent_mail() if set(m.to) & addresses]


# --- purchase thank-you: a purchase event, an A/B split --------------------------------------


def test_purchase_thank_you_splits_by_bucket_and_asks_for_a_review(people, lambdas) -> None:
    publish_template("purchase-thank-you")
    plain = create_contact({"email": "no.marketing@example.com", "first_name": "Pat"}).contact_id
    # The variant is a hash of flow and contact id: sort new contacts by the variant the
    # compiled split gives them until each variant has one.
    by_variant: dict[str, str] = {}
    for n in range(64):
        contact = create_contact(
            {"email": f"buyer{n}@example.com", "first_name": "نور", "email_consent": True}
        )
        by_variant.setdefault(
            variant_of("purchase-thank-you", "subject_test", contact.contact_id), contact.contact_id
        )
        if len(by_variant) == 2:
            break
    a, b = by_variant["thank_you"], by_variant["picks"]
    order = {
        "product": "lamp-noor",
        "product_name": "Desk lamp Noor",
        "amount": 89,
        "recommendations": [
            {"name": "Warm bulb", "url": "https://shop.acme.example/p/bulb", "price": "$9"},
            {"name": "Linen shade", "url": "https://shop.acme.example/p/shade", "price": "$25"},
        ],
    }

    def review() -> str:
        return click_email(email_from_node(get_contact(a).email, "review_request"))

    reviewing = Scripts({"a": lambdas.when_waiting(a, "wait_review", review)})
    started = {
        who: events.record_event("purchase", contact_id=cid, data=order).started
        for who, cid in (("plain", plain), ("a", a), ("b", b))
    }
    runs = {who: ids[0] for who, ids in started.items()}
    assert reviewing.join()["a"].startswith("https://shop.acme.example/")
    done = {who: finished(enrollment_id) for who, enrollment_id in runs.items()}
    for who, (record, status) in done.items():
        assert (record.status, record.left_node, status) == ("ended", "done", "SUCCEEDED"), who

    # Pat has not agreed to marketing: the plain (transactional) thank-you, nothing else.
    [thanks] = flow_mail_to("no.marketing@example.com")
    assert (thanks.node, thanks.subject) == ("thanks_plain", "Thank you for your order, Pat")
    # The split: the variant the bucket gives, then the review request.
    a_mail, b_mail = flow_mail_to(get_contact(a).email), flow_mail_to(get_contact(b).email)
    assert [m.node for m in a_mail] == ["thanks_a", "review_request"]
    assert [m.node for m in b_mail] == ["thanks_b", "review_request"]
    assert a_mail[0].subject == "Thank you for your order, نور!"
    assert b_mail[0].subject == "نور, we picked these to go with Desk lamp Noor"
    assert "Warm bulb" in b_mail[0].html and "Linen shade" in b_mail[0].html
    assert a_mail[1].subject == "How is your Desk lamp Noor, نور?"
    for cid in (plain, a, b):
        contact = get_contact(cid)
        assert contact.custom["last_product"] == "Desk lamp Noor" and "buyer" in contact.tags
        assert contact.custom["purchases"] == 1
    assert ("review-clicked" in get_contact(a).tags, get_contact(a).score) == (True, 5)
    assert "review-clicked" not in get_contact(b).tags

    # The flow allows re-enrollment: Pat's second order is thanked again.
    again = events.record_event("purchase", contact_id=plain, data={"product_name": "Bulb"})
    assert finished(again.started[0])[0].left_node == "done"
    assert [m.subject for m in flow_mail_to("no.marketing@example.com")] == [
        "Thank you for your order, Pat",
        "Thank you for your order, Pat",
    ]
    assert_every_branch("purchase-thank-you", [r.execution_arn for r, _ in done.values()])


# --- email campaign: a newsletter sign-up form -----------------------------------------------


def test_email_campaign_follows_opens_and_clicks_and_alerts_marketing(
    people, remote, lambdas
) -> None:
    remote.answers["hooks.acme.example"] = lambda call: (200, {"ok": True})
    publish_template("email-campaign")
    people_ = {  # email, first name, interest; opens the welcome? clicks the campaign?
        "parisa": ("parisa@example.com", "پریسا", "product", True, True),
        "tariq": ("tariq@example.com", "طارق", "how_to", False, False),
        "gina": ("gina@example.com", "Gina", None, False, True),
    }
    ids = {
        name: create_contact(
            {"email": address, "first_name": first, "email_consent": True}
        ).contact_id
        for name, (address, first, *_rest) in people_.items()
    }
    # A sign-up from a new address creates the contact, who has not agreed to email.
    newcomer = events.record_event(
        "form_submitted",
        email="newcomer@example.com",
        data={"form_id": "newsletter-signup", "first_name": "Neo"},
    )
    other_form = events.record_event(
        "form_submitted", email="parisa@example.com", data={"form_id": "contact-us"}
    )
    assert other_form.started == []

    def campaign_email(address: str):
        return next(m for m in flow_mail_to(address) if m.node.startswith("campaign_"))

    scripts = {}
    for name, (address, _, _, opens, clicks) in people_.items():
        if opens:
            scripts[f"{name} opens"] = lambdas.when_waiting(
                ids[name], "wait_open", lambda a=address: open_email(email_from_node(a, "welcome"))
            )
        if clicks:
            scripts[f"{name} clicks"] = lambdas.when_waiting(
                ids[name], "wait_click", lambda a=address: click_email(campaign_email(a))
            )
    engaging = Scripts(scripts)
    started = {}
    for name, (address, _, interest, _, _) in people_.items():
        data = {"form_id": "newsletter-signup", **({"interest": interest} if interest else {})}
        [started[name]] = events.record_event("form_submitted", email=address, data=data).started
    engaging.join()
    done = {name: finished(eid) for name, eid in started.items()}
    done["newcomer"] = finished(newcomer.started[0])
    for name, (record, status) in done.items():
        left = "no_consent" if name == "newcomer" else "done"
        assert (record.status, record.left_node, status) == ("ended", left, "SUCCEEDED"), name

    campaign_of = {
        "parisa": "campaign_product",
        "tariq": "campaign_tips",
        "gina": "campaign_general",
    }
    for name, (address, first, interest, opens, clicks) in people_.items():
        sent = flow_mail_to(address)
        assert [m.node for m in sent] == ["welcome", campaign_of[name]], name
        assert sent[0].subject == f"Welcome aboard, {first}!"
        contact = get_contact(ids[name])
        assert contact.custom["newsletter_interest"] == (interest or "general")
        assert {
            "newsletter",
            "newsletter-engaged" if opens else "newsletter-unopened",
        } <= contact.tags
        assert ("campaign-clicked" if clicks else "campaign-no-click") in contact.tags
        assert contact.score == 5 * opens + 10 * clicks
    assert flow_mail_to("newcomer@example.com") == []
    assert get_contact(newcomer.contact_id).source == "form"
    # Marketing hears of each click on its chat webhook, once.
    posts = remote.to("hooks.acme.example")
    assert sorted(p.json()["contact_id"] for p in posts) == sorted([ids["parisa"], ids["gina"]])
    assert {p.json()["subject"] for p in posts} == {
        "Newsletter click: پریسا",
        "Newsletter click: Gina",
    }
    assert_every_branch("email-campaign", [r.execution_arn for r, _ in done.values()])
