"""Action: send a short text message to the contact's phone through SNS."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace

from pydantic import Field

from flows import summaries as say
from flows.model import Flow, Node
from flows.nodes.base import Cost, Finding, TaskKind
from flows.params import Params, Template
from flows.sms import segments


class SendSmsParams(Params):
    message: Template = Field(
        min_length=1, max_length=1600, description="The text; personalisation allowed."
    )
    sender_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9]{1,11}$", description="Alphanumeric sender id where supported."
    )


class SendSms(TaskKind):
    name = "send_sms"
    display_name = "Send SMS"
    description = "Texts the contact's phone (skipped if they opted out of SMS)."
    icon = "💬"
    Params = SendSmsParams
    handler = "send_sms"
    cost = Cost(lambda_calls=1, ddb_reads=2, ddb_writes=2, sms=1)

    def cost_of(self, params: SendSmsParams) -> Cost:
        return replace(self.cost, sms=segments(params.message))  # each part is billed

    def check(self, node: Node, params: SendSmsParams, flow: Flow) -> Iterator[Finding]:
        count = segments(params.message)
        if count > 3:
            yield Finding(
                "params.message",
                f"this message is {count} SMS parts long (each part is billed); keep it to 3 or fewer",
                "warning",
            )

    def describe(self, params: SendSmsParams, labels: Mapping[str, str]) -> str:
        return f"SMS: {say.text(params.message)}"


KIND = SendSms()
