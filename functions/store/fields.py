"""Contact fields from outside (hook payloads, API bodies): each value normalised to its
field's type, declared fields without a column of their own and `custom.<name>` kept in
the contact's custom fields. Errors name the field."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeSetAttribute

from flows.fields import CONTACT_FIELDS
from functions.errors import InvalidRecord
from functions.store import normalize
from functions.store.models import Contact

# Set by the system, never from outside.
READ_ONLY = frozenset(
    {"contact_id", "created_at", "updated_at", "version", "contact_shard", "last_touch_at"}
)
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off", ""})


def contact_fields(values: dict[str, Any], *, region: str | None = None) -> dict[str, Any]:
    """{"first_name": …, "custom": {…}} ready for build_contact or an update, from
    {"first_name": …, "budget": …, "custom.plan": …}; InvalidRecord names a bad field."""
    out: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    columns = Contact.get_attributes()
    for ref, value in values.items():
        scope, _, name = ref.rpartition(".")
        if scope not in ("", "contact", "custom"):
            raise InvalidRecord(f"field '{ref}' is not a contact field")
        if scope == "custom" or (name not in columns and name in CONTACT_FIELDS):
            custom[name] = value
        elif name in READ_ONLY or name not in columns:
            raise InvalidRecord(f"field '{ref}' is not a contact field that can be set")
        elif value is not None:
            out[name] = _typed(columns[name], name, value, region)
    if custom:
        out["custom"] = custom
    return out


def lenient_contact_fields(
    values: dict[str, Any], *, region: str | None = None
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """contact_fields for a lead arriving from outside (a hook): a value that cannot be
    read never loses the lead. It is kept as typed in custom.<name>_as_typed, and a
    warning ({"field", "message"}) says so, as an import does. The email must be readable;
    a field that is not a contact field at all is the flow's mistake, and raises.

    Phones written the national way are read in `region`, or in the country the values
    name when that is a code phonenumbers knows."""
    country = str(values.get("country") or "").strip().upper()
    region = country if country in normalize.REGIONS else region
    out: dict[str, Any] = {}
    warnings: list[dict[str, str]] = []
    for ref, value in values.items():
        try:
            found = contact_fields({ref: value}, region=region)
        except InvalidRecord as exc:
            name = ref.rpartition(".")[2]
            if name == "email" or "not a contact field" in str(exc):
                raise
            key = f"{name}_as_typed"
            out.setdefault("custom", {})[key] = value
            warnings.append({"field": name, "message": f"{exc}; kept as typed in custom.{key}"})
            continue
        custom = found.pop("custom", {})
        out.update(found)
        if custom:
            out.setdefault("custom", {}).update(custom)
    return out, warnings


def _typed(attribute: Any, name: str, value: Any, region: str | None) -> Any:
    if name == "email":
        return normalize.email(str(value))
    if name == "phone":
        try:
            return normalize.phone(str(value), region)
        except InvalidRecord as exc:
            raise InvalidRecord(f"phone: {exc}") from None
    if isinstance(attribute, UnicodeSetAttribute):
        items = value.split(",") if isinstance(value, str) else list(value)
        return {str(item).strip() for item in items if str(item).strip()}
    if isinstance(attribute, NumberAttribute):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidRecord(f"field '{name}' is a number; got {value!r}") from None
        return int(number) if number.is_integer() else number
    if isinstance(attribute, BooleanAttribute):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in _TRUE | _FALSE:
            raise InvalidRecord(f"field '{name}' is yes or no; got {value!r}")
        return text in _TRUE
    if isinstance(value, (dict, list)):
        raise InvalidRecord(f"field '{name}' is text; got a JSON {type(value).__name__}")
    return str(value).strip()
