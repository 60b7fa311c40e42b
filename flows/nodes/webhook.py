"""Trigger: another system POSTs JSON to the flow's URL."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from flows.nodes.base import TriggerKind
from flows.params import FieldRef, Params


class WebhookParams(Params):
    email_key: str = Field(
        "email", min_length=1, description="Key of the payload that holds the email (dot path)."
    )
    mapping: dict[FieldRef, str] = Field(
        default_factory=dict,
        description="Contact field ← payload key (dot path), e.g. first_name ← form.name.",
    )
    create_contact: bool = Field(True, description="Create the contact when the email is new.")
    require_signature: bool = Field(
        False, description="Accept only HMAC-signed requests (otherwise an API key is enough)."
    )


class Webhook(TriggerKind):
    name = "webhook"
    display_name = "Incoming webhook"
    description = "Starts when another system POSTs JSON to this flow's URL."
    icon = "🔗"
    Params = WebhookParams

    def describe(self, params: WebhookParams, labels: Mapping[str, str]) -> str:
        return "When a webhook call arrives"


KIND = Webhook()
