"""A node's form, drawn from its kind's params declaration (the JSON Schema of its pydantic
model in flows/nodes/): a widget per field by type, with the field's description as help,
its default, and the validator's messages for that field right under it. No kind is
hard-coded: a new kind gets its form from its own declaration.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import streamlit as st

from editor import conditions, session
from editor.client import ApiError
from flows.fields import KNOWN_SCOPES

LONG_TEXT = ("rich_template",)
EMAIL_BODY = "email_body"  # drawn as blocks, with raw HTML behind a toggle
DURATION_UNITS = ["minutes", "hours", "days", "weeks"]


def personalisation_tokens() -> list[str]:
    """The `{{ … }}` tokens an email can use: the contact's fields, its owner's, the flow."""
    contact = [f"{{{{ contact.{name} }}}}" for name in sorted(KNOWN_SCOPES["contact"])]
    return [*contact, "{{ owner.name }}", "{{ owner.email }}", "{{ unsubscribe_url }}"]


def params_form(
    node_id: str,
    schema: dict[str, Any],
    params: dict[str, Any],
    issues: list[dict[str, Any]],
    *,
    emails: list[tuple[str, str]] | None = None,
    custom_fields: list[str] | None = None,
    preview: Callable[[Any], dict[str, Any]] | None = None,
    segments: Callable[[], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Draw the form; the params as the marketer left them (only what differs from the
    defaults, so documents stay small).

    Criteria are drawn by the condition builder (editor/conditions.py), and a param whose
    schema says `"widget": "email_step"` is a pick of this flow's email steps: `emails`
    lists them as (node id, label); `custom_fields` names the custom fields conditions may
    test. With `preview` (Api.preview_segment, for a trigger's criteria), "N contacts
    match now" shows under each criteria. `segments` (Api.segments) lists the saved
    segments a `"widget": "segment"` field picks by name."""
    context = {
        "emails": emails or [],
        "custom_fields": custom_fields or [],
        "preview": preview,
        "segments": segments,
    }
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    result = dict(params)
    for name, declared in schema.get("properties", {}).items():
        prop, optional = _unwrap(declared, defs)  # keeps the field's own default and help
        if name not in params and not _applies(prop, result, schema):
            continue  # e.g. a custom event's name while the event is not custom
        title = prop.get("title") or name.replace("_", " ").capitalize()
        label = title + ("" if name not in required else " *")
        default = prop.get("default")
        current = params.get(name, default)
        key = field_key(node_id, name)
        value = _widget(label, prop, defs, current, key, prop.get("description"), optional, context)
        if value is _UNCHANGED:
            pass
        elif value is None or (name not in required and value == default and name not in params):
            result.pop(name, None)
        else:
            result[name] = value
        for message in field_messages(issues, name):
            st.error(message, icon="⚠️")
    return result


def _applies(prop: dict[str, Any], values: dict[str, Any], schema: dict[str, Any]) -> bool:
    """Whether a field's `shown_when` hint ({field: [values]}) holds for the values as
    the form has them so far (fields above it), or their defaults."""
    for field, wanted in (prop.get("shown_when") or {}).items():
        default = schema.get("properties", {}).get(field, {}).get("default")
        if values.get(field, default) not in wanted:
            return False
    return True


def field_key(node_id: str, name: str) -> str:
    """The widget key of a node's param field (new after session.refresh_forms)."""
    generation = session.form_generation()
    return f"param:{node_id}{f'@{generation}' if generation else ''}:{name}"


def field_messages(issues: list[dict[str, Any]], name: str) -> list[str]:
    """The messages of the issues about params field `name` (or anything inside it)."""
    found = []
    for issue in issues:
        tail = issue["path"].split(".params.", 1)
        if len(tail) == 2 and (tail[1] == name or tail[1].startswith((f"{name}.", f"{name}["))):
            found.append(issue["message"])
    return found


class _Unchanged:
    pass


_UNCHANGED: Any = _Unchanged()


def _unwrap(prop: dict[str, Any], defs: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(the schema to draw, whether None is allowed): `X | None` and `$ref` resolved."""
    optional = False
    if "anyOf" in prop:
        kinds = [p for p in prop["anyOf"] if p.get("type") != "null"]
        optional = len(kinds) < len(prop["anyOf"])
        if len(kinds) == 1:
            prop = {**kinds[0], **{k: v for k, v in prop.items() if k != "anyOf"}}
    if "$ref" in prop:
        prop = {
            **defs.get(prop["$ref"].rsplit("/", 1)[-1], {}),
            **{k: v for k, v in prop.items() if k != "$ref"},
        }
    return prop, optional


def _widget(
    label: str,
    prop: dict[str, Any],
    defs: dict[str, Any],
    current: Any,
    key: str,
    help_text: str | None,
    optional: bool,
    context: dict[str, Any] | None = None,
) -> Any:
    kind = prop.get("type")
    context = context or {}
    if is_criteria(prop, defs):
        criteria = conditions.condition_builder(
            key,
            current,
            emails=context.get("emails"),
            custom_fields=context.get("custom_fields"),
            label=label,
            help_text=help_text,
        )
        if context.get("preview"):
            conditions.match_count(criteria, context["preview"], key)
        return criteria
    if prop.get("widget") == "email_step":
        return conditions.email_step_picker(
            label, current, context.get("emails") or [], key, help_text=help_text
        )
    if prop.get("widget") == "segment":
        return _segment_picker(label, current, context.get("segments"), key, help_text)
    if _is_duration(prop):
        chosen = _duration(label, current, key, help_text)
        if optional and current is None and not chosen["amount"]:
            return None  # an optional duration left at zero stays absent, as it was
        return chosen
    if "enum" in prop:
        options = list(prop["enum"])
        if optional:
            options = [None, *options]
        index = options.index(current) if current in options else 0
        return st.selectbox(label, options, index=index, key=key, help=help_text)
    if kind == "boolean":
        return st.checkbox(label, value=bool(current), key=key, help=help_text)
    if kind in ("integer", "number"):
        number = st.number_input(
            label,
            value=current if isinstance(current, int | float) else None,
            step=1 if kind == "integer" else None,
            key=key,
            help=help_text,
        )
        if number is None:
            return None
        return int(number) if kind == "integer" else float(number)
    if kind == "string" and prop.get("widget") == EMAIL_BODY:
        from editor.email_author import blocks_editor

        made = blocks_editor(key, current if isinstance(current, str) else "")
        return _UNCHANGED if made is None else (made if made.strip() else None)
    if kind == "string":
        text = current if isinstance(current, str) else ""
        if prop.get("widget") in LONG_TEXT or prop.get("maxLength", 0) > 1000:
            entered = st.text_area(label, value=text, key=key, help=help_text, height=180)
        else:
            entered = st.text_input(label, value=text, key=key, help=help_text)
        return entered if entered.strip() else None
    if kind == "object" and prop.get("propertyNames", {}).get("enum"):
        return _keyed_texts(label, prop, current, key, help_text)
    if kind == "object" and _simple_object(prop, defs):
        return _object(label, prop, defs, current, key, help_text, context)
    if kind == "array" and _object_items(prop, defs):
        return _object_list(label, prop, defs, current, key, help_text, context)
    if kind == "array" and _scalar_types(prop.get("items", {})) - {"string"}:
        return _scalar_list(label, prop, current, key, help_text)
    if kind == "array" and prop.get("items", {}).get("type") == "string":
        text = ", ".join(current or [])
        entered = st.text_input(
            label, value=text, key=key, help=(help_text or "") + " (comma-separated)"
        )
        items = [part.strip() for part in entered.split(",") if part.strip()]
        return items or None
    return _json_field(label, current, key, help_text)


def _segment_picker(
    label: str,
    current: Any,
    segments: Callable[[], list[dict[str, Any]]] | None,
    key: str,
    help_text: str | None,
) -> str | None:
    """A saved segment, picked by its name; None for "use the filter instead"."""
    try:
        listed = segments() if segments else []
    except ApiError as exc:
        st.caption(f":red[Could not list the saved segments: {exc.message}]")
        listed = []
    names = {s["segment_id"]: s["name"] for s in listed}
    options: list[str | None] = [None, *names]
    if isinstance(current, str) and current not in names:
        options.append(current)
    return st.selectbox(
        label,
        options,
        index=options.index(current) if current in options else 0,
        format_func=lambda i: (
            "(none: the filter below)" if i is None else names.get(i, f"{i} (no such segment)")
        ),
        key=key,
        help=help_text,
    )


def is_criteria(prop: dict[str, Any], defs: dict[str, Any]) -> bool:
    """Whether a (resolved) schema is a Criteria: groups of objects with `conditions`."""
    if set(prop.get("properties", {})) != {"match", "groups"}:
        return False
    group, _ = _unwrap(prop["properties"]["groups"].get("items", {}), defs)
    return "conditions" in group.get("properties", {})


def _keyed_texts(
    label: str, prop: dict[str, Any], current: Any, key: str, help_text: str | None
) -> Any:
    """A mapping from a fixed set of keys (e.g. temperature → stage): a text per key,
    empty ones left out."""
    current = current if isinstance(current, dict) else {}
    st.markdown(f"**{label}**", help=help_text)
    result = {}
    for name in prop["propertyNames"]["enum"]:
        text = st.text_input(str(name), value=str(current.get(name) or ""), key=f"{key}:{name}")
        if text.strip():
            result[name] = text.strip()
    return result or None


def _simple_object(prop: dict[str, Any], defs: dict[str, Any]) -> bool:
    """An object whose fields are all plain (numbers, texts, choices, yes/no)."""
    fields = prop.get("properties") or {}
    plain = ("string", "integer", "number", "boolean")
    return bool(fields) and all(
        _unwrap(p, defs)[0].get("type") in plain or "enum" in _unwrap(p, defs)[0]
        for p in fields.values()
    )


def _object(
    label: str,
    prop: dict[str, Any],
    defs: dict[str, Any],
    current: Any,
    key: str,
    help_text: str | None,
    context: dict[str, Any],
) -> Any:
    """A small object (e.g. score thresholds) as its fields side by side; only what was
    given or differs from the defaults is kept."""
    current = current if isinstance(current, dict) else {}
    st.markdown(f"**{label}**", help=help_text)
    fields = prop["properties"]
    result = {}
    for column, (name, declared) in zip(st.columns(len(fields)), fields.items(), strict=True):
        sub, optional = _unwrap(declared, defs)
        default = sub.get("default")
        with column:
            value = _widget(
                sub.get("title") or name,
                sub,
                defs,
                current.get(name, default),
                f"{key}:{name}",
                sub.get("description"),
                optional,
                context,
            )
        if value is _UNCHANGED or value is None:
            continue
        if name in current or value != default:
            result[name] = value
    return result or None


def _scalar_types(items: dict[str, Any]) -> set[str]:
    """The scalar types an array's items may have ({} unless all are scalars)."""
    kinds = [p.get("type") for p in items.get("anyOf", [items])]
    scalar = {"string", "integer", "number"}
    return set(kinds) if kinds and all(k in scalar for k in kinds) else set()


def _scalar_list(
    label: str, prop: dict[str, Any], current: Any, key: str, help_text: str | None
) -> Any:
    """Texts and numbers, comma-separated: a number where the schema allows one, the
    value as it was where its text is unchanged."""
    current = current if isinstance(current, list) else []
    kinds = _scalar_types(prop.get("items", {}))
    entered = st.text_input(
        label,
        value=", ".join(str(v) for v in current),
        key=key,
        help=(help_text or "") + " (comma-separated)",
    )
    was = {str(v): v for v in current}
    items = []
    for part in (p.strip() for p in entered.split(",")):
        if not part:
            continue
        if part in was:
            items.append(was[part])
            continue
        try:
            number = float(part) if kinds & {"integer", "number"} else None
        except ValueError:
            number = None
        if number is not None and ("string" not in kinds or part.lstrip("-")[:1].isdigit()):
            items.append(int(number) if number.is_integer() else number)
        else:
            items.append(part)
    return items or None


def _object_items(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    """The item schema of an array of objects (switch cases, score rules…), or None."""
    item, _ = _unwrap(prop.get("items", {}), defs)
    return item if item.get("type") == "object" and item.get("properties") else None


def _object_list(
    label: str,
    prop: dict[str, Any],
    defs: dict[str, Any],
    current: Any,
    key: str,
    help_text: str | None,
    context: dict[str, Any],
) -> Any:
    """A list of objects drawn item by item, each field by its own widget; add and remove
    buttons. Items keep their widgets (by a stable id) when another one is removed."""
    item_schema = _object_items(prop, defs) or {}
    current = current if isinstance(current, list) else []
    state = st.session_state.get(f"{key}:items")
    if state is None or (current != state["source"] and current != state["last"]):
        state = {"source": current, "last": current, "ids": [], "init": {}}
        for item in current:
            state["init"][id_ := _next_id()] = item if isinstance(item, dict) else {}
            state["ids"].append(id_)
        st.session_state[f"{key}:items"] = state
    st.markdown(f"**{label}**", help=help_text)
    required = set(item_schema.get("required", []))
    result = []
    for number, item_id in enumerate(list(state["ids"]), start=1):
        init = state["init"].get(item_id, {})
        item: dict[str, Any] = {}
        with st.container(border=True):
            head, remove = st.columns([4, 1])
            head.caption(f"{item_schema.get('title') or 'Item'} {number}")
            remove.button(
                "Remove",
                key=f"{key}:{item_id}:remove",
                on_click=state["ids"].remove,
                args=(item_id,),
            )
            for name, declared in item_schema.get("properties", {}).items():
                sub, optional = _unwrap(declared, defs)
                title = sub.get("title") or name.replace("_", " ").capitalize()
                default = sub.get("default")
                value = _widget(
                    title + (" *" if name in required else ""),
                    sub,
                    defs,
                    init.get(name, default),
                    f"{key}:{item_id}:{name}",
                    sub.get("description"),
                    optional,
                    context,
                )
                if value is _UNCHANGED:
                    value = init.get(name)
                if value is None or (
                    name not in required and value == default and name not in init
                ):
                    continue
                item[name] = value
        result.append(item)

    def add() -> None:
        new_id = _next_id()
        state["init"][new_id] = {}
        state["ids"].append(new_id)

    st.button(f"＋ Add to {label.rstrip(' *').lower()}", key=f"{key}:add", on_click=add)
    state["last"] = result or None
    return result or None


_item_ids = iter(range(1, 1 << 62))


def _next_id() -> int:
    return next(_item_ids)


def _is_duration(prop: dict[str, Any]) -> bool:
    return set(prop.get("properties", {})) == {"amount", "unit"}


def _duration(label: str, current: Any, key: str, help_text: str | None) -> Any:
    current = current if isinstance(current, dict) else {}
    left, right = st.columns([1, 1])
    amount = left.number_input(
        label,
        min_value=0,
        step=1,
        value=int(current.get("amount", 0) or 0),
        key=f"{key}:amount",
        help=help_text,
    )
    unit = current.get("unit", "days")
    unit = right.selectbox(
        "unit",
        DURATION_UNITS,
        index=DURATION_UNITS.index(unit) if unit in DURATION_UNITS else 2,
        key=f"{key}:unit",
    )
    return {"amount": int(amount), "unit": unit}


def _json_field(label: str, current: Any, key: str, help_text: str | None) -> Any:
    """Structured params (criteria, mappings, variants…) as JSON, checked as typed."""
    text = (
        json.dumps(current, ensure_ascii=False, indent=2) if current not in (None, {}, []) else ""
    )
    entered = st.text_area(label + " (JSON)", value=text, key=key, help=help_text, height=160)
    if not entered.strip():
        return None
    try:
        return json.loads(entered)
    except json.JSONDecodeError as exc:
        st.error(
            f"{label}: not valid JSON — {exc.msg} at line {exc.lineno}, column {exc.colno}",
            icon="⚠️",
        )
        return _UNCHANGED


def has_email_body(schema: dict[str, Any]) -> bool:
    """Whether a kind's form holds an email body (then the email tools go with it)."""
    return any(p.get("widget") == EMAIL_BODY for p in schema.get("properties", {}).values())
