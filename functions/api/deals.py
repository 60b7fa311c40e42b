"""Deals over HTTP: create, read, change (a stage move keeps the by-stage index in step),
and list by pipeline stage or by contact.

Keys limited to their own records (sales_rep) see and change only deals they own
(`owner_id`): their new deals are theirs, they cannot hand one to someone else, and they
link deals only to contacts they own.

Service modules are imported inside the views: every Lambda of the app imports this
module at cold start, and only API calls need them.
"""

from __future__ import annotations

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
from functions.errors import BadRequest, ContactNotFound, RecordNotFound
from functions.store.models import UNKNOWN_CLOSE_DATE  # shown as null

bp = Blueprint(__name__)

HIDDEN = ("pipeline_stage",)  # the by_stage index key, derived from pipeline and stage
_REQUIRED = frozenset({"name", "pipeline", "stage", "currency"})  # a PATCH cannot null them


@route(
    bp,
    "/deals",
    method="POST",
    permission="deals:write",
    body="NewDeal",
    status=201,
    errors=(400,),
    answer="Deal",
)
def deals_create(call: Call) -> Any:
    """Create a deal.

    A sales_rep's new deal is theirs, and links only their own contacts. The contact and
    company named must exist.
    """
    from functions.store.records import create_deal

    given = call.body.model_dump(exclude_unset=True)
    fields = _stored({k: v for k, v in given.items() if v is not None})
    if call.principal.own_records_only:
        fields.setdefault("owner_id", call.principal.user_id)
    call.require("deals:write", owner_id=fields.get("owner_id"))
    _check_links(call, fields)
    deal = create_deal(fields)
    answer = json_response(deal_json(deal), 201)
    answer.headers["Location"] = f"/deals/{deal.deal_id}"
    return answer


@route(bp, "/deals/{deal_id}", permission="deals:read", errors=(404,), answer="Deal")
def deals_show(call: Call, deal_id: str) -> Any:
    """Read a deal."""
    return deal_json(_readable(call, "deals:read", deal_id))


@route(
    bp,
    "/deals/{deal_id}",
    method="PATCH",
    permission="deals:write",
    body="DealChange",
    errors=(400, 404, 409),
    answer="Deal",
)
def deals_change(call: Call, deal_id: str) -> Any:
    """Change a deal's fields, or move it to another stage.

    The by-stage lists follow a stage move. Concurrent changes both land: the change is
    re-applied to a fresh read when another writer saved in between.
    """
    from functions.store.records import update_deal

    _readable(call, "deals:write", deal_id)
    change = call.body.model_dump(exclude_unset=True)
    if not change:
        raise BadRequest("the body changes nothing: name at least one field")
    nulled = sorted(_REQUIRED & {k for k, v in change.items() if v is None})
    if nulled:
        raise field_error(nulled[0], "cannot be null; every deal has one")
    if "owner_id" in change:  # a rep may not hand a deal to someone else
        call.require("deals:write", owner_id=change["owner_id"])
    custom = change.pop("custom", None)
    fields = _stored(change)
    _check_links(call, fields)

    def apply(deal: Any) -> None:  # pure: update_deal may run it more than once
        for name, value in fields.items():
            setattr(deal, name, value)
        if "close_date" in fields and fields["close_date"] is None:
            deal.close_date = UNKNOWN_CLOSE_DATE
        if custom is not None:
            merged = {**(deal.custom or {}), **custom}
            deal.custom = {k: v for k, v in merged.items() if v is not None}

    return deal_json(update_deal(deal_id, apply))


@route(
    bp,
    "/deals",
    permission="deals:read",
    query="DealSearch",
    errors=(400,),
    answer="DealSearchPage",
)
def deals_search(call: Call) -> Any:
    """List deals in a pipeline stage, or a contact's deals.

    `pipeline` and `stage`: soonest close date first, unknown close dates last.
    `contact_id`: newest first. Paged with `limit` and the `next` cursor of the previous
    page. A sales_rep sees only their own deals.
    """
    from functions.store import records

    q = call.query
    if q.contact_id is not None:
        cursor = decode_cursor(
            q.cursor, {"deal_id": None, "contact_id": q.contact_id, "created_at": None}
        )
        result = records.deals_of_contact(q.contact_id, q.limit, cursor)
        applied = {"contact_id": q.contact_id}
    else:
        cursor = decode_cursor(
            q.cursor,
            {"deal_id": None, "pipeline_stage": f"{q.pipeline}#{q.stage}", "close_date": None},
        )
        result = records.deals_by_stage(q.pipeline, q.stage, q.limit, cursor)
        applied = {"pipeline": q.pipeline, "stage": q.stage}
    found = list(result)
    if call.principal.own_records_only:
        found = [d for d in found if d.owner_id == call.principal.user_id]
    return {
        "filter": applied,
        "deals": [deal_json(d) for d in found],
        "next": encode_cursor(result.last_evaluated_key),
    }


# --- helpers -----------------------------------------------------------------------------


def deal_json(deal: Any) -> dict[str, Any]:
    out = record_json(deal, leave_out=HIDDEN)
    if out.get("close_date") == UNKNOWN_CLOSE_DATE:
        out["close_date"] = None
    return out


def _readable(call: Call, permission: str, deal_id: str) -> Any:
    """The deal, if this key may use it (sales_rep: only its own)."""
    from functions.store.records import get_deal

    deal = get_deal(deal_id)
    call.require(permission, owner_id=deal.owner_id)
    return deal


def _stored(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields as the deals table keeps them: dates as ISO text, whole amounts as ints."""
    out = dict(fields)
    if out.get("close_date") is not None:
        out["close_date"] = out["close_date"].isoformat()
    amount = out.get("amount")
    if isinstance(amount, float) and amount.is_integer():
        out["amount"] = int(amount)
    return out


def _check_links(call: Call, fields: dict[str, Any]) -> None:
    """The contact and company a deal names exist (400 naming the field otherwise); a
    sales_rep links only contacts it owns."""
    from functions.store.contacts import get_contact
    from functions.store.records import get_company

    if fields.get("contact_id") is not None:
        try:
            contact = get_contact(fields["contact_id"])
        except ContactNotFound as exc:
            raise field_error("contact_id", str(exc)) from None
        call.require("contacts:read", owner_id=contact.owner_id)
    if fields.get("company_id") is not None:
        try:
            get_company(fields["company_id"])
        except RecordNotFound as exc:
            raise field_error("company_id", str(exc)) from None
