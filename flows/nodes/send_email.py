"""Action: send a personalised email through SES."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import Field

from flows import summaries as say
from flows.email_blocks import blocks_to_html, starter
from flows.model import Flow, Node
from flows.nodes.base import Cost, Finding, NextStep, Placement, TaskKind
from flows.nodes.wait_for_event import KIND as wait_for_event
from flows.nodes.wait_for_event import engagement_wait, waited_on
from flows.params import EmailAddress, LongTemplate, Params, Template


class SendEmailParams(Params):
    subject: Template = Field(
        min_length=1,
        max_length=300,
        description="Subject line; {{ contact.first_name }} personalises.",
    )
    body: LongTemplate = Field(
        min_length=1,
        max_length=100_000,
        description="The message (HTML or text).",
        # The editor offers blocks, a token picker, a preview and a test send for it.
        json_schema_extra={"widget": "email_body"},
    )
    body_format: Literal["html", "text"] = Field(
        "html", description="Whether the body is HTML or plain text."
    )
    preheader: Template | None = Field(
        None, max_length=300, description="Preview text shown after the subject."
    )
    from_email: EmailAddress = Field(description="Sender address, e.g. Acme <hello@acme.com>.")
    reply_to: EmailAddress | None = Field(
        None, description="Where replies go, when not to the sender."
    )
    fallbacks: dict[str, str] = Field(
        default_factory=dict,
        description="Value used when a field is empty, e.g. contact.first_name → there.",
    )
    purpose: Literal["marketing", "transactional"] = Field(
        "marketing",
        description="Marketing email needs consent and carries an unsubscribe link; "
        "transactional (receipts, password resets) does not.",
    )
    direction: Literal["auto", "ltr", "rtl"] = Field(
        "auto",
        description="Text direction: auto reads it off the template's own words "
        "(Persian and Arabic right to left, mixed text per paragraph), never off the contact.",
    )
    track_opens: bool = Field(True, description="Record when the contact opens the email.")
    track_clicks: bool = Field(True, description="Record when the contact clicks a link.")


class SendEmail(TaskKind):
    name = "send_email"
    display_name = "Send email"
    description = "Sends a personalised email to the contact (skipped if unsubscribed)."
    icon = "✉️"
    Params = SendEmailParams
    handler = "send_email"
    cost = Cost(lambda_calls=1, ddb_reads=2, ddb_writes=3, emails=1)

    def check(self, node: Node, params: SendEmailParams, flow: Flow) -> Iterator[Finding]:
        for key in params.fallbacks:
            if not key.startswith(("contact.", "deal.", "company.", "owner.", "trigger.")):
                yield Finding(
                    f"params.fallbacks.{key}",
                    f"fallback key '{key}' must name a template field such as contact.first_name",
                )

    def describe(self, params: SendEmailParams, labels: Mapping[str, str]) -> str:
        return f"Email: {say.text(params.subject)}"

    def starting_params(self, placement: Placement) -> dict[str, Any]:
        """A greeting to write on from, in the flow's language, and the sender of the
        flow's nearest email before it (else of any email in the flow): one flow, one
        sender, typed once."""
        earlier = placement.nearest_before(self.name)
        senders = [earlier] if earlier else []
        senders += [n for n in placement.flow.get("nodes", []) if n.get("kind") == self.name]
        words = [placement.flow.get("name") or ""]
        for email in senders:
            words += [str((email.get("params") or {}).get(k) or "") for k in ("subject", "body")]
        params: dict[str, Any] = {"body": blocks_to_html(starter(" ".join(words)))}
        sender = next(
            (
                s["params"]["from_email"]
                for s in senders
                if (s.get("params") or {}).get("from_email")
            ),
            None,
        )
        if sender:
            params["from_email"] = sender
        return params

    def next_steps(
        self, node_id: str, params: SendEmailParams, flow: Mapping[str, Any]
    ) -> list[NextStep]:
        """After an email, a wait for its open (unless the step after it is one already)."""
        if not params.track_opens or waited_on(flow, node_id):
            return []
        wait = engagement_wait(node_id)
        return [NextStep("Wait for an open of this email", wait_for_event.name, "next", wait)]


KIND = SendEmail()
