"""Static analysis of personalisation templates (Jinja2 syntax): syntax errors, the
fields a template reads, and the size limits of rendering. Rendering happens in the step
handlers, in a sandbox (functions/render.py) that enforces the same limits with the same
rules (the `*_problem` functions here) on the values only known then."""

from __future__ import annotations

import inspect
import math
import operator
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from functools import lru_cache
from itertools import chain
from string import Formatter
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined, nodes
from jinja2.filters import FILTERS
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import Namespace

from flows.template_messages import stray_close, syntax_message

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
    if "{" not in source and "}}" not in source:
        return TemplateInfo(None, (), ())
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return TemplateInfo(syntax_message(source, exc), (), ())
    except RecursionError:  # Jinja's parser recurses ~13 frames per bracket
        return TemplateInfo(f"template error: {TOO_DEEP}", (), ())
    unknown = _unknown_filter_or_test(tree) or stray_close(source)
    if unknown:
        return TemplateInfo(unknown, (), ())
    over = included_problem(tree) or _constant_problem(tree)
    if over:
        return TemplateInfo(over, (), ())
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


_COMMON = {
    "filter": "; use one of default, upper, lower, title, capitalize, trim, round, join",
    "test": "; use one of defined, none, number, string, even, odd, in",
}


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
                hint = f"; did you mean '{close[0]}'?" if close else _COMMON[kind]
                return f"unknown {kind} '{node.name}'{hint}"
    return None


# --- limits ---------------------------------------------------------------------------
# A template renders at most this much text (functions/render.py counts it as it streams):
ONE_LINE_CHARS = 1_000  # subjects, preheaders, addresses and other one-line fields
LONG_TEXT_CHARS = 1_000_000  # bodies and other long text
# and builds no value bigger than this on the way (checked before the value is made):
MAX_CHARS = LONG_TEXT_CHARS  # a text
MAX_ITEMS = 1_000_000  # a list
MAX_DIGITS = 4_000  # a number (Python prints at most 4,300 digits)
MAX_RANGE = 100_000  # numbers a range() counts, as jinja2.sandbox.MAX_RANGE
MAX_SLICES = 100_000  # lists `slice` makes
MAX_BITS = int(MAX_DIGITS * math.log2(10))
TOO_DEEP = "the template nests brackets or tags too deeply"
INCLUDES = "templates cannot include other templates"

_INCLUDE_TAGS = {
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.Extends: "extends",
}


def included_problem(tree: nodes.Template) -> str | None:
    """{% include %}, {% import %}, {% from %} and {% extends %}: a template stands alone."""
    for node in tree.find_all(tuple(_INCLUDE_TAGS)):
        return (
            f"template error on line {node.lineno}: {INCLUDES} "
            f"({{% {_INCLUDE_TAGS[type(node)]} %}}); write the text in this field instead"
        )
    return None


def text_size(value: Any, budget: int = MAX_CHARS) -> int:
    """About how many characters `str(value)` makes, without making it. Counting stops
    once past `budget` (a list of a million references to a long text is cheap to hold
    but not to print)."""
    total, stack = 0, [value]
    while stack and total <= budget:
        item = stack.pop()
        if isinstance(item, str | bytes | bytearray):
            total += len(item)
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2  # digits: bits × 0.30
        elif isinstance(item, Undefined):
            pass  # prints nothing
        elif isinstance(item, Mapping):
            total += 4 * len(item) + 2
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset | range):
            total += 2 * len(item) + 2
            stack.extend(item)
        elif isinstance(item, Namespace):
            stack.append(getattr(item, "_Namespace__attrs", {}))  # its repr shows them
        else:
            total += 24  # a float, or an object's short repr
    return total


def _n(number: int) -> str:
    """A number for a message: 100,000,000; past 15 digits, only how big it is."""
    return f"{number:,}" if abs(number) < 10**15 else "more than 10^15"


def nested_size(value: Any, indent: int) -> int:
    """About how long `value` is printed one item a line, each line indented `indent` per
    level (json.dumps with an indent, pprint): a deep list of many items grows by its
    depth. Counting stops once past the limit."""
    total, stack = 0, [(iter((value,)), 0)]
    while stack and total <= MAX_CHARS:
        items, depth = stack[-1]
        item = next(items, _END)
        if item is _END:
            stack.pop()
            continue
        total += depth * indent + 2  # its line: the indent, a comma, a newline
        if isinstance(item, Mapping):
            stack.append((chain.from_iterable(item.items()), depth + 1))
        elif isinstance(item, list | tuple | set | frozenset):
            stack.append((iter(item), depth + 1))
        else:
            total += text_size(item, MAX_CHARS - total)
    return total


_END: Any = object()


def _over(amount: int, limit: int, unit: str, what: str, *, exact: bool = True) -> str | None:
    if amount <= limit:
        return None
    if not exact:  # a bound, or a count that stopped once past the limit
        return f"{what} could make more than the {limit:,} {unit} a template can make"
    return f"{what} would make {_n(amount)} {unit}, more than the {limit:,} a template can make"


def text_problem(size: int, what: str = "this text", *, exact: bool = True) -> str | None:
    return _over(size, MAX_CHARS, "characters", what, exact=exact)


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def binop_problem(op: str, left: Any, right: Any) -> str | None:
    """Whether `left op right` would build too big a value; checked before it is built."""
    if op == "*":
        if _is_int(left) and _is_int(right):
            return _number_problem(left.bit_length() + right.bit_length())
        if _is_int(left):
            left, right = right, left
        if _is_int(right) and right > 1:
            if isinstance(left, str | bytes):
                return text_problem(len(left) * right, f"repeating a text {_n(right)} times")
            if isinstance(left, list | tuple):
                what = f"repeating a list {_n(right)} times"
                return _over(len(left) * right, MAX_ITEMS, "items", what)
    elif op == "**":
        if _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
            if right.bit_length() > 64:
                return _number_problem(MAX_BITS + 1)
            return _number_problem(math.ceil(right * math.log2(abs(left))))
    elif op == "+":
        if isinstance(left, str | bytes) and isinstance(right, str | bytes):
            return text_problem(len(left) + len(right), "joining these texts")
        if isinstance(left, list | tuple) and isinstance(right, list | tuple):
            return _over(len(left) + len(right), MAX_ITEMS, "items", "joining these lists")
    elif op == "%" and isinstance(left, str | bytes):
        fmt = left if isinstance(left, str) else left.decode("latin-1")
        return percent_problem(fmt, right)
    return None


def _number_problem(bits: int) -> str | None:
    if bits <= MAX_BITS:
        return None
    return f"a number would have more than {MAX_DIGITS:,} digits"


def _digits(text: str) -> int:
    return int(text) if len(text) < 10 else 10**10  # a width past any limit


_DIGIT_RUN = re.compile(r"\d*")


def _spec_number(fmt: str, i: int) -> tuple[str, int]:
    """A width or precision at `fmt[i:]`: '*', digits or ''; and where it ends."""
    if fmt.startswith("*", i):
        return "*", i + 1
    end = _DIGIT_RUN.match(fmt, i).end()  # type: ignore[union-attr]
    return fmt[i:end], end


def _percent_fields(fmt: str) -> Iterator[tuple[str | None, str, str]]:
    """(key, width, precision) of each conversion of `fmt % args`, in order, in one pass
    whatever the format holds; they stop where Python would refuse the format."""
    size, i = len(fmt), fmt.find("%")
    while i != -1:
        i += 1
        key = None
        if fmt.startswith("(", i):  # %(key)s, the key's own brackets balanced
            depth, j = 1, i + 1
            while depth:
                close = fmt.find(")", j)
                if close == -1:
                    return
                depth += fmt.count("(", j, close) - 1
                j = close + 1
            key, i = fmt[i + 1 : j - 1], j
        while i < size and fmt[i] in "#0- +":
            i += 1
        width, i = _spec_number(fmt, i)
        precision = ""
        if fmt.startswith(".", i):
            precision, i = _spec_number(fmt, i + 1)
        while i < size and fmt[i] in "hlL":
            i += 1
        if i >= size:
            return
        if fmt[i] != "%":  # %% is a literal %
            yield key, width, precision
        i = fmt.find("%", i + 1)


def percent_problem(fmt: str, args: Any) -> str | None:
    """`fmt % args` (and the `format` filter): each field as wide as its width, precision
    or value, whichever is most."""
    values = iter(args if isinstance(args, tuple) else (args,))
    total = len(fmt)
    for key, width, precision in _percent_fields(fmt):
        widest = 0
        for number in (width, precision):
            if number == "*":
                star = next(values, 0)
                widest = max(widest, abs(star) if _is_int(star) else 0)
            elif number:
                widest = max(widest, _digits(number))
        if key is not None and isinstance(args, Mapping):
            value = args.get(key)
        else:
            value = next(values, None)
        total += max(widest, text_size(value))
        if total > MAX_CHARS:
            return text_problem(total, "this format", exact=False)
    return None


def format_spec_problem(spec: str) -> str | None:
    """A str.format field's spec ('>{width}.{precision}'): its numbers are its size."""
    widest = max((_digits(n) for n in re.findall(r"\d+", spec)), default=0)
    return text_problem(widest, f"a field {_n(widest)} wide")


def _format_fields_problem(fmt: str) -> str | None:
    try:
        fields = list(Formatter().parse(fmt))
    except ValueError:
        return None  # a malformed format fails by itself
    for _, _, spec, _ in fields:
        problem = spec and format_spec_problem(spec)
        if problem:
            return problem
    return None


def join_problem(separator: Any, items: list[Any]) -> str | None:
    total = text_size(separator) * max(len(items) - 1, 0)
    for item in items:
        total += text_size(item)
        if total > MAX_CHARS:
            break
    return text_problem(total, "joining these texts", exact=False)


def replace_problem(text: Any, old: Any, new: Any, count: Any = None) -> str | None:
    if not (isinstance(text, str | bytes) and isinstance(old, str | bytes)):
        return None
    grows = text_size(new) - len(old)
    if grows <= 0:
        return None
    times = len(text) + 1 if not old else text.count(old)  # type: ignore[arg-type]
    if _is_int(count) and count >= 0:
        times = min(times, count)
    return text_problem(len(text) + times * grows, "this replace")


def _pad_problem(width: Any) -> str | None:
    return text_problem(width, f"a width of {_n(width)}") if _is_int(width) else None


def method_problem(
    obj: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str | None:
    """A text method call (`'x'.center(n)`) that would build too long a text."""
    if not isinstance(obj, str | bytes):
        return None
    if name in ("center", "ljust", "rjust", "zfill"):
        return _pad_problem(args[0]) if args else None
    if name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if _is_int(size):
            tabs = obj.count("\t" if isinstance(obj, str) else b"\t")  # type: ignore[arg-type]
            return text_problem(len(obj) + tabs * size, f"a tab size of {_n(size)}")
    if name == "replace" and len(args) >= 2:
        return replace_problem(obj, args[0], args[1], args[2] if len(args) > 2 else None)
    if name == "join" and args and isinstance(args[0], list | tuple):
        return join_problem(obj, list(args[0]))
    if name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((text_size(v) for v in args[0].values()), default=0)
        return text_problem(len(obj) * longest, "this translate", exact=False)
    if name in ("format", "format_map") and isinstance(obj, str):
        return _format_fields_problem(obj)
    return None


def range_problem(args: tuple[Any, ...]) -> str | None:
    try:
        numbers = range(*args)
    except (TypeError, ValueError):
        return None  # range() says what is wrong
    try:
        count = len(numbers)
    except OverflowError:
        count = 2**63
    if count <= MAX_RANGE:
        return None
    shown = ", ".join(str(a) if text_size(a) < 20 else "…" for a in args)
    return (
        f"range({shown}) would count {_n(count)} numbers, "
        f"more than the {MAX_RANGE:,} a template can count"
    )


def lipsum_problem(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    bound = _bind(args, kwargs, _lipsum_signature())
    if bound is None:
        return None
    paragraphs, longest = bound.get("n", 5), bound.get("max", 100)
    if not (_is_int(paragraphs) and _is_int(longest)):
        return None
    what = f"lipsum({_n(paragraphs)})"
    return text_problem(paragraphs * max(longest, 0) * 12, what, exact=False)


@lru_cache(maxsize=1)
def _lipsum_signature() -> inspect.Signature:
    return inspect.signature(_ENV.globals["lipsum"])


@lru_cache(maxsize=64)
def _filter_signature(name: str) -> inspect.Signature:
    func = inspect.unwrap(FILTERS[name])  # the sync variant, as Jinja calls it
    signature = inspect.signature(func)
    if getattr(func, "jinja_pass_arg", None) is not None:  # environment or context first
        signature = signature.replace(parameters=list(signature.parameters.values())[1:])
    return signature


def _bind(
    args: tuple[Any, ...], kwargs: dict[str, Any], signature: inspect.Signature
) -> dict[str, Any] | None:
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return None  # the call fails by itself, with Jinja's own message
    bound.apply_defaults()
    return dict(bound.arguments)


# Filters whose output can outgrow their input, and what bounds it.
GROWING_FILTERS = frozenset(
    {"center", "indent", "wordwrap", "format", "join", "replace", "batch", "slice"}
    | {"tojson", "pprint"}
)


def filter_problem(
    name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str | None:
    """`value | name(*args, **kwargs)` that would build too big a value (`join` wants its
    items as a list)."""
    if name not in GROWING_FILTERS:
        return None
    a = _bind((value, *args), kwargs, _filter_signature(name))
    if a is None:
        return None
    if name == "center":
        return _pad_problem(a["width"])
    if name == "indent":
        width = a["width"]
        prefix = len(width) if isinstance(width, str) else width if _is_int(width) else 0
        problem = _pad_problem(prefix)
        text = a["s"] if isinstance(a["s"], str) else ""
        return problem or text_problem(len(text) + (text.count("\n") + 1) * prefix, "indent")
    if name == "wordwrap":
        text, wrap, width = a["s"], a["wrapstring"], a["width"]
        if isinstance(text, str) and _is_int(width):
            # a line ends at a space, or every `width` characters inside a long word
            spaces = sum(text.count(c) for c in " \t\n\r\f\v")
            lines = min(len(text), spaces + len(text) // max(width, 1)) + 1
            wrap_size = 1 if wrap is None else text_size(wrap)
            return text_problem(len(text) + lines * wrap_size, "wordwrap", exact=False)
    if name == "format" and isinstance(value, str):
        return percent_problem(value, a["kwargs"] or a["args"])
    if name == "join" and isinstance(value, list) and a["attribute"] is None:
        return join_problem(a["d"], value)
    if name == "replace":
        return replace_problem(a["s"], a["old"], a["new"], a["count"])
    if name == "batch" and a["fill_with"] is not None and _is_int(a["linecount"]):
        return _over(a["linecount"], MAX_ITEMS, "items", f"batch({_n(a['linecount'])})")
    if name == "tojson" and _is_int(a["indent"]) and a["indent"] > 0:
        what = f"tojson(indent={_n(a['indent'])})"
        return text_problem(nested_size(value, a["indent"]), what, exact=False)
    if name == "pprint":
        return text_problem(nested_size(value, 1), "pprint", exact=False)
    if name == "slice" and _is_int(a["slices"]):
        return _over(a["slices"], MAX_SLICES, "lists", f"slice({_n(a['slices'])})")
    return None


# --- constant expressions, checked at save time --------------------------------------

_UNKNOWN: Any = object()
_UNARY = {nodes.Neg: operator.neg, nodes.Pos: operator.pos}
_BINOPS = {
    nodes.Add: ("+", operator.add),
    nodes.Sub: ("-", operator.sub),
    nodes.Mul: ("*", operator.mul),
    nodes.Div: ("/", operator.truediv),
    nodes.FloorDiv: ("//", operator.floordiv),
    nodes.Mod: ("%", operator.mod),
    nodes.Pow: ("**", operator.pow),
}


class _Refused(Exception):
    def __init__(self, problem: str, lineno: int) -> None:
        super().__init__(problem)
        self.problem, self.lineno = problem, lineno


def _constant_problem(tree: nodes.Template) -> str | None:
    """What the template's constants alone already break (`{{ 'x' * 100000000 }}`,
    `range(10**9)`): values known only when rendering are checked then."""
    try:
        _fold(tree, {})
    except _Refused as refused:
        return f"template error on line {refused.lineno}: {refused.problem}"
    except RecursionError:
        return f"template error: {TOO_DEEP}"
    return None


def _fold(node: nodes.Node, seen: dict[int, Any]) -> Any:
    """The value of a constant expression (each step checked before it is computed), or
    _UNKNOWN. Every node is visited, so a constant inside any expression is checked."""
    for child in node.iter_child_nodes():
        seen[id(child)] = _fold(child, seen)

    def value(child: nodes.Node | None) -> Any:
        return _UNKNOWN if child is None else seen.get(id(child), _UNKNOWN)

    def refuse(problem: str | None) -> None:
        if problem:
            raise _Refused(problem, node.lineno)

    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.List | nodes.Tuple):
        items = [value(i) for i in node.items]
        if any(i is _UNKNOWN for i in items):
            return _UNKNOWN
        return items if isinstance(node, nodes.List) else tuple(items)
    if type(node) in _UNARY:
        operand = value(node.node)  # type: ignore[attr-defined]
        return _UNKNOWN if operand is _UNKNOWN else _apply(_UNARY[type(node)], operand)
    if type(node) in _BINOPS:
        left, right = value(node.left), value(node.right)  # type: ignore[attr-defined]
        if left is _UNKNOWN or right is _UNKNOWN:
            return _UNKNOWN
        op, compute = _BINOPS[type(node)]
        refuse(binop_problem(op, left, right))
        return _apply(compute, left, right)
    if isinstance(node, nodes.Concat):
        parts = [value(p) for p in node.nodes]
        if any(p is _UNKNOWN for p in parts):
            return _UNKNOWN
        refuse(join_problem("", parts))
        return "".join(str(p) for p in parts)
    if isinstance(node, nodes.Filter | nodes.Call) and not (node.dyn_args or node.dyn_kwargs):
        args = tuple(value(a) for a in node.args)
        kwargs = {k.key: value(k.value) for k in node.kwargs}
        if any(v is _UNKNOWN for v in (*args, *kwargs.values())):
            return _UNKNOWN
        if isinstance(node, nodes.Filter):
            subject = value(node.node)
            if subject is not _UNKNOWN:
                refuse(filter_problem(node.name, subject, args, kwargs))
            return _UNKNOWN
        return _call(node, args, kwargs, value, refuse)
    return _UNKNOWN


def _call(
    node: nodes.Call, args: tuple[Any, ...], kwargs: dict[str, Any], value: Any, refuse: Any
) -> Any:
    callee = node.node
    if isinstance(callee, nodes.Name) and callee.name == "range" and not kwargs:
        refuse(range_problem(args))
        return _apply(range, *args)
    if isinstance(callee, nodes.Name) and callee.name == "lipsum":
        refuse(lipsum_problem(args, kwargs))
    elif isinstance(callee, nodes.Getattr) and value(callee.node) is not _UNKNOWN:
        refuse(method_problem(value(callee.node), callee.attr, args, kwargs))
    return _UNKNOWN


def _apply(compute: Any, *operands: Any) -> Any:
    try:
        return compute(*operands)
    except Exception:  # 1 / 0 and the like fail when rendering, with their own message
        return _UNKNOWN
