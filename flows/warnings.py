"""Warnings: things that will run but are probably not what the marketer meant."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from flows import memo
from flows.fields import KNOWN_SCOPES
from flows.issues import Issue, Report
from flows.model import Flow, Node
from flows.templating import analyse

CONSENT_FIELDS = ("email_consent", "subscription_status")
_CRITERIA_KINDS = frozenset({"branch", "switch", "goal"})
# Only http_request may read secrets: anywhere else they could be mailed out.
_SECRETS_ALLOWED = frozenset({"http_request"})


def warn(flow: Flow, report: Report, *, consent: bool = True) -> None:
    """Template findings of every node; the consent check too when `consent` (it needs a
    sound graph)."""
    for index, node in enumerate(flow.nodes):
        base = f"$.nodes[{index}].params"
        found = memo.cached("templates", (node.kind, node.params_key), _template_findings, node)
        for path, message, severity in found:
            report.add(Issue(base + path, message, node.id, severity))
    if consent:
        _consent(flow, report)


def _template_findings(node: Node) -> list[tuple[str, str, str]]:
    """(path under params, message, severity) for every template string of a node."""
    return [
        (path, message, severity)
        for path, text in _strings(node.params, "")
        for message, severity in _template_issues(text, node.kind)
    ]


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    """Strings with a '{' in document order (only those can hold a template tag)."""
    if isinstance(value, str):
        return [(path, value)] if "{" in value else []
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _strings(item, f"{path}[{i}]")
    return found


def _template_issues(text: str, kind: str) -> Iterator[tuple[str, str]]:
    info = analyse(text)
    if info.error:
        return  # already an error where the params model checks templates
    for root in info.unknown_roots:
        if root == "secrets":
            if kind not in _SECRETS_ALLOWED:
                yield "secrets can only be used in http_request steps", "error"
            continue
        yield (
            f"'{root}' is not a template variable; use contact, deal, company, owner, "
            "trigger or flow (e.g. {{ contact.first_name }})",
            "warning",
        )
    for ref in info.fields:
        scope, name = ref.split(".", 1)
        fields = KNOWN_SCOPES.get(scope)
        if fields is not None and name not in fields:
            close = difflib.get_close_matches(name, list(fields), n=1)
            hint = f"; did you mean {scope}.{close[0]}?" if close else ""
            yield f"{{{{ {ref} }}}} is not a {scope} field and will be empty{hint}", "warning"


def _consent(flow: Flow, report: Report) -> None:
    """Marketing email should follow a consent check (unsubscribed contacts are skipped anyway)."""
    adj = report.adjacency
    checks = {
        n.id
        for n in flow.all_nodes()
        if (n.kind in _CRITERIA_KINDS or n is flow.trigger)
        and any(field in n.params_key for field in CONSENT_FIELDS)
    }
    # covered: some step before it (or the node itself) checks consent. One pass in order.
    covered = set(checks)
    for node_id in report.order:
        if node_id in covered:
            covered.update(adj[node_id])
    for index, node in enumerate(flow.nodes):
        if node.kind != "send_email" or node.params.get("purpose") == "transactional":
            continue
        if node.id not in covered:
            report.add(
                Issue(
                    f"$.nodes[{index}]",
                    "this marketing email is sent without checking consent: add a branch on "
                    "email_consent before it, or mark it transactional (unsubscribed contacts "
                    "are always skipped)",
                    node.id,
                    "warning",
                )
            )
