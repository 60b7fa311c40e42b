"""Workspace settings: stored once, changed by admins over HTTP or by the command line,
checked before they are kept."""

from __future__ import annotations

import pytest

from functions.errors import InvalidRecord
from functions.store.settings import default_region, get_settings, update_settings
from tests.functions.api_support import Api


@pytest.fixture
def api(store) -> Api:
    return Api()


def test_settings_start_unset_and_keep_what_is_not_changed(store) -> None:
    assert (get_settings().default_region, default_region()) == (None, None)
    saved = update_settings({"default_region": " ae "}, by="u_ana")
    assert (saved.default_region, saved.updated_by, saved.version) == ("AE", "u_ana", 1)
    assert update_settings({}, by="cli").default_region == "AE"  # nothing named: kept
    assert default_region() == "AE"
    assert update_settings({"default_region": None}).default_region is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"default_region": "Iran"}, "default_region: 'Iran' is not a two-letter country code"),
        ({"default_region": "XX"}, "default_region: 'XX' is not a two-letter country code"),
        ({"language": "fa"}, "'language' is not a setting; settings: default_region"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(store, changes, message) -> None:
    with pytest.raises(InvalidRecord, match=message):
        update_settings(changes)
    assert get_settings().default_region is None


def test_an_admin_sets_the_settings_and_every_person_reads_them(api) -> None:
    assert api.get("/settings", api.key("read_only")).body == {
        "default_region": None,
        "updated_at": None,
        "updated_by": None,
    }
    answer = api.put("/settings", api.key("admin"), {"default_region": "ir"})
    assert answer.status == 200
    assert (answer.body["default_region"], answer.body["updated_by"]) == ("IR", "u_ana")
    for role in ("marketer", "sales_rep", "read_only", "admin"):
        assert api.get("/settings", api.key(role)).body["default_region"] == "IR"
    assert api.put("/settings", api.key("admin"), {}).body["default_region"] is None  # PUT: all


@pytest.mark.parametrize("role", ["marketer", "sales_rep", "read_only"])
def test_only_admins_change_the_settings(api, role) -> None:
    answer = api.put("/settings", api.key(role), {"default_region": "IR"})
    assert (answer.status, answer.error["message"]) == (
        403,
        f"this key (role {role}) lacks settings:write",
    )


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"default_region": "Persia"},
            "default_region",
            "default_region: 'Persia' is not a two-letter country code (ISO 3166), e.g. IR, AE, DE",
        ),
        ({"default_region": 98}, "default_region", "default_region: input should be a valid string, got 98"),
        ({"region": "IR"}, "region", "unknown field 'region'"),
    ],
)
def test_a_bad_setting_over_http_is_a_400_naming_the_field(api, body, field, message) -> None:
    answer = api.put("/settings", api.key("admin"), body)
    assert answer.status == 400
    assert answer.error["fields"][0]["field"] == field
    assert message in answer.error["message"]


def test_a_contact_written_without_a_country_reads_its_phone_with_the_setting(api) -> None:
    key = api.key("admin")
    body = {"email": "omid@example.com", "phone": "0912 111 2233"}
    refused = api.post("/contacts", key, body)
    assert (refused.status, refused.error["fields"][0]["field"]) == (400, "phone")
    api.put("/settings", key, {"default_region": "IR"})
    created = api.post("/contacts", key, body)
    assert (created.status, created.body["phone"]) == (201, "+989121112233")
    # A possible number outside the known ranges is a number: kept, as imports keep it.
    changed = api.patch(f"/contacts/{created.body['contact_id']}", key, {"phone": "+98 955 123 4567"})
    assert (changed.status, changed.body["phone"]) == (200, "+989551234567")
    garbage = api.patch(f"/contacts/{created.body['contact_id']}", key, {"phone": "call me"})
    assert (garbage.status, garbage.error["fields"][0]["field"]) == (400, "phone")
