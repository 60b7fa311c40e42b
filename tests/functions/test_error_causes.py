"""A failed enrollment's error, as any key with read access sees it: the error's name and
a cause for people, never the Lambda runtime's stack trace or the server's file paths."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice import Chalice
from chalice.test import Client

from functions.enrollments import enroll, public_error
from functions.publish import publish
from functions.store.contacts import create_contact
from functions.store.models import Enrollment
from infra.local.control import PREFIX, add_local_routes
from tests.functions.api_support import Api
from tests.functions.test_enrollments import contact, hand_over, settled

# What Step Functions records as the Cause of a failed Lambda task: the runtime's error
# document (awslambdaric's make_error), as the in-process bridge also builds it.
TRACE = [
    '  File "/var/task/functions/steps/__init__.py", line 38, in run\n'
    '    return import_module(f"functions.steps.{handler}").handle(step)\n',
    '  File "/var/task/functions/steps/send_email.py", line 91, in handle\n'
    "    address = contact['email']\n",
]


def lambda_cause(message: str, error_type: str) -> str:
    return json.dumps(
        {"errorMessage": message, "errorType": error_type, "requestId": "r-1", "stackTrace": TRACE}
    )


def leaks(document: Any) -> list[str]:
    """What of a server's insides the document shows."""
    text = json.dumps(document)
    return [s for s in ("stackTrace", 'File \\"', ".py", "/var/task", "line 38") if s in text]


def stored_failure(error: dict[str, Any], enrollment_id: str = "enr_old") -> Enrollment:
    """An enrollment that failed before errors were cleaned on the way in (as stored then)."""
    sara = create_contact({"email": "sara@example.com"})
    record = Enrollment(
        enrollment_id,
        flow_id="welcome",
        flow_version=1,
        contact_id=sara.contact_id,
        status="failed",
        entered_at=datetime(2026, 12, 1, tzinfo=UTC),
        left_at=datetime(2026, 12, 1, 0, 1, tzinfo=UTC),
        left_node="send",
        error=error,
    )
    record.save()
    return record


# --- a real failure, end to end -------------------------------------------------------------


@pytest.fixture
def api(engine) -> Api:
    return Api()


def test_a_failed_enrollment_shows_name_and_message_only(api) -> None:
    publish(hand_over())  # its enroll_in_flow step names a flow that was never published
    sara = contact()
    run = enroll("hand-over", sara)
    record = settled(run.enrollment_id)
    assert record.status == "failed"
    expected = {"Error": "Crm.FlowNotFound", "Cause": "no flow has id 'nurture'"}
    assert record.error == expected  # cleaned on the way in: the store holds no trace
    key = api.key("read_only")

    listed = api.get(f"/contacts/{sara}/enrollments", key)
    assert listed.status == 200
    [shown] = listed.body["enrollments"]
    assert (shown["status"], shown["error"]) == ("failed", expected)
    one = api.get(f"/enrollments/{run.enrollment_id}", key)
    assert one.status == 200 and one.body["enrollment"]["error"] == expected
    assert leaks(listed.body) == [] and leaks(one.body) == []


# --- enrollments stored with the runtime's whole error document -----------------------------


@pytest.fixture
def reader(store) -> tuple[Api, str]:
    api = Api()
    return api, api.key("read_only")


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (
            {
                "Error": "Crm.ContactNotFound",
                "Cause": lambda_cause("no contact c_9", "Crm.ContactNotFound"),
            },
            {"Error": "Crm.ContactNotFound", "Cause": "no contact c_9"},
        ),
        (  # not one of ours: its message may quote the server's files, those go
            {
                "Error": "FileNotFoundError",
                "Cause": lambda_cause(
                    "[Errno 2] No such file or directory: '/var/task/functions/data/x.json'",
                    "FileNotFoundError",
                ),
            },
            {"Error": "FileNotFoundError", "Cause": "[Errno 2] No such file or directory: '…'"},
        ),
        (  # a cause that is a traceback in plain text
            {
                "Error": "States.TaskFailed",
                "Cause": "boom\nTraceback (most recent call last):\n" + "".join(TRACE),
            },
            {"Error": "States.TaskFailed", "Cause": "boom"},
        ),
        (  # Step Functions' own causes are kept, URLs in them too
            {
                "Error": "States.Timeout",
                "Cause": "see https://docs.aws.amazon.com/step-functions/x",
            },
            {
                "Error": "States.Timeout",
                "Cause": "see https://docs.aws.amazon.com/step-functions/x",
            },
        ),
        ({"Error": "States.Timeout"}, {"Error": "States.Timeout", "Cause": ""}),
    ],
    ids=["ours", "python", "plain-trace", "states", "no-cause"],
)
def test_stored_causes_are_cleaned_on_the_way_out(reader, error, shown) -> None:
    api, key = reader
    record = stored_failure(error)
    listed = api.get(f"/contacts/{record.contact_id}/enrollments", key)
    one = api.get(f"/enrollments/{record.enrollment_id}", key)
    assert listed.body["enrollments"][0]["error"] == shown
    assert one.body["enrollment"]["error"] == shown
    assert leaks(listed.body) == [] and leaks(one.body) == []


def test_the_local_watch_route_shows_no_trace_either(store) -> None:
    record = stored_failure(
        {"Error": "KeyError", "Cause": lambda_cause("'email'", "KeyError")}, "enr_local"
    )
    app = Chalice("local-routes")
    add_local_routes(app)
    with Client(app) as client:
        answer = client.http.get(f"{PREFIX}/enrollments/{record.enrollment_id}")
    body = json.loads(answer.body)
    assert answer.status_code == 200
    assert body["error"] == {"Error": "KeyError", "Cause": "'email'"}
    assert leaks(body) == []


def test_public_error_keeps_causes_short_and_takes_odd_values() -> None:
    long = public_error({"Error": "Crm.TemplateError", "Cause": "x" * 5000})
    assert long == {"Error": "Crm.TemplateError", "Cause": "x" * 1000}
    assert public_error(None) is None
    assert public_error({"Error": "Crm.Conflict", "Cause": None}) == {
        "Error": "Crm.Conflict",
        "Cause": "",
    }
