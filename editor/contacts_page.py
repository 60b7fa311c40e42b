"""The contacts page: every contact, newest first, a page at a time; a search by name, email
or company (from the start of any word, Persian and Arabic included), tag, lifecycle stage,
owner, product bought or days without contact; then one contact: its fields, timeline,
deals, tasks and flows, with buttons to take it out of a flow or start it in one."""

from __future__ import annotations

from typing import Any

import streamlit as st

from editor import session
from editor.client import ApiError

PAGE_SIZE = 50
KINDS = {
    "name": "Name",
    "email": "Email",
    "company": "Company",
    "tag": "Tag",
    "stage": "Lifecycle stage",
    "owner": "Owner (user id)",
    "product": "Bought product",
    "not_contacted_days": "Not contacted for (days)",
}
HINTS = {
    "name": "e.g. sara, سارا or sara moh",
    "email": "the start of the address, e.g. sara@",
    "company": "e.g. pars",
    "tag": "e.g. vip",
    "stage": "e.g. lead, customer",
    "owner": "e.g. usr-omar",
    "product": "e.g. pro-plan",
    "not_contacted_days": "e.g. 30",
}
TYPED = ("name", "email", "company")  # matched from the start of a word: 2 letters at least
COLUMNS = {  # what the list shows, in people's words
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "company_name": "Company",
    "lifecycle_stage": "Stage",
    "owner_id": "Owner",
    "score": "Score",
    "created_at": "Created",
}
FIELDS = {  # the contact's card: label per field, shown when set
    "email": "Email",
    "phone": "Phone",
    "company_name": "Company",
    "job_title": "Job title",
    "owner_id": "Owner",
    "lifecycle_stage": "Lifecycle stage",
    "lead_status": "Lead status",
    "score": "Score",
    "temperature": "Temperature",
    "tags": "Tags",
    "products": "Products",
    "source": "Source",
    "country": "Country",
    "city": "City",
    "time_zone": "Time zone",
    "locale": "Language",
    "subscription_status": "Subscription",
    "email_consent": "Email consent",
    "created_at": "Created",
    "last_contacted_at": "Last contacted",
}
ACTIVE = ("starting", "active")


def main() -> None:
    st.title("Contacts")
    query, note = _query()
    if note:
        st.caption(note)
    page = _page(query)
    if page is None:
        return
    found, owners = page["contacts"], page.get("owners") or {}
    if not found:
        st.info(_nothing_found(query))
        return
    st.dataframe([_row(c, owners) for c in found], hide_index=True, width="stretch")
    _pager(page.get("next"))
    ids = {c["contact_id"]: c for c in found}
    chosen = st.selectbox(
        "Contact",
        list(ids),
        key="contact_pick",
        format_func=lambda i: f"{_name(ids[i])} <{ids[i]['email']}>",
    )
    _details(ids[chosen], owners)


# --- the list ----------------------------------------------------------------------------------


def _query() -> tuple[dict[str, Any], str | None]:
    """The search to run, and a note when what was typed cannot be searched yet."""
    left, right = st.columns([1, 2])
    kind = left.selectbox(
        "Search by", list(KINDS), format_func=KINDS.get, key="contact_filter", on_change=_restart
    )
    value = right.text_input(
        KINDS[kind], key="contact_value", placeholder=HINTS[kind], on_change=_first_page
    ).strip()
    if not value:
        return {}, "All contacts, newest first. Type to search."
    if kind in TYPED and len(value) < 2:
        return {}, "Type one more letter to search; meanwhile, all contacts, newest first."
    if kind == "not_contacted_days":
        if not value.isdigit():
            return {}, "Give a number of days, e.g. 30; meanwhile, all contacts, newest first."
        return {kind: int(value)}, None
    return {kind: value}, None


def _restart() -> None:
    # Another kind of search: what was typed for the last one means nothing here.
    st.session_state.contact_value = ""
    _first_page()


def _first_page() -> None:
    st.session_state.contact_cursors = []


def _page(query: dict[str, Any]) -> dict[str, Any] | None:
    cursors = st.session_state.setdefault("contact_cursors", [])
    cursor = cursors[-1] if cursors else None
    try:
        return session.api().contacts(**query, limit=PAGE_SIZE, cursor=cursor)
    except ApiError as exc:
        st.error(exc.message, icon="⛔")
        return None


def _pager(next_cursor: str | None) -> None:
    cursors = st.session_state.contact_cursors
    back, label, forward = st.columns([1, 2, 1])
    if back.button("← Newer", key="contacts_newer", disabled=not cursors):
        cursors.pop()
        st.rerun()
    label.caption(f"Page {len(cursors) + 1}")
    if forward.button("Older →", key="contacts_older", disabled=next_cursor is None):
        cursors.append(next_cursor)
        st.rerun()


def _nothing_found(query: dict[str, Any]) -> str:
    if not query:
        return "There are no contacts yet: add some, or import a CSV file."
    [(kind, value)] = query.items()
    return f"No contact matches {KINDS[kind].lower()} “{value}”."


def _row(contact: dict[str, Any], owners: dict[str, str]) -> dict[str, Any]:
    row = {label: contact.get(name) for name, label in COLUMNS.items()}
    row["Owner"] = _owner(contact.get("owner_id"), owners)
    row["Created"] = (contact.get("created_at") or "")[:10]
    return row


def _owner(owner_id: str | None, owners: dict[str, str]) -> str:
    return owners.get(owner_id, owner_id) if owner_id else "—"


def _name(contact: dict[str, Any]) -> str:
    return (
        " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p)
        or contact["email"]
    )


# --- one contact ---------------------------------------------------------------------------------


def _details(contact: dict[str, Any], owners: dict[str, str]) -> None:
    st.subheader(_name(contact))
    st.dataframe(_card(contact, owners), hide_index=True, width="stretch")
    timeline, side = st.columns([3, 2])
    with timeline:
        _timeline(contact["contact_id"])
    with side:
        _deals(contact["contact_id"])
        _flows(contact["contact_id"])


def _card(contact: dict[str, Any], owners: dict[str, str]) -> list[dict[str, str]]:
    rows = []
    for name, label in FIELDS.items():
        value = contact.get(name)
        if value in (None, "", []):
            continue
        if name == "owner_id":
            value = _owner(value, owners)
        elif isinstance(value, list):
            value = ", ".join(value)
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        elif name.endswith("_at"):
            value = value[:16].replace("T", " ")
        rows.append({"Field": label, "Value": str(value)})
    rows += [
        {"Field": k, "Value": str(v)} for k, v in sorted((contact.get("custom") or {}).items())
    ]
    return rows


def _timeline(contact_id: str) -> None:
    st.markdown("**Timeline**")
    try:
        activities = session.api().timeline(contact_id, limit=100)["activities"]
    except ApiError as exc:
        st.error(exc.message)
        return
    if not activities:
        st.caption("Nothing has happened to this contact yet.")
    for item in activities:
        st.markdown(f"`{item['at'][:16].replace('T', ' ')}` **{item['kind']}** {_about(item)}")
    tasks = [a["data"] for a in activities if a["kind"] == "task_created"]
    st.markdown("**Tasks**")
    if not tasks:
        st.caption("No task was made for this contact by a flow.")
    for task in tasks:
        due = (task.get("due_at") or "")[:16].replace("T", " ")
        st.markdown(f"- {task.get('title', 'task')} — due {due or '—'}")


def _deals(contact_id: str) -> None:
    st.markdown("**Deals**")
    try:
        deals = session.api().contact_deals(contact_id)
    except ApiError as exc:
        st.error(exc.message)
        return
    if not deals:
        st.caption("No deals.")
        return
    st.dataframe(
        [
            {
                "Deal": d["name"],
                "Stage": f"{d['pipeline']} · {d['stage']}",
                "Amount": f"{d.get('amount') or 0:,.0f} {d.get('currency', '')}",
            }
            for d in deals
        ],
        hide_index=True,
    )


def _flows(contact_id: str) -> None:
    st.markdown("**Flows**")
    api = session.api()
    try:
        runs = api.contact_flows(contact_id)
    except ApiError as exc:
        st.error(exc.message)
        return
    if not runs:
        st.caption("Not in any flow yet.")
    for run in runs:
        text, button = st.columns([3, 1])
        entered = run["entered_at"][:10]
        text.markdown(f"`{run['flow_id']}` v{run.get('flow_version')} — {run['status']}, {entered}")
        if run["status"] in ACTIVE and button.button(
            "Unenroll", key=f"unenroll:{run['enrollment_id']}"
        ):
            _act(lambda r=run: api.unenroll(r["flow_id"], contact_id), "Taken out of the flow.")
    _enroll(contact_id, {r["flow_id"] for r in runs if r["status"] in ACTIVE})


def _enroll(contact_id: str, current: set[str]) -> None:
    api = session.api()
    try:
        published = [
            f["flow_id"]
            for f in api.flows()
            if f.get("status") == "published" and f["flow_id"] not in current
        ]
    except ApiError as exc:
        st.error(exc.message)
        return
    if not published:
        return
    pick, button = st.columns([3, 1])
    flow_id = pick.selectbox("Start in flow", published, key=f"enroll_flow:{contact_id}")
    if button.button("Enroll", key=f"enroll:{contact_id}"):
        _act(lambda: api.enroll(flow_id, contact_id), "Started in the flow.")


def _act(call: Any, done: str) -> None:
    try:
        answer = call()
    except ApiError as exc:
        st.error(exc.message, icon="⛔")
        return
    if answer.get("enrolled") is False or answer.get("unenrolled") is False:
        st.warning(answer.get("reason") or "Nothing changed: the contact was not in the flow.")
        return
    st.toast(done)
    st.rerun()


def _about(item: dict[str, Any]) -> str:
    data = item.get("data") or {}
    for key in ("subject", "flow_id", "title", "reason", "node"):
        if data.get(key):
            return f"— {data[key]}"
    return ""
