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


# phonenumbers' own texts speak of its API ("Missing or invalid default region"): say it plainly.
_PARSE_ERRORS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "it has no country code; write it with one, e.g. +49…, or give the country",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "expected digits, with an optional +, spaces, dashes or brackets",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
    phonenumbers.NumberParseException.TOO_LONG: "too long",
}


def phone(value: str, region: str | None = None) -> str:
    """E.164 from any written form, Arabic-Indic and Persian digits included."""
    if not (value or "").strip():
        raise InvalidRecord("phone is empty")
    try:
        number = phonenumbers.parse(value, (region or "").upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidRecord(
            f"'{value}' is not a phone number: {_PARSE_ERRORS.get(exc.error_type, exc._msg)}"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidRecord(
            f"'{value}' is not a valid phone number"
            + (
                ""
                if region or value.lstrip().startswith("+")
                else "; write it with its country code, e.g. +49…"
            )
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def tag(value: str) -> str:
    return " ".join(value.split()).lower()
