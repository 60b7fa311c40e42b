"""Normalising what people type: emails, phones (any script's digits), tags."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

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
_IMPOSSIBLE = {
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "not a length numbers of its country have",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "its country code is not in use",
    # "Possible" to phonenumbers, but only dialled from inside its area: as E.164 it
    # would reach nobody.
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local number; write it with its area code",
}
# Bidi controls that right-to-left exports put around numbers; they are not part of one.
_MARKS = dict.fromkeys(
    map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
)
# The two-letter country codes (ISO 3166) whose phone numbers can be read.
REGIONS: frozenset[str] = frozenset(phonenumbers.SUPPORTED_REGIONS)
_IDD_00 = re.compile(r"^\s*00[\s.-]*(?=[1-9])")


@dataclass(frozen=True)
class Phone:
    """A phone number read from what someone typed."""

    e164: str
    # In a range libphonenumber knows as allocated. False for numbers of the right shape
    # in ranges its data does not list (new ranges reach its data months later).
    allocated: bool
    region: str | None  # the country the number belongs to (ISO 3166), when known


def region_code(value: str) -> str:
    """A country code such as IR or de as stored (upper case); InvalidRecord otherwise."""
    code = (value or "").strip().upper()
    if code not in REGIONS:
        raise InvalidRecord(
            f"'{value}' is not a two-letter country code (ISO 3166), e.g. IR, AE, DE"
        )
    return code


def digits(value: str) -> str:
    """`value` with every script's decimal digits (Persian ۰-۹, Arabic-Indic ٠-٩, …) as
    ASCII, full-width forms folded and bidi controls removed."""
    if value.isascii():
        return value
    text = unicodedata.normalize("NFKC", value).translate(_MARKS)
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def read_phone(value: str, region: str | None = None) -> Phone:
    """The number someone typed, in any script's digits. `00` before a country code is
    international, like `+`; `region` (ISO 3166) reads numbers written the national way.
    InvalidRecord when it is not a complete number of a possible length."""
    text = digits((value or "").strip())
    if not text:
        raise InvalidRecord("phone is empty")
    text = _IDD_00.sub("+", text, count=1)
    try:
        number = phonenumbers.parse(text, (region or "").upper() or None)
    except phonenumbers.NumberParseException as exc:
        reason = _PARSE_ERRORS.get(exc.error_type, exc._msg)
        if exc.error_type == exc.INVALID_COUNTRY_CODE and text.lstrip().startswith("+"):
            reason = "the country code after + is not one in use"
        raise InvalidRecord(f"'{value}' is not a phone number: {reason}") from None
    fit = phonenumbers.is_possible_number_with_reason(number)
    if fit != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise InvalidRecord(f"'{value}' is not a phone number: {_IMPOSSIBLE[fit]}")
    country = phonenumbers.region_code_for_country_code(number.country_code)
    return Phone(
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.is_valid_number(number),
        country if country in REGIONS else None,
    )


def phone(value: str, region: str | None = None) -> str:
    """E.164 from any written form (see read_phone). A number of a possible length is
    accepted even outside the ranges known as allocated: refusing it would lose a real
    person whose operator is newer than the library's data."""
    return read_phone(value, region).e164


def tag(value: str) -> str:
    return " ".join(value.split()).lower()
