"""The demo data of the local stack: complete for the templates, valid, deterministic."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import phonenumbers
import pytest
from moto import mock_aws

from infra.local import moto_patches, seed, sessions
from infra.local.env import FAKE_CREDENTIALS
from infra.local.templates import template_documents

USERS = {user_id for user_id, *_ in seed.USERS}
PERSIAN_LETTERS = re.compile("[پچژگکی]")  # letters Persian has and Arabic does not
ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")


def values_of(node: Any, key: str) -> Iterator[Any]:
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key:
                yield value
            yield from values_of(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from values_of(value, key)


def test_every_team_and_user_a_template_names_is_seeded() -> None:
    teams = {team_id for team_id, *_ in seed.TEAMS}
    documents = list(template_documents())
    named_teams = {v for d in documents for v in values_of(d, "team_id") if isinstance(v, str)}
    named_users = {v for d in documents for v in values_of(d, "user_id") if isinstance(v, str)}
    assert named_teams and named_teams <= teams, named_teams - teams
    assert named_users <= USERS, named_users - USERS


def test_teams_owners_and_assignees_are_seeded_users() -> None:
    for team_id, _name, members in seed.TEAMS:
        assert members and set(members) <= USERS, team_id
    owners = {c.owner_id for c in seed.CONTACTS if c.owner_id}
    owners |= {owner for *_, owner in seed.COMPANIES if owner}
    assert owners <= USERS
    assert {assignee for _, assignee, *_ in seed.TASKS} <= USERS
    companies = {company_id for company_id, *_ in seed.COMPANIES}
    assert {c.company_id for c in seed.CONTACTS if c.company_id} <= companies


def test_thirty_contacts_ten_each_with_arabic_persian_and_english_names() -> None:
    assert len(seed.CONTACTS) == 30
    names = [f"{c.first_name} {c.last_name}" for c in seed.CONTACTS]
    persian = [n for n in names if PERSIAN_LETTERS.search(n)]
    arabic = [n for n in names if ARABIC_SCRIPT.search(n) and not PERSIAN_LETTERS.search(n)]
    english = [n for n in names if not ARABIC_SCRIPT.search(n)]
    assert (len(arabic), len(persian), len(english)) == (10, 10, 10), (arabic, persian)


def test_contacts_have_unique_emails_and_valid_phones_of_their_country() -> None:
    emails = [c.email for c in seed.CONTACTS]
    assert len(set(emails)) == len(emails)
    assert all(e == e.strip().lower() for e in emails)
    for contact in seed.CONTACTS:
        number = phonenumbers.parse(contact.phone)
        assert phonenumbers.is_valid_number(number), contact.phone
        assert (
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == contact.phone
        )
        assert phonenumbers.region_code_for_number(number) == contact.country, contact.email


def test_deals_cover_every_pipeline_stage() -> None:
    assert {stage for _, _, stage, *_ in seed.DEALS} == set(seed.PIPELINE_STAGES)
    emails = {c.email for c in seed.CONTACTS}
    assert {email for _, email, *_ in seed.DEALS} <= emails
    assert {email for _, _, email, *_ in seed.TASKS} <= emails


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    moto_patches.apply()


@contextmanager
def empty_store() -> Iterator[None]:
    with sessions.shared_loader(), mock_aws():
        from functions.store.tables import create_all

        create_all(wait=False)
        yield


def stored() -> dict[str, Any]:
    from functions.store.models import Contact, Deal, Task, Team, User

    return {
        "contacts": sorted(
            (
                c.email,
                c.first_name,
                c.last_name,
                c.owner_id,
                c.lifecycle_stage,
                sorted(c.tags or ()),
            )
            for c in Contact.scan()
        ),
        "deals": sorted((d.name, d.pipeline_stage, int(d.amount)) for d in Deal.scan()),
        "tasks": sorted((t.title, t.assignee_id, t.status) for t in Task.scan()),
        "users": sorted((u.user_id, u.role, sorted(u.teams or ())) for u in User.scan()),
        "teams": sorted((t.team_id, tuple(t.members)) for t in Team.scan()),
    }


def test_seeding_writes_the_same_demo_data_every_time(fake_aws: None) -> None:
    from functions.store.contacts import find_by_email
    from functions.store.records import open_tasks

    with empty_store():
        seeded = seed.seed_demo_data()
        assert seeded.describe() == (
            "30 contacts, 12 companies, 12 deals, 10 open tasks, 16 users in 13 teams"
        )
        first = stored()
        sara = find_by_email("SARA.MOHAMMADI@example.com")
        assert sara is not None and (sara.first_name, sara.last_name) == ("سارا", "محمدی")
        assert sara.owner_id == "usr-dariush" and sara.locale == "fa-IR"
        assert [t.title for t in open_tasks("usr-layla")] == [
            "Book a discovery call with عمر الفارسي",
            "Demo for Beirut Design Studio",
        ]
        renewal = find_by_email("layla.haddad@nakhl-trading.example").custom["renewal_date"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", renewal)
    with empty_store():  # another machine, another day
        seed.seed_demo_data()
        assert stored() == first
    assert json.dumps(first, ensure_ascii=False)  # plain data: docs can quote it


def test_a_first_run_counts_the_seeded_data_into_the_reports(fake_aws: None, tmp_path) -> None:
    # The stream poller starts after seeding, at the streams' end: the stack counts the
    # demo data itself (a restored snapshot that has counters keeps them).
    from functions.reports.build import report
    from infra.local.stack import Stack, StackConfig

    with empty_store():
        stack = Stack(StackConfig(data_dir=tmp_path))
        stack.started.seeded = seed.seed_demo_data()
        stack._count_reports()
        [note] = stack.started.notes  # rows: as many as the shards the random ids fall in
        assert note.startswith(
            "reports: counted 30 contacts, 12 deals, 3 activities and 37 first-time facts into"
        )
        assert sum(r[3] for r in report("pipeline").rows) == 9  # the open deals
        restored = Stack(StackConfig(data_dir=tmp_path))
        restored.started.restored = {"Contact": 30, "Rollup": 101}
        restored._count_reports()
        assert restored.started.notes == []
