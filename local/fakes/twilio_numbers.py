"""The fake Twilio's numbers per country and type, and the regulatory rules it enforces when buying.

The catalogue is what Twilio sells in the countries this project supports (AU, NZ, GB, US, CA), each
block a run of numbers libphonenumber holds valid for its country and of the type sold (a test checks
it), with the ``address_requirements`` Twilio's AvailablePhoneNumbers report and whether a regulatory
bundle is required, as each country's guideline page says (docs/countries.md has the pages):

    AU  Mobile, Local, TollFree    bundle; address any (mobile) / in Australia (local, toll-free)
    NZ  Mobile, Local              bundle; address any (mobile) / in New Zealand (local)
    GB  Mobile, Local, TollFree    bundle; address any (mobile, toll-free) / in the UK (local)
    US  Local, TollFree            nothing
    CA  Local, TollFree            nothing

A country and type outside it is not sold: its AvailablePhoneNumbers list is Twilio's 404 (20404).

When the account enforces regulations (``configure(regulations=True)``; the local stack switches it
on), a purchase is refused as Twilio refuses it:
    21649  a bundle is required and none is given, or it is not a twilio-approved bundle of the
           number's country and type in the registry
    21631  an address is required and none is given (or it is not in the registry)
    21615  the address must be in the number's country and is not
The registry (bundles with their country, type and status; addresses with their country) is seeded by
the local stack (``seed_regulatory``, ``POST /__control/regulatory``) and survives ``reset()``, like
the account's other wiring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from local.fakes.server import ProviderError

ADDRESS_REQUIRED = 21631
LOCAL_ADDRESS_REQUIRED = 21615
BUNDLE_REQUIRED = 21649
APPROVED = "twilio-approved"
# The URL's number types, as a bundle's regulation names them.
BUNDLE_NUMBER_TYPES = {"Mobile": "mobile", "Local": "local", "TollFree": "toll-free"}


@dataclass(frozen=True)
class NumberBlock:
    """A run of consecutive numbers the fake offers for one country and number type."""

    iso_country: str
    number_type: str  # as in the URL: Mobile, Local or TollFree
    first: int  # the first number's E.164 digits
    count: int
    address_requirements: str  # none | any | local | foreign
    bundle_required: bool = False
    voice: bool = True
    sms: bool = False
    mms: bool = False
    fax: bool = False
    locality: str | None = None
    region: str | None = None

    def numbers(self) -> list[str]:
        return [f"+{self.first + offset}" for offset in range(self.count)]

    @property
    def capabilities(self) -> dict[str, bool]:
        return {"voice": self.voice, "sms": self.sms, "mms": self.mms, "fax": self.fax}

    @property
    def resource_type(self) -> str:
        return {"Mobile": "mobile", "Local": "local", "TollFree": "toll-free"}[self.number_type]


INVENTORY: tuple[NumberBlock, ...] = (
    NumberBlock("AU", "Mobile", 61_480_000_000, 200, "any", bundle_required=True, sms=True),
    NumberBlock(
        "AU", "Local", 61_290_000_000, 50, "local", bundle_required=True, fax=True, locality="Sydney"
    ),
    NumberBlock("AU", "TollFree", 611_800_000_000, 20, "local", bundle_required=True),
    NumberBlock("NZ", "Mobile", 64_210_000_000, 50, "any", bundle_required=True, sms=True),
    NumberBlock("NZ", "Local", 6_493_000_000, 50, "local", bundle_required=True, locality="Auckland"),
    NumberBlock("GB", "Mobile", 44_7400_000_000, 50, "any", bundle_required=True, sms=True),
    NumberBlock("GB", "Local", 44_20_7946_0000, 50, "local", bundle_required=True, locality="London"),
    NumberBlock("GB", "TollFree", 44_800_046_0000, 20, "any", bundle_required=True),
    NumberBlock(
        "US", "Local", 1_415_555_0100, 50, "none", sms=True, mms=True, locality="San Francisco", region="CA"
    ),
    NumberBlock("US", "TollFree", 1_888_555_0100, 20, "none", sms=True),
    NumberBlock("CA", "Local", 1_613_555_0100, 50, "none", sms=True, locality="Ottawa", region="ON"),
    NumberBlock("CA", "TollFree", 1_833_555_0100, 20, "none", sms=True),
)
BLOCK_OF_NUMBER: dict[str, NumberBlock] = {number: block for block in INVENTORY for number in block.numbers()}
SOLD: frozenset[tuple[str, str]] = frozenset((block.iso_country, block.number_type) for block in INVENTORY)


@dataclass(frozen=True)
class FakeBundle:
    """A regulatory bundle of the account: the country and number type it was approved for."""

    sid: str
    iso_country: str
    number_type: str  # mobile | local | toll-free
    status: str = APPROVED


@dataclass(frozen=True)
class FakeAddress:
    sid: str
    iso_country: str


class RegulatoryRegistry:
    """The account's bundles and addresses, and the purchase rules they are checked against."""

    def __init__(self) -> None:
        self.bundles: dict[str, FakeBundle] = {}
        self.addresses: dict[str, FakeAddress] = {}

    def seed(self, bundles: list[dict[str, Any]], addresses: list[dict[str, Any]]) -> None:
        """Add (or replace) bundles ``{sid, iso_country, number_type, status?}`` and addresses
        ``{sid, iso_country}``; ValueError for a malformed one."""
        try:
            new_bundles = [FakeBundle(**each) for each in bundles]
            new_addresses = [FakeAddress(**each) for each in addresses]
        except TypeError as error:
            raise ValueError(f"regulatory seed: {error}") from None
        self.bundles |= {bundle.sid: bundle for bundle in new_bundles}
        self.addresses |= {address.sid: address for address in new_addresses}

    def snapshot(self) -> dict[str, Any]:
        return {
            "bundles": [vars(bundle) for bundle in self.bundles.values()],
            "addresses": [vars(address) for address in self.addresses.values()],
        }

    def refuse_purchase(self, block: NumberBlock, bundle_sid: str | None, address_sid: str | None) -> None:
        """ProviderError with Twilio's code when the purchase misses what the number's rules need."""
        kind = BUNDLE_NUMBER_TYPES[block.number_type]
        if block.bundle_required:
            bundle = self.bundles.get(bundle_sid or "")
            if bundle is None or (bundle.iso_country, bundle.number_type, bundle.status) != (
                block.iso_country,
                kind,
                APPROVED,
            ):
                raise ProviderError(
                    400,
                    f"Bundle required and not provided for country: [{block.iso_country}] and "
                    f"numberType: [{block.number_type.upper()}]"
                    if bundle_sid is None
                    else f"Bundle {bundle_sid} is not a twilio-approved bundle for country: "
                    f"[{block.iso_country}] and numberType: [{block.number_type.upper()}]",
                    BUNDLE_REQUIRED,
                )
        if block.address_requirements in ("any", "local"):
            address = self.addresses.get(address_sid or "")
            if address is None:
                missing = (
                    "was empty" if address_sid is None else f"names no address of the account ({address_sid})"
                )
                message = f'Phone number Requires an Address but the "AddressSid" parameter {missing}.'
                raise ProviderError(400, message, ADDRESS_REQUIRED)
            if block.address_requirements == "local" and address.iso_country != block.iso_country:
                raise ProviderError(400, "Phone Number Requires a Local Address", LOCAL_ADDRESS_REQUIRED)
