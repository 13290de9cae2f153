"""Phone numbers: what people type in four countries becomes E.164; what is not a reachable number is
refused with the message the API shows; phonenumbers is loaded only by the function that needs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from voice_agents.core.phones import is_e164, normalize_e164

ROOT = Path(__file__).resolve().parents[2]
NEEDS_INTERNATIONAL = "must be in international format, e.g. +61 412 345 678"
# Digits of other scripts, which str.isdigit and a bare \d accept: U+FF10.. and U+0660..
FULLWIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + digit) for digit in range(10)))
ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + digit) for digit in range(10)))


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        # Australia: a mobile and a Sydney landline, international and national.
        ("+61 412 345 678", None, "+61412345678"),
        ("0412 345 678", "AU", "+61412345678"),
        ("0412-345-678", "au", "+61412345678"),
        ("(02) 9374 4000", "AU", "+61293744000"),
        ("+61 (2) 9374.4000", None, "+61293744000"),
        ("0011 61 412 345 678", "AU", "+61412345678"),  # Australia's international prefix
        # New Zealand: a mobile and an Auckland landline.
        ("+64 21 123 4567", None, "+64211234567"),
        ("021 123 4567", "NZ", "+64211234567"),
        ("(09) 379 1234", "NZ", "+6493791234"),
        # United Kingdom: London and a mobile; the trunk 0 is dropped.
        ("+44 20 7946 0958", None, "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0)7911 123456", None, "+447911123456"),
        # United States, in the usual punctuations.
        ("(650) 253-0000", "US", "+16502530000"),
        ("650.253.0000", "US", "+16502530000"),
        ("+1 212-555-0123", None, "+12125550123"),
        # Surrounding whitespace is not part of the number; a "+" number ignores the default region.
        ("  +61412345678\n", None, "+61412345678"),
        ("+64 21 123 4567", "AU", "+64211234567"),
    ],
)
def test_what_people_type_becomes_e164(raw, region, expected):
    assert normalize_e164(raw, default_region=region) == expected
    assert is_e164(expected)


@pytest.mark.parametrize(
    ("raw", "region", "message"),
    [
        ("", None, "not a phone number"),
        ("   ", None, "not a phone number"),
        ("+", None, "not a phone number"),
        ("()-.", "AU", "not a phone number"),
        ("1-800-FLOWERS", "US", "not a phone number"),  # letters are not read as a keypad
        ("+61 2 9374 4000 ext 12", None, "not a phone number"),
        ("+61 412 345 678#", None, "not a phone number"),
        ("++61 412 345 678", None, "not a phone number"),
        ("61+412345678", "AU", "not a phone number"),
        ("+61\t412 345 678", None, "not a phone number"),
        ("+61412345678".translate(FULLWIDTH), None, "not a phone number"),
        ("+999 123 4567", None, "not a phone number"),  # no such country code
        ("+0 412 345 678", None, "not a phone number"),
        ("+61 1234 5678 9999 9999 9999 9999", None, "not a phone number: longer than 32 characters"),
        ("+1 555 555 5555", None, "not a valid number for its country"),
        ("+61 412 345", None, "not a valid number for its country"),
        ("+61 412 345 678 9", None, "not a valid number for its country"),
        ("+44 20 7946 095", None, "not a valid number for its country"),
        ("021 123", "NZ", "not a valid number for its country"),
        ("0412 345 678", None, NEEDS_INTERNATIONAL),
        ("61 412 345 678", None, NEEDS_INTERNATIONAL),
    ],
)
def test_a_bad_number_is_refused_with_a_message_a_person_can_act_on(raw, region, message):
    with pytest.raises(ValueError) as refused:
        normalize_e164(raw, default_region=region)
    assert str(refused.value) == message


def test_the_length_limit_counts_what_was_sent_and_allows_exactly_32_characters():
    padded = "+61 412 345 678".ljust(32)
    assert normalize_e164(padded) == "+61412345678"
    with pytest.raises(ValueError, match="longer than 32 characters"):
        normalize_e164(padded + " ")


def test_a_value_that_is_not_a_string_is_not_a_phone_number():
    with pytest.raises(ValueError, match=r"^not a phone number$"):
        normalize_e164(61412345678)  # type: ignore[arg-type]


def test_an_unknown_default_region_is_the_callers_mistake_not_the_numbers():
    with pytest.raises(ValueError, match="unknown default region 'XX'"):
        normalize_e164("0412 345 678", default_region="XX")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+61412345678", True),
        ("+16502530000", True),
        ("+1234567", True),  # 7 digits: the shortest the shape allows
        ("+123456789012345", True),  # 15 digits: E.164's longest
        ("+123456", False),
        ("+1234567890123456", False),
        ("+01234567", False),
        ("61412345678", False),
        ("+61 412 345 678", False),
        ("+61412345678\n", False),
        ("+61" + "412345678".translate(ARABIC_INDIC), False),  # a bare \d would match these
        (61412345678, False),
        (None, False),
    ],
)
def test_is_e164_checks_the_shape_only(value, expected):
    assert is_e164(value) is expected


def test_is_e164_does_not_validate_the_number():
    assert is_e164("+15555555555")
    with pytest.raises(ValueError, match="not a valid number for its country"):
        normalize_e164("+15555555555")


def test_importing_the_module_does_not_load_phonenumbers_but_normalising_does():
    probe = (
        "import json, sys\n"
        "from voice_agents.core import phones\n"
        "before = 'phonenumbers' in sys.modules\n"
        "phones.is_e164('+61412345678')\n"
        "after_check = 'phonenumbers' in sys.modules\n"
        "phones.normalize_e164('+61 412 345 678')\n"
        "print(json.dumps([before, after_check, 'phonenumbers' in sys.modules]))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "layers" / "common")},
    )
    assert json.loads(completed.stdout) == [False, False, True]
