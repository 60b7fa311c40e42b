"""The condition builder: criteria (flows/conditions.py) drawn as groups of rows, each
"field · operator · value" in plain words, so nobody types JSON.

`condition_builder` returns exactly what `Criteria` validates (its JSON dump without
empty keys), or None when there is no condition. "Advanced: edit as JSON" shows the same
structure as text and takes edits once they validate. `match_count` shows how many
contacts a trigger's or segment's criteria match now (the API's POST /segments/preview).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st
from pydantic import ValidationError

from editor.document import display_labels
from flows import conditions
from flows.conditions import (
    DAYS_OPS,
    ENGAGEMENT_OPS,
    LIST_OPS,
    NUMBER_OPS,
    PRESENCE_OPS,
    Criteria,
)
from flows.fields import KNOWN_SCOPES, LIFECYCLE_STAGES, FieldInfo, split_ref

ENGAGEMENT = "@email"  # the field picker's choice for "opened / clicked an email"

OP_WORDS = {  # as the operator picker lists them
    **conditions.OP_WORDS,
    "within_last_days": "in the last N days",
    "more_than_days_ago": "more than N days ago",
    "within_next_days": "in the next N days",
}

_TEXT = ["equals", "not_equals", "contains", "not_contains", "starts_with"]
_PRESENCE = ["is_set", "is_not_set"]
_LIST = ["is_one_of", "is_none_of"]
_NUMBER = ["equals", "not_equals", "greater_than", "at_least", "less_than", "at_most"]
_DAYS = ["within_last_days", "more_than_days_ago", "within_next_days"]
OPS_BY_TYPE: dict[str | None, list[str]] = {
    "string": [*_TEXT, *_LIST, *_PRESENCE],
    "email": [*_TEXT, *_LIST, *_PRESENCE],
    "phone": [*_TEXT, *_PRESENCE],
    "number": [*_NUMBER, *_LIST, *_PRESENCE],
    "date": [*_DAYS, *_PRESENCE],
    "datetime": [*_DAYS, *_PRESENCE],
    "boolean": ["equals", "not_equals", *_PRESENCE],
    "tags": ["contains", "not_contains", *_PRESENCE],
    None: [*_TEXT, *_NUMBER[2:], *_LIST, *_PRESENCE, *_DAYS],  # custom / trigger data
}
ENGAGEMENT_WORDS = ["opened", "clicked", "not_opened", "not_clicked"]

# Fields whose values are known in advance: picked from a list (others may still be typed
# in the JSON view; values already in a condition are always offered).
ENUMS: dict[str, list[str]] = {
    "lifecycle_stage": list(LIFECYCLE_STAGES),
    "temperature": ["cold", "warm", "hot"],
}

_ids = itertools.count(1)


# --- the widget ----------------------------------------------------------------------------


def condition_builder(
    key: str,
    value: Any,
    *,
    scope_fields: Mapping[str, Mapping[str, FieldInfo]] | None = None,
    emails: list[tuple[str, str]] | None = None,
    custom_fields: list[str] | None = None,
    label: str | None = None,
    help_text: str | None = None,
) -> Any:
    """Draw criteria as all/any groups of rows; return the criteria as `Criteria` validates
    them (dumped without empty keys), or None when there is no condition left.

    `scope_fields`: the fields offered per scope (default: contact, deal and company);
    `emails`: (node id, label) of this flow's send_email steps, for opened/clicked rows;
    `custom_fields`: names of the workspace's custom fields (offered as custom.<name>).
    """
    fields = _field_options(scope_fields or KNOWN_SCOPES, custom_fields or [], value)
    emails = list(emails or [])
    state = _state(key, value)
    if label:
        st.markdown(f"**{label}**", help=help_text)
    as_json = st.toggle("Advanced: edit as JSON", key=f"{key}:as_json")
    if as_json:
        return _json_view(key, state)
    if not state["groups"]:
        st.caption("No conditions.")
        st.button("Add a condition", key=f"{key}:start", on_click=_add_group, args=(state,))
        state["last"] = None
        return None
    if len(state["groups"]) > 1:
        state["match"] = st.radio(
            "Contacts match when",
            ["any", "all"],
            index=0 if state["match"] == "any" else 1,
            format_func=lambda m: (
                "any group matches (OR)" if m == "any" else "every group matches (AND)"
            ),
            horizontal=True,
            key=f"{key}:match",
        )
    groups = []
    for number, group in enumerate(state["groups"], start=1):
        groups.append(_group(key, state, group, number, fields, emails))
    st.button("＋ Add a group (OR)", key=f"{key}:add_group", on_click=_add_group, args=(state,))
    result = {"match": state["match"], "groups": groups}
    state["last"] = result
    return result


def match_count(criteria: Any, preview: Callable[[Any], dict[str, Any]], key: str) -> None:
    """Show "N contacts match now" for criteria, asking `preview` (Api.preview_segment)
    once per distinct criteria; the API's refusal (e.g. no index answers) as a hint."""
    if not criteria:
        return
    try:
        Criteria.model_validate(criteria)
    except ValidationError:
        return  # the form shows what is wrong
    text = json.dumps(criteria, sort_keys=True)
    cache = st.session_state.setdefault(f"{key}:counts", {})
    if text not in cache:
        try:
            cache[text] = ("ok", preview(criteria))
        except Exception as exc:  # ApiError: the API's words say what to add
            cache[text] = ("error", str(getattr(exc, "message", None) or exc))
    outcome, answer = cache[text]
    if outcome == "error":
        st.caption(f"Can't count who matches: {answer}")
        return
    count = answer["count"]
    words = f"{count:,} contact{'s' if count != 1 else ''} match now"
    st.caption(words if answer.get("exact", True) else f"About {words}")
    names = [c.get("name") or c.get("contact_id") for c in answer.get("sample", [])]
    if names:
        st.caption("e.g. " + ", ".join(names))


def email_steps(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(node id, label) of the flow's send_email steps (what opened/clicked conditions and
    wait_for_event's email_node may name, as flows/nodes/checks.py checks), in order."""
    labels = display_labels(document)
    return [
        (node["id"], labels[node["id"]])
        for node in document.get("nodes", [])
        if node.get("kind") == "send_email"
    ]


# --- state -----------------------------------------------------------------------------------


def _state(key: str, value: Any) -> dict[str, Any]:
    """The builder's rows, kept across reruns; loaded afresh when the caller passes
    criteria that are neither what it loaded nor what it returned last."""
    name = f"{key}:builder"
    state = st.session_state.get(name)
    if state is None or (value != state["source"] and value != state["last"]):
        state = _load(value)
        st.session_state[name] = state
    return state


def _load(value: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"source": value, "last": value, "match": "any", "groups": []}
    state["init"] = {}
    if not isinstance(value, dict):
        return state
    state["match"] = value.get("match", "any")
    for group in value.get("groups") or []:
        rows = []
        for condition in group.get("conditions") or []:
            row = next(_ids)
            state["init"][row] = dict(condition)
            rows.append(row)
        state["groups"].append({"id": next(_ids), "match": group.get("match", "all"), "rows": rows})
    return state


def _add_group(state: dict[str, Any]) -> None:
    row = next(_ids)
    state["init"][row] = {}
    state["groups"].append({"id": next(_ids), "match": "all", "rows": [row]})


def _add_row(group: dict[str, Any]) -> None:
    group["rows"].append(next(_ids))


def _remove_row(state: dict[str, Any], group: dict[str, Any], row: int) -> None:
    group["rows"].remove(row)
    if not group["rows"]:
        state["groups"].remove(group)


def _remove_group(state: dict[str, Any], group: dict[str, Any]) -> None:
    state["groups"].remove(group)


# --- drawing -----------------------------------------------------------------------------------


def _group(
    key: str,
    state: dict[str, Any],
    group: dict[str, Any],
    number: int,
    fields: dict[str, str],
    emails: list[tuple[str, str]],
) -> dict[str, Any]:
    with st.container(border=True):
        head, remove = st.columns([4, 1])
        if len(group["rows"]) > 1:
            group["match"] = head.selectbox(
                f"Group {number}: contacts match when",
                ["all", "any"],
                index=0 if group["match"] == "all" else 1,
                format_func=lambda m: (
                    "all of these hold (AND)" if m == "all" else "any of these holds (OR)"
                ),
                key=f"{key}:g{group['id']}:match",
            )
        else:
            head.caption(f"Group {number}")
        remove.button(
            "Remove group",
            key=f"{key}:g{group['id']}:remove",
            on_click=_remove_group,
            args=(state, group),
        )
        conditions = [_row(key, state, group, row, fields, emails) for row in list(group["rows"])]
        st.button(
            "＋ Add a condition",
            key=f"{key}:g{group['id']}:add",
            on_click=_add_row,
            args=(group,),
        )
    return {"match": group["match"], "conditions": conditions}


def _row(
    key: str,
    state: dict[str, Any],
    group: dict[str, Any],
    row: int,
    fields: dict[str, str],
    emails: list[tuple[str, str]],
) -> dict[str, Any]:
    init = state["init"].get(row, {})
    start = ENGAGEMENT if init.get("op") in ENGAGEMENT_OPS else init.get("field")
    options = list(fields)
    name_col, op_col, value_col, remove_col = st.columns([3, 2, 3, 1])
    field = name_col.selectbox(
        "Field",
        options,
        index=options.index(start) if start in options else _first(options),
        format_func=fields.__getitem__,
        key=f"{key}:r{row}:field",
        label_visibility="collapsed",
    )
    remove_col.button(
        "✕", key=f"{key}:r{row}:remove", on_click=_remove_row, args=(state, group, row)
    )
    if field == ENGAGEMENT:
        ops = list(ENGAGEMENT_WORDS)
        same = start == ENGAGEMENT
    else:
        ops = list(OPS_BY_TYPE[_type(field)])
        same = start == field
    if same and init.get("op") not in ops and init.get("op"):
        ops.append(init["op"])
    op = op_col.selectbox(
        "Operator",
        ops,
        index=ops.index(init["op"]) if same and init.get("op") in ops else 0,
        format_func=lambda o: OP_WORDS.get(o, o),
        key=f"{key}:r{row}:op:{field}",
        label_visibility="collapsed",
    )
    if field == ENGAGEMENT:
        node = _email_pick(
            value_col, f"{key}:r{row}:node", init.get("node") if same else None, emails
        )
        return {"op": op, "node": node}
    initial = init.get("value") if same and init.get("op") == op else None
    value = _value(value_col, f"{key}:r{row}:value:{field}:{op}", field, op, initial)
    condition: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        condition["value"] = value
    return condition


def email_step_picker(
    label: str,
    current: str | None,
    emails: list[tuple[str, str]],
    key: str,
    *,
    help_text: str | None = None,
    optional: bool = True,
) -> str | None:
    """A select box of this flow's email steps, shown by their labels; returns a node id."""
    labels = dict(emails)
    options: list[str | None] = list(labels)
    if current and current not in labels:
        options.append(current)
    if optional or not options:
        options.insert(0, None)
    return st.selectbox(
        label,
        options,
        index=options.index(current) if current in options else 0,
        format_func=lambda n: (
            "— any email —"
            if n is None
            else labels.get(n, f"{n} (not an email step of this flow)" if labels else n)
        ),
        key=key,
        help=help_text,
    )


def _email_pick(
    column: Any, key: str, current: str | None, emails: list[tuple[str, str]]
) -> str | None:
    with column:
        return email_step_picker("Email", current, emails, key, optional=not emails)


def _value(column: Any, key: str, field: str, op: str, initial: Any) -> Any:
    kind = _type(field)
    name = (split_ref(field) or ("", field))[1]
    if op in PRESENCE_OPS:
        column.caption(" ")
        return None
    if op in DAYS_OPS:
        days = initial if isinstance(initial, int | float) else 7
        return _number(column.number_input("days", value=days, min_value=0, key=key))
    if op in LIST_OPS:
        current = initial if isinstance(initial, list) else []
        if name in ENUMS and _scope(field) == "contact":
            choices = [*ENUMS[name], *(v for v in current if v not in ENUMS[name])]
            return column.multiselect("values", choices, default=current, key=key) or None
        text = column.text_input(
            "values", value=", ".join(str(v) for v in current), key=key, help="comma-separated"
        )
        items = [_typed(part.strip(), kind, current) for part in text.split(",") if part.strip()]
        return items or None
    if op in NUMBER_OPS or kind == "number" or _is_number(initial):
        number = initial if _is_number(initial) else 0
        return _number(column.number_input("value", value=number, key=key))
    if kind == "boolean" or isinstance(initial, bool):
        choice = column.selectbox(
            "value",
            [True, False],
            index=0 if initial is not False else 1,
            format_func=lambda b: "yes" if b else "no",
            key=key,
        )
        return bool(choice)
    if name in ENUMS and _scope(field) == "contact":
        choices = [*ENUMS[name]]
        if isinstance(initial, str) and initial not in choices:
            choices.append(initial)
        return column.selectbox(
            "value",
            choices,
            index=choices.index(initial) if initial in choices else 0,
            key=key,
        )
    text = column.text_input("value", value="" if initial is None else str(initial), key=key)
    return text.strip() or None


def _json_view(key: str, state: dict[str, Any]) -> Any:
    current = state["last"]
    text = json.dumps(current, ensure_ascii=False, indent=2) if current else ""
    entered = st.text_area(
        "Criteria (JSON)", value=text, height=220, key=f"{key}:json:{json.dumps(current)}"
    )
    if entered.strip() == text.strip():
        return current
    if not entered.strip():
        new = None
    else:
        try:
            parsed = json.loads(entered)
            new = Criteria.model_validate(parsed).model_dump(mode="json", exclude_none=True)
        except json.JSONDecodeError as exc:
            st.error(f"Not valid JSON — {exc.msg} at line {exc.lineno}, column {exc.colno}")
            return current
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                where = ".".join(str(p) for p in err["loc"]) or "criteria"
                st.error(f"{where}: {err['msg']}")
            return current
    fresh = _load(new)
    fresh["source"] = state["source"]
    state.clear()
    state.update(fresh)
    state["last"] = new
    return new


# --- fields ------------------------------------------------------------------------------------


def _field_options(
    scopes: Mapping[str, Mapping[str, FieldInfo]], custom: list[str], value: Any
) -> dict[str, str]:
    """ref → what the picker shows; contact fields by bare name, as flows write them."""
    options: dict[str, str] = {}
    for scope, infos in scopes.items():
        for name, info in sorted(infos.items(), key=lambda item: item[1].label):
            if scope == "contact":
                options[name] = info.label
            else:
                options[f"{scope}.{name}"] = f"{scope.capitalize()}: {info.label}"
    for name in custom:
        options[f"custom.{name}"] = f"Custom: {name}"
    for ref in _refs(value):  # whatever the criteria already name stays pickable
        if ref not in options:
            scope, name = split_ref(ref) or ("", ref)
            options[ref] = {"custom": "Custom", "trigger": "Trigger data"}.get(
                scope, scope.capitalize()
            ) + f": {name}"
    options[ENGAGEMENT] = "Email engagement (opened / clicked)"
    return options


def _refs(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return []
    return [
        c["field"]
        for g in value.get("groups") or []
        if isinstance(g, dict)
        for c in g.get("conditions") or []
        if isinstance(c, dict) and isinstance(c.get("field"), str)
    ]


def _first(options: list[str]) -> int:
    return options.index("tags") if "tags" in options else 0


def _scope(field: str) -> str:
    return (split_ref(field) or ("", ""))[0]


def _type(field: str) -> str | None:
    parts = split_ref(field)
    if parts is None or parts[0] not in KNOWN_SCOPES:
        return None
    info = KNOWN_SCOPES[parts[0]].get(parts[1])
    return info.type if info else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _typed(text: str, kind: str | None, current: list[Any]) -> Any:
    """A list item as its field wants it: numbers for number fields (and where the list
    held numbers), text otherwise."""
    if kind == "number" or (kind is None and current and all(_is_number(v) for v in current)):
        try:
            return _number(float(text))
        except ValueError:
            return text
    return text
