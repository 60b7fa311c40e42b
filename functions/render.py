"""Rendering personalisation templates: Jinja2 in a sandbox (user templates cannot reach
Python internals), missing fields falling back to the step's fallbacks or to empty."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from functions.errors import TemplateError as CrmTemplateError
from functions.store.models import Contact


def _blank_none(value: Any) -> Any:
    return "" if value is None else value  # an empty field prints nothing, not "None"


_ENV = ImmutableSandboxedEnvironment(
    undefined=ChainableUndefined, autoescape=False, finalize=_blank_none
)
_HTML_ENV = ImmutableSandboxedEnvironment(
    undefined=ChainableUndefined, autoescape=True, finalize=_blank_none
)


@lru_cache(maxsize=2048)
def _compiled(source: str, html: bool) -> Any:
    return (_HTML_ENV if html else _ENV).from_string(source)


def contact_view(contact: Contact) -> dict[str, Any]:
    """The contact as templates see it: its fields, custom fields under .custom too."""
    view = {name: getattr(contact, name) for name in contact.get_attributes()}
    view["full_name"] = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    view["tags"] = sorted(contact.tags or ())
    view["products"] = sorted(contact.products or ())
    view.update({k: v for k, v in (contact.custom or {}).items() if k not in view})
    return view


def render(
    source: str,
    context: dict[str, Any],
    *,
    fallbacks: dict[str, str] | None = None,
    html: bool = False,
) -> str:
    """Render `source`; `fallbacks` ({"contact.first_name": "there"}) fill empty fields."""
    if "{" not in source:
        return source
    filled = _with_fallbacks(context, fallbacks or {})
    try:
        return _compiled(source, html).render(filled)
    except TemplateError as exc:
        raise CrmTemplateError(f"template failed: {exc}") from None


def _with_fallbacks(context: dict[str, Any], fallbacks: dict[str, str]) -> dict[str, Any]:
    if not fallbacks:
        return context
    filled = {k: dict(v) if isinstance(v, dict) else v for k, v in context.items()}
    for ref, value in fallbacks.items():
        scope, _, name = ref.partition(".")
        section = filled.setdefault(scope, {})
        if isinstance(section, dict) and section.get(name) in (None, ""):
            section[name] = value
    return filled
