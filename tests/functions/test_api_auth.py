"""Who may call the HTTP API: keys (stored hashed, revocable), roles and the permission
matrix, on moto's DynamoDB through chalice's local gateway."""

from __future__ import annotations

import json

import boto3
import pytest

from functions import auth
from functions.api.errors import error_body
from functions.api.routing import ROUTES
from functions.auth import PERMISSIONS, ROLES, Principal, principal_for, require
from functions.errors import Forbidden, Unauthorized
from functions.store.contacts import create_contact
from functions.store.models import ApiKey
from tests.functions.api_support import USERS, Api
from tests.functions.test_enrollments import tagging

ALL_ROLES = list(ROLES)


@pytest.fixture
def api(store) -> Api:
    return Api()


# --- authentication --------------------------------------------------------------------------


def test_a_call_without_a_key_is_refused_with_401(api) -> None:
    answer = api.get("/flows")
    assert answer.status == 401
    assert answer.error == {
        "code": "Unauthorized",
        "message": "no API key: send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'",
    }
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="crmflow"'


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (
            {"Authorization": "Basic dXNlcjpwYXNz"},
            "the Authorization header must read 'Bearer <API key>'",
        ),
        (
            {"Authorization": "Bearer nonsense"},
            "the API key is malformed: keys look like crm_<id>_<secret>",
        ),
        (
            {"X-Api-Key": "crm_k0123456789abcdef_" + "A" * 43},
            "unknown API key k0123456789abcdef",
        ),
    ],
)
def test_malformed_and_unknown_keys_get_401_saying_which(api, headers, message) -> None:
    answer = api.get("/flows", headers=headers)
    assert (answer.status, answer.error["message"]) == (401, message)


def test_a_key_works_as_bearer_token_and_as_x_api_key(api) -> None:
    key = api.key("read_only")
    assert api.get("/flows", key).status == 200
    assert api.get("/flows", headers={"X-Api-Key": key}).status == 200


def test_a_key_whose_visible_id_was_changed_is_unknown(api) -> None:
    key = api.key("admin")
    secret = key.split("_", 2)[2]
    forged = f"crm_k{'0' * 16}_{secret}"
    answer = api.get("/flows", headers={"X-Api-Key": forged})
    assert (answer.status, answer.error["message"]) == (401, f"unknown API key k{'0' * 16}")


def test_a_revoked_key_gets_401_from_then_on(api) -> None:
    admin = api.key("admin")
    issued = api.post("/keys", admin, {"name": "web form", "role": "read_only", "user_id": "u_1"})
    assert issued.status == 201
    key, key_id = issued.body["key"], issued.body["key_id"]
    assert api.get("/flows", key).status == 200

    revoked = api.delete(f"/keys/{key_id}", admin)
    assert revoked.status == 200
    assert revoked.body["key_id"] == key_id and revoked.body["revoked_at"]
    answer = api.get("/flows", key)
    assert answer.status == 401
    assert (
        answer.error["message"] == f"API key {key_id} was revoked at {revoked.body['revoked_at']}"
    )
    again = api.delete(f"/keys/{key_id}", admin)  # revoking twice keeps the first time
    assert again.body["revoked_at"] == revoked.body["revoked_at"]
    assert api.delete("/keys/k0000000000000000", admin).error == {
        "code": "RecordNotFound",
        "message": "no API key has id 'k0000000000000000'",
    }


def test_the_key_secret_is_never_stored(api) -> None:
    admin = api.key("admin")
    issued = api.post("/keys", admin, {"name": "shop", "role": "integration", "flows": ["*"]})
    assert issued.status == 201
    assert issued.headers["Cache-Control"] == "no-store"
    key = issued.body["key"]
    secret = key.split("_", 2)[2]
    assert key.startswith(f"crm_{issued.body['key_id']}_") and len(secret) == 43

    items = boto3.client("dynamodb").scan(TableName=ApiKey.Meta.table_name)["Items"]
    stored = json.dumps(items)
    assert len(items) == 2
    assert secret not in stored and key not in stored
    assert auth.key_hash(secret) in stored  # found by its hash, which is all there is
    row = ApiKey.get(auth.key_hash(secret))
    assert (row.key_id, row.role, row.flows, row.created_by) == (
        issued.body["key_id"],
        "integration",
        {"*"},
        principal_for({"x-api-key": admin}).key_id,
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"name": "rep", "role": "sales_rep"},
            "user_id: a sales_rep key sees the records its user owns; name the user",
        ),
        (
            {"name": "form", "role": "integration"},
            "flows: an integration key needs flows whose hooks it may call ('*' for all), events, or both",
        ),
        (
            {"name": "m", "role": "marketer", "flows": ["welcome"]},
            "flows, events: only integration keys have them, not marketer keys",
        ),
        (
            {"name": "x", "role": "integration", "flows": ["Bad Id"]},
            "flows: 'Bad Id' is not a flow id",
        ),
    ],
)
def test_a_key_request_that_breaks_a_rule_is_refused_naming_the_field(api, body, message) -> None:
    answer = api.post("/keys", api.key("admin"), body)
    assert (answer.status, answer.error) == (422, {"code": "InvalidRecord", "message": message})


def test_a_key_request_with_an_unknown_role_is_a_400(api) -> None:
    answer = api.post("/keys", api.key("admin"), {"name": "x", "role": "owner"})
    assert answer.status == 400
    assert answer.error["fields"][0]["field"] == "role"
    assert "'owner' is not allowed" in answer.error["message"]


# --- the permission matrix -------------------------------------------------------------------

CSV = "email,first name\nnew@example.com,Nima\n"


def _attempt(api: Api, permission: str, key: str, contact_id: str) -> int:
    """One call that needs exactly `permission`; its status."""
    if permission == "contacts:read":
        return api.get(f"/contacts/{contact_id}", key).status
    if permission == "contacts:write":
        return api.patch(f"/contacts/{contact_id}", key, {"job_title": "CEO"}).status
    if permission == "deals:read":
        return api.get("/deals/d_nope", key).status  # 404 when allowed
    if permission == "deals:write":
        return api.patch("/deals/d_nope", key, {"stage": "won"}).status
    if permission == "tasks:read":
        return api.get("/tasks?assignee=u_rep", key).status
    if permission == "tasks:write":
        return api.post("/tasks/t_nope/done", key).status
    if permission == "imports:write":
        return api.post("/imports", key, raw=CSV, content_type="text/csv").status
    if permission == "flows:read":
        return api.get("/flows", key).status
    if permission == "flows:write":
        return api.post("/flows", key, {"flow": tagging("welcome", "new")}).status
    if permission == "flows:publish":
        return api.post("/flows/ghost/unpublish", key).status  # 404 when allowed
    if permission == "enrollments:read":
        return api.get(f"/contacts/{contact_id}/enrollments", key).status
    if permission == "reports:read":
        return api.get("/reports/pipeline", key).status
    if permission == "keys:admin":
        return api.post("/keys", key, {"name": "n", "role": "read_only"}).status
    if permission == "settings:read":
        return api.get("/settings", key).status
    if permission == "settings:write":
        return api.put("/settings", key, {"default_region": "IR"}).status
    raise AssertionError(f"no call for {permission}")


HTTP_PERMISSIONS = [p for p in PERMISSIONS if p not in ("hooks:call", "events:write")]


@pytest.mark.parametrize("role", ALL_ROLES)
def test_each_role_may_make_exactly_the_calls_its_permissions_allow(api, role) -> None:
    key = api.key(role)
    contact = create_contact({"email": "owned@example.com", "owner_id": USERS["sales_rep"]})
    for permission in HTTP_PERMISSIONS:
        status = _attempt(api, permission, key, contact.contact_id)
        if permission in ROLES[role]:
            assert status in (200, 201, 404), f"{role} {permission}: {status}"
        else:
            assert status == 403, f"{role} {permission}: {status}"


def test_a_refusal_names_the_role_and_the_missing_permission(api) -> None:
    answer = api.post(
        "/flows/welcome/publish", api.key("sales_rep"), {"flow": tagging("welcome", "x")}
    )
    assert answer.status == 403
    assert answer.error == {
        "code": "Forbidden",
        "message": "this key (role sales_rep) lacks flows:publish",
    }


def test_every_route_needs_a_known_permission_and_every_permission_is_tested() -> None:
    keyed = [r for r in ROUTES if not r.public]  # public routes check a signature or token
    assert {r.permission for r in keyed} <= set(PERMISSIONS)
    assert set(HTTP_PERMISSIONS) <= {r.permission for r in keyed}


# --- integration keys ----------------------------------------------------------------------------


def test_an_integration_key_calls_only_the_hooks_and_events_it_was_issued_for(store) -> None:
    _, form_key = auth.issue_key("web form", "integration", flows=["welcome"])
    form = principal_for({"Authorization": f"Bearer {form_key}"})
    require(form, "hooks:call", flow_id="welcome")
    with pytest.raises(
        Forbidden, match=r"^this key \(role integration\) lacks hooks:call for flow 'renewals'$"
    ):
        require(form, "hooks:call", flow_id="renewals")
    with pytest.raises(Forbidden, match=r"^this key \(role integration\) lacks events:write$"):
        require(form, "events:write")
    with pytest.raises(Forbidden, match="lacks contacts:read"):
        require(form, "contacts:read")

    _, events_key = auth.issue_key("mailer", "integration", events=True)
    mailer = principal_for({"X-Api-Key": events_key})
    require(mailer, "events:write")
    with pytest.raises(Forbidden, match="lacks hooks:call"):
        require(mailer, "hooks:call", flow_id="welcome")

    _, any_key = auth.issue_key("zapier", "integration", flows=["*"])
    require(principal_for({"X-Api-Key": any_key}), "hooks:call", flow_id="renewals")


def test_admins_call_any_hook_and_other_roles_none() -> None:
    admin = Principal("k1", "ops", "admin", "u_ana")
    require(admin, "hooks:call", flow_id="anything")
    require(admin, "events:write")
    with pytest.raises(Forbidden, match=r"role marketer\) lacks hooks:call"):
        require(Principal("k2", "mia", "marketer", "u_mia"), "hooks:call", flow_id="welcome")


def test_ownership_limits_only_the_roles_it_applies_to() -> None:
    rep = Principal("k1", "rep", "sales_rep", "u_rep")
    require(rep, "contacts:read", owner_id="u_rep")
    for owner in ("u_other", None):
        with pytest.raises(Forbidden, match="lacks contacts:read on records owned by others"):
            require(rep, "contacts:read", owner_id=owner)
    require(Principal("k2", "ro", "read_only", "u_rod"), "contacts:read", owner_id="u_other")


def test_auth_errors_map_to_401_and_403() -> None:
    assert error_body(Unauthorized("no"))[0] == 401
    assert error_body(Forbidden("no")) == (403, {"error": {"code": "Forbidden", "message": "no"}})
    with pytest.raises(ValueError, match="unknown permission 'contacts:delete'"):
        require(Principal("k", "n", "admin"), "contacts:delete")
