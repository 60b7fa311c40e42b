"""Each page's logic in streamlit's AppTest, against the live API (conftest.live_api)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from functions.publish import publish
from tests.editor.conftest import PAGES, page

TEMPLATES = Path(__file__).resolve().parents[2] / "flows" / "templates"


def template(flow_id: str) -> dict:
    return json.loads((TEMPLATES / f"{flow_id}.flow.json").read_text(encoding="utf-8"))


def canvas_model(at: AppTest) -> dict:
    """What the designer sent the canvas component (editor/flow_canvas): its model."""
    [component] = at.get("bidi_component")
    return json.loads(component.proto.json)["model"]


def canvas_event(at: AppTest, **event: object) -> AppTest:
    """Do on the canvas what a marketer's browser reports: one event, newer than the last."""
    at.session_state["flow_canvas"] = {"event": {"seq": time.time_ns(), **event}}
    return at.run()


@pytest.mark.usefixtures("live_api")
def test_the_flows_page_lists_flows_and_opens_one_in_the_designer() -> None:
    publish(template("drip-campaign"), by="tests")
    at = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=60).run()
    assert not at.exception
    [table] = at.dataframe
    assert "drip-campaign" in table.value["id"].tolist()
    at.button(key="open_flow").click().run()
    assert not at.exception
    assert at.session_state.doc["id"] == "drip-campaign"
    assert at.session_state.doc_status == "published"
    drawn = canvas_model(at)
    assert {n["id"] for n in drawn["nodes"]} >= {"consent", "lesson_1", "wait_click"}


def designer(document: dict, **state: object) -> AppTest:
    """The designer with `document` open, as the flows page leaves it."""
    at = page("designer")
    at.session_state.doc = document
    at.session_state.undo, at.session_state.redo = [], []
    at.session_state.doc_status = "draft"
    for name, value in state.items():
        at.session_state[name] = value
    return at.run()


def drawn_node(at: AppTest, node_id: str) -> dict:
    return next(n for n in canvas_model(at)["nodes"] if n["id"] == node_id)


@pytest.mark.usefixtures("live_api")
def test_a_template_becomes_a_new_flow_under_its_own_name() -> None:
    at = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=60).run()
    at.text_input(key="new_name").input("Spring nurture").run()
    assert at.text_input(key="new_id").value == ""  # under Advanced: made from the name
    at.button(key="use-drip-campaign").click().run()
    assert not at.exception
    assert (at.session_state.doc["id"], at.session_state.doc["name"]) == (
        "spring-nurture",
        "Spring nurture",
    )
    assert len(at.session_state.doc["nodes"]) == len(template("drip-campaign")["nodes"])


@pytest.mark.usefixtures("live_api")
def test_the_canvas_shows_outputs_problems_and_takes_edits() -> None:
    document = template("drip-campaign")
    at = designer(document)
    assert not at.exception
    drawn = canvas_model(at)
    labels = {e["id"]: e["label"] for e in drawn["edges"]}
    assert labels["wait_click|happened|mark_ready"] == "Happened"
    assert labels["consent|yes|lesson_1"] == "Yes"
    lesson = drawn_node(at, "lesson_1")
    assert [(o["name"], o["error"]) for o in lesson["outputs"]] == [
        ("next", False),
        ("error", True),
    ]
    assert lesson["summary"].startswith("Email: [First name]")
    # The marketer deletes a step on the canvas, then clicks another: the document follows.
    canvas_event(at, type="delete_nodes", nodes=["tag_quiet"])
    canvas_event(at, type="select", node="final_wait")
    assert not at.exception
    assert "tag_quiet" not in {n["id"] for n in at.session_state.doc["nodes"]}
    assert at.session_state.selected == "final_wait"
    # The branch's 'No' now leads nowhere: a problem on its card and, in words, in Problems.
    assert drawn_node(at, "engaged")["problems"] == 1
    problems = [e.value for e in at.tabs[1].error]
    assert any("'Engaged with lessons 1–2?'" in text and "'No'" in text for text in problems), (
        problems
    )
    # Undo brings the step back, redo takes it away again.
    at.button(key="undo_button").click().run()
    assert "tag_quiet" in {n["id"] for n in at.session_state.doc["nodes"]}
    at.button(key="redo_button").click().run()
    assert "tag_quiet" not in {n["id"] for n in at.session_state.doc["nodes"]}


@pytest.mark.usefixtures("live_api")
def test_a_step_inserted_on_an_arrow_sits_between_its_neighbours() -> None:
    at = designer(template("drip-campaign"))
    canvas_event(
        at, type="insert", kind="send_sms", source="lesson_1", output="next", target="wait_1"
    )
    assert not at.exception
    new = at.session_state.selected
    edges = at.session_state.doc["edges"]
    assert {"from": "lesson_1", "to": new, "output": "next"} in edges
    assert {"from": new, "to": "wait_1", "output": "next"} in edges
    assert not any(e["from"] == "lesson_1" and e["output"] == "error" for e in edges)


@pytest.mark.usefixtures("live_api")
def test_the_node_form_is_drawn_from_the_kind_and_shows_field_errors() -> None:
    at = designer(template("drip-campaign"), selected="lesson_2")
    subject = at.text_input(key="param:lesson_2:subject")
    assert subject.value == "The five-minute rule for new leads"
    assert at.text_area(key="param:lesson_2:body:html").value.startswith("<p>")  # hand-written
    assert at.selectbox(key="param:lesson_2:purpose").value == "marketing"
    subject.input("Hi {{ contact.first_name }").run()
    errors = [e.value for e in at.tabs[0].error]
    assert any("template error" in e for e in errors), errors
    assert drawn_node(at, "lesson_2")["problems"] == 1
    publish_button = at.button(key="publish")
    assert publish_button.disabled
    at.text_input(key="param:lesson_2:subject").input(
        "{{ contact.first_name }}, reply in five minutes"
    ).run()
    assert not [e for e in at.tabs[0].error]
    assert (
        at.session_state.doc["nodes"][
            [n["id"] for n in at.session_state.doc["nodes"]].index("lesson_2")
        ]["params"]["subject"]
        == "{{ contact.first_name }}, reply in five minutes"
    )
    assert not at.button(key="publish").disabled


@pytest.mark.usefixtures("live_api")
def test_palette_adds_connected_steps_copies_deletes_and_lays_out() -> None:
    at = designer(template("lead-capture"), selected="review_task")
    at.selectbox(key="palette_kind").set_value("wait").run()
    at.button(key="add_node").click().run()
    document = at.session_state.doc
    assert at.session_state.selected == "wait"
    # review_task's 'next' led to done: the new step goes between them, never on 'On error'.
    assert {"from": "review_task", "to": "wait", "output": "next"} in document["edges"]
    assert {"from": "wait", "to": "done", "output": "next"} in document["edges"]
    assert not [e for e in document["edges"] if e.get("output") == "error"]
    at.button(key="copy_node").click().run()
    assert at.session_state.selected == "wait_2"
    at.button(key="delete_node").click().run()
    assert "wait_2" not in {n["id"] for n in at.session_state.doc["nodes"]}
    at.button(key="auto_layout").click().run()
    positions = {n["id"]: n["position"] for n in at.session_state.doc["nodes"]}
    assert positions["wait"]["y"] > positions["record_source"]["y"]


@pytest.mark.usefixtures("live_api")
def test_a_test_run_highlights_the_path_and_lists_the_emails() -> None:
    at = designer(template("drip-campaign"))
    at.tabs[2].text_input(key="test_first_name").input("سارا").run()
    at.button(key="run_test").click().run()
    assert not at.exception
    run = at.session_state.test_run
    assert run["status"] == "ended" and len(run["emails"]) == 4
    assert drawn_node(at, "lesson_1")["on_path"]
    assert not drawn_node(at, "mark_ready")["on_path"]
    path_edges = [e for e in canvas_model(at)["edges"] if e["on_path"]]
    assert {(e["source"], e["target"]) for e in path_edges} >= {("consent", "lesson_1")}
    subjects = [e.label for e in at.tabs[2].expander]
    assert any(s.startswith("✉️ \u2068سارا\u2069, where do your follow-ups") for s in subjects), (
        subjects
    )


@pytest.mark.usefixtures("live_api")
def test_save_publish_versions_and_diff() -> None:
    document = template("lead-capture")
    at = designer(document)
    at.text_input(key="version_note").input("first draft").run()
    at.button(key="save_draft").click().run()
    assert at.session_state.doc_version == 1
    at.session_state.selected = "confirm"
    at.run()
    at.text_input(key="param:confirm:subject").input("Thanks {{ contact.first_name }}!").run()
    assert at.text_input(key="version_note").value == ""  # each version's note starts empty
    at.text_input(key="version_note").input("warmer subject").run()
    at.button(key="publish").click().run()  # asks first, with what publishing does
    assert at.session_state.doc_status == "draft"
    said = [m.value for m in at.markdown]
    assert "- Nobody enters at once: contacts enter as they trigger it." in said
    assert "- No one is in the flow now." in said
    assert any(line.startswith("- Each contact gets") for line in said), said
    at.button(key="publish_confirmed").click().run()
    assert not at.exception
    assert (at.session_state.doc_version, at.session_state.doc_status) == (2, "published")
    assert at.text_input(key="version_note").value == ""
    versions = at.tabs[3].dataframe[0].value
    assert versions["version"].tolist() == [2, 1]
    assert versions["status"].tolist() == ["live", "draft"]
    assert versions["note"].tolist() == ["warmer subject", "first draft"]
    assert "key:" not in " ".join(versions["by"].tolist())  # people, not key ids
    diff = [m.value for m in at.tabs[3].markdown]
    assert any("changed **Confirm we received the request**: Subject" in d for d in diff), diff


@pytest.mark.usefixtures("live_api")
def test_preview_shows_the_state_machine_and_its_cost() -> None:
    at = designer(template("lead-capture"))
    assert '"StartAt"' in at.tabs[5].code[0].value  # behind "Details for developers"
    [metric] = at.tabs[5].metric
    assert metric.label == "Running it costs"
    assert metric.value.startswith("about $") and metric.value.endswith("per 1,000 contacts")
    [said] = [m.value for m in at.tabs[5].markdown if m.value.startswith("Each contact gets")]
    assert "state" not in said and "transition" not in said  # no engineer's words up front
    assert "state transitions" in at.tabs[5].expander[0].caption[0].value


@pytest.mark.usefixtures("live_api")
def test_contacts_page_searches_by_email_and_shows_the_timeline() -> None:
    at = page("contacts").run()
    at.selectbox(key="contact_filter").set_value("stage").run()
    at.text_input(key="contact_value").input("customer").run()
    assert not at.exception
    emails = at.dataframe[0].value["Email"].tolist()
    assert "layla.haddad@nakhl-trading.example" in emails
    at.selectbox(key="contact_pick").set_value(
        next(c for c in at.selectbox(key="contact_pick").options if "layla.haddad" in c)
    )
    at.run()
    assert not at.exception
    lines = [m.value for m in at.markdown]
    assert any(line.startswith("`20") for line in lines), lines  # dated timeline entries
    assert "**Flows**" in lines


@pytest.mark.usefixtures("live_api")
def test_drafts_are_duplicated_and_deleted_but_published_flows_are_kept() -> None:
    publish(template("lead-capture"), by="tests")
    at = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=60).run()
    at.selectbox(key="flow_pick").set_value("lead-capture").run()
    assert at.button(key="delete_flow").disabled  # published: it keeps its history
    at.button(key="duplicate_flow").click().run()
    copy = at.session_state.doc
    assert copy["name"] == f"{template('lead-capture')['name']} (copy)"
    at = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=60).run()
    at.selectbox(key="flow_pick").set_value(copy["id"]).run()
    assert not at.button(key="delete_flow").disabled
    at.button(key="delete_flow").click().run()
    assert not at.exception
    assert copy["id"] not in at.dataframe[0].value["id"].tolist()


@pytest.mark.usefixtures("live_api")
def test_an_email_preview_renders_the_real_email_for_a_contact() -> None:
    at = designer(template("drip-campaign"), selected="lesson_1")
    at.radio(key="preview:lesson_1:who").set_value("A stored contact").run()
    at.text_input(key="preview:lesson_1:email").input("sara.mohammadi@example.com").run()
    assert not at.exception
    subject = "**Subject:** \u2068سارا\u2069, where do your follow\\-ups slip through?"
    assert subject in [m.value for m in at.markdown]
    # The preview stays on screen when the page runs again for another reason.
    at.toggle(key="show_counts").set_value(True).run()
    assert subject in [m.value for m in at.markdown]


def test_the_outbox_shows_what_ses_accepted(tmp_path, monkeypatch) -> None:
    from functions import email as mail

    raw = mail.build_message(
        sender="Acme <hello@acme.example>",
        to=["reza@example.ir"],
        subject="سلام رضا",
        text="متن",
        html_body='<html dir="rtl"><body><p>سلام</p></body></html>',
    )
    (tmp_path / "0001.eml").write_bytes(raw)
    monkeypatch.setenv("CRMFLOW_OUTBOX", str(tmp_path))
    at = page("outbox").run()
    assert not at.exception
    assert [e.label for e in at.expander] == ["✉️ سلام رضا — to reza@example.ir"]
    monkeypatch.setenv("CRMFLOW_OUTBOX", str(tmp_path / "none"))
    at = page("outbox").run()
    assert "No email yet" in at.info[0].value


@pytest.mark.usefixtures("live_api")
def test_reports_page_charts_a_report_and_exports_it() -> None:
    from functions.reports.rebuild import rebuild

    rebuild()  # the demo data was seeded straight into the tables: count it
    at = page("reports").run()
    assert not at.exception
    at.selectbox(key="report_name").set_value("pipeline").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) > 0 and "stage" in table.columns
    assert at.get("download_button")
    at.selectbox(key="report_name").set_value("sources").run()
    at.radio(key="report_period").set_value("month").run()
    assert not at.exception


@pytest.mark.usefixtures("live_api")
def test_a_blank_flow_gets_its_trigger_chosen_and_trigger_data_in_its_test_run() -> None:
    from editor.document import blank

    at = designer(blank("vip-welcome", "VIP welcome"), selected="start")
    at.pills(key="trigger_kind:start").set_value("event").run()
    assert at.session_state.doc["trigger"]["kind"] == "event"
    at.selectbox(key="palette_kind").set_value("update_record").run()
    at.button(key="add_node").click().run()
    node_id = at.session_state.selected
    at.text_area(key=f"param:{node_id}:set").input('{"source": "{{ trigger.plan }}"}').run()
    at.session_state.selected = "start"
    at.run()
    at.selectbox(key="param:start:event").set_value("purchase").run()
    at.text_area(key="test_trigger").input("[1, 2]").run()
    assert any("must be a JSON object" in e.value for e in at.error)
    at.text_area(key="test_trigger").input('{"plan": "pro"}').run()
    at.button(key="run_test").click().run()
    assert not at.exception
    run = at.session_state.test_run
    assert run["record_changes"]["source"] == [None, "pro"], run


@pytest.mark.usefixtures("live_api")
def test_a_problem_speaks_in_labels_and_shows_its_step_on_the_canvas() -> None:
    document = template("drip-campaign")
    document["edges"] = [e for e in document["edges"] if e["from"] != "engaged"]
    at = designer(document)
    texts = [e.value for e in at.tabs[1].error]
    assert texts and not any("$." in text or "engaged" in text.split("'")[0] for text in texts)
    assert any("'Engaged with lessons 1–2?'" in text for text in texts), texts
    before = canvas_model(at)["focus_seq"]
    at.tabs[1].button[0].click().run()
    assert at.session_state.selected == "engaged"
    drawn = canvas_model(at)
    assert (drawn["focus"], drawn["focus_seq"]) == ("engaged", before + 1)


@pytest.mark.usefixtures("live_api")
def test_unsaved_changes_are_kept_and_a_reload_brings_them_back() -> None:
    from editor.client import Api

    at = designer(template("lead-capture"), selected="confirm")
    at.text_input(key="param:confirm:subject").input(
        "Welcome aboard, {{ contact.first_name }}"
    ).run()
    assert at.session_state.unsaved
    at.session_state.changed_at = 0.0  # the marketer paused: the autosave is due
    at.run()
    assert not at.exception and not at.session_state.unsaved
    assert drawn_dirty(at) is False  # nothing left to lose: leaving does not warn
    kept = Api().working_copy("lead-capture")
    assert kept and "Welcome aboard" in json.dumps(kept["document"], ensure_ascii=False)
    # A reload: a new session with only the page's address.
    again = page("designer")
    again.query_params["flow"] = "lead-capture"
    again.run()
    assert not again.exception
    assert again.session_state.doc["nodes"] == at.session_state.doc["nodes"]
    assert any("unsaved changes" in i.value for i in again.info)
    # Saving a version makes the kept changes obsolete.
    again.button(key="save_draft").click().run()
    assert Api().working_copy("lead-capture") is None


def drawn_dirty(at: AppTest) -> bool:
    return canvas_model(at)["dirty"]


@pytest.mark.usefixtures("live_api")
def test_an_engagement_branch_is_built_from_the_steps_own_offers() -> None:
    """An email offers a wait for its open; the wait offers the resend and the email to
    openers. Each lands selected and in view, starting with what it can know already."""
    from editor.document import add_node, blank

    document = blank("welcome", "Welcome")
    email = add_node(document, "send_email", after="start")
    document["nodes"][0]["params"].update(subject="Welcome!", from_email="hi@acme.example")
    at = designer(document, selected=email)
    at.button(key=f"next:{email}:0").click().run()
    assert not at.exception
    wait = at.session_state.selected
    assert at.session_state.focus == wait
    params = next(n for n in at.session_state.doc["nodes"] if n["id"] == wait)["params"]
    assert params == {
        "event": "email_opened",
        "email_node": email,
        "timeout": {"amount": 2, "unit": "days"},
    }
    # The email is picked by its name; the custom event's name field does not apply.
    assert at.selectbox(key=f"param:{wait}:email_node").value == email
    assert "Welcome!" in at.selectbox(key=f"param:{wait}:email_node").format_func(email)
    assert not [t for t in at.text_input if t.key == f"param:{wait}:custom_name"]
    labels = [b.label for b in at.button if (b.key or "").startswith(f"next:{wait}:")]
    assert labels == ["Email those who opened it", "Resend it to those who did not open it"]
    at.button(key=f"next:{wait}:1").click().run()
    resend = at.session_state.selected
    doc = at.session_state.doc
    assert {"from": wait, "to": resend, "output": "timed_out"} in doc["edges"]
    resent = next(n for n in doc["nodes"] if n["id"] == resend)["params"]
    assert "subject" not in resent and resent["from_email"] == "hi@acme.example"
    assert at.text_input(key=f"param:{resend}:subject").value == ""  # what is left to write


@pytest.mark.usefixtures("live_api")
def test_a_token_inserted_into_the_subject_is_what_the_field_shows_next() -> None:
    """Insert into subject puts the token in the document and redraws the field from it
    (a new widget key): a browser would otherwise keep showing, and send back, the old
    text."""
    document = template("drip-campaign")
    at = designer(document, selected="lesson_1")
    old_key = "param:lesson_1:subject"
    at.text_input(key=old_key).input("Where do follow-ups slip,").run()
    at.button(key="tokens:lesson_1:insert:subject").click().run()
    assert not at.exception
    token = "{{ contact.first_name | default('there', true) }}"
    subject = next(n for n in at.session_state.doc["nodes"] if n["id"] == "lesson_1")["params"]
    assert subject["subject"] == f"Where do follow-ups slip, {token}"
    [field] = [t for t in at.text_input if t.key and t.key.endswith(":subject")]
    assert field.key != old_key and field.value == subject["subject"]
    at.button(key="undo_button").click().run()  # undo redraws the fields from the document
    [field] = [t for t in at.text_input if t.key and t.key.endswith(":subject")]
    assert field.value == "Where do follow-ups slip,"


def test_a_flow_id_is_made_from_its_name_in_any_script_and_never_collides() -> None:
    from editor.flows_page import suggested_id

    assert suggested_id("Spring nurture!", set()) == "spring-nurture"
    assert suggested_id("Spring nurture", {"spring-nurture"}) == "spring-nurture-2"
    assert suggested_id("خوش‌آمدگویی", {"flow", "flow-2"}) == "flow-3"
    assert suggested_id("Café 2027 — خوش آمدید", set()) == "caf-2027"


def test_a_version_diff_names_steps_settings_and_outputs_in_words() -> None:
    from editor import document as doc
    from editor.panels.versions import summary

    before = doc.blank("f", "F")
    email = doc.add_node(before, "send_email", after="start")
    doc.node(before, email)["params"].update(subject="Hi", from_email="a@acme.example")
    after = json.loads(json.dumps(before))
    wait = doc.add_next_step(after, email, doc.next_steps(after, email)[0])
    doc.node(after, email)["params"]["from_email"] = "b@acme.example"
    doc.set_label(after, "start", "Newsletter sign-up")
    lines = summary(before, after)
    assert "added **Wait up to 2 days for an open of 'Email: Hi'** (Wait for event)" in lines
    assert "changed **Email: Hi**: From email" in lines
    assert "renamed **Start** to **Newsletter sign-up**" in lines
    assert "connected **Email: Hi** → **Wait up to 2 days for an open of 'Email: Hi'**" in lines
    assert not [line for line in lines if wait in line or "send_email" in line]


@pytest.mark.usefixtures("live_api")
def test_analytics_name_steps_by_their_labels() -> None:
    from functions.store.models import NodeStats

    document = template("drip-campaign")
    version = publish(document, by="tests").version
    for node, entered in (("lesson_1", 40), ("wait_1", 38)):
        NodeStats(flow_id="drip-campaign", node_key=f"{version:06d}#{node}", entered=entered).save()
    at = designer(document, doc_status="published")
    assert not at.exception
    [table] = [d for d in at.dataframe if "entered" in d.value.columns]
    steps = table.value.index.tolist()
    lesson_1 = next(n for n in document["nodes"] if n["id"] == "lesson_1")
    assert steps[:2] == [lesson_1["label"], "Wait 3 days"]
    assert not {"lesson_1", "wait_1"} & set(steps)


@pytest.mark.usefixtures("live_api")
def test_a_failed_test_run_names_the_step_and_the_test_contact_in_words() -> None:
    document = template("renewal-reengagement")
    at = designer(document)
    at.button(key="run_test").click().run()  # a sample contact with no phone: the SMS fails
    assert not at.exception
    sms = next(n for n in document["nodes"] if n["kind"] == "send_sms")
    failures = [e.value for e in at.tabs[2].error if "failed:" in e.value]
    assert failures == [
        f"**{sms['label']}** failed: the test contact has no phone number (Crm.NoPhone)"
    ], failures
    assert not [f for f in failures if sms["id"] in f or "testrun-" in f]


@pytest.mark.usefixtures("live_api")
def test_a_segment_trigger_picks_a_saved_segment_by_its_name() -> None:
    from editor.document import blank
    from functions.store.segments import save_segment

    criteria = {"groups": [{"conditions": [{"field": "tags", "op": "contains", "value": "vip"}]}]}
    save_segment("مشتریان ویژه", criteria, segment_id="vip")
    at = designer(blank("broadcast", "Broadcast"), selected="start")
    at.pills(key="trigger_kind:start").set_value("segment").run()
    pick = at.selectbox(key="param:start:segment_id")
    assert pick.options == ["(none: the filter below)", "مشتریان ویژه"]  # names, not ids
    pick.set_value("vip").run()
    assert not at.exception
    assert at.session_state.doc["trigger"]["params"] == {"segment_id": "vip"}


@pytest.mark.usefixtures("live_api")
def test_a_flow_rolls_back_from_the_publish_tab_and_its_activity_says_so() -> None:
    from functions.publish import publish as publish_version

    document = template("lead-capture")
    publish_version(document, by="tests")
    publish_version(document, note="second", by="tests")
    at = designer(document, doc_version=2, doc_status="published")
    assert at.selectbox(key="rollback_version").options == ["version 1"]
    at.button(key="rollback").click().run()
    assert not at.exception
    assert any("Rolled back: version 1 is live again" in s.value for s in at.tabs[3].success)
    versions = at.tabs[3].dataframe[0].value
    assert versions["status"].tolist() == ["was live", "live"]
    activity = [m.value for m in at.tabs[3].expander[0].markdown]
    assert activity[0].endswith("rolled back to version 1 (from version 2)"), activity


@pytest.mark.usefixtures("live_api")
def test_with_no_step_selected_the_panel_holds_the_flows_own_settings() -> None:
    document = template("lead-capture")
    at = designer(document)
    assert "Flow settings" in [m.value.strip("# ") for m in at.markdown]
    at.text_input(key="flow_name@0").input("Lead capture (EMEA)").run()
    at.checkbox(key="param:flow-settings:allow_reenrollment").check().run()
    assert not at.exception
    kept = at.session_state.doc
    assert kept["name"] == "Lead capture (EMEA)"
    assert kept["settings"] == {"allow_reenrollment": True}
    at.button(key="undo_button").click().run()  # each change is undoable
    assert at.session_state.doc["settings"] == {"allow_reenrollment": False}
    at.button(key="undo_button").click().run()
    at.run()  # the name field shows the document's name again, and keeps it
    assert at.session_state.doc["name"] == template("lead-capture")["name"]


def test_the_publish_dialog_says_a_broadcast_in_words() -> None:
    from editor.panels.versions import impact_lines

    impact = {
        "trigger": {
            "matching_now": 1200,
            "enrolled_at_once": 1200,
            "exact": False,
            "note": "as soon as it is published",
            "batch": True,
        },
        "in_flight": 3,
        "live_version": 2,
        "changed_steps": ["welcome"],
        "first_week": {
            "emails_per_contact": [1, 2],
            "sms_per_contact": [0, 0],
            "emails_at_once": [1200, 2400],
            "sms_at_once": [0, 0],
        },
    }
    assert impact_lines(impact, {"welcome": "Email: Welcome"}) == [
        "**about 1,200 contacts** enter: as soon as it is published.",
        "**3 contacts** are in the flow now: they finish on version 2.",
        "Changed since version 2: Email: Welcome.",
        "Each contact gets 1–2 emails and no SMS in their first week.",
        "Those entering at once: 1,200–2,400 emails and no SMS in the first week in all.",
    ]


@pytest.mark.usefixtures("live_api")
def test_reruns_of_an_open_flow_ask_nothing_more_of_the_api(monkeypatch) -> None:
    """Looking costs nothing: once a published flow's page has read its versions, counts
    and segments, clicking around (reruns with nothing changed) sends no request: no
    polling of versions or analytics, no 404s in the logs."""
    from editor.client import Api

    asked: list[str] = []
    real = Api.call

    def counted(self: Api, method: str, path: str, *args: object, **kwargs: object) -> object:
        asked.append(f"{method} {path}")
        return real(self, method, path, *args, **kwargs)

    monkeypatch.setattr(Api, "call", counted)
    document = template("drip-campaign")
    version = publish(document, by="tests").version
    at = designer(document, doc_version=version, doc_status="published", selected="start")
    at.tabs[3].run()
    first = list(asked)
    assert first, "the first run reads what the page shows"
    for _ in range(3):
        at.run()
    assert asked == first, asked[len(first) :]
    # A draft never saved asks nothing at all.
    asked.clear()
    from editor.document import blank

    fresh = designer(blank("never-saved", "Never saved"))
    fresh.run()
    assert not [a for a in asked if "/versions" in a], asked
