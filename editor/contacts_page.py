"""The contacts page: search by the CRM store's access patterns (email, owner, lifecycle
stage, tag, product bought, not contacted for N days), then one contact's details, its
timeline (emails, opens, flows entered and left) and the flows it is in."""

from __future__ import annotations

from typing import Any

import streamlit as st

from editor import session
from editor.client import ApiError

FILTERS = {
    "email": "Email",
    "stage": "Lifecycle stage",
    "tag": "Tag",
    "owner": "Owner (user id)",
    "product": "Bought product",
    "not_contacted_days": "Not contacted for (days)",
}
SHOWN = (
    "first_name",
    "last_name",
    "email",
    "lifecycle_stage",
    "owner_id",
    "score",
    "country",
    "source",
)


def main() -> None:
    st.title("Contacts")
    left, right = st.columns([1, 2])
    how = left.selectbox("Find by", list(FILTERS), format_func=FILTERS.get, key="contact_filter")
    value = right.text_input(
        FILTERS[how],
        key="contact_value",
        placeholder="e.g. 30" if how == "not_contacted_days" else "",
    )
    if not value.strip():
        st.caption("Contacts are found through the store's indexes: pick one filter and a value.")
        return
    query: dict[str, Any] = {how: value.strip(), "limit": 100}
    if how == "not_contacted_days":
        if not value.strip().isdigit():
            st.error("Give a number of days, e.g. 30.")
            return
        query[how] = int(value)
    try:
        found = session.api().contacts(**query)["contacts"]
    except ApiError as exc:
        st.error(exc.message, icon="⛔")
        return
    if not found:
        st.info("No contact matches.")
        return
    st.dataframe([{k: c.get(k) for k in SHOWN} for c in found], hide_index=True, width="stretch")
    ids = {c["contact_id"]: c for c in found}
    chosen = st.selectbox(
        "Contact",
        list(ids),
        key="contact_pick",
        format_func=lambda i: f"{_name(ids[i])} <{ids[i]['email']}>",
    )
    _details(ids[chosen])


def _name(contact: dict[str, Any]) -> str:
    return (
        " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p)
        or contact["email"]
    )


def _details(contact: dict[str, Any]) -> None:
    api = session.api()
    st.subheader(_name(contact))
    tags = ", ".join(contact.get("tags") or []) or "—"
    st.markdown(
        f"**Stage** {contact.get('lifecycle_stage') or '—'} · **Score** {contact.get('score') or 0} · "
        f"**Owner** {contact.get('owner_id') or '—'} · **Tags** {tags}"
    )
    timeline, flows = st.columns([3, 2])
    with timeline:
        st.markdown("**Timeline**")
        try:
            activities = api.timeline(contact["contact_id"], limit=100)["activities"]
        except ApiError as exc:
            st.error(exc.message)
            activities = []
        for item in activities:
            st.markdown(f"`{item['at'][:16].replace('T', ' ')}` **{item['kind']}** {_about(item)}")
    with flows:
        st.markdown("**Flows**")
        try:
            runs = api.contact_flows(contact["contact_id"])
        except ApiError as exc:
            st.error(exc.message)
            runs = []
        st.dataframe(
            [
                {"flow": r["flow_id"], "version": r.get("flow_version"), "status": r["status"]}
                for r in runs
            ],
            hide_index=True,
        )


def _about(item: dict[str, Any]) -> str:
    data = item.get("data") or {}
    for key in ("subject", "flow_id", "title", "reason", "node"):
        if data.get(key):
            return f"— {data[key]}"
    return ""
