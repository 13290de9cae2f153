"""Where an agent's number can come from: Twilio's rules per country and number type, and which of
those pairs a deployment offers (its default PHONE_NUMBER_COUNTRY/PHONE_NUMBER_TYPE plus every key of
TWILIO_REGULATIONS). Pure: no settings are read and nothing is imported that costs time.

The table is what Twilio's regulatory guideline page of each country says for a business end user
(docs/countries.md lists the pages and what they leave open). Twilio refuses a purchase that misses a
requirement (21649 no approved bundle, 21631 no address, 21615 no address in the country); checking
the table first refuses such a create before anything is counted or bought.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NumberType = Literal["mobile", "local", "tollfree"]
NUMBER_TYPES: tuple[NumberType, ...] = ("mobile", "local", "tollfree")
NumberPair = tuple[str, NumberType]  # (ISO 3166 alpha-2 country, number type)
# The setting that names each pair's bundle and address (the deployment's default pair may use
# TWILIO_BUNDLE_SID / TWILIO_ADDRESS_SID instead).
REGULATIONS_SETTING = "TWILIO_REGULATIONS"


@dataclass(frozen=True)
class NumberRules:
    """What Twilio asks of one country's numbers of one type before it sells one."""

    bundle: bool  # an approved regulatory bundle (BundleSid) for this country and type
    address: Literal["none", "any", "local"]  # none; an address anywhere; an address in the country
    line_type: Literal["MOBILE", "FIXED_LINE", "FIXED_LINE_OR_MOBILE", "TOLL_FREE"]  # libphonenumber's
    example: str  # an E.164 prefix such numbers start with


# (country, type) -> rules; a pair that is absent is not sold by Twilio there (its search is a 404).
TWILIO_NUMBERS: dict[tuple[str, NumberType], NumberRules] = {
    # https://www.twilio.com/en-us/guidelines/au/regulatory: local, mobile and toll-free need a bundle
    # (business name and address); a local number's business address must be within Australia.
    ("AU", "mobile"): NumberRules(bundle=True, address="any", line_type="MOBILE", example="+614"),
    ("AU", "local"): NumberRules(bundle=True, address="local", line_type="FIXED_LINE", example="+612"),
    ("AU", "tollfree"): NumberRules(bundle=True, address="local", line_type="TOLL_FREE", example="+611800"),
    # https://www.twilio.com/en-us/guidelines/nz/regulatory: local and mobile numbers, with a bundle and
    # an address (local numbers: in New Zealand); no toll-free numbers are sold.
    ("NZ", "mobile"): NumberRules(bundle=True, address="any", line_type="MOBILE", example="+642"),
    ("NZ", "local"): NumberRules(bundle=True, address="local", line_type="FIXED_LINE", example="+649"),
    # https://www.twilio.com/en-us/guidelines/gb/regulatory: every type needs a bundle; a local
    # (geographic) number's address must be in the United Kingdom.
    ("GB", "mobile"): NumberRules(bundle=True, address="any", line_type="MOBILE", example="+447"),
    ("GB", "local"): NumberRules(bundle=True, address="local", line_type="FIXED_LINE", example="+4420"),
    ("GB", "tollfree"): NumberRules(bundle=True, address="any", line_type="TOLL_FREE", example="+44800"),
    # https://www.twilio.com/en-us/guidelines/us/regulatory: local and toll-free need neither for voice;
    # Twilio sells no US mobile numbers.
    ("US", "local"): NumberRules(
        bundle=False, address="none", line_type="FIXED_LINE_OR_MOBILE", example="+1415"
    ),
    ("US", "tollfree"): NumberRules(bundle=False, address="none", line_type="TOLL_FREE", example="+1888"),
    # https://www.twilio.com/en-us/guidelines/ca/regulatory: local and toll-free need neither; no mobile.
    ("CA", "local"): NumberRules(
        bundle=False, address="none", line_type="FIXED_LINE_OR_MOBILE", example="+1613"
    ),
    ("CA", "tollfree"): NumberRules(bundle=False, address="none", line_type="TOLL_FREE", example="+1833"),
}
SUPPORTED_COUNTRIES: tuple[str, ...] = ("AU", "NZ", "GB", "US", "CA")


@dataclass(frozen=True)
class Regulation:
    """One pair's bundle, address and monthly price as a deployment configures them, and the settings
    an operator fixes them in: TWILIO_REGULATIONS, or for the default pair without an entry there,
    TWILIO_BUNDLE_SID and TWILIO_ADDRESS_SID (as before this table existed)."""

    bundle_sid: str | None = None
    address_sid: str | None = None
    monthly_cents: int | None = None
    bundle_setting: str = REGULATIONS_SETTING
    address_setting: str = REGULATIONS_SETTING


@dataclass(frozen=True)
class NumberOrder:
    """What one purchase asks Twilio for: the pair, and the bundle and address to buy it with."""

    country: str
    number_type: NumberType
    regulation: Regulation = Regulation()

    @property
    def key(self) -> str:
        return pair_key(self.country, self.number_type)

    def setting_of(self, field: Literal["bundleSid", "addressSid"]) -> str:
        """Where an operator sets this order's bundle or address: its TWILIO_REGULATIONS entry, or
        (the default pair's) TWILIO_BUNDLE_SID / TWILIO_ADDRESS_SID, which that entry would replace."""
        regulation = self.regulation
        setting = regulation.bundle_setting if field == "bundleSid" else regulation.address_setting
        entry = f"{REGULATIONS_SETTING} {self.key!r} {field}"
        return entry if setting == REGULATIONS_SETTING else f"{setting}, or {entry}"


@dataclass(frozen=True)
class NumberOption:
    """A pair a deployment offers (``default``: the deployment's own)."""

    country: str
    number_type: NumberType
    default: bool


class NumberNotOffered(ValueError):
    """Why a pair cannot be bought here: a sentence naming TWILIO_REGULATIONS and what is missing."""


def pair_key(country: str, number_type: str) -> str:
    """TWILIO_REGULATIONS' key of a pair: "GB/mobile"."""
    return f"{country}/{number_type}"


def offered_options(default: NumberPair, configured: set[NumberPair]) -> list[NumberOption]:
    """The pairs a deployment offers: its default first, then the configured ones by country and type."""
    others = sorted(configured - {default})  # by country, then type (alphabetically)
    return [NumberOption(*default, default=True), *(NumberOption(*pair, default=False) for pair in others)]


def refuse_unoffered(order: NumberOrder, offered: list[NumberOption]) -> None:
    """NumberNotOffered when Twilio does not sell the pair, this deployment does not offer it, or its
    bundle or address is required and not configured."""
    where = f"{order.country} {order.number_type} numbers"
    if order.country not in SUPPORTED_COUNTRIES:
        supported = ", ".join(SUPPORTED_COUNTRIES)
        raise NumberNotOffered(
            f"{order.country} is not a supported country (one of {supported}); "
            f"{REGULATIONS_SETTING} can only offer those"
        )
    rules = TWILIO_NUMBERS.get((order.country, order.number_type))
    if rules is None:
        sold = ", ".join(kind for country, kind in TWILIO_NUMBERS if country == order.country)
        raise NumberNotOffered(
            f"Twilio sells no {where} (in {order.country}: {sold}); {REGULATIONS_SETTING} cannot offer them"
        )
    if not any((each.country, each.number_type) == (order.country, order.number_type) for each in offered):
        listed = ", ".join(pair_key(each.country, each.number_type) for each in offered)
        raise NumberNotOffered(
            f"this deployment does not offer {where}: {REGULATIONS_SETTING} has no "
            f"{pair_key(order.country, order.number_type)!r} entry (offered: {listed})"
        )
    missing = missing_requirements(order)
    if missing:
        raise NumberNotOffered(
            f"{where} need {' and '.join(missing)}, which this deployment does not configure"
        )


def missing_requirements(order: NumberOrder) -> list[str]:
    """What the pair's rules need that its regulation does not give, each naming where to set it."""
    rules = TWILIO_NUMBERS[(order.country, order.number_type)]
    regulation = order.regulation
    missing = []
    if rules.bundle and not regulation.bundle_sid:
        missing.append(f"an approved bundle ({order.setting_of('bundleSid')})")
    if rules.address != "none" and not regulation.address_sid:
        in_country = " in the country" if rules.address == "local" else ""
        missing.append(f"an address{in_country} ({order.setting_of('addressSid')})")
    return missing


# libphonenumber's number types, as the pairs' types (FIXED_LINE_OR_MOBILE: NANP numbers, sold as local).
_TYPE_OF_LINE: dict[str, NumberType] = {
    "MOBILE": "mobile",
    "FIXED_LINE": "local",
    "FIXED_LINE_OR_MOBILE": "local",
    "TOLL_FREE": "tollfree",
}


def pair_of_number(phone_number: str) -> NumberPair | None:
    """The country and type of an E.164 number, by libphonenumber (records made before agents had
    a country keep only their number); None when it cannot tell."""
    import phonenumbers  # its metadata costs tens of milliseconds: only readers of such records pay

    try:
        parsed = phonenumbers.parse(phone_number, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    line = _line_type_name(phonenumbers.number_type(parsed))
    number_type = _TYPE_OF_LINE.get(line or "")
    return (region, number_type) if region and number_type else None


def _line_type_name(value: int) -> str | None:
    from phonenumbers import PhoneNumberType

    return next(
        (name for name, each in vars(PhoneNumberType).items() if each == value and name.isupper()), None
    )
