"""The shipped templates end to end, part 2: the long-running ones — the drip campaign (a
segment broadcast), the customer lifecycle (a first purchase), renewal re-engagement (a
date, through the due-date index and the scheduler) and the sales cycle (a stage change
on the contacts stream). A day passes in ~0.09 s; every branch is taken."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flows.conditions import Criteria
from functions.enrollments import enrollments_of
from functions.store.contacts import create_contact, get_contact, update_contact
from functions.store.models import Deal
from functions.store.records import create_deal, get_deal, update_deal
from functions.triggers import events, schedule, segments
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
    link_targets,
    mail_to,
    open_email,
    open_tasks,
    publish_template,
    sms_sent,
    template,
)


def set_stage(contact_id: str, stage: str) -> None:
    update_contact(contact_id, lambda c: setattr(c, "lifecycle_stage", stage))


def drip_segment() -> Criteria:
    return Criteria.model_validate(template("drip-campaign")["trigger"]["params"]["criteria"])


# --- drip campaign: a segment broadcast ------------------------------------------------------


def test_drip_campaign_nurtures_the_segment_and_hands_sales_ready_leads_over(
    people, lambdas
) -> None:
    publish_template("drip-campaign")
    warm_mql = {"temperature": "warm", "lifecycle_stage": "marketing_qualified", "score": 40}
    who = {  # first name, consent, owner
        "amir": ("امیر", False, "usr-dariush"),
        "bita": ("بیتا", True, "usr-dariush"),
        "cyrus": ("Cyrus", True, "usr-emma"),
        "dina": ("دينا", True, "usr-layla"),
        "elham": ("الهام", True, "usr-omar"),
    }
    ids = {
        name: create_contact(
            {
                "email": f"{name}@example.com",
                "first_name": first,
                "email_consent": consent,
                "owner_id": owner,
            }
            | warm_mql
        ).contact_id
        for name, (first, consent, owner) in who.items()
    }
    create_contact(
        {
            "email": "cold@example.com",
            "temperature": "cold",
            "lifecycle_stage": "marketing_qualified",
        }
    )
    create_contact({"email": "lead@example.com", "temperature": "warm", "lifecycle_stage": "lead"})

    # Bita becomes sales-qualified during the three-day wait (checked just before the goal),
    # but only once the second broadcast below has seen her still in the segment.
    rebroadcast = threading.Event()

    def qualify_bita(event: object) -> None:
        rebroadcast.wait(30)
        set_stage(ids["bita"], "sales_qualified")

    lambdas.before[(ids["bita"], "ready_already")] = qualify_bita
    # Elham's rep sends her back to marketing between the flow's hand-over and its goal check.
    lambdas.before[(ids["elham"], "sales_ready")] = lambda e: set_stage(
        ids["elham"], "marketing_qualified"
    )

    def click(name: str, lesson: str):
        return lambda: click_email(email_from_node(f"{name}@example.com", lesson))

    def read(name: str, lesson: str):
        return lambda: open_email(email_from_node(f"{name}@example.com", lesson))

    # Cyrus clicks lessons 1 and 3; Elham opens lessons 1 and 2, then clicks lesson 3. Each
    # happens while the step that sent the email (or parks the contact) is held.
    engaging = Scripts(
        {
            "cyrus 1": lambdas.after_step(ids["cyrus"], "lesson_1", click("cyrus", "lesson_1")),
            "elham 1": lambdas.after_step(ids["elham"], "lesson_1", read("elham", "lesson_1")),
            "elham 2": lambdas.after_step(ids["elham"], "lesson_2", read("elham", "lesson_2")),
            "cyrus 3": lambdas.when_waiting(ids["cyrus"], "wait_click", click("cyrus", "lesson_3")),
            "elham 3": lambdas.when_waiting(ids["elham"], "wait_click", click("elham", "lesson_3")),
        }
    )
    sent = segments.broadcast("drip-campaign", drip_segment(), "nurture-2026-12")
    assert (sent.candidates, sent.matched, len(sent.enrolled), sent.failed) == (6, 5, 5, {})
    again = segments.broadcast("drip-campaign", drip_segment(), "nurture-2026-12")
    rebroadcast.set()
    assert (again.enrolled, again.repeated) == ([], 5)  # the same run: nobody twice
    engaging.join()
    runs = {name: enrollment_in("drip-campaign", cid) for name, cid in ids.items()}
    done = {name: finished(run.enrollment_id) for name, run in runs.items()}
    left = {name: (r.status, r.left_node, status) for name, (r, status) in done.items()}
    assert left == {
        "amir": ("ended", "not_subscribed", "SUCCEEDED"),
        "bita": ("goal", "ready_already", "SUCCEEDED"),
        "cyrus": ("goal", "sales_ready", "SUCCEEDED"),
        "dina": ("ended", "done", "SUCCEEDED"),
        "elham": ("ended", "done", "SUCCEEDED"),
    }

    lessons = {name: [m.node for m in flow_mail_to(f"{name}@example.com")] for name in ids}
    assert lessons == {
        "amir": [],
        "bita": ["lesson_1"],
        "cyrus": ["lesson_1", "lesson_2", "lesson_3"],
        "dina": ["lesson_1", "lesson_2", "lesson_3", "lesson_4"],
        "elham": ["lesson_1", "lesson_2", "lesson_3"],
    }
    first = email_from_node("dina@example.com", "lesson_1")
    assert first.subject == "دينا, where do your follow-ups slip through?"
    assert first.sender == "Maya from Acme <maya@acme.example>"
    assert "List-Unsubscribe" in first.headers

    cyrus, dina, elham = (get_contact(ids[n]) for n in ("cyrus", "dina", "elham"))
    assert {"nurture-engaged", "sales-ready"} <= cyrus.tags
    assert "nurture-low-engagement" not in cyrus.tags
    assert (cyrus.lifecycle_stage, cyrus.lead_status, cyrus.score) == (
        "sales_qualified",
        "sales_ready",
        75,
    )
    assert "nurture-low-engagement" in dina.tags and dina.score == 40
    assert {"nurture-engaged", "sales-ready"} <= elham.tags
    assert elham.lifecycle_stage == "marketing_qualified"  # sent back by her rep
    # Sales hears of each hand-over and gets a call task.
    [alert] = mail_to(EMAIL_OF["usr-emma"])
    assert alert.subject == "Sales-ready: Cyrus"
    [task] = open_tasks("usr-emma")
    assert (task.title, task.priority, task.contact_id) == (
        "Call Cyrus: sales-ready from nurture",
        "high",
        cyrus.contact_id,
    )
    assert [m.subject for m in mail_to(EMAIL_OF["usr-omar"])] == ["Sales-ready: الهام"]
    assert [t.title for t in open_tasks("usr-omar")] == ["Call الهام: sales-ready from nurture"]
    assert open_tasks("usr-layla") == [] and mail_to(EMAIL_OF["usr-layla"]) == []
    clicks = [d for k, d in activities(cyrus.contact_id) if k == "email_clicked"]
    assert [c["node"] for c in clicks] == ["lesson_1", "lesson_3"]
    assert_every_branch("drip-campaign", [r.execution_arn for r, _ in done.values()])


# --- customer lifecycle: a first purchase ----------------------------------------------------


def test_customer_lifecycle_onboards_upsells_and_reminds_of_renewal(
    people, remote, lambdas, monkeypatch
) -> None:
    monkeypatch.setenv("CRMFLOW_SECRET_FLOW_BILLING_API_TOKEN", "bill-tok-5e1c")

    def billing(call) -> tuple[int, dict]:
        order = call.json()["order_id"]
        return (
            (503, {"error": "maintenance"})
            if order.startswith("FAIL")
            else (201, {"id": f"cus_{order}"})
        )

    remote.answers["billing.acme.example"] = billing
    publish_template("drip-campaign")
    publish_template("customer-lifecycle")
    renewal = (datetime.now(UTC) + timedelta(days=32)).date().isoformat()
    login = datetime.now(UTC).isoformat(timespec="seconds")
    who = {  # fields; the purchase
        "layla": (
            {
                "first_name": "ليلى",
                "last_name": "حداد",
                "owner_id": "usr-omar",
                "email_consent": True,
                "company_name": "تجارة النخل",
                "time_zone": "Asia/Dubai",
                "temperature": "warm",
                "lifecycle_stage": "marketing_qualified",
                "custom": {"last_login_at": login, "renewal_date": renewal},
            },
            {"plan": "starter", "order_id": "ORD-1001", "product": "starter-plan", "amount": 290},
        ),
        "tom": (
            {
                "first_name": "Tom",
                "last_name": "Becker",
                "owner_id": "usr-emma",
                "email_consent": True,
                "time_zone": "Europe/Berlin",
                "custom": {"renewal_date": renewal},
            },
            {"plan": "pro", "order_id": "FAIL-1002", "product": "pro-plan", "amount": 990},
        ),
        "nina": (
            {
                "first_name": "Nina",
                "owner_id": "usr-sofia",
                "email_consent": False,
                "custom": {"last_login_at": login, "renewal_date": renewal},
            },
            {"plan": "starter", "order_id": "ORD-1003", "product": "starter-plan", "amount": 290},
        ),
        "omid": (
            {
                "first_name": "امید",
                "owner_id": "usr-dariush",
                "email_consent": True,
                "time_zone": "Asia/Tehran",
                "custom": {"last_login_at": login, "renewal_date": renewal},
            },
            {
                "plan": "enterprise",
                "order_id": "ORD-1004",
                "product": "enterprise-plan",
                "amount": 9900,
            },
        ),
    }
    ids = {
        name: create_contact({"email": f"{name}@example.com", **fields}).contact_id
        for name, (fields, _) in who.items()
    }
    # Layla is in the drip campaign when she buys: the lifecycle takes her out of it.
    [nurture] = segments.broadcast("drip-campaign", drip_segment(), "nurture-2026-12").enrolled

    def click_offer() -> str:
        return click_email(email_from_node("layla@example.com", "upsell_pro"))

    clicking = Scripts({"layla": lambdas.when_waiting(ids["layla"], "wait_click", click_offer)})
    started = {}
    for name, (_, order) in who.items():
        [started[name]] = events.record_event("purchase", contact_id=ids[name], data=order).started
    second = events.record_event(
        "purchase", contact_id=ids["nina"], data={"plan": "pro", "order_id": "ORD-1005"}
    )
    assert second.started == []  # not a first purchase
    clicking.join()
    done = {name: finished(eid, timeout=60) for name, eid in started.items()}
    for name, (record, status) in done.items():
        assert (record.status, record.left_node, status) == ("ended", "done", "SUCCEEDED"), name
    drip, _ = finished(nurture)
    assert (drip.status, drip.flow_id) == ("unenrolled", "drip-campaign")
    left = [
        d
        for k, d in activities(ids["layla"])
        if k == "flow_left" and d["flow_id"] == "drip-campaign"
    ]
    assert (left[0]["by_flow"], left[0]["by_node"]) == ("customer-lifecycle", "stop_nurture")

    emails = {
        name: [m.node for m in flow_mail_to(f"{name}@example.com") if m.enrollment == started[name]]
        for name in who
    }
    assert emails == {
        "layla": ["welcome", "upsell_pro", "feedback", "renewal_reminder"],
        "tom": ["welcome", "cross_sell", "feedback", "renewal_reminder"],
        "nina": ["welcome", "feedback", "renewal_reminder"],
        "omid": ["welcome", "feedback", "renewal_reminder"],
    }
    welcome = email_from_node("layla@example.com", "welcome")
    assert welcome.subject == "Welcome to Acme, ليلى: your first three steps"
    assert "Acme Starter" in welcome.html and "List-Unsubscribe" not in welcome.headers
    feedback = email_from_node("nina@example.com", "feedback")
    assert feedback.subject == "How are we doing, Nina?"
    assert f"https://acme.example/feedback?score=10&c={ids['nina']}" in link_targets(feedback)
    reminder = email_from_node("omid@example.com", "renewal_reminder")
    assert reminder.subject == f"Your Acme plan renews on {renewal}"
    assert reminder.sender == "Acme Billing <billing@acme.example>"
    for name in who:
        contact = get_contact(ids[name])
        assert (contact.lifecycle_stage, "customer" in contact.tags) == ("customer", True)
        assert contact.custom["plan"] == who[name][1]["plan"]

    # Billing: one call per customer, the token as a bearer, the order in the body; the
    # failing one retried six times, then RevOps is told.
    calls = {c.json()["order_id"]: [] for c in remote.to("billing.acme.example")}
    for c in remote.to("billing.acme.example"):
        calls[c.json()["order_id"]].append(c)
    assert {order: len(c) for order, c in calls.items()} == {
        "ORD-1001": 1,
        "FAIL-1002": 7,
        "ORD-1003": 1,
        "ORD-1004": 1,
    }
    first = calls["ORD-1001"][0]
    assert first.headers["Authorization"] == "Bearer bill-tok-5e1c"
    assert first.json() == {
        "external_id": ids["layla"],
        "email": "layla@example.com",
        "name": "ليلى حداد",
        "company": "تجارة النخل",
        "plan": "starter",
        "order_id": "ORD-1001",
    }
    [failed] = mail_to(EMAIL_OF["usr-dana"])
    assert failed.subject == "Billing sync failed for tom@example.com"

    # The account managers: a risk alert for Tom (no login), an opportunity for Layla (clicked).
    assert [m.subject for m in mail_to(EMAIL_OF["usr-emma"])] == [
        "At risk: Tom Becker has not logged in"
    ]
    assert [m.subject for m in mail_to(EMAIL_OF["usr-omar"])] == [
        "Expansion opportunity: ليلى حداد"
    ]
    for name, owner in (
        ("layla", "usr-omar"),
        ("tom", "usr-emma"),
        ("nina", "usr-sofia"),
        ("omid", "usr-dariush"),
    ):
        full = " ".join(p for p in (who[name][0]["first_name"], who[name][0].get("last_name")) if p)
        assert sorted(t.title for t in open_tasks(owner)) == [
            f"Onboarding check-in with {full}",
            f"Renewal review with {full}",
        ]
    assert_every_branch("customer-lifecycle", [r.execution_arn for r, _ in done.values()])


# --- renewal re-engagement: a date, the due-date index, the scheduler ------------------------


def test_renewal_reengagement_starts_on_the_local_morning_thirty_days_before(
    people, stream, lambdas
) -> None:
    publish_template("renewal-reengagement")
    today = datetime.now(UTC).date()
    ends = (today + timedelta(days=30)).isoformat()
    who = {  # name, zone, consent, owner, phone
        "reza": ("رضا", "Asia/Tehran", True, "usr-dariush", "+989191234567"),
        "lena": ("Lena", "Europe/Berlin", False, "usr-emma", "+4915112345678"),
        "mike": ("Mike", "America/New_York", True, "usr-james", "+12125550123"),
    }
    ids = {
        name: create_contact(
            {
                "email": f"{name}@example.com",
                "first_name": first,
                "time_zone": zone,
                "email_consent": consent,
                "owner_id": owner,
                "phone": phone,
                "custom": {"subscription_ends_at": ends},
            }
        ).contact_id
        for name, (first, zone, consent, owner, phone) in who.items()
    }
    later = create_contact(
        {
            "email": "later@example.com",
            "custom": {"subscription_ends_at": (today + timedelta(days=45)).isoformat()},
        }
    ).contact_id
    stream.poll_once()  # the stream keeps the due-date index

    def click_and_renew() -> None:
        click_email(email_from_node("reza@example.com", "reengage"))
        # ...and renews that week (no stream delivery here: the flow's goal node sees it).
        update_contact(
            ids["reza"],
            lambda c: setattr(
                c, "custom", {**c.custom, "last_renewed_at": datetime.now(UTC).isoformat()}
            ),
        )

    reza_clicks = Scripts(
        {"reza": lambdas.when_waiting(ids["reza"], "wait_click", click_and_renew)}
    )
    # Each is due at 10:00 on their own clock, 30 days before the end: not before, once after.
    started = {}
    for name in sorted(who, key=lambda n: local_ten(today, who[n][1])):
        at = local_ten(today, who[name][1])
        assert schedule.tick(at - timedelta(minutes=5)).enrolled == []
        [started[name]] = schedule.tick(at + timedelta(minutes=5)).enrolled
        assert schedule.tick(at + timedelta(minutes=10)).enrolled == []
    assert enrollments(later) == []
    reza_clicks.join()
    done = {name: finished(eid) for name, eid in started.items()}
    left = {name: (r.status, r.left_node, status) for name, (r, status) in done.items()}
    assert left == {
        "reza": ("goal", "renewed", "SUCCEEDED"),
        "lena": ("ended", "done", "SUCCEEDED"),
        "mike": ("ended", "done", "SUCCEEDED"),
    }
    record = done["reza"][0]
    assert record.source == {"kind": "date_relative", "field": "subscription_ends_at", "date": ends}

    [reengage] = flow_mail_to("reza@example.com")
    assert reengage.subject == "رضا, your Acme subscription ends in 30 days"
    assert ends in reengage.html
    assert reengage.reply_to == EMAIL_OF["usr-dariush"]  # "reply and your account manager…"
    assert [m.node for m in flow_mail_to("mike@example.com")] == ["reengage"]
    assert flow_mail_to("lena@example.com") == []
    texts = dict(sms_sent())
    assert set(texts) == {"+4915112345678", "+12125550123"}
    assert texts["+4915112345678"].startswith(f"Hi Lena, your Acme subscription ends on {ends}.")
    for name, owner in (("lena", "usr-emma"), ("mike", "usr-james")):
        [task] = open_tasks(owner)
        assert (task.title, task.priority) == (f"Renewal call: {who[name][0]}", "high")
        assert "churn-risk" in get_contact(ids[name]).tags
    assert open_tasks("usr-dariush") == []
    managers = {EMAIL_OF[m] for m in MEMBERS["account-managers"]}
    churn = sorted(m.subject for m in mail_to(next(iter(managers))) if set(m.to) == managers)
    assert churn == ["Churn risk: Lena has not renewed", "Churn risk: Mike has not renewed"]
    reza = get_contact(ids["reza"])
    assert ("renewal-interested" in reza.tags, reza.score, "churn-risk" in reza.tags) == (
        True,
        10,
        False,
    )
    assert_every_branch("renewal-reengagement", [r.execution_arn for r, _ in done.values()])


def local_ten(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(10, 0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def enrollments(contact_id: str) -> list:
    return enrollments_of(contact_id)


# --- sales cycle: a stage change on the contacts stream --------------------------------------


def test_sales_cycle_moves_the_deal_through_its_stages_and_chases_stalls(
    people, stream, lambdas
) -> None:
    publish_template("sales-cycle")
    who = {  # first name, company, consent, owner; the events that happen, in order
        "youssef": (
            "يوسف",
            "Jordan Medical",
            True,
            "usr-layla",
            ["meeting_held", "proposal_accepted", "contract_signed"],
        ),
        "anna": ("Anna", "Spree Ventures", False, "usr-emma", []),
        "ali": ("علی", "Pars Soft", True, "usr-dariush", ["meeting_held"]),
        "noor": ("نور", "Doha Retail", False, "usr-omar", ["meeting_held", "proposal_accepted"]),
        "james": (
            "James",
            "Northwind",
            True,
            "usr-james",
            ["meeting_held", "proposal_accepted", "contract_signed"],
        ),
    }
    ids, deals = {}, {}
    for name, (first, company, consent, owner, _) in who.items():
        ids[name] = create_contact(
            {
                "email": f"{name}@example.com",
                "first_name": first,
                "company_name": company,
                "email_consent": consent,
                "owner_id": owner,
                "lifecycle_stage": "sales_qualified",
            }
        ).contact_id
        deals[name] = create_deal(
            {
                "name": f"{company}: new business",
                "pipeline": "new-business",
                "stage": "qualified",
                "amount": 12000,
                "contact_id": ids[name],
                "owner_id": owner,
            }
        ).deal_id
    stream.poll_once()  # the INSERTs start nothing
    for name in who:
        set_stage(ids[name], "opportunity")

    # James's deal is reopened between the win and the flow's goal check.
    lambdas.before[(ids["james"], "deal_won")] = lambda e: update_deal(
        deals["james"], lambda d: setattr(d, "stage", "negotiation")
    )
    waits = {
        "meeting_held": "wait_meeting",
        "proposal_accepted": "wait_proposal",
        "contract_signed": "wait_signed",
    }

    def happens(name: str, event: str):
        def deliver() -> list[str]:
            return events.record_event(
                "custom", contact_id=ids[name], name=event, data={"deal_id": deals[name]}
            ).resumed

        return lambdas.when_waiting(ids[name], waits[event], deliver)

    progressing = Scripts(
        {f"{name} {event}": happens(name, event) for name in who for event in who[name][4]}
    )
    stream.poll_once()  # the stage changes reach the record trigger
    runs = {name: enrollment_in("sales-cycle", cid) for name, cid in ids.items()}
    assert all(r.source["kind"] == "stage_changed" for r in runs.values())
    resumed = progressing.join()
    assert resumed == {
        f"{name} {event}": [runs[name].enrollment_id] for name in who for event in who[name][4]
    }
    done = {name: finished(run.enrollment_id) for name, run in runs.items()}
    left = {name: (r.status, r.left_node, status) for name, (r, status) in done.items()}
    assert left == {
        "youssef": ("goal", "deal_won", "SUCCEEDED"),
        "anna": ("ended", "stalled_end", "SUCCEEDED"),
        "ali": ("ended", "stalled_end", "SUCCEEDED"),
        "noor": ("ended", "stalled_end", "SUCCEEDED"),
        "james": ("ended", "done", "SUCCEEDED"),
    }
    stages = {name: get_deal(deal_id).stage for name, deal_id in deals.items()}
    assert stages == {
        "youssef": "closed_won",
        "anna": "discovery",
        "ali": "proposal",
        "noor": "negotiation",
        "james": "negotiation",
    }
    assert [d.pipeline_stage for d in Deal.by_stage.query("new-business#closed_won")] == [
        "new-business#closed_won"
    ]
    youssef = get_contact(ids["youssef"])
    assert (youssef.lifecycle_stage, youssef.lead_status, "customer" in youssef.tags) == (
        "customer",
        "won",
        True,
    )

    titles = {name: sorted(t.title for t in open_tasks(who[name][3])) for name in who}
    assert titles["youssef"] == sorted(
        [
            "Schedule a discovery meeting with يوسف",
            "Send a proposal to يوسف",
            "Book a negotiation call for Jordan Medical: new business",
        ]
    )
    assert titles["anna"] == sorted(
        ["Schedule a discovery meeting with Anna", "Follow up: no discovery meeting yet with Anna"]
    )
    assert "Follow up on the proposal for Pars Soft: new business" in titles["ali"]
    assert "Chase the signature for Doha Retail: new business" in titles["noor"]

    grace = sorted(m.subject for m in mail_to(EMAIL_OF["usr-grace"]))
    assert grace == sorted(
        [
            *(
                f"Deal moved to proposal: {who[n][1]}: new business"
                for n in ("youssef", "ali", "noor", "james")
            ),
            "Deal won: Jordan Medical: new business",
            "Deal won: Northwind: new business",
            "Deal stalled in discovery: Spree Ventures: new business",
            "Deal stalled in proposal: Pars Soft: new business",
            "Deal stalled in negotiation: Doha Retail: new business",
        ]
    )
    [case] = flow_mail_to("youssef@example.com")
    assert case.subject == "How teams like Jordan Medical get results with Acme"
    assert case.reply_to == EMAIL_OF["usr-layla"]
    assert "ليلى" in case.html  # signed by the owner's first name
    assert [m.node for m in flow_mail_to("anna@example.com")] == []  # no consent
    moves = [
        (d["from"], d["to"]) for k, d in activities(ids["youssef"]) if k == "deal_stage_changed"
    ]
    assert moves == [
        ("qualified", "discovery"),
        ("discovery", "proposal"),
        ("proposal", "negotiation"),
        ("negotiation", "closed_won"),
    ]
    assert_every_branch("sales-cycle", [r.execution_arn for r, _ in done.values()])
