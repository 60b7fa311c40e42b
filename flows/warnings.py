"""Warnings: things that will run but are probably not what the marketer meant."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from flows import memo
from flows.fields import KNOWN_SCOPES
from flows.issues import Issue, Report
from flows.model import Flow
from flows.templating import analyse

CONSENT_FIELDS = ("email_consent", "subscription_status")
_CRITERIA_KINDS = frozenset({"branch", "switch", "goal"})
# Only http_request may read secrets: anywhere else they could be mailed out.
_SECRETS_ALLOWED = frozenset({"http_request"})


def warn(flow: Flow, report: Report) -> None:
    for index, node in enumerate(flow.nodes):
        base = f"$.nodes[{index}].params"
        for path, text in memo.template_strings(node.params):
            path = base + path
            for issue in _template_issues(text, path, node.id, node.kind):
                report.add(issue)
    _consent(flow, report)


def _template_issues(text: str, path: str, node_id: str, kind: str) -> Iterator[Issue]:
    info = analyse(text)
    if info.error:
        return  # already an error where the params model checks templates
    for root in info.unknown_roots:
        if root == "secrets":
            if kind not in _SECRETS_ALLOWED:
                yield Issue(path, "secrets can only be used in http_request steps", node_id)
            continue
        yield Issue(
            path,
            f"'{root}' is not a template variable; use contact, deal, company, owner, "
            "trigger or flow (e.g. {{ contact.first_name }})",
            node_id,
            "warning",
        )
    for ref in info.fields:
        scope, name = ref.split(".", 1)
        fields = KNOWN_SCOPES.get(scope)
        if fields is not None and name not in fields:
            close = difflib.get_close_matches(name, list(fields), n=1)
            hint = f"; did you mean {scope}.{close[0]}?" if close else ""
            yield Issue(
                path,
                f"{{{{ {ref} }}}} is not a {scope} field and will be empty{hint}",
                node_id,
                "warning",
            )


def _consent(flow: Flow, report: Report) -> None:
    """Marketing email should follow a consent check (unsubscribed contacts are skipped anyway)."""
    adj = report.adjacency
    checks = {
        n.id
        for n in flow.all_nodes()
        if (n.kind in _CRITERIA_KINDS or n is flow.trigger)
        and any(field in str(n.params) for field in CONSENT_FIELDS)
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
