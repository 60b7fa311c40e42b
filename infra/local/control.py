"""Two routes the local stack adds to the Chalice app it serves, and only there: start a
flow for a contact by email, and watch that enrollment. They need no API key, so `make run`
can print one curl command that starts a flow on a fresh machine; the stack listens on
127.0.0.1 only. Deployed APIs never have them (functions/app.py does not know them).

    POST /local/flows/{flow_id}/enroll   {"email": "...", "trigger": {...}, "contact": {...}}
    GET  /local/enrollments/{enrollment_id}
"""

from __future__ import annotations

import json
from typing import Any

PREFIX = "/local"


def add_local_routes(app: Any) -> None:
    """Register the local routes on `app` (before its local server is created)."""
    from chalice import BadRequestError, NotFoundError, Response

    @app.route(PREFIX + "/flows/{flow_id}/enroll", methods=["POST"], name="local_enroll")
    def local_enroll(flow_id: str) -> Response:
        from functions.enrollments import enroll
        from functions.errors import CrmError
        from functions.store.contacts import create_contact, find_by_email

        body = app.current_request.json_body or {}
        if not isinstance(body, dict) or not isinstance(body.get("email"), str):
            raise BadRequestError('send {"email": "...", "trigger": {...}} (trigger optional)')
        trigger = body.get("trigger") or {}
        if not isinstance(trigger, dict):
            raise BadRequestError("trigger: must be a JSON object")
        try:
            contact = find_by_email(body["email"])
            created = contact is None
            if contact is None:
                fields = body.get("contact") or {}
                contact = create_contact({"email_consent": True, **fields, "email": body["email"]})
            answer = enroll(flow_id, contact.contact_id, trigger=trigger, source={"kind": "local"})
        except CrmError as exc:
            name = type(exc).__name__  # Crm.FlowNotFound, Crm.ContactNotFound, …
            error = NotFoundError if name.endswith("NotFound") else BadRequestError
            raise error(f"{name}: {exc}") from None
        except (TypeError, ValueError, AttributeError) as exc:  # contact fields of a wrong type
            raise BadRequestError(f"contact: {exc}") from None
        document = {
            **answer.as_dict(),
            "contact_id": contact.contact_id,
            "contact_created": created,
            "watch": f"{PREFIX}/enrollments/{answer.enrollment_id}",
        }
        return _json(document, 202 if answer.enrolled else 200)

    @app.route(PREFIX + "/enrollments/{enrollment_id}", methods=["GET"], name="local_enrollment")
    def local_enrollment(enrollment_id: str) -> Response:
        from functions.enrollments import public_error
        from functions.store.models import Enrollment

        try:
            enrollment = Enrollment.get(enrollment_id, consistent_read=True)
        except Enrollment.DoesNotExist:
            raise NotFoundError(f"no enrollment has id '{enrollment_id}'") from None
        document = {
            "enrollment_id": enrollment_id,
            "flow_id": enrollment.flow_id,
            "flow_version": int(enrollment.flow_version),
            "contact_id": enrollment.contact_id,
            "status": enrollment.status,
            "entered_at": enrollment.entered_at.isoformat(),
            "left_at": enrollment.left_at.isoformat() if enrollment.left_at else None,
            "left_node": enrollment.left_node,
            "error": public_error(enrollment.error),  # no stack trace, no server paths
            "steps": _steps(enrollment.execution_arn),
        }
        return _json(document, 200)


def _steps(execution_arn: str | None) -> list[str]:
    """The flow's nodes the execution entered so far (compiled helper states left out)."""
    if not execution_arn:
        return []
    from functions import aws

    sfn = aws.client("stepfunctions")
    try:
        pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        events = [event for page in pages for event in page["events"]]
    except sfn.exceptions.ExecutionDoesNotExist:
        return []  # from before a restart: the enrollment's status says how it ended
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in events
        if event["type"].endswith("StateEntered")
        and "." not in event["stateEnteredEventDetails"]["name"]
    ]


def _json(document: dict[str, Any], status: int) -> Any:
    from chalice import Response

    return Response(
        body=json.dumps(document, ensure_ascii=False, default=str),
        status_code=status,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
