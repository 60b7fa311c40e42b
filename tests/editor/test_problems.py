"""Problems in the user's words: steps and outputs by their labels, no ids, no JSON paths."""

from __future__ import annotations

import copy
import re

import pytest

from editor import document as doc
from editor.problems import Problem, describe, describe_all
from flows.validate import validate

TEMPLATES = {t["id"]: t for t in doc.templates()}


def template(name: str) -> dict:
    return copy.deepcopy(TEMPLATES[name])


def problems(document: dict) -> list[Problem]:
    return describe_all(validate(document).to_dict(), document)


def assert_plain(document: dict, found: list[Problem]) -> None:
    labels = doc.display_labels(document)
    for problem in found:
        text = problem.text
        assert "$." not in text and "$[" not in text, text
        for label in labels.values():
            text = text.replace(f"'{label}'", "''")
        for node_id in labels:
            assert f"'{node_id}'" not in text, (node_id, problem.text)
            if re.search(r"[_\d]", node_id):  # ids that are not plain words
                assert not re.search(rf"\b{re.escape(node_id)}\b", text), (node_id, problem.text)


def _broken() -> list[tuple[str, dict]]:
    cases = []
    drip = template("drip-campaign")
    drip["edges"] = [e for e in drip["edges"] if (e["from"], e["output"]) != ("engaged", "no")]
    cases.append(("output not connected", drip))
    loop = template("drip-campaign")
    loop["edges"].append({"from": "lesson_4", "to": "lesson_1", "output": "error"})
    cases.append(("loop", loop))
    unreachable = template("drip-campaign")
    unreachable["edges"] = [e for e in unreachable["edges"] if e["to"] != "lesson_4"]
    cases.append(("unreachable", unreachable))
    twice = template("drip-campaign")
    twice["edges"].append({"from": "lesson_1", "to": "done", "output": "next"})
    cases.append(("output used twice", twice))
    bad_output = template("drip-campaign")
    bad_output["edges"].append({"from": "done", "to": "lesson_4", "output": "next"})
    bad_output["edges"].append({"from": "consent", "to": "lesson_4", "output": "next"})
    bad_output["edges"].append({"from": "wait_1", "to": "lesson_4", "output": "maybe"})
    cases.append(("bad outputs", bad_output))
    dangling = template("drip-campaign")
    dangling["edges"].append({"from": "lesson_1", "to": "ghost_step", "output": "error"})
    dangling["edges"].append({"from": "lesson_2", "to": "warm_leads", "output": "error"})
    cases.append(("dangling and into trigger", dangling))
    dup = template("drip-campaign")
    dup["nodes"].append({**copy.deepcopy(dup["nodes"][2]), "position": {"x": 0, "y": 0}})
    cases.append(("duplicate id", dup))
    wrong_ref = template("drip-campaign")
    wrong_ref["nodes"][-1 - 0]["kind"] = "end"
    spec = doc.node(wrong_ref, "wait_click")
    spec["params"]["email_node"] = "wait_1"
    cases.append(("email node is not an email", wrong_ref))
    params = template("drip-campaign")
    doc.node(params, "lesson_1")["params"].pop("subject")
    doc.node(params, "wait_1")["params"]["duration"]["amount"] = 0
    doc.node(params, "lesson_2")["params"]["subject"] = "{{ contact.first_name five }}"
    cases.append(("bad params", params))
    blank = doc.blank("f", "F")
    doc.add_node(blank, "branch", after="start")
    cases.append(("new empty branch", blank))
    no_first = doc.blank("f", "F")
    cases.append(("trigger alone", no_first))
    return cases


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_template_problems_speak_in_labels(name):
    document = template(name)
    assert_plain(document, problems(document))


@pytest.mark.parametrize(("case", "document"), _broken(), ids=[c for c, _ in _broken()])
def test_broken_documents_speak_in_labels(case, document):
    found = problems(document)
    assert found, case
    assert_plain(document, found)
    for problem in found:
        assert problem.path.startswith("$")  # kept for developers
        assert problem.severity in ("error", "warning")


def test_an_unconnected_branch_output_names_the_step_and_the_output():
    document = template("drip-campaign")
    doc.node(document, "engaged")["label"] = "Engaged?"
    document["edges"] = [
        e for e in document["edges"] if (e["from"], e["output"]) != ("engaged", "no")
    ]
    texts = [p.text for p in problems(document)]
    assert "'Engaged?' has no step for 'No' — connect one or end the flow" in texts
    problem = next(p for p in problems(document) if p.text.startswith("'Engaged?'"))
    assert problem.node_id == "engaged" and problem.path == "$.nodes[7]"


def test_unlabelled_steps_are_named_by_their_summary():
    document = doc.blank("f", "F")
    first = doc.add_node(document, "wait", after="start")
    doc.set_params(document, first, {"duration": {"amount": 2, "unit": "days"}})
    branch = doc.add_node(document, "branch", after=first)
    doc.set_params(
        document,
        branch,
        {
            "criteria": {
                "groups": [{"conditions": [{"field": "score", "op": "at_least", "value": 50}]}]
            }
        },
    )
    texts = [p.text for p in problems(document)]
    assert "'If score is at least 50' has no step for 'Yes' — connect one or end the flow" in texts


def test_a_loop_is_told_step_by_step():
    document = template("drip-campaign")
    document["edges"].append({"from": "lesson_4", "to": "lesson_1", "output": "error"})
    text = next(p.text for p in problems(document) if "circle" in p.text)
    assert "'Lesson 1: where follow-ups slip' → " in text


def test_describe_takes_one_issue():
    document = template("drip-campaign")
    issue = {
        "path": "$.edges[3]",
        "message": "output 'next' of 'lesson_1' is already connected by $.edges[3]; an output leads to one node",
        "node_id": "lesson_1",
        "severity": "error",
    }
    problem = describe(issue, document)
    assert problem.text.startswith(
        "'Lesson 1: where follow-ups slip' has two connections from 'Next'"
    )
    assert problem.path == "$.edges[3]"
