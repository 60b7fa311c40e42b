"""Who calls the HTTP API and what they may do: API keys, roles and the permission matrix.

A key reads `crm_<key id>_<secret>`. The id is safe to log; the secret is 256 random bits
and is shown once, when the key is issued. Only the SHA-256 of the secret is stored, as the
table's key, so a request costs one GetItem. A fast hash is enough here: a password needs a
slow hash because people pick guessable ones, but nobody can guess 256 random bits.

This module imports no Chalice: the HTTP trigger and event endpoints call `principal_for`
and `require` too, and it stays cheap to import for every Lambda that shares the package.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from pynamodb.exceptions import UpdateError

from functions.errors import Forbidden, InvalidRecord, RecordNotFound, Unauthorized
from functions.store.models import ApiKey

PERMISSIONS: Final = (
    "contacts:read",
    "contacts:write",
    "deals:read",
    "deals:write",
    "tasks:read",
    "tasks:write",
    "imports:write",
    "flows:read",
    "flows:write",
    "flows:publish",
    "enrollments:read",
    "reports:read",
    "hooks:call",
    "events:write",
    "keys:admin",
    "settings:read",
    "settings:write",
)

# The permission matrix: what each role may do. Declared once; require(), the route
# table in docs/api.md and the tests all read it. Marketers read deals and tasks (flows
# start on deal stages and hand leads to sales as tasks, so they see how that goes) but
# leave changing them to sales. Reports count every owner's contacts and deals, so sales
# reps, who see only their own records, do not read them.
# Workspace settings (a default country for phone numbers) are read by every person's role
# and changed by admins only: they change how everyone's imports read numbers.
ROLES: Final[dict[str, frozenset[str]]] = {
    "admin": frozenset(PERMISSIONS),
    "marketer": frozenset(
        {
            "contacts:read",
            "contacts:write",
            "deals:read",
            "tasks:read",
            "imports:write",
            "flows:read",
            "flows:write",
            "flows:publish",
            "enrollments:read",
            "reports:read",
            "settings:read",
        }
    ),
    "sales_rep": frozenset(
        {
            "contacts:read",
            "contacts:write",
            "deals:read",
            "deals:write",
            "tasks:read",
            "tasks:write",
            "flows:read",
            "enrollments:read",
            "settings:read",
        }
    ),
    "read_only": frozenset(
        {
            "contacts:read",
            "deals:read",
            "tasks:read",
            "flows:read",
            "enrollments:read",
            "reports:read",
            "settings:read",
        }
    ),
    "integration": frozenset({"hooks:call", "events:write"}),
}
# Roles that see and change only records they own: contacts and deals whose owner_id,
# tasks whose assignee_id, is the key's user_id.
OWN_RECORDS_ONLY: Final = frozenset({"sales_rep"})
USER_ROLES: Final = frozenset(ROLES) - {"integration"}
ALL_FLOWS: Final = "*"

KEY_PREFIX = "crm"
_KEY = re.compile(r"^crm_(k[0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_FLOW_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")  # flows.model.FLOW_ID_PATTERN
_UNCHECKED = object()


@dataclass(frozen=True)
class Principal:
    """The holder of the key a request carries."""

    key_id: str
    name: str
    role: str
    user_id: str | None = None
    flows: frozenset[str] = frozenset()  # integration keys: flows whose hooks it may call
    events: bool = False  # integration keys: may post events

    @property
    def permissions(self) -> frozenset[str]:
        granted = ROLES.get(self.role, frozenset())
        if self.role == "integration":  # only what this key was issued for
            granted = granted - {
                p
                for p, issued in (("hooks:call", self.flows), ("events:write", self.events))
                if not issued
            }
        return granted

    @property
    def actor(self) -> str:
        """Who to record as having made a change: the user, else the key."""
        return self.user_id or f"key:{self.key_id}"

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def own_records_only(self) -> bool:
        return self.role in OWN_RECORDS_ONLY


def issue_key(
    name: str,
    role: str,
    *,
    user_id: str | None = None,
    flows: Iterable[str] = (),
    events: bool = False,
    by: str | None = None,
) -> tuple[str, str]:
    """Store a new key and return (key id, the key itself). The key is not stored and
    cannot be shown again. InvalidRecord names what is wrong with the request."""
    flows = frozenset(flows)
    _check_grant(name, role, user_id, flows, events)
    key_id = f"k{secrets.token_hex(8)}"
    secret = secrets.token_urlsafe(32)  # 43 characters, 256 bits
    ApiKey(
        key_hash(secret),
        key_id=key_id,
        name=name.strip(),
        role=role,
        user_id=user_id,
        flows=set(flows) or None,  # DynamoDB stores no empty set
        events=events,
        created_at=datetime.now(UTC),
        created_by=by,
    ).save(condition=ApiKey.key_hash.does_not_exist())
    return key_id, f"{KEY_PREFIX}_{key_id}_{secret}"


def revoke_key(key_id: str) -> ApiKey:
    """Revoke a key: requests carrying it get 401 from now on. Revoking twice keeps the
    first time. RecordNotFound when no key has this id."""
    key = _by_id(key_id)
    if key.revoked_at is None:
        try:
            key.update(
                actions=[ApiKey.revoked_at.set(datetime.now(UTC))],
                condition=ApiKey.revoked_at.does_not_exist(),
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            key.refresh(consistent_read=True)  # revoked by someone else meanwhile: theirs counts
    return key


def principal_for(headers: Mapping[str, str]) -> Principal:
    """The holder of the key in `Authorization: Bearer <key>` or `X-Api-Key: <key>`;
    Unauthorized when there is none, or it is malformed, unknown or revoked."""
    token = _token(headers)
    match = _KEY.match(token)
    if match is None:
        raise Unauthorized("the API key is malformed: keys look like crm_<id>_<secret>")
    key_id, secret = match.groups()
    try:
        key = ApiKey.get(key_hash(secret), consistent_read=True)  # a revocation counts at once
    except ApiKey.DoesNotExist:
        raise Unauthorized(f"unknown API key {key_id}") from None
    # The id is what logs show: a key whose id was changed must not pass as another key.
    if not hmac.compare_digest(key.key_id, key_id):
        raise Unauthorized(f"unknown API key {key_id}")
    if key.revoked_at is not None:
        raise Unauthorized(f"API key {key_id} was revoked at {key.revoked_at.isoformat()}")
    return Principal(
        key.key_id,
        key.name,
        key.role,
        key.user_id,
        frozenset(key.flows or ()),
        bool(key.events),
    )


def require(
    principal: Principal,
    permission: str,
    *,
    flow_id: str | None = None,
    owner_id: str | object | None = _UNCHECKED,
) -> None:
    """Raise Forbidden, naming the missing permission, unless `principal` may do it.

    `flow_id`: the flow a hook call is for (integration keys call only the flows they
    were issued for). `owner_id`: the owner of the record at hand (None when it has
    none); roles limited to their own records may touch only records they own.
    """
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")  # a bug in a route, not a 403
    who = f"this key (role {principal.role})"
    if not principal.can(permission):
        raise Forbidden(f"{who} lacks {permission}")
    if (
        flow_id is not None
        and principal.role == "integration"
        and not ({flow_id, ALL_FLOWS} & principal.flows)
    ):
        raise Forbidden(f"{who} lacks {permission} for flow '{flow_id}'")
    if owner_id is not _UNCHECKED and principal.own_records_only and owner_id != principal.user_id:
        raise Forbidden(f"{who} lacks {permission} on records owned by others")


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- helpers -----------------------------------------------------------------------------


def _token(headers: Mapping[str, str]) -> str:
    # Chalice hands a case-insensitive mapping; others may pass a plain dict.
    lowered = {k.lower(): v for k, v in headers.items()}
    authorization = lowered.get("authorization", "").strip()
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must read 'Bearer <API key>'")
        return token.strip()
    token = lowered.get("x-api-key", "").strip()
    if not token:
        raise Unauthorized("no API key: send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'")
    return token


def _by_id(key_id: str) -> ApiKey:
    for row in ApiKey.by_key_id.query(key_id, limit=1):
        return ApiKey.get(row.key_hash, consistent_read=True)
    raise RecordNotFound(f"no API key has id '{key_id}'")


def _check_grant(
    name: str, role: str, user_id: str | None, flows: frozenset[str], events: bool
) -> None:
    if not name.strip():
        raise InvalidRecord("name: give the key a name that says who holds it")
    if role not in ROLES:
        raise InvalidRecord(f"role: '{role}' is not one of {', '.join(ROLES)}")
    if role == "integration":
        if user_id:
            raise InvalidRecord("user_id: an integration key belongs to no user")
        if not flows and not events:
            raise InvalidRecord(
                "flows: an integration key needs flows whose hooks it may call "
                f"('{ALL_FLOWS}' for all), events, or both"
            )
        bad = sorted(f for f in flows if f != ALL_FLOWS and not _FLOW_ID.match(f))
        if bad:
            raise InvalidRecord(f"flows: {', '.join(map(repr, bad))} is not a flow id")
        return
    if flows or events:
        raise InvalidRecord(f"flows, events: only integration keys have them, not {role} keys")
    if role in OWN_RECORDS_ONLY and not user_id:
        raise InvalidRecord(f"user_id: a {role} key sees the records its user owns; name the user")
