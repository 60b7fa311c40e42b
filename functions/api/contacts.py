"""Contacts over HTTP: create, read, change, list newest first, search by the store's
access patterns, the timeline and the contact's enrollments, and starting or stopping a
contact in a flow by hand (the contacts page's buttons).

Keys limited to their own records (sales_rep) see and change only contacts they own:
their new contacts are theirs, they cannot hand one to someone else, and a search by owner
is always a search of their own contacts.

Service modules are imported inside the views: every Lambda of the app imports this
module at cold start, and only API calls need them.
"""

from __future__ import annotations

import json
from itertools import islice
from typing import Any

from chalice import Blueprint

from functions.api.routing import (
    Call,
    decode_cursor,
    encode_cursor,
    field_error,
    json_response,
    record_json,
    route,
)
from functions.errors import BadRequest, InvalidRecord
from functions.store.models import Contact

bp = Blueprint(__name__)

HIDDEN = ("contact_shard", "last_touch_at")  # index keys, not contact data
MAX_CUSTOM = 64_000  # characters of custom fields per request: a contact item holds 400 KB
# Attributes every contact has (email, lifecycle_stage, score…): a PATCH cannot null them.
_REQUIRED = frozenset(n for n, a in Contact.get_attributes().items() if not a.null)


@route(
    bp,
    "/contacts",
    method="POST",
    permission="contacts:write",
    body="NewContact",
    status=201,
    errors=(400, 409),
    answer="Contact",
)
def contacts_create(call: Call) -> Any:
    """Create a contact.

    The email must be unused (409 otherwise). A sales_rep's new contact is theirs.
    """
    from functions.store.contacts import create_contact

    given = call.body.model_dump(exclude_unset=True)
    # null means "not given" here: the store's defaults apply (stage subscriber, score 0…)
    fields = _normalised({k: v for k, v in given.items() if v is not None}, region=None)
    if call.principal.own_records_only:
        fields.setdefault("owner_id", call.principal.user_id)
    call.require("contacts:write", owner_id=fields.get("owner_id"))
    contact = create_contact(fields)
    answer = json_response(contact_json(contact), 201)
    answer.headers["Location"] = f"/contacts/{contact.contact_id}"
    return answer


@route(bp, "/contacts/{contact_id}", permission="contacts:read", errors=(404,), answer="Contact")
def contacts_show(call: Call, contact_id: str) -> Any:
    """Read a contact."""
    return contact_json(_readable(call, "contacts:read", contact_id))


@route(
    bp,
    "/contacts/{contact_id}",
    method="PATCH",
    permission="contacts:write",
    body="ContactChange",
    errors=(400, 404, 409),
    answer="Contact",
)
def contacts_change(call: Call, contact_id: str) -> Any:
    """Change a contact's fields.

    Concurrent changes both land: the change is re-applied to a fresh read when another
    writer saved in between. Unknown fields are refused.
    """
    from functions.store.contacts import update_contact

    current = _readable(call, "contacts:write", contact_id)
    change = call.body.model_dump(exclude_unset=True)
    if not change:
        raise BadRequest("the body changes nothing: name at least one field")
    for name in sorted(_REQUIRED & {k for k, v in change.items() if v is None}):
        _refuse(name, "cannot be null; every contact has one")
    if "owner_id" in change:  # a rep may not hand a contact to someone else
        call.require("contacts:write", owner_id=change["owner_id"])
    add_tags, remove_tags = change.pop("add_tags", []), change.pop("remove_tags", [])
    custom = change.pop("custom", None)
    _check_custom(custom)
    fields = _normalised(change, region=change.get("country", current.country))

    def apply(contact: Any) -> None:  # pure: update_contact may run it more than once
        for name, value in fields.items():
            setattr(contact, name, set(value or ()) if name in ("tags", "products") else value)
        contact.tags = (set(contact.tags) | set(add_tags)) - _tag_set(remove_tags)
        if custom is not None:
            merged = {**(contact.custom or {}), **custom}
            contact.custom = {k: v for k, v in merged.items() if v is not None}

    return contact_json(update_contact(contact_id, apply))


@route(
    bp,
    "/contacts",
    permission="contacts:read",
    query="ContactSearch",
    errors=(400,),
    answer="ContactSearchPage",
)
def contacts_search(call: Call) -> Any:
    """Every contact, newest first, or a search by one filter.

    name, email and company match from the start of a word as people type (at least 2
    letters; case, accents and Arabic/Persian letter forms ignored), owner and stage
    newest first, tag and product by id, not_contacted_days. Paged with `limit` and the
    `next` cursor of the previous page (`next` is null on the last page). A sales_rep's
    search covers only their own contacts, and a search by owner is a search of their own.
    """
    from functions.api.bodies import FILTERS
    from functions.store.contacts import get_contacts, owner_names

    q = call.query
    principal = call.principal
    if q.owner is not None and principal.own_records_only:
        q.owner = principal.user_id  # forced: a rep lists only their own contacts
    applied = {f: getattr(q, f) for f in FILTERS if getattr(q, f) is not None}
    kind = next(iter(applied), None)
    if kind in ("owner", "stage"):
        found, key = _indexed_page(q, kind)
    else:
        ids, key = _id_page(q, kind)
        found = get_contacts(ids)
    if principal.own_records_only:
        found = [c for c in found if c.owner_id == principal.user_id]
    return {
        "filter": applied,
        "contacts": [contact_json(c) for c in found],
        "owners": owner_names(c.owner_id for c in found),
        "next": encode_cursor(key),
    }


def _indexed_page(q: Any, kind: str) -> tuple[list[Any], dict[str, Any] | None]:
    """A page of contacts by owner or stage: GSIs that hold whole contacts, newest first."""
    from functions.store import contacts

    value = getattr(q, kind)
    attribute = "owner_id" if kind == "owner" else "lifecycle_stage"
    cursor = decode_cursor(q.cursor, {"contact_id": None, attribute: value, "created_at": None})
    query = contacts.contacts_by_owner if kind == "owner" else contacts.contacts_by_stage
    result = query(value, q.limit, cursor)
    return list(result), result.last_evaluated_key


def _id_page(q: Any, kind: str | None) -> tuple[list[str], dict[str, Any] | None]:
    """A page of contact ids by the other filters, or of every contact."""
    if kind in ("name", "email", "company"):
        return _search_page(q, kind)
    if kind in ("tag", "product"):
        return _tag_page(q, kind)
    if kind == "not_contacted_days":
        return _not_contacted_page(q)
    return _newest_page(q)


def _search_page(q: Any, kind: str) -> tuple[list[str], dict[str, Any] | None]:
    from functions.store.contacts import MIN_SEARCH, fold, search_contact_ids

    text = getattr(q, kind)
    if len(fold(text)) < MIN_SEARCH:
        _refuse(kind, f"type at least {MIN_SEARCH} letters or digits to search")
    bucket = f"{kind}#{fold(text)[:MIN_SEARCH]}"
    cursor = decode_cursor(q.cursor, {"bucket": bucket, "token": None})
    return search_contact_ids(kind, text, q.limit, cursor)


def _tag_page(q: Any, kind: str) -> tuple[list[str], dict[str, Any] | None]:
    from functions.store import contacts

    cursor = decode_cursor(q.cursor, {"contact_id": None})
    after = cursor["contact_id"]["S"] if cursor else None
    ids = (
        contacts.contact_ids_by_tag(q.tag, after, q.limit + 1)
        if kind == "tag"
        else contacts.contact_ids_by_product(q.product, after, q.limit + 1)
    )
    page = list(islice(ids, q.limit + 1))
    if len(page) <= q.limit:
        return page, None
    page = page[: q.limit]
    return page, {"contact_id": {"S": page[-1]}}


def _not_contacted_page(q: Any) -> tuple[list[str], dict[str, Any] | None]:
    from functions.store import contacts

    # The helper walks 8 shards unpaged: a page is a slice of that walk.
    cursor = decode_cursor(q.cursor, {"offset": None})
    offset = int(cursor["offset"]["N"]) if cursor else 0
    ids = contacts.contact_ids_not_contacted_since(q.not_contacted_days)
    page = list(islice(ids, offset, offset + q.limit + 1))
    if len(page) <= q.limit:
        return page, None
    return page[: q.limit], {"offset": {"N": str(offset + q.limit)}}


def _newest_page(q: Any) -> tuple[list[str], dict[str, Any] | None]:
    from functions.store.contacts import LAST_CONTACT_SHARDS, contact_ids_newest

    shards = [str(s) for s in range(LAST_CONTACT_SHARDS)]
    cursor = decode_cursor(q.cursor, dict.fromkeys(shards))
    positions = [cursor[s]["S"] for s in shards] if cursor else None
    try:
        ids, positions = contact_ids_newest(q.limit, positions)
    except (ValueError, KeyError):  # a position we did not write
        raise BadRequest(
            "cursor: not a cursor this list gave out; start again without one"
        ) from None
    key = {s: {"S": p} for s, p in zip(shards, positions, strict=True)} if positions else None
    return ids, key


@route(
    bp,
    "/flows/{flow_id}/enrollments",
    method="POST",
    permission="flows:publish",
    body="NewEnrollment",
    status=202,
    also=(200,),
    errors=(400, 404),
    answer="EnrollmentStarted",
)
def flows_enroll(call: Call, flow_id: str) -> Any:
    """Start a contact in a published flow by hand.

    Answers 202 with the new enrollment, or 200 with `enrolled: false` and the reason
    when the contact is in the flow already, or was and the flow does not allow
    re-enrollment. The contact's page has this as its Enroll button.
    """
    from functions.enrollments import enroll

    contact = _readable(call, "contacts:read", call.body.contact_id)
    source = {"kind": "manual", "by": call.principal.actor}
    run = enroll(flow_id, contact.contact_id, source=source, contact_checked=True)
    answer = {"enrolled": run.enrolled, "enrollment_id": run.enrollment_id}
    answer |= {"contact_id": contact.contact_id}
    if run.reason and not run.enrolled:
        answer["reason"] = run.reason
    return json_response(answer, 202 if run.enrolled else 200)


@route(
    bp,
    "/flows/{flow_id}/enrollments/{contact_id}",
    method="DELETE",
    permission="flows:publish",
    errors=(404,),
    answer="EnrollmentStopped",
)
def flows_unenroll(call: Call, flow_id: str, contact_id: str) -> Any:
    """Take a contact out of a flow by hand: its run stops where it is.

    Recorded as `unenrolled` on the enrollment and the contact's timeline.
    `unenrolled: false` when the contact was not in the flow.
    """
    from functions.enrollments import unenroll

    _readable(call, "contacts:read", contact_id)
    by = {"by": call.principal.actor}
    stopped = unenroll(flow_id, contact_id, by=by)
    return {"flow_id": flow_id, "contact_id": contact_id, "unenrolled": stopped}


@route(
    bp,
    "/contacts/{contact_id}/timeline",
    permission="contacts:read",
    query="Page",
    errors=(400, 404),
    answer="TimelinePage",
)
def contacts_timeline(call: Call, contact_id: str) -> Any:
    """The contact's timeline, newest first, a page at a time."""
    from functions.store.contacts import timeline

    _readable(call, "contacts:read", contact_id)
    cursor = decode_cursor(call.query.cursor, {"contact_id": contact_id, "sort_key": None})
    items, key = timeline(contact_id, call.query.limit, cursor)
    return {
        "activities": [
            {"id": a.sort_key, "kind": a.kind, "at": a.at.isoformat(), "data": a.data}
            for a in items
        ],
        "next": encode_cursor(key),
    }


@route(
    bp,
    "/contacts/{contact_id}/enrollments",
    permission="enrollments:read",
    query="Limit",
    errors=(400, 404),
    answer="ContactEnrollments",
)
def contacts_enrollments(call: Call, contact_id: str) -> Any:
    """The contact's enrollments in flows, newest first."""
    from functions.enrollments import enrollment_json, enrollments_of

    _readable(call, "enrollments:read", contact_id)
    found = enrollments_of(contact_id, call.query.limit)
    return {"enrollments": [enrollment_json(e) for e in found]}  # errors without traces


# --- helpers -----------------------------------------------------------------------------


def contact_json(contact: Any) -> dict[str, Any]:
    return record_json(contact, leave_out=HIDDEN)


def _readable(call: Call, permission: str, contact_id: str) -> Any:
    """The contact, if this key may use it (sales_rep: only its own)."""
    from functions.store.contacts import get_contact

    contact = get_contact(contact_id)
    call.require(permission, owner_id=contact.owner_id)
    return contact


def _normalised(fields: dict[str, Any], region: str | None) -> dict[str, Any]:
    """The fields as the store keeps them; BadRequest naming the field that cannot be."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from functions.store import normalize

    out = dict(fields)
    _check_custom(out.get("custom"))
    if isinstance(out.get("score"), float) and out["score"].is_integer():
        out["score"] = int(out["score"])  # 10, not 10.0, as imports and flows store it
    for name in ("tags", "products"):
        if out.get(name) is not None:
            out[name] = set(out[name])
    country = out.get("country")
    if country and len(country) == 2:
        out["country"] = country.upper()
        region = out["country"]
    elif country is not None:
        region = country
    if out.get("email") is not None:
        out["email"] = _field("email", lambda: normalize.email(out["email"]))
    if out.get("phone") is not None:
        code = region.upper() if region and region.upper() in normalize.REGIONS else None
        if code is None:  # a number written the national way reads as the workspace's
            from functions.store.settings import default_region

            code = default_region()
        out["phone"] = _field("phone", lambda: normalize.phone(out["phone"], code))
    if out.get("time_zone") is not None:
        try:
            ZoneInfo(out["time_zone"])
        except (ZoneInfoNotFoundError, ValueError):
            _refuse("time_zone", f"'{out['time_zone']}' is not a time zone such as Asia/Tehran")
    return out


def _check_custom(custom: dict[str, Any] | None) -> None:
    if custom and len(json.dumps(custom, ensure_ascii=False)) > MAX_CUSTOM:
        _refuse("custom", f"holds more than {MAX_CUSTOM // 1000} KB of JSON")


def _field(name: str, normalise: Any) -> Any:
    try:
        return normalise()
    except InvalidRecord as exc:
        _refuse(name, str(exc))


def _refuse(name: str, message: str) -> None:
    raise field_error(name, message)


def _tag_set(tags: list[str]) -> set[str]:
    from functions.store.normalize import tag

    return {tag(t) for t in tags}
