"""The contacts page against the live API over moto with the demo data: the newest-first
list on arrival, searches as people type them (Persian and Arabic included), readable
columns and owner names, a fresh value for a new kind of search, and one contact's page
with its flows and the enroll and unenroll buttons."""

from __future__ import annotations

import pytest

from tests.editor.conftest import page

pytestmark = pytest.mark.usefixtures("live_api")


def _emails(at) -> list[str]:
    return at.dataframe[0].value["Email"].tolist()


def test_the_page_opens_on_every_contact_newest_first_with_readable_columns() -> None:
    at = page("contacts").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == [
        "First name",
        "Last name",
        "Email",
        "Company",
        "Stage",
        "Owner",
        "Score",
        "Created",
    ]
    created = table["Created"].tolist()
    assert created == sorted(created, reverse=True)
    assert table["Email"].iloc[0] == "michael.brown@example.com"  # created a day ago
    # Owners by name, as the users table has them, not by id.
    layla = table[table["Email"] == "layla.haddad@nakhl-trading.example"]
    assert not layla["Owner"].iloc[0].startswith("usr-")


def test_searching_a_name_finds_persian_and_arabic_spellings() -> None:
    at = page("contacts").run()
    at.text_input(key="contact_value").input("سار").run()  # the default kind: name
    assert not at.exception
    assert set(_emails(at)) >= {"sara.mohammadi@example.com", "sara.alkandari@example.com"}
    at.text_input(key="contact_value").input("sara").run()
    assert (
        not at.exception and len(at.dataframe) == 0
    )  # the demo Saras are written in Persian and Arabic
    assert any("No contact matches name" in i.value for i in at.info)


def test_switching_the_kind_of_search_clears_the_value_and_email_searches_by_prefix() -> None:
    at = page("contacts").run()
    at.text_input(key="contact_value").input("sara").run()
    at.selectbox(key="contact_filter").set_value("email").run()
    assert at.text_input(key="contact_value").value == ""
    at.text_input(key="contact_value").input("sara").run()
    assert not at.exception and not at.error  # a prefix, not "not a valid email"
    assert set(_emails(at)) == {"sara.mohammadi@example.com", "sara.alkandari@example.com"}


def test_one_letter_keeps_the_list_and_says_to_type_more() -> None:
    at = page("contacts").run()
    at.text_input(key="contact_value").input("s").run()
    assert not at.exception
    assert any("Type one more letter" in c.value for c in at.caption)
    assert len(_emails(at)) > 1


def test_a_contacts_page_shows_fields_deals_and_flows_and_enrolls_and_unenrolls() -> None:
    from functions.publish import publish
    from tests.functions.test_enrollments import waiting, waiting_in

    publish(waiting("nurture"))
    at = page("contacts").run()
    at.text_input(key="contact_value").input("نیلو").run()
    [email] = _emails(at)
    card = at.dataframe[1].value
    assert dict(zip(card["Field"], card["Value"], strict=True))["Email"] == email
    assert "**Flows**" in [m.value for m in at.markdown]
    contact_id = at.selectbox(key="contact_pick").value
    at.selectbox(key=f"enroll_flow:{contact_id}").set_value("nurture").run()
    at.button(key=f"enroll:{contact_id}").click().run()
    assert not at.exception and not at.error
    assert any("`nurture`" in m.value and "active" in m.value for m in at.markdown)
    assert waiting_in(contact_id)
    [unenroll] = [b for b in at.button if b.key.startswith("unenroll:")]
    unenroll.click().run()
    assert not at.exception and not at.error
    assert any("`nurture`" in m.value and "unenrolled" in m.value for m in at.markdown)
