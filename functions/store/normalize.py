"""Normalising what people type: emails, phones (any script's digits), tags."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from functions.errors import InvalidRecord


def email(value: str) -> str:
    """Trimmed, lowercased, syntax-checked; raise InvalidRecord naming the problem."""
    text = (value or "").strip()
    if not text:
        raise InvalidRecord("email is empty")
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidRecord(f"'{text}' is not a valid email: {exc}") from None


def phone(value: str, region: str | None = None) -> str:
    """E.164 from any written form, Arabic-Indic and Persian digits included."""
    try:
        number = phonenumbers.parse(value, (region or "").upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidRecord(f"'{value}' is not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidRecord(
            f"'{value}' is not a valid phone number"
            + ("" if region else "; write it with its country code, e.g. +49…")
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def tag(value: str) -> str:
    return " ".join(value.split()).lower()
