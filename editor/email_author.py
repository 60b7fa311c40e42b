"""Help for marketers writing a send_email step, for the step's side panel.

    insert = token_picker(f"tokens:{node_id}", on_insert=append_to_field)
    preview(document, node_spec, f"preview:{node_id}")          # stays across reruns
    send_test(document, node_spec, f"test:{node_id}")           # "Send a test to me"
    body = blocks_editor(f"blocks:{node_id}", params["body"])   # new HTML or None
    add_token(f"blocks:{node_id}", token)   # "Insert into body" while editing blocks

Everything goes through the API (editor/client.py): the preview is a test run of the one
step (rendered by the real send step in a sandbox: nothing recorded, tracking off), the
test email is POST /flows/{id}/test-emails. The blocks are flows/email_blocks.py.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import streamlit as st

from editor import session
from editor.client import ApiError
from flows.email_blocks import (
    BLOCK_TYPES,
    FIELDS,
    STARTER,
    block_problems,
    blocks_to_html,
    html_to_blocks,
)
from flows.fields import KNOWN_SCOPES

WIDTHS = {"Desktop": 640, "Mobile": 375}  # px of the preview's frame
PREVIEW_HEIGHT = 640
SAMPLE_FIRST_NAME = "Sara"
DEFAULT_FALLBACK = "there"
# Settings that are the person's, not the step's: kept for the whole session.
LAST_TO = "email_author:last_to"
# Fields a person reads in an email (ids, flags, tag lists and bookkeeping are left out).
_SHOWN_TYPES = ("string", "number", "date", "email", "phone")
_SCOPE_NAMES = {"contact": "", "deal": "Deal · ", "company": "Company · "}
OWNER_FIELDS = {
    "owner.name": "Owner's name",
    "owner.first_name": "Owner's first name",
    "owner.email": "Owner's email",
}


# --- tokens ------------------------------------------------------------------------------


class Insert(NamedTuple):
    """A token to add to the end of the step's subject or body."""

    target: Literal["subject", "body"]
    token: str


def token_fields() -> dict[str, str]:
    """Field reference → what a marketer calls it ("contact.first_name" → "First name")."""
    fields = {}
    for scope, known in KNOWN_SCOPES.items():
        for name, info in known.items():
            if info.type in _SHOWN_TYPES and name != "id" and not name.endswith("_id"):
                fields[f"{scope}.{name}"] = _SCOPE_NAMES.get(scope, f"{scope} · ") + info.label
    fields.update(OWNER_FIELDS)
    return fields


def token_for(ref: str, fallback: str = "") -> str:
    """The Jinja token printing field `ref`, or `fallback` when it is missing or empty
    (`default(…, true)`: the send step gives templates "" for an empty field, which
    plain `default` would keep)."""
    if not fallback:
        return f"{{{{ {ref} }}}}"
    quoted = fallback.replace("\\", "\\\\").replace("'", "\\'")
    return f"{{{{ {ref} | default('{quoted}', true) }}}}"


def token_picker(key: str, *, on_insert: Callable[[Insert], None] | None = None) -> Insert | None:
    """Pick a field and a fallback, get its token: shown as a line to copy, and with
    "Insert into subject" / "Insert into body" buttons. Answers the Insert on the run
    after a button is clicked (else None); `on_insert` is called with it from the
    button's callback, before that run, where a field's widget state may still be set."""
    fields = token_fields()
    refs = list(fields)
    left, right = st.columns([3, 2])
    ref = left.selectbox(
        "Personalise with",
        refs,
        index=refs.index("contact.first_name"),
        format_func=fields.__getitem__,
        key=f"{key}:field",
    )
    fallback = right.text_input(
        "When it is empty",
        value=DEFAULT_FALLBACK,
        key=f"{key}:fallback",
        help="Shown instead when the contact has no value (leave empty for nothing).",
    )
    token = token_for(ref, fallback.strip())
    st.code(token, language="jinja2", wrap_lines=True)
    chosen: Insert | None = None
    subject, body = st.columns(2)
    for column, target in ((subject, "subject"), (body, "body")):
        insert = Insert(target, token)  # type: ignore[arg-type]
        clicked = column.button(
            f"Insert into {target}",
            key=f"{key}:insert:{target}",
            on_click=on_insert,
            args=(insert,) if on_insert else None,
            width="stretch",
        )
        if clicked:
            chosen = insert
    return chosen


# --- preview -----------------------------------------------------------------------------


def single_step_flow(document: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """A flow of the one email step (a hook starts it, an end ends it): its test run is
    the step's preview."""
    return {
        "schema_version": document.get("schema_version", "1.0"),
        "id": document["id"],
        "name": document.get("name") or document["id"],
        "trigger": {"id": "preview_start", "kind": "webhook", "params": {}},
        "nodes": [copy.deepcopy(spec), {"id": "preview_end", "kind": "end"}],
        "edges": [
            {"from": "preview_start", "to": spec["id"]},
            {"from": spec["id"], "to": "preview_end"},
        ],
    }


def contact_choice(key: str) -> dict[str, Any]:
    """Whom to render for: {"email": …} of a stored contact ("" until it is given), or
    {"contact": {…}} of a sample one."""
    who = st.radio(
        "Render for",
        ["A sample contact", "A stored contact"],
        horizontal=True,
        key=f"{key}:who",
    )
    if who == "A stored contact":
        email = st.text_input(
            "Contact's email", key=f"{key}:email", placeholder="sara@example.com"
        ).strip()
        return {"email": email}  # empty: not chosen yet
    first = st.text_input(
        "Sample contact's first name (empty: none)",
        value=SAMPLE_FIRST_NAME,
        key=f"{key}:first_name",
    ).strip()
    return {"contact": {"first_name": first} if first else {}}


def _signature(document: dict[str, Any], spec: dict[str, Any], request: dict[str, Any]) -> str:
    data = json.dumps(
        [document.get("id"), spec.get("params"), request],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def render_email(document: dict[str, Any], spec: dict[str, Any], request: dict[str, Any]) -> dict:
    """{"email": the rendered email} or {"error": why there is none}, from a test run."""
    try:
        run = session.api().test_run(single_step_flow(document, spec), **request)
    except ApiError as exc:
        return {"error": exc.message}
    if run["emails"]:
        return {"email": run["emails"][0]}
    failed = [v for v in run["path"] if v.get("error")]
    if failed:
        return {"error": failed[0]["error"]["cause"]}
    skipped = next(
        ((v.get("result") or {}).get("skipped") for v in run["path"] if v["node"] == spec["id"]),
        None,
    )
    return {"error": f"no email: this contact would be skipped ({skipped or 'not emailed'})"}


def preview(document: dict[str, Any], node_spec: dict[str, Any], key: str) -> dict | None:
    """The step's email as a contact would get it: subject, the HTML in a frame as wide as
    a desktop or a phone, and the plain text. Re-rendered when the step's params or the
    contact change; kept on screen across other reruns. The shown result
    ({"email": …} or {"error": …})."""
    request = contact_choice(key)
    st.session_state[f"email_author:contact:{node_spec['id']}"] = request
    width = (
        st.segmented_control(
            "Width",
            list(WIDTHS),
            default="Desktop",
            key=f"{key}:width",
            label_visibility="collapsed",
        )
        or "Desktop"
    )
    store = f"email_author:preview:{node_spec['id']}"
    signature = _signature(document, node_spec, request)
    kept = st.session_state.get(store)
    refresh = st.button(
        "↻ Render again",
        key=f"{key}:refresh",
        help="The step's email is re-rendered when it changes; this re-reads the contact.",
    )
    if "email" in request and not request["email"]:
        st.info("Give the contact's email to render for them.")
        return kept["result"] if kept else None
    if kept is None or kept["signature"] != signature or refresh:
        with st.spinner("Rendering…"):
            kept = {"signature": signature, "result": render_email(document, node_spec, request)}
        st.session_state[store] = kept
    show_email(kept["result"], WIDTHS[width])
    return kept["result"]


def show_email(result: dict[str, Any], width: int) -> None:
    if "error" in result:
        st.warning(result["error"], icon="✉️")
        return
    mail = result["email"]
    st.markdown(f"**Subject:** {_plain(mail['subject'])}")
    st.caption(f"From {mail['from']} · to {', '.join(mail['to'])}")
    if mail.get("html"):
        frame(mail["html"], width)
    else:
        st.text(mail["text"])
    if mail.get("html"):
        with st.expander("Plain text"):
            st.text(mail["text"])


def frame(html: str, width: int, height: int = PREVIEW_HEIGHT) -> None:
    """The email in a frame of its own: a data: URL has an origin of its own, so the
    email's HTML cannot reach the editor (st.components.v1.html is deprecated)."""
    data = base64.b64encode(html.encode()).decode()
    st.iframe(f"data:text/html;charset=utf-8;base64,{data}", width=width, height=height)


def _plain(text: str) -> str:
    """Text for st.markdown: isolates kept, markdown's own characters shown as they are."""
    for char in "\\`*_{}[]<>()#+-.!|~":
        text = text.replace(char, "\\" + char)
    return text


# --- test email ------------------------------------------------------------------------


def send_test(
    document: dict[str, Any],
    node_spec: dict[str, Any],
    key: str,
    request: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """ "Send a test to me": the step's email, rendered for the contact `request` names
    (default: the one chosen in `preview` with the same node, else a sample contact), to
    an address that defaults to the last one used (empty: the account's own email).
    Marked "[Test] ", tracking off, nothing recorded. The last answer, or None."""
    if request is None:
        request = st.session_state.get(f"email_author:contact:{node_spec['id']}") or {}
    request = {k: v for k, v in request.items() if v != ""}  # a stored contact not named yet
    st.session_state.setdefault(LAST_TO, "")
    if f"{key}:to" not in st.session_state:
        st.session_state[f"{key}:to"] = st.session_state[LAST_TO]
    to = st.text_input(
        "Send the test to",
        key=f"{key}:to",
        placeholder="you@acme.com (empty: your account's email)",
    ).strip()
    outcome = f"email_author:test:{node_spec['id']}"
    st.button(
        "✉️ Send a test to me",
        key=f"{key}:send",
        on_click=_send,
        args=(document, node_spec, to, request, outcome),
    )
    shown = st.session_state.get(outcome)
    if shown and "error" in shown:
        st.error(shown["error"], icon="⛔")
    elif shown:
        st.success(f"Sent to {shown['to']}: {_plain(shown['subject'])}", icon="✉️")
    return shown


def _send(
    document: dict[str, Any],
    spec: dict[str, Any],
    to: str,
    request: dict[str, Any],
    outcome: str,
) -> None:
    try:
        sent = session.api().send_test_email(document, spec["id"], to=to or None, **request)
    except ApiError as exc:
        st.session_state[outcome] = {"error": exc.message}
        return
    st.session_state[outcome] = sent
    if to:
        st.session_state[LAST_TO] = to


# --- blocks ------------------------------------------------------------------------------

_LABELS = {
    "heading": "Heading",
    "paragraph": "Paragraph",
    "button": "Button",
    "image": "Image",
    "divider": "Divider",
}


def blocks_editor(key: str, html: str) -> str | None:
    """The body as blocks (heading, paragraph, button, image, divider) or, with the
    toggle, as raw HTML. The new HTML when it changed on this run, else None: the caller
    puts it in the step's `body`. HTML written by hand opens as raw HTML, and the blocks
    editor offers to start over rather than lose it silently."""
    state, seen, made_key = f"{key}:blocks", f"{key}:seen", f"{key}:made"
    parsed = html_to_blocks(html) if html.strip() else []
    changed_elsewhere = (
        html != st.session_state.get(seen)  # not the body of the last run…
        and html != st.session_state.get(made_key)  # …nor what the blocks made: undo, raw
        and parsed is not None
        and parsed != _strip(st.session_state.get(state, []))
    )
    if state not in st.session_state or changed_elsewhere:
        st.session_state[state] = _with_ids(parsed if parsed is not None else [])
    st.session_state[seen] = html
    raw = st.toggle("Raw HTML", value=parsed is None, key=f"{key}:raw")
    if raw:
        area, shows = f"{key}:html", f"{key}:html_for"
        if st.session_state.get(shows) != html or area not in st.session_state:  # first show, undo
            st.session_state[area] = st.session_state[shows] = html
        text = st.text_area("Body (HTML)", height=300, key=area)
        if text == html:
            return None
        st.session_state[shows] = text
        return text
    if parsed is None:
        st.warning(
            "This body was written as HTML, not blocks. Starting over with blocks "
            "replaces it (undo brings it back).",
            icon="✍️",
        )
        if not st.button("Start over with blocks", key=f"{key}:restart"):
            return None
        st.session_state[state] = _with_ids(list(STARTER))
    blocks = st.session_state[state]
    for number, block in enumerate(blocks):
        _block_widgets(key, blocks, number, block)
    _add_block(key, state)
    current = _strip(st.session_state[state])
    if not current and not html.strip():
        return None  # nothing written yet: the body stays empty
    for problem in block_problems(current):
        st.caption(f"⚠️ {problem}")
    made = blocks_to_html(current)
    st.session_state[made_key] = made
    return made if made != html else None


def add_token(key: str, token: str) -> bool:
    """Add `token` to the end of the last text block of blocks_editor `key` (call it from
    a callback, e.g. token_picker's `on_insert`, before the editor's widgets exist). False
    when there is no text block, or the body is edited as raw HTML: append it there."""
    blocks = st.session_state.get(f"{key}:blocks") or []
    if st.session_state.get(f"{key}:raw"):
        return False
    for block in reversed(blocks):
        if "text" in FIELDS[block["type"]]:
            widget = f"{key}:{block['_id']}:text"
            text = st.session_state.get(widget, block.get("text", ""))
            block["text"] = st.session_state[widget] = f"{text.rstrip()} {token}".lstrip()
            return True
    return False


def _with_ids(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**b, "_id": uuid.uuid4().hex[:8]} for b in blocks]


def _strip(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in b.items() if k != "_id"} for b in blocks]


def _block_widgets(key: str, blocks: list[dict[str, Any]], number: int, block: dict) -> None:
    kind, uid = block["type"], block["_id"]
    with st.container(border=True):
        # One row: the block's name, then small move and remove buttons at the right.
        head = st.container(horizontal=True, vertical_alignment="center", gap="small")
        head.markdown(f"**{_LABELS[kind]}**", width="stretch")
        last = len(blocks) - 1
        head.button(
            "",
            icon=":material/arrow_upward:",
            key=f"{key}:{uid}:up",
            on_click=_move,
            args=(key, uid, -1),
            disabled=number == 0,
            help="Move up",
            type="tertiary",
        )
        head.button(
            "",
            icon=":material/arrow_downward:",
            key=f"{key}:{uid}:down",
            on_click=_move,
            args=(key, uid, 1),
            disabled=number == last,
            help="Move down",
            type="tertiary",
        )
        head.button(
            "",
            icon=":material/close:",
            key=f"{key}:{uid}:drop",
            on_click=_drop,
            args=(key, uid),
            help="Remove",
            type="tertiary",
        )
        for name in FIELDS[kind]:
            widget_key = f"{key}:{uid}:{name}"
            if widget_key not in st.session_state:
                st.session_state[widget_key] = block.get(name, "")
            label = {"text": "Text", "url": "Link (https://…)", "alt": "Description"}[name]
            if kind == "image" and name == "url":
                label = "Image address (https://…)"
            if kind == "paragraph":
                block[name] = st.text_area(label, key=widget_key, height=100)
            else:
                block[name] = st.text_input(label, key=widget_key)


def _move(key: str, uid: str, step: int) -> None:
    blocks = st.session_state[f"{key}:blocks"]
    at = next(i for i, b in enumerate(blocks) if b["_id"] == uid)
    to = at + step
    if 0 <= to < len(blocks):
        blocks[at], blocks[to] = blocks[to], blocks[at]


def _drop(key: str, uid: str) -> None:
    blocks = st.session_state[f"{key}:blocks"]
    st.session_state[f"{key}:blocks"] = [b for b in blocks if b["_id"] != uid]


def _add_block(key: str, state: str) -> None:
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    kind = left.selectbox(
        "Add a block", BLOCK_TYPES, format_func=_LABELS.__getitem__, key=f"{key}:new"
    )
    right.button("Add", key=f"{key}:add", on_click=_append, args=(state, kind))


def _append(state: str, kind: str) -> None:
    block = {"type": kind, **dict.fromkeys(FIELDS[kind], "")}
    st.session_state[state] = [*st.session_state[state], *_with_ids([block])]
