"""Phone numbers as the providers want them: E.164 (``+61412345678``), validated against
libphonenumber's metadata so that a number Twilio or a caller could never reach is refused at the API,
with a message a person can act on, rather than failing later inside a provider call.

``phonenumbers`` is imported inside ``normalize_e164``: importing it costs tens of milliseconds and
its metadata, so only a Lambda that actually validates a number pays for it. ``is_e164`` is a regex
and needs nothing.
"""

from __future__ import annotations

import re

# E.164: a "+", a country code that never starts with 0, at most 15 digits in all. ASCII digits only
# (a bare \d also matches other scripts' digits), and fullmatch (a "$" would accept a trailing newline).
_E164 = re.compile(r"\+[1-9]\d{6,14}", re.ASCII)
# What a person types: digits with spaces, dashes, dots and parentheses, and a "+" only in front.
# Letters are refused rather than read as a keypad ("1-800-FLOWERS") or an extension ("ext. 12").
_TYPED = re.compile(r"\+?[0-9 ().\-]+", re.ASCII)
MAX_LENGTH = 32

NOT_A_NUMBER = "not a phone number"
TOO_LONG = f"not a phone number: longer than {MAX_LENGTH} characters"
INVALID_FOR_COUNTRY = "not a valid number for its country"
NEEDS_INTERNATIONAL = "must be in international format, e.g. +61 412 345 678"


def is_e164(value: object) -> bool:
    """Whether ``value`` is already written as E.164: a cheap check of the shape only, for values this
    package stored itself (after ``normalize_e164``) or a provider sent; it says nothing of validity."""
    return isinstance(value, str) and _E164.fullmatch(value) is not None


def normalize_e164(raw: str, *, default_region: str | None = None) -> str:
    """``raw`` as E.164, or ValueError with a short message to show the person who typed it.

    Without ``default_region`` (an ISO 3166 code such as "AU") the number must start with "+": a
    national number ("0412 345 678") means different numbers in different countries, so it is not
    guessed. With one, national numbers are read as that region's. Valid means ``is_valid_number``:
    the number exists in its country's numbering plan, not merely that it has a plausible length.
    """
    if not isinstance(raw, str):
        raise ValueError(NOT_A_NUMBER)
    if len(raw) > MAX_LENGTH:
        raise ValueError(TOO_LONG)
    text = raw.strip()
    if not _TYPED.fullmatch(text) or not any(char.isdigit() for char in text):
        raise ValueError(NOT_A_NUMBER)
    if default_region is None and not text.startswith("+"):
        raise ValueError(NEEDS_INTERNATIONAL)

    import phonenumbers

    region = None if default_region is None else default_region.upper()
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        # The caller's mistake, not the typist's: say so rather than "not a phone number".
        raise ValueError(f"unknown default region {default_region!r}")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise ValueError(NOT_A_NUMBER) from error
    if not phonenumbers.is_valid_number(number):
        raise ValueError(INVALID_FOR_COUNTRY)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
