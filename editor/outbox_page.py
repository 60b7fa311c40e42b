"""The outbox (local stack): every email moto's SES accepted, as the contact would see it.
The local stack writes each one to `.crmflow/outbox/*.eml` (CRMFLOW_OUTBOX elsewhere).

Shown with tracking off (flows.email_links.untracked): no open pixel, links going
straight to their targets. Looking at the outbox records no open and no click."""

from __future__ import annotations

import email
import email.policy
import os
from pathlib import Path

import streamlit as st

from editor.email_author import WIDTHS, frame
from flows.email_links import untracked

DEFAULT_OUTBOX = ".crmflow/outbox"
SHOWN = 50


def main() -> None:
    st.title("Outbox")
    folder = Path(os.environ.get("CRMFLOW_OUTBOX") or DEFAULT_OUTBOX)
    files = (
        sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)
        if folder.is_dir()
        else []
    )
    if not files:
        st.info(
            f"No email yet in {folder}: on the local stack (`make run`), every email a flow sends lands here."
        )
        return
    st.caption(
        f"{len(files)} email(s) in {folder}, newest first. Shown with tracking off: "
        "looking here records no opens or clicks."
    )
    messages = [
        (path, email.message_from_bytes(path.read_bytes(), policy=email.policy.default))
        for path in files[:SHOWN]
    ]
    search = st.text_input("Filter by recipient or subject", key="outbox_filter").strip().lower()
    if search:
        messages = [(p, m) for p, m in messages if search in f"{m['To']} {m['Subject']}".lower()]
    for number, (path, message) in enumerate(messages):
        with st.expander(f"✉️ {message['Subject']} — to {message['To']}", expanded=number == 0):
            st.caption(f"From {message['From']} · {message['Date']} · {path.name}")
            html = message.get_body(("html",))
            if html is not None:
                # A frame of its own origin (st.components.v1.html is deprecated).
                frame(untracked(html.get_content(), is_html=True), WIDTHS["Desktop"], height=360)
            else:
                text = message.get_body(("plain",))
                st.text(
                    untracked(text.get_content(), is_html=False)
                    if text is not None
                    else "(no body)"
                )
