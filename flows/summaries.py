"""Plain-words pieces for the one-line summaries node kinds give of their settings
("Wait 2 days", "If score is at least 50"). Each kind writes its own sentence from these."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flows.conditions import OP_WORDS
from flows.fields import field_info

if TYPE_CHECKING:
    from flows.conditions import Condition, Criteria
    from flows.params import Duration

LIMIT = 80  # the longest summary a canvas card shows on one line
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.S)
_REF = re.compile(r"^\s*((?:contact|deal|company|custom|trigger)\.)?([a-z][a-z0-9_]*)\s*(?:\||$)")

_OPS = {
    **OP_WORDS,
    "is_not_set": "is empty",
    "within_last_days": "is within the last",
    "more_than_days_ago": "is more than",
    "within_next_days": "is within the next",
}


def clip(text: str, limit: int = LIMIT) -> str:
    """One line of at most `limit` characters, cut with an ellipsis."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def duration(value: Duration) -> str:
    """'2 days', '1 day'."""
    unit = value.unit[:-1] if value.amount == 1 else value.unit
    return f"{value.amount} {unit}"


def field_name(ref: str) -> str:
    """A field reference as words: 'score', 'lifecycle stage', 'deal stage'."""
    name = ref.split(".", 1)[-1] if ref.startswith(("contact.", "custom.")) else ref
    return name.replace(".", " ").replace("_", " ")


def number(amount: float) -> str:
    return str(int(amount)) if float(amount).is_integer() else str(amount)


def _placeholder(match: re.Match[str]) -> str:
    ref = _REF.match(match.group(1))
    if ref is None:
        return "{{…}}"
    info = field_info((ref.group(1) or "") + ref.group(2))
    return f"[{info.label if info else ref.group(2).replace('_', ' ').capitalize()}]"


def text(template: str) -> str:
    """A template as written, each `{{ field | … }}` shown as [Field label]."""
    return _PLACEHOLDER.sub(_placeholder, template)


def value(raw: Any) -> str:
    if isinstance(raw, list):
        return ", ".join(value(v) for v in raw)
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    return text(raw) if isinstance(raw, str) else str(raw)


def condition(cond: Condition, labels: Mapping[str, str]) -> str:
    op = _OPS.get(cond.op, cond.op.replace("_", " "))
    if cond.node:
        return f"{op} '{labels.get(cond.node, cond.node)}'"
    subject = field_name(cond.field or "")
    if subject == "tags" and cond.op in ("contains", "not_contains"):
        return f"{'has' if cond.op == 'contains' else 'has no'} tag {value(cond.value)}"
    if cond.op in ("is_set", "is_not_set"):
        return f"{subject} {op}"
    if cond.op in ("within_last_days", "within_next_days"):
        return f"{subject} {op} {value(cond.value)} days"
    if cond.op == "more_than_days_ago":
        return f"{subject} {op} {value(cond.value)} days ago"
    return f"{subject} {op} {value(cond.value)}"


def criteria(value_: Criteria | None, labels: Mapping[str, str] | None = None) -> str:
    """The first condition in words, and how many more there are."""
    if value_ is None:
        return ""
    conditions = [c for group in value_.groups for c in group.conditions]
    first = condition(conditions[0], labels or {})
    more = len(conditions) - 1
    return first + (f" (+{more} more)" if more else "")


def record_phrase(record: str) -> str:
    return f"an {record}" if record[0] in "aeiou" else f"a {record}"


def qualifier(words: str) -> str:
    """A trigger's criteria after its event: ' with tag vip', ' where score is at least 50'."""
    if not words:
        return ""
    if words.startswith("has tag "):
        return " with " + words[4:]
    return " where " + words


def schedule(expression: str) -> str:
    """'rate(1 day)' -> 'Every day'; a cron expression as written."""
    rate = re.fullmatch(r"rate\((\d+) (\w+?)s?\)", expression.strip())
    if rate:
        amount, unit = int(rate.group(1)), rate.group(2)
        return f"Every {unit}" if amount == 1 else f"Every {amount} {unit}s"
    return f"On schedule {expression}"


EVENTS = {
    "email_opened": "an email is opened",
    "email_clicked": "an email link is clicked",
    "form_submitted": "a form is submitted",
    "purchase": "a purchase is made",
}


def event(name: str, custom_name: str | None) -> str:
    return EVENTS.get(name) or f"event {custom_name} happens"
