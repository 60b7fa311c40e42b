"""Edits of a flow document (editor/document.py): adding and inserting steps, and labels
that follow the settings until the user types one."""

from __future__ import annotations

import copy

import pytest

from editor import document as doc
from flows.email_blocks import STARTER, blocks_to_html, html_to_blocks
from flows.validate import validate


def template(name: str) -> dict:
    return copy.deepcopy(next(t for t in doc.templates() if t["id"] == name))


def edges(document: dict) -> set[tuple[str, str, str]]:
    return {(e["from"], e.get("output", "next"), e["to"]) for e in document["edges"]}


def error_lines(document: dict) -> set[str]:
    return {f"{i['path']}: {i['message']}" for i in validate(document).to_dict()["errors"]}


def assert_no_overlap(document: dict) -> None:
    specs = doc.all_nodes(document)
    for i, a in enumerate(specs):
        for b in specs[i + 1 :]:
            assert not doc._overlap(a["position"], b["position"]), (a["id"], b["id"])


@pytest.mark.parametrize("name", [t["id"] for t in doc.templates()])
def test_templates_start_without_overlapping_cards(name):
    assert_no_overlap(template(name))


# --- Task B: adding after a step, inserting on an edge ---------------------------------


def test_add_after_a_step_inserts_on_its_main_output_not_its_error_output():
    # The reported bug: with lesson_1 selected (its 'next' leads to wait_1, its 'error'
    # is free), "Add after" used the free error output, left the new step's next
    # unconnected and put it on top of wait_1.
    document = template("drip-campaign")
    before = error_lines(document)
    wait_1_y = doc.node(document, "wait_1")["position"]["y"]
    lesson_1 = dict(doc.node(document, "lesson_1")["position"])

    new = doc.add_node(document, "update_record", after="lesson_1")

    assert ("lesson_1", "next", new) in edges(document)
    assert (new, "next", "wait_1") in edges(document)
    assert ("lesson_1", "next", "wait_1") not in edges(document)
    assert not any(e["output"] == "error" for e in document["edges"] if e["from"] == "lesson_1")
    spec = doc.node(document, new)
    assert spec["position"] == {"x": lesson_1["x"], "y": wait_1_y}
    assert doc.node(document, "wait_1")["position"]["y"] == wait_1_y + doc.ROW
    assert doc.node(document, "done")["position"]["y"] > spec["position"]["y"]
    assert_no_overlap(document)
    # the new step's own params are empty (its form asks for them): nothing else breaks
    new_errors = error_lines(document) - before
    assert new_errors and all(f"nodes[{len(document['nodes']) - 1}]" in e for e in new_errors)


def test_an_insert_of_a_complete_step_adds_no_validation_error():
    document = template("drip-campaign")
    before = error_lines(document)
    new = doc.add_node(document, "wait", after="lesson_1")
    doc.set_params(document, new, {"duration": {"amount": 1, "unit": "days"}})
    assert error_lines(document) == before


def test_add_after_the_last_step_appends_below_it():
    document = doc.blank("f", "F")
    first = doc.add_node(document, "wait", after="start")
    second = doc.add_node(document, "send_sms", after=first)
    assert edges(document) == {("start", "next", first), (first, "next", second)}
    assert doc.node(document, second)["position"]["y"] == doc.ROW * 2
    assert_no_overlap(document)


def test_add_after_a_branch_takes_its_first_free_path_beside_the_other():
    document = doc.blank("f", "F")
    branch = doc.add_node(document, "branch", after="start")
    yes = doc.add_node(document, "wait", after=branch)
    no = doc.add_node(document, "end", after=branch)
    assert {(branch, "yes", yes), (branch, "no", no)} <= edges(document)
    assert_no_overlap(document)


def test_add_after_a_branch_with_both_paths_used_inserts_on_the_first():
    document = template("drip-campaign")
    new = doc.add_node(document, "wait", after="consent")
    assert {
        ("consent", "yes", new),
        (new, "next", "lesson_1"),
        ("consent", "no", "not_subscribed"),
    } <= edges(document)
    assert_no_overlap(document)


def test_add_after_an_end_is_placed_below_unconnected():
    document = template("drip-campaign")
    new = doc.add_node(document, "wait", after="done")
    assert not [e for e in document["edges"] if new in (e["from"], e["to"])]
    assert_no_overlap(document)


def test_insert_between_rewires_an_edge_and_shifts_what_is_below():
    document = template("drip-campaign")
    before = error_lines(document)
    below = {
        n["id"]: n["position"]["y"]
        for n in doc.all_nodes(document)
        if n["id"] in ("mark_ready", "alert_sales", "demo_task", "sales_ready", "done")
    }
    new = doc.insert_between(document, "wait", "wait_click", "happened", "mark_ready")
    doc.set_params(document, new, {"duration": {"amount": 1, "unit": "hours"}})
    assert ("wait_click", "happened", new) in edges(document)
    assert (new, "next", "mark_ready") in edges(document)
    assert ("wait_click", "happened", "mark_ready") not in edges(document)
    for node_id, y in below.items():
        assert doc.node(document, node_id)["position"]["y"] == y + doc.ROW, node_id
    # the timed-out side (not downstream of mark_ready except through 'done') stays put
    assert doc.node(document, "final_wait")["position"]["y"] == 1800
    assert_no_overlap(document)
    assert error_lines(document) == before


def test_insert_a_branch_continues_through_its_first_output():
    document = template("drip-campaign")
    new = doc.insert_between(document, "branch", "lesson_1", "next", "wait_1")
    assert (new, "yes", "wait_1") in edges(document)


def test_insert_between_an_edge_that_does_not_exist_is_refused():
    document = template("drip-campaign")
    with pytest.raises(ValueError):
        doc.insert_between(document, "wait", "lesson_1", "next", "nope")


def test_drop_node_goes_where_dropped_unless_taken():
    document = template("drip-campaign")
    free = doc.drop_node(document, "wait", {"x": -500, "y": 300})
    assert doc.node(document, free)["position"] == {"x": -500, "y": 300}
    taken = doc.drop_node(document, "wait", {"x": 600, "y": 300})  # lesson_1 is there
    assert doc.node(document, taken)["position"] != {"x": 600, "y": 300}
    assert_no_overlap(document)


def test_drop_node_after_a_step_wires_it_in():
    document = template("drip-campaign")
    new = doc.drop_node(document, "wait", {"x": -500, "y": 300}, after="lesson_1")
    assert {("lesson_1", "next", new), (new, "next", "wait_1")} <= edges(document)


def test_a_step_dropped_onto_a_card_goes_under_it_not_beside_it():
    document = doc.blank("f", "F")
    start = document["trigger"]["position"]
    # Dropped onto the trigger's card: that spot is taken (by the trigger itself).
    new = doc.drop_node(document, "wait", {"x": start["x"] + 10, "y": start["y"] + 20}, "start")
    assert doc.node(document, new)["position"] == {"x": start["x"], "y": start["y"] + doc.ROW}
    assert ("start", "next", new) in edges(document)


def test_triggers_cannot_be_added():
    with pytest.raises(ValueError):
        doc.add_node(doc.blank("f", "F"), "webhook")


# --- Task A: labels follow the settings --------------------------------------------------


def test_new_nodes_carry_no_label_and_show_their_summary():
    document = doc.blank("f", "F")
    new = doc.add_node(document, "wait", after="start")
    spec = doc.node(document, new)
    assert "label" not in spec
    assert doc.display_label(spec, document) == "Wait"  # no duration yet: the display name
    doc.set_params(document, new, {"duration": {"amount": 3, "unit": "days"}})
    assert doc.display_label(spec, document) == "Wait 3 days"
    doc.set_params(document, new, {"duration": {"amount": 2, "unit": "days"}})
    assert doc.display_label(spec, document) == "Wait 2 days"


def test_a_typed_label_stays_when_the_settings_change():
    document = doc.blank("f", "F")
    new = doc.add_node(document, "wait", after="start")
    doc.set_label(document, new, "  Cooling-off period ")
    doc.set_params(document, new, {"duration": {"amount": 2, "unit": "days"}})
    assert doc.display_label(doc.node(document, new), document) == "Cooling-off period"
    doc.set_label(document, new, "")  # clearing the label hands it back to the settings
    assert doc.display_label(doc.node(document, new), document) == "Wait 2 days"


def test_a_label_equal_to_the_display_name_or_auto_label_is_not_the_users():
    document = doc.blank("f", "F")
    new = doc.add_node(document, "wait", after="start")
    doc.set_params(document, new, {"duration": {"amount": 3, "unit": "days"}})
    doc.set_label(document, new, "Wait 3 days")
    assert "label" not in doc.node(document, new)
    spec = doc.node(document, new)
    spec["label"] = "Wait"  # what older editors wrote into new nodes
    assert not doc.is_user_label(spec, document)
    assert doc.display_label(spec, document) == "Wait 3 days"


def test_template_labels_count_as_typed():
    document = template("drip-campaign")
    spec = doc.node(document, "lesson_1")
    assert doc.display_label(spec, document) == "Lesson 1: where follow-ups slip"
    # the template's "Wait 3 days" is the auto label of its settings: it follows them
    doc.set_params(document, "wait_1", {"duration": {"amount": 2, "unit": "days"}})
    assert doc.display_label(doc.node(document, "wait_1"), document) == "Wait 2 days"


def test_summaries_name_other_steps_by_their_display_label():
    document = template("email-campaign")
    spec = next(
        n
        for n in document["nodes"]
        if n["kind"] == "wait_for_event" and n["params"].get("email_node")
    )
    spec.pop("label")
    email = doc.node(document, spec["params"]["email_node"])
    assert f"'{email['label']}'" in doc.display_label(spec, document)
    labels = doc.display_labels(document)
    assert labels[spec["id"]] == doc.display_label(spec, document)


def test_copy_of_an_unnamed_node_stays_unnamed():
    document = doc.blank("f", "F")
    new = doc.add_node(document, "wait", after="start")
    twin = doc.copy_node(document, new)
    assert "label" not in doc.node(document, twin)


# --- starting params and next steps: what a new step starts with where it is placed -------


def _welcome(document: dict) -> str:
    email = doc.add_node(document, "send_email", after="start")
    doc.node(document, email)["params"].update(
        subject="Welcome", from_email="Acme <hello@acme.example>"
    )
    return email


def test_a_new_email_starts_with_a_greeting_in_blocks_and_no_sender_to_guess():
    document = doc.blank("f", "F")
    email = doc.add_node(document, "send_email", after="start")
    params = doc.node(document, email)["params"]
    assert html_to_blocks(params["body"]) == list(STARTER)
    assert "from_email" not in params and "subject" not in params
    # What is still missing is what the marketer is asked for, by name.
    missing = {i["path"].rsplit(".", 1)[-1] for i in validate(document).to_dict()["errors"]}
    assert {"subject", "from_email"} <= missing and "body" not in missing


def test_a_later_email_takes_the_sender_of_the_flow_s_email_before_it():
    document = doc.blank("f", "F")
    first = _welcome(document)
    second = doc.add_node(document, "send_email", after=first)
    assert doc.node(document, second)["params"]["from_email"] == "Acme <hello@acme.example>"
    # Dropped unconnected, it still takes the flow's sender.
    loose = doc.drop_node(document, "send_email", {"x": 900, "y": 900})
    assert doc.node(document, loose)["params"]["from_email"] == "Acme <hello@acme.example>"


def test_a_wait_for_event_below_an_email_waits_two_days_for_its_open():
    document = doc.blank("f", "F")
    email = _welcome(document)
    tag = doc.add_node(document, "update_record", after=email)
    wait = doc.add_node(document, "wait_for_event", after=tag)  # the email is two up
    assert doc.node(document, wait)["params"] == {
        "event": "email_opened",
        "email_node": email,
        "timeout": {"amount": 2, "unit": "days"},
    }
    blank = doc.blank("g", "G")
    lone = doc.add_node(blank, "wait_for_event", after="start")
    assert doc.node(blank, lone)["params"] == {}  # no email above: nothing guessed


def test_next_steps_build_an_engagement_branch_in_three_clicks():
    document = doc.blank("f", "F")
    email = _welcome(document)
    [wait_step] = doc.next_steps(document, email)
    assert wait_step.label == "Wait for an open of this email"
    wait = doc.add_next_step(document, email, wait_step)
    assert (email, "next", wait) in edges(document)
    assert doc.next_steps(document, email) == []  # already waited on
    offered = {s.output: s for s in doc.next_steps(document, wait)}
    assert set(offered) == {"happened", "timed_out"}
    resend = doc.add_next_step(document, wait, offered["timed_out"])
    resent = doc.node(document, resend)["params"]
    original = doc.node(document, email)["params"]
    assert resent == {k: v for k, v in original.items() if k != "subject"}
    tips = doc.add_next_step(document, wait, offered["happened"])
    assert {(wait, "timed_out", resend), (wait, "happened", tips)} <= edges(document)
    assert doc.next_steps(document, wait) == []
    # Opened goes left, not opened right: side by side under the wait, apart.
    assert doc.node(document, tips)["position"]["x"] < doc.node(document, resend)["position"]["x"]
    assert_no_overlap(document)
    # What is left to write is the two subjects (and the tips' words): nothing else.
    missing = {(i["node_id"], i["path"].rsplit(".", 1)[-1]) for i in validate(document).to_dict()["errors"]}
    assert missing == {(resend, "subject"), (tips, "subject")}


def test_a_step_that_is_not_valid_yet_offers_no_next_steps():
    document = doc.blank("f", "F")
    email = doc.add_node(document, "send_email", after="start")  # no subject yet
    assert doc.next_steps(document, email) == []


def test_a_new_email_greets_in_the_language_the_flow_is_written_in():
    persian = doc.blank("f", "خوش‌آمدگویی مشتریان")
    email = doc.add_node(persian, "send_email", after="start")
    [greeting] = html_to_blocks(doc.node(persian, email)["params"]["body"])
    assert greeting["text"].startswith("سلام {{ contact.first_name | default('دوست عزیز', true) }}")
    # An English flow name, but the email before it is Arabic (in blocks HTML, whose
    # markup is Latin letters that must not count): the next email greets in Arabic.
    arabic = doc.blank("g", "Renewals")
    first = doc.add_node(arabic, "send_email", after="start")
    doc.node(arabic, first)["params"].update(
        subject="تجديد اشتراكك", body=blocks_to_html([{"type": "paragraph", "text": "شكرا لك"}])
    )
    second = doc.add_node(arabic, "send_email", after=first)
    [greeting] = html_to_blocks(doc.node(arabic, second)["params"]["body"])
    assert greeting["text"].startswith("مرحبًا")
