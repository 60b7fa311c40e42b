"""Per-node counts on moto's interpreter: paths stored when contacts leave, and where the
contacts still in the flow are now."""

from __future__ import annotations

from functions import waits
from functions.analytics import flow_counts
from functions.enrollments import enroll, unenroll
from functions.publish import publish
from functions.store.contacts import create_contact
from functions.store.models import Enrollment
from tests.functions.test_enrollments import settled, tagging, waiting, waiting_in


def counted(enrollment_id: str, timeout: float = 20.0) -> Enrollment:
    """The enrollment once it has left and its path is counted (just after its status)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        record = settled(enrollment_id, timeout)
        if record.path is not None or time.monotonic() > deadline:
            return record
        time.sleep(0.02)


def test_counts_follow_contacts_through_the_flow(engine) -> None:
    publish(waiting("nurture"))
    ids = [create_contact({"email": f"c{i}@example.com"}).contact_id for i in range(3)]
    runs = [enroll("nurture", contact_id) for contact_id in ids]
    for contact_id in ids:
        waiting_in(contact_id)

    counts = flow_counts("nurture")
    assert (counts.active, counts.live_counted) == (3, 3)
    assert (counts.nodes["wait_click"].entered, counts.nodes["wait_click"].waiting) == (3, 3)

    waits.resume(ids[0], "email_clicked")
    assert counted(runs[0].enrollment_id).status == "completed"
    unenroll("nurture", ids[1])

    counts = flow_counts("nurture").as_dict()
    assert counts["active"] == 1 and counts["complete"] is True
    assert counts["nodes"]["wait_click"] == {
        "entered": 3,
        "waiting": 1,
        "goal": 0,
        "failed": 0,
        "unenrolled": 1,
        "finished": 0,
    }
    assert counts["nodes"]["clicked"] == {
        "entered": 1,
        "waiting": 0,
        "goal": 0,
        "failed": 0,
        "unenrolled": 0,
        "finished": 1,
    }
    path = Enrollment.get(runs[0].enrollment_id).path
    assert [visit["node"] for visit in path] == ["wait_click", "clicked"]


def test_versions_are_counted_apart_and_failures_where_they_happened(engine) -> None:
    publish(tagging("welcome", "v1"))
    doc = tagging("welcome", "v2")
    doc["nodes"].insert(
        0, {"id": "to_missing", "kind": "enroll_in_flow", "params": {"flow_id": "missing"}}
    )
    doc["edges"] = [
        {"from": "start", "to": "to_missing"},
        {"from": "to_missing", "to": "tag"},
        {"from": "tag", "to": "done"},
    ]
    first = enroll("welcome", create_contact({"email": "a@example.com"}).contact_id)
    counted(first.enrollment_id)
    publish(doc)
    second = enroll("welcome", create_contact({"email": "b@example.com"}).contact_id)
    assert counted(second.enrollment_id).status == "failed"

    v1, v2 = flow_counts("welcome", version=1), flow_counts("welcome", version=2)
    assert v1.nodes["done"].finished == 1 and "to_missing" not in v1.nodes
    assert (v2.nodes["to_missing"].entered, v2.nodes["to_missing"].failed) == (1, 1)
    assert "tag" not in v2.nodes
    assert flow_counts("welcome").nodes["tag"].entered == 1


def test_a_departure_counted_after_its_enrollment_was_erased_leaves_no_ghost_row(store) -> None:
    from functions.analytics import record_departure

    gone = Enrollment(
        "enr_erased", flow_id="welcome", flow_version="1", contact_id="c_1", status="ended"
    )
    record_departure(gone, "ended")  # the row was deleted with its contact meanwhile
    assert list(Enrollment.scan()) == []
