"""The events contacts produce, shared by the event trigger and wait_for_event."""

from __future__ import annotations

from typing import Literal

EventName = Literal["email_opened", "email_clicked", "form_submitted", "purchase", "custom"]
CUSTOM_EVENT_PATTERN = r"^[a-z][a-z0-9_.-]{0,63}$"
EMAIL_EVENTS = ("email_opened", "email_clicked")
# Schema hints for the editor: a field that only applies to some events is shown for them.
FOR_CUSTOM_EVENTS = {"shown_when": {"event": ["custom"]}}
FOR_EMAIL_EVENTS = {"shown_when": {"event": list(EMAIL_EVENTS)}}


def event_key(event: str, custom_name: str | None) -> str:
    """The name events are matched on: custom events use their own name."""
    return f"custom:{custom_name}" if event == "custom" else event


def custom_name_problem(event: str, custom_name: str | None) -> str | None:
    if event == "custom" and not custom_name:
        return "a custom event needs 'custom_name'"
    if event != "custom" and custom_name:
        return f"'custom_name' applies only to custom events, not '{event}'"
    return None
