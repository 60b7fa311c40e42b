"""Rendering personalisation templates: Jinja2 in a sandbox (user templates cannot reach
Python internals), missing fields falling back to the step's fallbacks or to empty."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape
from pynamodb.models import Model

from functions import direction
from functions.errors import RecordNotFound
from functions.errors import TemplateError as CrmTemplateError
from functions.store.models import Contact, User


def _blank_none(value: Any) -> Any:
    return "" if value is None else value  # an empty field prints nothing, not "None"


def _marked_text(value: Any) -> str:
    return direction.mark(str(_blank_none(value)))


def _marked_html(value: Any) -> Markup:
    # Escaped first (a Markup value, from |safe, stays as it is), then marked: the marks
    # become <bdi> in text and vanish inside tags (functions.direction.finish_html).
    return Markup(direction.mark(str(escape(_blank_none(value)))))


def _environment(html: bool, finalize: Any) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        undefined=ChainableUndefined, autoescape=html, finalize=finalize
    )


# (html, isolate) → environment. Isolating environments mark every {{ value }} so the
# text around it keeps its direction (functions.direction).
_ENVS = {
    (False, False): _environment(False, _blank_none),
    (True, False): _environment(True, _blank_none),
    (False, True): _environment(False, _marked_text),
    (True, True): _environment(True, _marked_html),
}


@lru_cache(maxsize=2048)
def _compiled(source: str, html: bool, isolate: bool) -> Any:
    return _ENVS[html, isolate].from_string(source)


def contact_view(contact: Contact) -> dict[str, Any]:
    """The contact as templates see it: its fields, custom fields under .custom too."""
    view = {name: getattr(contact, name) for name in contact.get_attributes()}
    view["id"] = contact.contact_id  # `contact.id`, as flows/fields.py declares it
    view["full_name"] = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    view["tags"] = sorted(contact.tags or ())
    view["products"] = sorted(contact.products or ())
    view.update({k: v for k, v in (contact.custom or {}).items() if k not in view})
    return view


def record_view(record: Model) -> dict[str, Any]:
    """A deal or company as templates see it: its fields, and `id`."""
    view = {name: getattr(record, name) for name in record.get_attributes()}
    view["id"] = getattr(record, record._hash_key_attribute().attr_name)
    return view


def related_views(contact: Contact, trigger: Mapping[str, Any], *sources: str) -> dict[str, Any]:
    """`deal` and `company` for the templates among `sources` that read them
    (`{{ deal.name }}`): the trigger's record, else the contact's (records.deal_for /
    company_for), empty when there is none. Nothing is read for templates that do not."""
    from flows.templating import analyse
    from functions.store import records

    used = {field.partition(".")[0] for source in sources for field in analyse(source).fields}
    views: dict[str, Any] = {}
    for scope, find in (("deal", records.deal_for), ("company", records.company_for)):
        if scope in used:
            try:
                views[scope] = record_view(find(contact, trigger))
            except RecordNotFound:
                views[scope] = {}
    return views


def owner_view(user: User) -> dict[str, Any]:
    """A user as templates see `owner`. Users have one name field: `{{ owner.first_name }}`
    (docs/flow-format.md) is its first word."""
    words = (user.name or "").split()
    return {
        "user_id": user.user_id,
        "name": user.name,
        "first_name": words[0] if words else "",
        "email": user.email,
    }


def render(
    source: str,
    context: dict[str, Any],
    *,
    fallbacks: dict[str, str] | None = None,
    html: bool = False,
    isolate: bool = False,
) -> str:
    """Render `source`; `fallbacks` ({"contact.first_name": "there"}) fill empty fields.
    With `isolate`, each value is a bidi isolate (<bdi> in HTML, FSI/PDI in text), for
    text people read: email subjects and bodies."""
    if "{" not in source:
        return source
    filled = _with_fallbacks(context, fallbacks or {})
    try:
        rendered = _compiled(source, html, isolate).render(filled)
    except TemplateError as exc:
        raise CrmTemplateError(f"template failed: {exc}") from None
    if not isolate:
        return rendered
    return direction.finish_html(rendered) if html else direction.finish_text(rendered)


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
