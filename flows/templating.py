"""Static analysis of personalisation templates (Jinja2 syntax): syntax errors and the
fields a template reads. Rendering happens in the step handlers, in a sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import get_close_matches
from functools import lru_cache

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

# Parsing only: the environment never renders here.
_ENV = SandboxedEnvironment(autoescape=False)

# Names a template may use at its top level, and what they hold.
ROOTS = ("contact", "deal", "company", "owner", "trigger", "flow", "unsubscribe_url")
_KNOWN = frozenset(ROOTS) | frozenset(_ENV.globals) | {"loop"}


@dataclass(frozen=True)
class TemplateInfo:
    error: str | None
    fields: tuple[str, ...]  # field references such as "contact.first_name"
    unknown_roots: tuple[str, ...]


@lru_cache(maxsize=4096)
def analyse(source: str) -> TemplateInfo:
    """Parse a template once (cached: the editor re-validates on every click)."""
    if "{" not in source:
        return TemplateInfo(None, (), ())
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return TemplateInfo(f"template error on line {exc.lineno}: {exc.message}", (), ())
    unknown = _unknown_filter_or_test(tree)
    if unknown:
        return TemplateInfo(unknown, (), ())
    fields: set[str] = set()
    roots: set[str] = set()
    declared = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name):
            fields.add(f"{node.node.name}.{node.attr}")
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name not in declared and node.name not in _KNOWN:
            roots.add(node.name)
    return TemplateInfo(None, tuple(sorted(fields)), tuple(sorted(roots)))


def _unknown_filter_or_test(tree: nodes.Template) -> str | None:
    # Jinja resolves filters only when it compiles a template, so a parse passes
    # `{{ name | titel }}`; rendering would then fail for every contact.
    for kind, node_type, known in (
        ("filter", nodes.Filter, _ENV.filters),
        ("test", nodes.Test, _ENV.tests),
    ):
        for node in tree.find_all(node_type):
            if node.name not in known:
                close = get_close_matches(node.name, list(known), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                return f"unknown {kind} '{node.name}'{hint}"
    return None
