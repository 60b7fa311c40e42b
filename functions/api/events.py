"""Events over HTTP: `POST /events` from integrations, and the links in sent emails — the
open pixel, tracked clicks and unsubscribing — which carry signed tokens instead of keys."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from functions.api.routing import Call, route

bp = Blueprint(__name__)
NO_STORE = {"Cache-Control": "no-store"}


@route(
    bp,
    "/events",
    method="POST",
    permission="events:write",
    body="NewEvent",
    errors=(400, 404, 413, 503),
    answer="EventOutcome",
)
def events_record(call: Call) -> Any:
    """Record what a contact did: resumes its waits, starts flows, checks goals.

    The answer lists the enrollments the event resumed, started, and ended by goal.
    """
    from functions.triggers.events import record_event

    body = call.body
    return record_event(
        body.event,
        contact_id=body.contact_id,
        email=body.email,
        name=body.name,
        data=body.data,
        event_id=body.event_id,
    ).as_dict()


@route(
    bp,
    "/t/o/{token}",
    permission="a signed token from a sent email",
    public=True,
    answer_types=("image/gif",),
    also=(204,),
)
def track_open(call: Call, token: str) -> Response:
    """The open pixel of a sent email: records the open, answers a 1x1 GIF.

    A request whose Accept header takes no image gets 204 (the open is still recorded).
    """
    from functions.triggers.tracking import PIXEL, opened

    opened(token)  # a forged token records nothing, and still gets the pixel
    accept = (call.headers.get("accept") or "").lower()
    if "image/gif" not in accept and "*/*" not in accept and "image/*" not in accept:
        # Binary answers need a matching Accept header (API Gateway, Chalice): a client
        # that sends none gets no body rather than an error. Mail clients send image/*.
        return Response(body="", status_code=204, headers=NO_STORE)
    return Response(body=PIXEL, status_code=200, headers={"Content-Type": "image/gif", **NO_STORE})


@route(
    bp,
    "/t/c/{token}",
    permission="a signed token from a sent email",
    status=302,
    errors=(404,),
    public=True,
)
def track_click(call: Call, token: str) -> Response:
    """A tracked link of a sent email: records the click, redirects to the link."""
    from functions.triggers.tracking import clicked

    target = clicked(token)
    if target is None:
        return Response(
            body={"error": {"code": "NotFound", "message": "this link is not valid"}},
            status_code=404,
            headers={"Content-Type": "application/json"},
        )
    return Response(body="", status_code=302, headers={"Location": target, **NO_STORE})


@route(
    bp,
    "/u/{token}",
    permission="a signed unsubscribe token",
    errors=(404,),
    public=True,
    answer_types=("text/html",),
)
def unsubscribe_ask(call: Call, token: str) -> Response:
    """The unsubscribe page: asks to confirm, in the contact's language."""
    from functions.triggers.tracking import unsubscribe_page

    return _page(*unsubscribe_page(token, confirmed=False))


@route(
    bp,
    "/u/{token}",
    method="POST",
    permission="a signed unsubscribe token",
    content_type="application/x-www-form-urlencoded",
    errors=(404,),
    public=True,
    answer_types=("text/html",),
)
def unsubscribe_confirm(call: Call, token: str) -> Response:
    """Unsubscribe (the page's button, or a mail client's RFC 8058 one-click POST)."""
    from functions.triggers.tracking import unsubscribe_page

    return _page(*unsubscribe_page(token, confirmed=True))


def _page(status: int, html: str) -> Response:
    return Response(
        body=html,
        status_code=status,
        headers={"Content-Type": "text/html; charset=utf-8", **NO_STORE},
    )
