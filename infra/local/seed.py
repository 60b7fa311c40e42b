"""Demo data for a first run of the local stack: users and the teams the templates name,
companies, 30 contacts (Arabic, Persian and English names, right-to-left scripts next to
Latin ones), deals in every stage of the new-business pipeline and open tasks.

Deterministic: the same names, emails, phones, owners, stages and amounts on every machine,
so docs and tests can name them. Users, teams and companies have fixed ids; contacts, deals
and tasks get their ids from the store (contacts are found by email). Dates are relative to
the moment of seeding (a renewal "in 25 days" stays in the future).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from functions.reports.stages import PIPELINES

PIPELINE = "new-business"
PIPELINE_STAGES = PIPELINES[PIPELINE]  # the reports know this pipeline's stages

# (team id, name, member user ids in round-robin order). Every team a template names is
# here; tests/infra/test_seed.py fails when a template names one that is not.
TEAMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("sales-americas", "Sales — Americas", ("usr-james", "usr-sofia")),
    ("sales-europe", "Sales — Europe", ("usr-emma", "usr-liam")),
    ("sales-mena", "Sales — Middle East & North Africa", ("usr-omar", "usr-layla", "usr-dariush")),
    ("sales-inbound", "Inbound sales", ("usr-james", "usr-emma", "usr-omar")),
    ("sales-managers", "Sales managers", ("usr-grace",)),
    ("account-managers", "Account managers", ("usr-nasrin", "usr-tom")),
    ("customer-success", "Customer success", ("usr-nasrin", "usr-tom")),
    ("marketing", "Marketing", ("usr-maya", "usr-reza")),
    ("revops", "Revenue operations", ("usr-dana",)),
    ("billing-support", "Billing support", ("usr-hana",)),
    ("technical-support", "Technical support", ("usr-karim", "usr-hana")),
    ("support-managers", "Support managers", ("usr-karim",)),
    ("logistics", "Logistics", ("usr-farid",)),
)

# (user id, display name, email, role). Roles: functions.auth.USER_ROLES.
USERS: tuple[tuple[str, str, str, str], ...] = (
    ("usr-dana", "Dana Whitfield", "dana@acme.example", "admin"),
    ("usr-maya", "Maya Collins", "maya@acme.example", "marketer"),
    ("usr-reza", "رضا کریمی", "reza.karimi@acme.example", "marketer"),
    ("usr-james", "James Carter", "james@acme.example", "sales_rep"),
    ("usr-sofia", "Sofia Alvarez", "sofia@acme.example", "sales_rep"),
    ("usr-emma", "Emma Schneider", "emma@acme.example", "sales_rep"),
    ("usr-liam", "Liam O'Brien", "liam@acme.example", "sales_rep"),
    ("usr-omar", "عمر الحداد", "omar@acme.example", "sales_rep"),
    ("usr-layla", "ليلى منصور", "layla@acme.example", "sales_rep"),
    ("usr-dariush", "داریوش صادقی", "dariush@acme.example", "sales_rep"),
    ("usr-grace", "Grace Kim", "grace@acme.example", "admin"),
    ("usr-nasrin", "نسرین امینی", "nasrin@acme.example", "read_only"),
    ("usr-tom", "Tom Becker", "tom@acme.example", "read_only"),
    ("usr-karim", "كريم يوسف", "karim@acme.example", "read_only"),
    ("usr-hana", "Hana Novak", "hana@acme.example", "read_only"),
    ("usr-farid", "فرید نظری", "farid@acme.example", "read_only"),
)

# (company id, name, domain, industry, size, country, owner)
COMPANIES: tuple[tuple[str, str, str, str, int, str, str | None], ...] = (
    (
        "co-nakhl",
        "تجارة النخل — Nakhl Trading",
        "nakhl-trading.example",
        "wholesale",
        120,
        "AE",
        "usr-omar",
    ),
    (
        "co-riyadh-logistics",
        "Riyadh Logistics",
        "riyadh-logistics.example",
        "logistics",
        300,
        "SA",
        "usr-layla",
    ),
    (
        "co-jordan-med",
        "Jordan Medical Supplies",
        "jordan-med.example",
        "healthcare",
        80,
        "JO",
        "usr-layla",
    ),
    ("co-doha-retail", "Doha Retail Group", "doha-retail.example", "retail", 450, "QA", "usr-omar"),
    (
        "co-beirut-design",
        "Beirut Design Studio",
        "beirut-design.example",
        "design",
        25,
        "LB",
        "usr-layla",
    ),
    (
        "co-pars-soft",
        "پارس‌نرم — Pars Soft",
        "pars-soft.example",
        "software",
        60,
        "IR",
        "usr-dariush",
    ),
    (
        "co-pars-industries",
        "صنایع پارس — Pars Industries",
        "pars-industries.example",
        "manufacturing",
        900,
        "IR",
        "usr-dariush",
    ),
    (
        "co-spree-ventures",
        "Spree Ventures",
        "spree-ventures.example",
        "finance",
        40,
        "DE",
        "usr-emma",
    ),
    ("co-northwind", "Northwind Traders", "northwind.example", "retail", 200, "US", "usr-james"),
    (
        "co-maple-health",
        "Maple Health",
        "maple-health.example",
        "healthcare",
        150,
        "CA",
        "usr-sofia",
    ),
    (
        "co-thames-analytics",
        "Thames Analytics",
        "thames-analytics.example",
        "software",
        70,
        "GB",
        "usr-emma",
    ),
    ("co-lumiere", "Lumière Cosmetics", "lumiere.example", "retail", 220, "FR", "usr-emma"),
)


@dataclass(frozen=True)
class DemoContact:
    first_name: str
    last_name: str
    email: str
    phone: str
    country: str
    city: str
    time_zone: str
    locale: str
    lifecycle_stage: str
    score: int
    owner_id: str | None = None
    company_id: str | None = None
    job_title: str | None = None
    lead_status: str | None = None
    temperature: str | None = None
    tags: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    source: str | None = None
    email_consent: bool = True
    subscribed: bool = True
    custom: tuple[tuple[str, Any], ...] = ()  # ("renewal_date", 25) → a date 25 days ahead
    created_days_ago: int = 30
    contacted_days_ago: int | None = None


# fmt: off
CONTACTS: tuple[DemoContact, ...] = (
    # Arabic names
    DemoContact("ليلى", "حداد", "layla.haddad@nakhl-trading.example", "+971501234567", "AE", "Dubai", "Asia/Dubai", "ar-AE", "customer", 72, "usr-omar", "co-nakhl", "Procurement Manager", "won", "warm", ("vip", "newsletter"), ("pro-plan",), "referral", custom=(("renewal_date", 25), ("budget", 40000)), created_days_ago=210, contacted_days_ago=4),
    DemoContact("عمر", "الفارسي", "omar.alfarsi@riyadh-logistics.example", "+966501234567", "SA", "Riyadh", "Asia/Riyadh", "ar-SA", "sales_qualified", 85, "usr-layla", "co-riyadh-logistics", "Operations Director", "sales_ready", "hot", ("demo-request", "visited-pricing"), (), "webinar", custom=(("budget", 25000), ("timeline", "this_quarter")), created_days_ago=21, contacted_days_ago=2),
    DemoContact("فاطمة", "الزهراء", "fatima.alzahra@example.org", "+201001234567", "EG", "Cairo", "Africa/Cairo", "ar-EG", "lead", 20, None, None, "Marketing Lead", "new", "cold", ("newsletter",), (), "web-form", custom=(("newsletter_interest", "tips"),), created_days_ago=6),
    DemoContact("يوسف", "منصور", "youssef.mansour@jordan-med.example", "+962791234567", "JO", "Amman", "Asia/Amman", "ar-JO", "opportunity", 64, "usr-layla", "co-jordan-med", "CTO", "open_deal", "warm", ("demo-request",), (), "event", custom=(("budget", 15000), ("timeline", "next_quarter")), created_days_ago=45, contacted_days_ago=9),
    DemoContact("نور", "القاسم", "noor.alqasim@doha-retail.example", "+97433123456", "QA", "Doha", "Asia/Qatar", "ar-QA", "customer", 58, "usr-omar", "co-doha-retail", "Head of E-commerce", "won", "warm", ("buyer",), ("starter-plan",), "paid-search", custom=(("subscription_ends_at", 35),), created_days_ago=340, contacted_days_ago=60),
    DemoContact("خالد", "العتيبي", "khaled.alotaibi@example.net", "+966551234567", "SA", "Jeddah", "Asia/Riyadh", "ar-SA", "subscriber", 5, None, None, "Founder", source="social", email_consent=False, created_days_ago=12),
    DemoContact("مريم", "السيد", "mariam.elsayed@example.com", "+201112345678", "EG", "Alexandria", "Africa/Cairo", "ar-EG", "lead", 33, "usr-omar", None, "Content Strategist", "nurturing", "cold", ("newsletter", "ebook"), (), "content", created_days_ago=75, contacted_days_ago=40),
    DemoContact("أحمد", "الخطيب", "ahmad.khatib@beirut-design.example", "+96170123456", "LB", "Beirut", "Asia/Beirut", "ar-LB", "sales_qualified", 70, "usr-layla", "co-beirut-design", "Creative Director", "qualified", "hot", ("visited-pricing",), (), "referral", custom=(("budget", 12000), ("timeline", "immediately")), created_days_ago=15, contacted_days_ago=1),
    DemoContact("سارة", "الكندري", "sara.alkandari@example.com", "+96599123456", "KW", "Kuwait City", "Asia/Kuwait", "ar-KW", "customer", 48, "usr-omar", None, "Analyst", "won", "warm", ("buyer", "vip"), ("pro-plan", "analytics-addon"), "partner", custom=(("renewal_date", 60),), created_days_ago=400, contacted_days_ago=20),
    DemoContact("حسن", "البدوي", "hassan.albadawi@example.org", "+971552345678", "AE", "Abu Dhabi", "Asia/Dubai", "ar-AE", "lead", 10, None, None, "Sales Manager", "new", "cold", ("web-form", "inbound"), (), "web-form", custom=(("budget", 3000), ("timeline", "later")), created_days_ago=2),
    # Persian names
    DemoContact("سارا", "محمدی", "sara.mohammadi@example.com", "+989123456789", "IR", "Tehran", "Asia/Tehran", "fa-IR", "lead", 40, "usr-dariush", "co-pars-soft", "Product Manager", "nurturing", "warm", ("newsletter", "ebook"), (), "content", custom=(("newsletter_interest", "product"),), created_days_ago=33, contacted_days_ago=8),
    DemoContact("علی", "رضایی", "ali.rezaei@pars-industries.example", "+989351234567", "IR", "Isfahan", "Asia/Tehran", "fa-IR", "opportunity", 78, "usr-dariush", "co-pars-industries", "CEO", "open_deal", "hot", ("demo-request", "visited-pricing"), (), "event", custom=(("budget", 30000), ("timeline", "this_quarter")), created_days_ago=28, contacted_days_ago=3),
    DemoContact("مریم", "حسینی", "maryam.hosseini@example.org", "+989121112233", "IR", "Shiraz", "Asia/Tehran", "fa-IR", "subscriber", 8, None, None, "Designer", None, None, ("newsletter",), (), "social", custom=(("newsletter_interest", "tips"),), created_days_ago=90),
    DemoContact("رضا", "احمدی", "reza.ahmadi@pars-soft.example", "+989191234567", "IR", "Tehran", "Asia/Tehran", "fa-IR", "customer", 55, "usr-dariush", "co-pars-soft", "Lead Developer", "won", "warm", ("buyer",), ("starter-plan",), "web-form", custom=(("subscription_ends_at", 20), ("last_login_at", -3)), created_days_ago=300, contacted_days_ago=14),
    DemoContact("نیلوفر", "کریمی", "niloofar.karimi@example.com", "+989381234567", "IR", "Mashhad", "Asia/Tehran", "fa-IR", "lead", 15, None, None, "HR Manager", "new", "cold", ("webinar",), (), "webinar", created_days_ago=4),
    DemoContact("امیر", "تهرانی", "amir.tehrani@spree-ventures.example", "+4915123456789", "DE", "Berlin", "Europe/Berlin", "fa", "sales_qualified", 66, "usr-emma", "co-spree-ventures", "Partner", "qualified", "warm", ("visited-pricing",), (), "referral", custom=(("budget", 20000), ("timeline", "this_quarter")), created_days_ago=19, contacted_days_ago=5),
    DemoContact("زهرا", "نوری", "zahra.nouri@example.org", "+989121234567", "IR", "Tabriz", "Asia/Tehran", "fa-IR", "customer", 62, "usr-dariush", None, "Consultant", "won", "warm", ("vip", "buyer"), ("pro-plan",), "partner", custom=(("renewal_date", 10),), created_days_ago=380, contacted_days_ago=30),
    DemoContact("کاوه", "جعفری", "kaveh.jafari@example.com", "+971501112233", "AE", "Dubai", "Asia/Dubai", "fa", "lead", 25, None, None, "Store Owner", "new", "cold", ("inbound",), (), "paid-search", custom=(("budget", 9000), ("timeline", "this_quarter")), created_days_ago=3),
    DemoContact("پریسا", "موسوی", "parisa.mousavi@example.net", "+447400123456", "GB", "London", "Europe/London", "fa", "lead", 30, "usr-liam", None, "Researcher", "nurturing", "cold", ("ebook",), (), "content", created_days_ago=52, contacted_days_ago=35),
    DemoContact("بهرام", "صالحی", "bahram.salehi@pars-industries.example", "+989101234567", "IR", "Isfahan", "Asia/Tehran", "fa-IR", "opportunity", 59, "usr-dariush", "co-pars-industries", "CFO", "open_deal", "warm", ("demo-request",), (), "event", custom=(("budget", 30000),), created_days_ago=27, contacted_days_ago=6),
    # English names
    DemoContact("Emily", "Johnson", "emily.johnson@northwind.example", "+14155550123", "US", "San Francisco", "America/Los_Angeles", "en-US", "customer", 80, "usr-james", "co-northwind", "VP Marketing", "won", "hot", ("vip", "buyer"), ("pro-plan",), "referral", custom=(("renewal_date", 45), ("last_login_at", -1)), created_days_ago=500, contacted_days_ago=7),
    DemoContact("Michael", "Brown", "michael.brown@example.com", "+12125550199", "US", "New York", "America/New_York", "en-US", "lead", 12, None, None, "Consultant", "new", "cold", ("web-form",), (), "web-form", custom=(("budget", 5000), ("timeline", "later")), created_days_ago=1),
    DemoContact("Olivia", "Smith", "olivia.smith@maple-health.example", "+16045550123", "CA", "Vancouver", "America/Vancouver", "en-CA", "sales_qualified", 74, "usr-sofia", "co-maple-health", "Director of Operations", "qualified", "hot", ("demo-request",), (), "paid-search", custom=(("budget", 18000), ("timeline", "this_quarter")), created_days_ago=11, contacted_days_ago=2),
    DemoContact("Daniel", "Wilson", "daniel.wilson@example.org", "+17185550134", "US", "Brooklyn", "America/New_York", "en-US", "subscriber", 3, None, None, "Freelancer", None, None, ("newsletter",), (), "social", email_consent=False, created_days_ago=140),
    DemoContact("Charlotte", "Davies", "charlotte.davies@thames-analytics.example", "+447912345678", "GB", "London", "Europe/London", "en-GB", "opportunity", 69, "usr-emma", "co-thames-analytics", "Head of Data", "open_deal", "warm", ("visited-pricing",), (), "webinar", custom=(("budget", 22000), ("timeline", "next_quarter")), created_days_ago=38, contacted_days_ago=10),
    DemoContact("Jack", "Murphy", "jack.murphy@example.com", "+353851234567", "IE", "Dublin", "Europe/Dublin", "en-IE", "lead", 28, "usr-liam", None, "Sales Lead", "nurturing", "cold", ("ebook",), (), "content", created_days_ago=66, contacted_days_ago=45),
    DemoContact("Sophie", "Martin", "sophie.martin@lumiere.example", "+33612345678", "FR", "Paris", "Europe/Paris", "fr-FR", "customer", 61, "usr-emma", "co-lumiere", "CMO", "won", "warm", ("buyer",), ("starter-plan",), "partner", custom=(("subscription_ends_at", 28),), created_days_ago=320, contacted_days_ago=25),
    DemoContact("Lucas", "Oliveira", "lucas.oliveira@example.com", "+5511912345678", "BR", "São Paulo", "America/Sao_Paulo", "pt-BR", "lead", 22, None, None, "Growth Manager", "new", "cold", ("web-form",), (), "web-form", custom=(("budget", 8000), ("timeline", "this_quarter")), created_days_ago=5),
    DemoContact("Grace", "Lee", "grace.lee@northwind.example", "+14155550177", "US", "San Francisco", "America/Los_Angeles", "en-US", "customer", 50, "usr-james", "co-northwind", "Marketing Operations", "won", "warm", ("buyer",), ("pro-plan",), "referral", custom=(("last_login_at", -12),), created_days_ago=450, contacted_days_ago=50),
    DemoContact("Noah", "Taylor", "noah.taylor@example.net", "+61412345678", "AU", "Sydney", "Australia/Sydney", "en-AU", "subscriber", 0, None, None, "Student", source="social", email_consent=False, subscribed=False, created_days_ago=200),
)

# (name, contact email, stage, amount, currency, close in N days)
DEALS: tuple[tuple[str, str, str, int, str, int], ...] = (
    ("Riyadh Logistics: fleet CRM", "omar.alfarsi@riyadh-logistics.example", "qualified", 25000, "USD", 60),
    ("Jordan Medical: 40 seats", "youssef.mansour@jordan-med.example", "discovery", 15000, "USD", 45),
    ("Beirut Design: studio plan", "ahmad.khatib@beirut-design.example", "qualified", 12000, "USD", 30),
    ("Pars Industries: group rollout", "ali.rezaei@pars-industries.example", "proposal", 30000, "EUR", 40),
    ("Pars Industries: finance add-on", "bahram.salehi@pars-industries.example", "discovery", 8000, "EUR", 75),
    ("Spree Ventures: portfolio pilot", "amir.tehrani@spree-ventures.example", "qualified", 20000, "EUR", 50),
    ("Thames Analytics: data team", "charlotte.davies@thames-analytics.example", "negotiation", 22000, "GBP", 14),
    ("Maple Health: clinics", "olivia.smith@maple-health.example", "proposal", 18000, "USD", 21),
    ("Nakhl Trading: renewal and upsell", "layla.haddad@nakhl-trading.example", "negotiation", 40000, "USD", 25),
    ("Northwind: pro plan", "emily.johnson@northwind.example", "closed_won", 36000, "USD", -120),
    ("Lumière: starter plan", "sophie.martin@lumiere.example", "closed_won", 6000, "EUR", -90),
    ("Doha Retail: analytics add-on", "noor.alqasim@doha-retail.example", "closed_lost", 9000, "USD", -15),
)

# (title, assignee, contact email, deal name or None, task type, priority, due in N days)
TASKS: tuple[tuple[str, str, str, str | None, str, str, int], ...] = (
    ("Book a discovery call with عمر الفارسي", "usr-layla", "omar.alfarsi@riyadh-logistics.example", "Riyadh Logistics: fleet CRM", "meeting", "high", 1),
    ("Send the proposal to علی رضایی", "usr-dariush", "ali.rezaei@pars-industries.example", "Pars Industries: group rollout", "email", "high", 2),
    ("Follow up on the contract with Charlotte Davies", "usr-emma", "charlotte.davies@thames-analytics.example", "Thames Analytics: data team", "call", "high", -1),
    ("Prepare the renewal offer for ليلى حداد", "usr-omar", "layla.haddad@nakhl-trading.example", "Nakhl Trading: renewal and upsell", "todo", "normal", 5),
    ("Call Olivia Smith about the clinics proposal", "usr-sofia", "olivia.smith@maple-health.example", "Maple Health: clinics", "call", "normal", 3),
    ("Demo for Beirut Design Studio", "usr-layla", "ahmad.khatib@beirut-design.example", "Beirut Design: studio plan", "meeting", "normal", 4),
    ("Review the inbound lead حسن البدوي", "usr-omar", "hassan.albadawi@example.org", None, "todo", "low", 2),
    ("Check in with زهرا نوری before her renewal", "usr-nasrin", "zahra.nouri@example.org", None, "call", "normal", 6),
    ("Ask Emily Johnson for a case study", "usr-james", "emily.johnson@northwind.example", None, "email", "low", 7),
    ("Qualify امیر تهرانی's portfolio pilot", "usr-emma", "amir.tehrani@spree-ventures.example", "Spree Ventures: portfolio pilot", "call", "normal", 2),
)
# fmt: on

# Timeline notes, so some contacts do not start with an empty history: (email, text)
NOTES: tuple[tuple[str, str], ...] = (
    ("layla.haddad@nakhl-trading.example", "تريد توسيع الخطة لفريق المشتريات في أبوظبي."),
    (
        "ali.rezaei@pars-industries.example",
        "جلسه‌ی دمو خوب بود؛ منتظر پیشنهاد قیمت برای سه کارخانه هستند.",
    ),
    (
        "charlotte.davies@thames-analytics.example",
        "Legal is reviewing the DPA; signature expected next week.",
    ),
)


@dataclass(frozen=True)
class Seeded:
    users: int
    teams: int
    companies: int
    contacts: int
    deals: int
    tasks: int

    def describe(self) -> str:
        return (
            f"{self.contacts} contacts, {self.companies} companies, {self.deals} deals, "
            f"{self.tasks} open tasks, {self.users} users in {self.teams} teams"
        )


def seed_demo_data(now: datetime | None = None) -> Seeded:
    """Write the demo data into the (empty) CRM tables."""
    from functions.store.contacts import add_activity, create_contact
    from functions.store.contacts import now as store_now
    from functions.store.models import Company, Team, User
    from functions.store.records import create_deal, create_task

    at = now or store_now()
    for user_id, name, email, role in USERS:
        teams = {team_id for team_id, _, members in TEAMS if user_id in members}
        User(user_id, email=email, name=name, role=role, teams=teams, active=True).save()
    for team_id, name, members in TEAMS:
        Team(team_id, name=name, members=list(members)).save()
    for company_id, name, domain, industry, size, country, owner in COMPANIES:
        Company(
            company_id,
            name=name,
            domain=domain,
            industry=industry,
            size=size,
            country=country,
            owner_id=owner,
            created_at=at - timedelta(days=400),
        ).save()
    names = {company_id: name for company_id, name, *_ in COMPANIES}
    contact_ids = {}
    for demo in CONTACTS:
        contact = create_contact(_contact_fields(demo, names, at))
        contact_ids[demo.email] = contact.contact_id
    deal_ids = {}
    for name, email, stage, amount, currency, close_in in DEALS:
        deal = create_deal(
            {
                "name": name,
                "pipeline": PIPELINE,
                "stage": stage,
                "amount": amount,
                "currency": currency,
                "contact_id": contact_ids[email],
                "company_id": _demo(email).company_id,
                "owner_id": _demo(email).owner_id,
                "close_date": (at + timedelta(days=close_in)).date().isoformat(),
            }
        )
        deal_ids[name] = deal.deal_id
    for title, assignee, email, deal_name, task_type, priority, due_in in TASKS:
        create_task(
            {
                "title": title,
                "task_type": task_type,
                "priority": priority,
                "assignee_id": assignee,
                "contact_id": contact_ids[email],
                "deal_id": deal_ids.get(deal_name) if deal_name else None,
            },
            due_at=at + timedelta(days=due_in),
        )
    for email, text in NOTES:
        add_activity(contact_ids[email], "note", {"text": text, "by": "seed"})
    return Seeded(len(USERS), len(TEAMS), len(COMPANIES), len(CONTACTS), len(DEALS), len(TASKS))


def _contact_fields(demo: DemoContact, companies: dict[str, str], at: datetime) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "email": demo.email,
        "first_name": demo.first_name,
        "last_name": demo.last_name,
        "phone": demo.phone,
        "country": demo.country,
        "city": demo.city,
        "time_zone": demo.time_zone,
        "locale": demo.locale,
        "lifecycle_stage": demo.lifecycle_stage,
        "score": demo.score,
        "email_consent": demo.email_consent,
        "subscription_status": "subscribed" if demo.subscribed else "unsubscribed",
        "tags": set(demo.tags),
        "products": set(demo.products),
        "custom": {name: _custom_value(name, value, at) for name, value in demo.custom},
        "created_at": at - timedelta(days=demo.created_days_ago),
    }
    optional = {
        "owner_id": demo.owner_id,
        "company_id": demo.company_id,
        "company_name": companies.get(demo.company_id) if demo.company_id else None,
        "job_title": demo.job_title,
        "lead_status": demo.lead_status,
        "temperature": demo.temperature,
        "source": demo.source,
    }
    fields.update({name: value for name, value in optional.items() if value is not None})
    if demo.contacted_days_ago is not None:
        fields["last_contacted_at"] = at - timedelta(days=demo.contacted_days_ago)
    return fields


# Custom fields given as days from the moment of seeding: dates, or times (ISO 8601).
_DATE_FIELDS = ("renewal_date", "subscription_ends_at")
_TIME_FIELDS = ("last_login_at", "last_renewed_at")


def _custom_value(name: str, value: Any, at: datetime) -> Any:
    if name in _DATE_FIELDS:
        return (at + timedelta(days=value)).date().isoformat()
    if name in _TIME_FIELDS:
        return (at + timedelta(days=value)).isoformat(timespec="seconds")
    return value


def _demo(email: str) -> DemoContact:
    return next(c for c in CONTACTS if c.email == email)
