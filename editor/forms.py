"""A node's form, drawn from its kind's params declaration (the JSON Schema of its pydantic
model in flows/nodes/): a widget per field by type, with the field's description as help,
its default, and the validator's messages for that field right under it. No kind is
hard-coded: a new kind gets its form from its own declaration.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from flows.fields import KNOWN_SCOPES

LONG_TEXT = ("rich_template",)
DURATION_UNITS = ["minutes", "hours", "days", "weeks"]


def personalisation_tokens() -> list[str]:
    """The `{{ … }}` tokens an email can use: the contact's fields, its owner's, the flow."""
    contact = [f"{{{{ contact.{name} }}}}" for name in sorted(KNOWN_SCOPES["contact"])]
    return [*contact, "{{ owner.name }}", "{{ owner.email }}", "{{ unsubscribe_url }}"]


def params_form(
    node_id: str, schema: dict[str, Any], params: dict[str, Any], issues: list[dict[str, Any]]
) -> dict[str, Any]:
    """Draw the form; the params as the marketer left them (only what differs from the
    defaults, so documents stay small)."""
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    result = dict(params)
    for name, declared in schema.get("properties", {}).items():
        prop, optional = _unwrap(declared, defs)  # keeps the field's own default and help
        title = prop.get("title") or name.replace("_", " ").capitalize()
        label = title + ("" if name not in required else " *")
        default = prop.get("default")
        current = params.get(name, default)
        key = f"param:{node_id}:{name}"
        value = _widget(label, prop, defs, current, key, prop.get("description"), optional)
        if value is _UNCHANGED:
            pass
        elif value is None or (name not in required and value == default and name not in params):
            result.pop(name, None)
        else:
            result[name] = value
        for message in field_messages(issues, name):
            st.error(message, icon="⚠️")
    return result


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
) -> Any:
    kind = prop.get("type")
    if _is_duration(prop):
        return _duration(label, current, key, help_text)
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
    if kind == "string":
        text = current if isinstance(current, str) else ""
        if prop.get("widget") in LONG_TEXT or prop.get("maxLength", 0) > 1000:
            entered = st.text_area(label, value=text, key=key, help=help_text, height=180)
        else:
            entered = st.text_input(label, value=text, key=key, help=help_text)
        return entered if entered.strip() else None
    if kind == "array" and prop.get("items", {}).get("type") == "string":
        text = ", ".join(current or [])
        entered = st.text_input(
            label, value=text, key=key, help=(help_text or "") + " (comma-separated)"
        )
        items = [part.strip() for part in entered.split(",") if part.strip()]
        return items or None
    return _json_field(label, current, key, help_text)


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
