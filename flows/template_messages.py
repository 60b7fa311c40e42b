"""Template syntax errors in a marketer's words: the line, the piece that is wrong, and
the fix ("'{{ contact.first_name five }}' — a placeholder holds one field; …"), instead
of the parser's "expected token 'end of print statement', got 'five'"."""

from __future__ import annotations

import re
from difflib import get_close_matches

from jinja2 import TemplateSyntaxError

from flows.fields import KNOWN_SCOPES

PREFIX = "template error on line {line}: "
_TAGS = ("if", "elif", "else", "endif", "for", "endfor", "set")
_TAG = re.compile(r"\{%-?\s*(\w+)([^%]*?)-?%\}")
_STRAY_CLOSE = re.compile(r"\{?\s*((?:contact|deal|company|owner|trigger|flow)\.[a-z0-9_]+)\s*\}\}")


def _clip(text: str, limit: int = 60) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _line(source: str, number: int) -> str:
    lines = source.splitlines() or [""]
    return lines[min(max(number, 1), len(lines)) - 1]


def _at(line: int, piece: str, explanation: str) -> str:
    return PREFIX.format(line=line) + f"'{_clip(piece)}' — {explanation}"


def _known_field(ref: str) -> bool:
    scope, _, name = ref.partition(".")
    fields = KNOWN_SCOPES.get(scope)
    return fields is not None and name in fields


def _unclosed(source: str, opener: str, closer: str) -> tuple[int, str] | None:
    """The line and text of the last `opener` with no `closer` after it."""
    start = source.rfind(opener)
    if start < 0 or closer in source[start:]:
        return None
    line = source.count("\n", 0, start) + 1
    return line, source[start:].split("\n", 1)[0]


def _open_blocks(source: str) -> list[tuple[str, int, str]]:
    """Blocks ({% if %}, {% for %}) left open at the end: (tag, line, text)."""
    stack: list[tuple[str, int, str]] = []
    for match in _TAG.finditer(source):
        tag = match.group(1)
        if tag in ("if", "for"):
            stack.append((tag, source.count("\n", 0, match.start()) + 1, match.group(0)))
        elif tag in ("endif", "endfor") and stack and stack[-1][0] == tag[3:]:
            stack.pop()
    return stack


def _two_words(source: str, exc: TemplateSyntaxError, got: str) -> str:
    line = _line(source, exc.lineno or 1)
    placeholder = next(
        (
            m
            for m in re.finditer(r"\{\{(.*?)(\}\}|$)", line)
            if re.search(rf"\b{re.escape(got)}\b", m.group(1))
        ),
        None,
    )
    if placeholder is None:
        return _fallback(source, exc)
    inner = placeholder.group(1)
    head, _, tail = inner.partition(f" {got}")
    head, rest = head.strip(), (got + tail).strip()
    joined = f"{head}_{rest}"
    if " " not in rest and _known_field(joined):
        fix = f"field names use _ instead of spaces: {{{{ {joined} }}}}"
    else:
        fix = (
            "a placeholder holds one field; to add text, put it outside the braces: "
            f"{{{{ {head} }}}} {rest}"
        )
    return _at(exc.lineno or 1, placeholder.group(0), fix)


def _fallback(source: str, exc: TemplateSyntaxError) -> str:
    line = _line(source, exc.lineno or 1).strip()
    return PREFIX.format(line=exc.lineno) + (
        f"'{_clip(line)}' — {exc.message}" if line else str(exc.message)
    )


def syntax_message(source: str, exc: TemplateSyntaxError) -> str:
    """The validation message for a template Jinja cannot parse."""
    message = exc.message or ""
    got = re.fullmatch(r"expected token 'end of print statement', got '([^']+)'", message)
    if got:
        return _two_words(source, exc, got.group(1))
    if "expected 'end of print statement'" in message or message == "unexpected 'end of template'":
        found = _unclosed(source, "{{", "}}")
        if found:
            line, piece = found
            inner = piece[2:].strip()
            if not inner:
                return _at(
                    line,
                    piece,
                    "this placeholder is empty and not closed; write "
                    "{{ contact.first_name }} or remove the {{",
                )
            return _at(
                line, piece, f"this placeholder is not closed; end it with }}}}: {{{{ {inner} }}}}"
            )
    if "expected 'end of statement block'" in message:
        found = _unclosed(source, "{%", "%}")
        if found:
            line, piece = found
            return _at(line, piece, f"this tag is not closed; end it with %}}: {piece.strip()} %}}")
    if message.startswith("Unexpected end of template") or message.startswith(
        "Encountered unknown tag 'end"
    ):
        blocks = _open_blocks(source)
        stray = re.match(r"Encountered unknown tag '(\w+)'", message)
        if blocks:
            tag, line, text = blocks[-1]
            what = "conditional text" if tag == "if" else "repeated text"
            fix = f"this {tag} is never closed: add {{% end{tag} %}} where the {what} ends"
            if stray:
                fix += f" (the {{% {stray.group(1)} %}} on line {exc.lineno} closes nothing)"
            return _at(line, text, fix)
        if stray:
            return _at(
                exc.lineno or 1,
                f"{{% {stray.group(1)} %}}",
                "this closes a block that was never opened; remove it",
            )
    unknown = re.match(r"Encountered unknown tag '(\w+)'", message)
    if unknown:
        close = get_close_matches(unknown.group(1), _TAGS, n=1)
        hint = (
            f"did you mean {{% {close[0]} %}}?" if close else "use {% if %}, {% for %} or {% set %}"
        )
        return _at(
            exc.lineno or 1,
            _line(source, exc.lineno or 1),
            f"'{unknown.group(1)}' is not a tag; {hint}",
        )
    if message == "unexpected '}'":
        line = _line(source, exc.lineno or 1)
        return _at(exc.lineno or 1, line, "close a placeholder with two braces: }}")
    if message.startswith("Expected an expression, got 'end of print statement'"):
        return _at(
            exc.lineno or 1,
            "{{ }}",
            "this placeholder is empty; put a field in it, "
            "e.g. {{ contact.first_name }}, or remove it",
        )
    return _fallback(source, exc)


def stray_close(source: str) -> str | None:
    """`contact.first_name }}` with no `{{`: Jinja prints it as text, the contact sees it."""
    for number, line in enumerate(source.splitlines(), 1):
        outside = re.sub(r"\{\{.*?\}\}", lambda m: " " * len(m.group(0)), line)
        match = _STRAY_CLOSE.search(outside)
        if match:
            ref = match.group(1)
            return _at(
                number,
                match.group(0),
                f"this closes a placeholder that was never opened; write {{{{ {ref} }}}}",
            )
    return None
