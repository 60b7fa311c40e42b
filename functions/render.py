"""Rendering personalisation templates: Jinja2 in a sandbox (user templates cannot reach
Python internals), missing fields falling back to the step's fallbacks or to empty.

Rendering has hard limits, so that no template, hostile or careless, can take a Lambda
or the API down with it:
- output: counted as it streams, at most `max_chars` (ONE_LINE for subjects and other
  one-line fields, LONG_TEXT for bodies); text made inside macros and blocks is counted
  too (WORK_CHARS);
- values: no repeat, power, padding, join, replace or format may build a text, list or
  number past flows.templating's limits; each is refused before it is computed, by the
  rules the editor's validation applies to constants;
- time: RENDER_SECONDS per template (TEST_RUN_SECONDS for all of a test run's), checked
  at every loop step, call, attribute, operator and printed value.
Template.TooLarge and Template.TooSlow (both Crm.TemplateError) name the limit in words.
"""

from __future__ import annotations

import functools
import types
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from time import monotonic
from typing import Any

from jinja2 import ChainableUndefined, nodes, pass_environment, pass_eval_context
from jinja2.filters import FILTERS, make_attrgetter
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
)
from jinja2.utils import generate_lorem_ipsum
from jinja2.visitor import NodeTransformer
from markupsafe import Markup, escape
from pynamodb.models import Model

from flows.templating import (
    LONG_TEXT_CHARS,
    MAX_CHARS,
    ONE_LINE_CHARS,
    binop_problem,
    filter_problem,
    format_spec_problem,
    included_problem,
    join_problem,
    lipsum_problem,
    method_problem,
    range_problem,
    text_problem,
    text_size,
)
from functions import direction, sandbox
from functions.errors import CrmError, RecordNotFound, TemplateTooLarge, TemplateTooSlow
from functions.errors import TemplateError as CrmTemplateError
from functions.store.models import Contact, User

ONE_LINE = ONE_LINE_CHARS  # subjects, preheaders, addresses
LONG_TEXT = LONG_TEXT_CHARS  # bodies, messages and other long text (the default)
RENDER_SECONDS = 1.0  # per template
TEST_RUN_SECONDS = 10.0  # all the templates of one test run, which answers an API call
WORK_CHARS = 10 * LONG_TEXT  # printed along the way, in macros and blocks included

# Filters that turn their input into text: a value too big to print is refused first.
_TEXT_FILTERS = frozenset(
    {
        "capitalize", "center", "e", "escape", "filesizeformat", "forceescape", "format",
        "indent", "lower", "pprint", "replace", "safe", "string", "striptags", "title",
        "tojson", "trim", "truncate", "upper", "urlencode", "urlize", "wordcount",
        "wordwrap", "xmlattr",
    }
)  # fmt: skip


# --- the budget of the render under way ------------------------------------------------


@dataclass
class _Budget:
    what: str  # "the subject": how messages name the template
    seconds: float
    deadline: float
    shared: bool  # the deadline is the test run's, sooner than the template's own
    made: int = 0  # characters printed so far, in macros and blocks included


_BUDGET: ContextVar[_Budget | None] = ContextVar("crmflow_render_budget", default=None)


@dataclass
class _RunClock:
    run: weakref.ref[Any]  # the test run's sandbox
    spent: float = 0.0


_RUN_CLOCK: ContextVar[_RunClock | None] = ContextVar("crmflow_test_run_renders", default=None)


def _tick() -> None:
    """Template.TooSlow once the render is past its deadline."""
    budget = _BUDGET.get()
    if budget is None or monotonic() <= budget.deadline:
        return
    if budget.shared:
        raise TemplateTooSlow(
            f"{budget.what} was not rendered: this test run's templates took more than "
            f"{TEST_RUN_SECONDS:g} seconds together"
        )
    unit = "second" if budget.seconds == 1 else "seconds"
    raise TemplateTooSlow(
        f"{budget.what} took more than {budget.seconds:g} {unit} to render; make its loops smaller"
    )


def _too_large(problem: str) -> TemplateTooLarge:
    budget = _BUDGET.get()
    return TemplateTooLarge(
        f"{budget.what if budget else 'the template'} cannot be rendered: {problem}"
    )


def _refuse(problem: str | None) -> None:
    if problem:
        raise _too_large(problem)


def _checked(result: Any) -> Any:
    # Each step's input was checked; this catches what a check could only bound loosely.
    if isinstance(result, str) and len(result) > MAX_CHARS:
        raise _too_large(text_problem(len(result), "this text") or "")
    return result


def _printed(value: Any) -> Any:
    """Every {{ value }} passes here (the environments' finalize): counted, then blanked
    if None (an empty field prints nothing, not "None")."""
    budget = _BUDGET.get()
    if budget is not None:  # None: Jinja folding a constant while compiling
        _tick()
        size = text_size(value)
        _refuse(text_problem(size, "printing this value", exact=False))
        budget.made += size
        if budget.made > WORK_CHARS:
            raise _too_large(f"it would print more than {WORK_CHARS:,} characters along the way")
    return "" if value is None else value


def _marked_text(value: Any) -> str:
    return direction.mark(str(_printed(value)))


def _marked_html(value: Any) -> Markup:
    # Escaped first (a Markup value, from |safe, stays as it is), then marked: the marks
    # become <bdi> in text and vanish inside tags (functions.direction.finish_html).
    return Markup(direction.mark(str(escape(_printed(value)))))


# --- the sandbox's checks --------------------------------------------------------------


def _limited_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    lead = 0 if getattr(func, "jinja_pass_arg", None) is None else 1  # environment first

    @functools.wraps(func)  # keeps jinja_pass_arg
    def limited(*args: Any, **kwargs: Any) -> Any:
        _tick()
        value = args[lead] if len(args) > lead else None
        if name in _TEXT_FILTERS:
            size = text_size(value)
            _refuse(text_problem(size, f"the input of '{name}'", exact=False))
        _refuse(filter_problem(name, value, args[lead + 1 :], kwargs))
        return _checked(func(*args, **kwargs))

    return limited


@pass_eval_context
def _join(eval_ctx: Any, value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
    items = list(value)  # sized before anything is joined
    if attribute is not None:
        items = [make_attrgetter(eval_ctx.environment, attribute)(item) for item in items]
    _refuse(join_problem(d, items))
    return _checked(FILTERS["join"](eval_ctx, items, d))


@pass_environment
def _sum(environment: Any, iterable: Iterable[Any], attribute: Any = None, start: Any = 0) -> Any:
    # builtins.sum would add lists or texts with no check between steps
    if attribute is not None:
        iterable = map(make_attrgetter(environment, attribute), iterable)
    total = start
    for item in iterable:
        _tick()
        _refuse(binop_problem("+", total, item))
        total = total + item
    return total


def _range(*args: Any) -> range:
    _refuse(range_problem(args))
    return range(*args)


def _lipsum(*args: Any, **kwargs: Any) -> Any:
    _refuse(lipsum_problem(args, kwargs))
    return generate_lorem_ipsum(*args, **kwargs)


def _loop(iterable: Iterable[Any]) -> Iterator[Any]:
    """What every {% for %} iterates over: the deadline checked at each step."""
    for item in iterable:
        _tick()
        yield item


@pass_eval_context
def _concat(eval_ctx: Any, *parts: Any) -> str:
    """`a ~ b`, sized before it is joined."""
    _refuse(join_problem("", list(parts)))
    return _checked(markup_join(parts) if eval_ctx.autoescape else str_join(parts))


def _block(parts: Iterable[str]) -> str:
    """The text of a macro, {% set %} or {% filter %} block (Environment.concat)."""
    parts = list(parts)
    _refuse(text_problem(sum(map(len, parts)), "this block"))
    return "".join(parts)


class _CountingFormatter:
    """str.format with each field's width checked and the text made counted."""

    made = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        _tick()
        size = text_size(value)
        _refuse(format_spec_problem(format_spec) or text_problem(size, "a field", exact=False))
        text = super().format_field(value, format_spec)  # type: ignore[misc]
        self.made += len(text)
        _refuse(text_problem(self.made, "this format", exact=False))
        return text


class _LimitedFormatter(_CountingFormatter, SandboxedFormatter):
    pass


class _LimitedEscapeFormatter(_CountingFormatter, SandboxedEscapeFormatter):
    pass


class _Guarded(NodeTransformer):
    """Loops and `~` through the environment's checks: Jinja compiles both inline."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _environment_call("limited_loop", [node.iter], node.iter)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _environment_call("limited_concat", node.nodes, node)


def _environment_call(name: str, args: list[nodes.Expr], like: nodes.Node) -> nodes.Call:
    call = nodes.Call(nodes.EnvironmentAttribute(name), list(args), [], None, None)
    call.set_lineno(like.lineno)
    call.set_environment(like.environment)
    return call


class _LimitedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with every way a template makes values or spends time checked."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, html: bool, finalize: Callable[[Any], Any]) -> None:
        super().__init__(undefined=ChainableUndefined, autoescape=html, finalize=finalize)
        self.filters = {name: _limited_filter(name, f) for name, f in self.filters.items()}
        self.filters.update(join=_join, sum=_sum)
        self.globals.update(range=_range, lipsum=_lipsum)
        self.concat = _block  # type: ignore[assignment]
        self.limited_loop = _loop
        self.limited_concat = _concat

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        _refuse(binop_problem(operator, left, right))
        return _checked(super().call_binop(context, operator, left, right))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        _tick()
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str | bytes):  # 'x'.center(n), ', '.join(items)…
            name = getattr(obj, "__name__", "")
            if name == "join" and args and not isinstance(args[0], list | tuple):
                args = (list(args[0]), *args[1:])
            _refuse(method_problem(owner, name, args, kwargs))
        return _checked(super().call(context, obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or (
            value.__name__ not in ("format", "format_map")
        ):
            return None
        owner = value.__self__
        if not isinstance(owner, str):
            return None
        as_map = value.__name__ == "format_map"

        def limited(*args: Any, **kwargs: Any) -> str:
            if as_map:
                if kwargs or len(args) != 1 or not isinstance(args[0], Mapping):
                    raise TypeError("format_map() takes exactly one mapping")
                args, kwargs = (), dict(args[0])
            formatter = (
                _LimitedEscapeFormatter(self, escape=owner.escape)
                if isinstance(owner, Markup)
                else _LimitedFormatter(self)
            )
            return type(owner)(formatter.vformat(owner, args, kwargs))

        return functools.update_wrapper(limited, value)


# (html, isolate) → environment. Isolating environments mark every {{ value }} so the
# text around it keeps its direction (functions.direction).
_ENVS = {
    (False, False): _LimitedEnvironment(False, _printed),
    (True, False): _LimitedEnvironment(True, _printed),
    (False, True): _LimitedEnvironment(False, _marked_text),
    (True, True): _LimitedEnvironment(True, _marked_html),
}


@lru_cache(maxsize=2048)
def _compiled(source: str, html: bool, isolate: bool) -> Any:
    env = _ENVS[html, isolate]
    tree = env.parse(source)
    problem = included_problem(tree)
    if problem:  # validation refuses these; a template saved before still fails by name
        raise CrmTemplateError(problem)
    return env.from_string(_Guarded().visit(tree))


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
    what: str = "the text",
    max_chars: int = LONG_TEXT,
    seconds: float = RENDER_SECONDS,
) -> str:
    """Render `source`; `fallbacks` ({"contact.first_name": "there"}) fill empty fields.
    With `isolate`, each value is a bidi isolate (<bdi> in HTML, FSI/PDI in text), for
    text people read: email subjects and bodies.

    At most `max_chars` of output (ONE_LINE or LONG_TEXT) and `seconds` of time; `what`
    names the template in the error when one is exceeded ("the subject would be longer
    than 1,000 characters"): Template.TooLarge, Template.TooSlow. Any other failure is
    Crm.TemplateError."""
    if "{" not in source:
        if len(source) > max_chars:
            raise TemplateTooLarge(_longer(what, max_chars))
        return source
    filled = _with_fallbacks(context, fallbacks or {})
    rendered = _render(source, filled, html, isolate, what, max_chars, seconds)
    if not isolate:
        return rendered
    return direction.finish_html(rendered) if html else direction.finish_text(rendered)


def _longer(what: str, max_chars: int) -> str:
    return f"{what} would be longer than {max_chars:,} characters"


def _render(
    source: str,
    context: dict[str, Any],
    html: bool,
    isolate: bool,
    what: str,
    max_chars: int,
    seconds: float,
) -> str:
    clock = _test_run_clock()
    started = monotonic()
    allowed = seconds if clock is None else min(seconds, TEST_RUN_SECONDS - clock.spent)
    token = _BUDGET.set(_Budget(what, seconds, started + allowed, allowed < seconds))
    stream = None
    try:
        stream = _compiled(source, html, isolate).generate(context)
        parts: list[str] = []
        made = 0
        for part in stream:  # counted as it comes: never more than max_chars is kept
            made += len(part)
            if made > max_chars:
                raise TemplateTooLarge(_longer(what, max_chars))
            parts.append(part)
        return "".join(parts)
    except CrmError:
        raise
    except RecursionError:
        raise CrmTemplateError(
            "template failed: it nests too deeply (brackets, tags, or a macro calling itself)"
        ) from None
    except Exception as exc:  # Jinja's errors, and 1 / 0, int('x', 99)… of template code
        raise CrmTemplateError(f"template failed: {exc}") from None
    finally:
        if stream is not None:
            stream.close()
        _BUDGET.reset(token)
        if clock is not None:
            clock.spent += monotonic() - started


def _test_run_clock() -> _RunClock | None:
    """Rendering time spent by the test run under way (functions.sandbox), if any: a test
    run answers one API call, however many steps it walks."""
    box = sandbox.active()
    if box is None:
        return None
    clock = _RUN_CLOCK.get()
    if clock is None or clock.run() is not box:
        clock = _RunClock(weakref.ref(box))
        _RUN_CLOCK.set(clock)
    return clock


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
