"""Enrollments over HTTP: one contact's run through a flow, with the path it took.

Service modules are imported inside the views: every Lambda of the app imports this
module at cold start, and only API calls need them.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from functions.api.routing import Call, route

bp = Blueprint(__name__)


@route(
    bp,
    "/enrollments/{enrollment_id}",
    permission="enrollments:read",
    errors=(404,),
    answer="EnrollmentPath",
)
def enrollments_show(call: Call, enrollment_id: str) -> Any:
    """Read an enrollment and the path its contact took through the flow.

    `path` lists each node entered, with when it was entered and left (`left_at` null
    while the contact is still there), read from the execution's history in Step
    Functions. It is null, with `path_error` saying why, when the history is gone
    (Step Functions keeps it 90 days after the run ends) or the run never started.
    """
    from botocore.exceptions import ClientError

    from functions.catalog import get_enrollment
    from functions.enrollments import enrollment_json
    from functions.history import path_taken
    from functions.store.contacts import get_contact

    enrollment = get_enrollment(enrollment_id)
    if call.principal.own_records_only:
        owner = get_contact(enrollment.contact_id).owner_id
        call.require("enrollments:read", owner_id=owner)
    answer: dict[str, Any] = {"enrollment": enrollment_json(enrollment), "path": None}
    if not enrollment.execution_arn:
        answer["path_error"] = f"the run has not started (status {enrollment.status})"
        return answer
    try:
        answer["path"] = [v.as_dict() for v in path_taken(enrollment.execution_arn)]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ExecutionDoesNotExist":
            raise
        answer["path_error"] = "Step Functions no longer has this run's history"
    return answer
