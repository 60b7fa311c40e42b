"""Test runs from the editor: a sample or stored contact through the open document, by
the API's test run (the real steps in a sandbox: nothing is sent or saved). The path is
highlighted on the canvas; the emails, tasks and changes it would make are listed."""

from __future__ import annotations

import json
import re
from typing import Any

import streamlit as st

from editor import email_author, session
from editor.client import ApiError

# A test run's contact, as step errors name it ("contact 'testrun-c_01…' has no phone").
TEST_CONTACT = re.compile(r"contact '?testrun-[\w-]+'?")
SAMPLE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "country",
    "locale",
    "lifecycle_stage",
)


def render(document: dict[str, Any], report: dict[str, Any]) -> None:
    if report["errors"]:
        st.info("Fix the flow's errors first (see Problems): a test run needs a valid flow.")
        return
    who = st.radio(
        "Contact", ["A sample contact", "A stored contact"], horizontal=True, key="test_who"
    )
    request: dict[str, Any] = {}
    if who == "A stored contact":
        email = st.text_input("Email of the contact", key="test_email")
        if email.strip():
            request["email"] = email.strip()
    else:
        columns = st.columns(3)
        sample = {}
        for number, name in enumerate(SAMPLE_FIELDS):
            value = columns[number % 3].text_input(
                name.replace("_", " ").capitalize(), key=f"test_{name}"
            )
            if value.strip():
                sample[name] = value.strip()
        request["contact"] = sample
    trigger = _trigger_data()
    if trigger is None:
        return
    if trigger:
        request["trigger"] = trigger
    choices = _choices(document)
    if choices:
        request["choices"] = choices
    # A callback: it runs before the rerun, whose canvas then shows the path.
    st.button("Run test", type="primary", key="run_test", on_click=_run, args=(document, request))
    if st.session_state.get("test_error"):
        st.error(st.session_state.test_error, icon="⛔")
    run = st.session_state.get("test_run")
    if run:
        show(run)


def _trigger_data() -> dict[str, Any] | None:
    """The trigger's data, as a hook or an event would send it; None while it is not a
    JSON object."""
    text = st.text_area(
        "Trigger data (JSON)",
        key="test_trigger",
        placeholder='{"utm_source": "newsletter", "deal_id": "d_…"}',
        help="What the trigger carries: a form's fields, an event's data, the deal that moved.",
        height=90,
    )
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        st.error(
            f"Trigger data is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        )
        return None
    if not isinstance(data, dict):
        st.error('Trigger data must be a JSON object, like {"plan": "pro"}.')
        return None
    return data


def _run(document: dict[str, Any], request: dict[str, Any]) -> None:
    try:
        st.session_state.test_run = session.api().test_run(document, **request)
        st.session_state.test_error = None
    except ApiError as exc:
        st.session_state.test_run, st.session_state.test_error = None, exc.message


def _choices(document: dict[str, Any]) -> dict[str, str]:
    """What the contact does where the flow waits for them or splits them."""
    from editor import document as doc

    picked = {}
    for spec in document.get("nodes", []):
        if spec.get("kind") not in ("wait_for_event", "ab_split"):
            continue
        named = {o.name: o.label for o in doc.outputs(spec)}
        outputs = list(named)
        if not outputs:
            continue
        default = "timed_out" if "timed_out" in outputs else None
        options = [
            "(the contact's own)" if default is None else "timed_out",
            *[o for o in outputs if o != default],
        ]
        chosen = st.selectbox(
            f"At '{doc.display_label(spec, document)}', the contact…",
            options,
            format_func=lambda option, named=named: named.get(option, option),
            key=f"choice:{spec['id']}",
        )
        if chosen in outputs:
            picked[spec["id"]] = chosen
    return picked


def show(run: dict[str, Any]) -> None:
    status = run["status"]
    days = run["simulated_seconds"] / 86400
    (st.success if status in ("ended", "completed", "goal") else st.error)(
        f"Test run **{status}** after {days:.1f} simulated days · path: "
        + " → ".join(_names(run["nodes"]))
    )
    failed = [v for v in run["path"] if v.get("error")]
    for visit, name in zip(failed, _names([v["node"] for v in failed]), strict=True):
        cause = TEST_CONTACT.sub("the test contact", visit["error"]["cause"])
        st.error(f"**{name}** failed: {cause} ({visit['error']['error']})")
    st.markdown(f"**Emails that would go out ({len(run['emails'])})**")
    for number, email in enumerate(run["emails"]):
        with st.expander(
            f"✉️ {email['subject']} — to {', '.join(email['to'])}", expanded=number == 0
        ):
            st.caption(f"From {email['from']} · step {_names([email['node']])[0]}")
            if email.get("html"):
                email_author.frame(email["html"], email_author.WIDTHS["Desktop"], height=320)
            else:
                st.text(email["text"])
    if run["tasks"]:
        st.markdown("**Tasks it would create**")
        st.dataframe(
            [
                {
                    "step": _names([t["node"]])[0],
                    **{
                        k: t["record"].get(k)
                        for k in ("title", "assignee_id", "due_at", "priority")
                    },
                }
                for t in run["tasks"]
            ],
            hide_index=True,
        )
    if run["sms"]:
        st.markdown("**SMS**")
        st.dataframe([{"to": s["to"], "text": s["message"]} for s in run["sms"]], hide_index=True)
    if run["http_requests"]:
        st.markdown("**Calls to other systems**")
        st.dataframe(
            [{"method": h["method"], "url": h["url"]} for h in run["http_requests"]],
            hide_index=True,
        )
    if run["record_changes"]:
        st.markdown("**Changes to the contact**")
        st.dataframe(
            [
                {"field": k, "before": str(v[0]), "after": str(v[1])}
                for k, v in run["record_changes"].items()
            ],
            hide_index=True,
        )


def _names(node_ids: list[str]) -> list[str]:
    """The steps by the names the canvas shows."""
    from editor import document as doc

    opened = session.document()
    labels = doc.display_labels(opened) if opened else {}
    return [labels.get(node_id, node_id) for node_id in node_ids]
