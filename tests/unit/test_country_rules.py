"""The countries and number types a deployment offers: TWILIO_REGULATIONS parsed, the pairs offered,
what a create is refused for, and an older record's pair read from its number (pure, no server)."""

from __future__ import annotations

import json

import pytest

from voice_agents.core.countries import (
    TWILIO_NUMBERS,
    NumberNotOffered,
    NumberOrder,
    pair_of_number,
    refuse_unoffered,
)
from voice_agents.core.errors import ConfigurationError, InvalidRequest
from voice_agents.core.settings import Settings, load_settings, secret_reads
from voice_agents.flows.agents.numbers import phone_number_options, with_offered_number
from voice_agents.models.agents import CreateAgentRequest

BUNDLE = "BU" + "a" * 32
ADDRESS = "AD" + "b" * 32


def settings(regulations: dict | str | None = None, **environ: str) -> Settings:
    if regulations is not None:
        environ["TWILIO_REGULATIONS"] = (
            regulations if isinstance(regulations, str) else json.dumps(regulations)
        )
    return load_settings(environ=environ)


# --- TWILIO_REGULATIONS ------------------------------------------------------------------------------


def test_regulations_are_read_per_pair():
    parsed = settings({"GB/mobile": {"bundleSid": BUNDLE, "addressSid": ADDRESS, "monthlyCents": 150}})

    regulation = parsed.regulations[("GB", "mobile")]
    assert (regulation.bundle_sid, regulation.address_sid, regulation.monthly_cents) == (BUNDLE, ADDRESS, 150)
    assert regulation.bundle_setting == "TWILIO_REGULATIONS"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("{not json", "must be a JSON object"),
        ("[]", "must be a JSON object"),
        ('{"FR/mobile": {}}', "'FR/mobile' is not a country/type Twilio sells"),
        ('{"US/mobile": {}}', "'US/mobile' is not a country/type Twilio sells"),
        ('{"gb/mobile": {}}', "'gb/mobile' is not a country/type"),
        ('{"GB": {}}', "'GB' is not a country/type"),
        ('{"GB/mobile": []}', "must be an object"),
        ('{"GB/mobile": {"bundle": "x"}}', "unknown field(s) bundle"),
        ('{"GB/mobile": {"bundleSid": "BU123"}}', "bundleSid must match ^BU[0-9a-fA-F]{32}$"),
        (f'{{"GB/mobile": {{"addressSid": "{BUNDLE}"}}}}', "addressSid must match ^AD[0-9a-fA-F]{32}$"),
        ('{"GB/mobile": {"monthlyCents": -1}}', "monthlyCents must be a whole number"),
        ('{"GB/mobile": {"monthlyCents": true}}', "monthlyCents must be a whole number"),
        ('{"GB/mobile": {"monthlyCents": 1.5}}', "monthlyCents must be a whole number"),
    ],
)
def test_bad_regulations_are_a_configuration_error_naming_the_setting(text, said):
    with pytest.raises(ConfigurationError) as raised:
        settings(text)

    assert raised.value.setting == "TWILIO_REGULATIONS"
    assert str(raised.value).startswith("TWILIO_REGULATIONS is invalid")
    assert said in str(raised.value)


def test_regulations_may_come_from_the_twilio_secret_only_along_with_the_credentials():
    # With the credentials in the environment, the secret is not read for the optional value alone
    environ = {"TWILIO_SECRET_ARN": "arn:twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}
    assert [read for read in secret_reads(environ) if read.named_by == "TWILIO_SECRET_ARN"] == []
    # Without them, it is read for them and TWILIO_REGULATIONS too
    (read,) = [read for read in secret_reads({"TWILIO_SECRET_ARN": "arn:twilio"})]
    assert read.variables == ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_REGULATIONS")
    # And the environment's value wins over the secret's
    environ = {"TWILIO_SECRET_ARN": "arn:twilio", "TWILIO_REGULATIONS": "{}"}
    assert "TWILIO_REGULATIONS" not in secret_reads(environ)[0].variables


def test_regulations_from_the_secret_are_read():
    secret = {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_REGULATIONS": '{"US/local": {}}'}

    loaded = load_settings(environ={"TWILIO_SECRET_ARN": "arn:twilio"}, secret_loader=lambda _arn: secret)

    assert ("US", "local") in loaded.regulations


# --- what a deployment offers ------------------------------------------------------------------------


def test_options_are_the_default_pair_first_then_the_map_sorted():
    offered = settings({"US/tollfree": {}, "GB/mobile": {}, "AU/mobile": {}, "GB/local": {}, "CA/local": {}})

    pairs = [(each.country, each.number_type, each.default) for each in offered.number_options()]

    assert pairs == [
        ("AU", "mobile", True),
        ("CA", "local", False),
        ("GB", "local", False),
        ("GB", "mobile", False),
        ("US", "tollfree", False),
    ]
    assert phone_number_options(offered).model_dump()["options"][0] == {
        "country": "AU",
        "numberType": "mobile",
        "default": True,
    }


def test_the_default_pair_keeps_the_old_settings_unless_the_map_has_its_entry():
    old = settings(TWILIO_BUNDLE_SID=BUNDLE, TWILIO_ADDRESS_SID=ADDRESS)
    order = old.number_order("AU", "mobile")
    assert (order.regulation.bundle_sid, order.regulation.address_sid) == (BUNDLE, ADDRESS)
    assert order.regulation.bundle_setting == "TWILIO_BUNDLE_SID"

    other = "BU" + "c" * 32
    mapped = settings({"AU/mobile": {"bundleSid": other}}, TWILIO_BUNDLE_SID=BUNDLE)
    order = mapped.number_order("AU", "mobile")
    assert (order.regulation.bundle_sid, order.regulation.address_sid) == (other, None)
    assert order.regulation.bundle_setting == "TWILIO_REGULATIONS"


def test_monthly_cents_per_pair_else_the_single_setting():
    priced = settings({"GB/mobile": {"monthlyCents": 100}, "US/local": {}}, TWILIO_NUMBER_MONTHLY_CENTS="650")

    assert priced.number_monthly_cents("GB", "mobile") == 100
    assert priced.number_monthly_cents("US", "local") == 650
    assert priced.number_monthly_cents("AU", "mobile") == 650


# --- what a create is refused for --------------------------------------------------------------------

OFFERED = settings(
    {"GB/mobile": {"bundleSid": BUNDLE, "addressSid": ADDRESS}, "US/local": {}, "GB/tollfree": {}},
    TWILIO_BUNDLE_SID=BUNDLE,
    TWILIO_ADDRESS_SID=ADDRESS,
)


def request(**pair: str) -> CreateAgentRequest:
    return CreateAgentRequest(name="Reception", prompt="You answer the phone.", **pair)


@pytest.mark.parametrize(
    ("pair", "said"),
    [
        ({"country": "FR"}, "FR is not a supported country (one of AU, NZ, GB, US, CA)"),
        (
            {"country": "US", "numberType": "mobile"},
            "Twilio sells no US mobile numbers (in US: local, tollfree)",
        ),
        ({"country": "NZ", "numberType": "mobile"}, "this deployment does not offer NZ mobile numbers"),
        ({"numberType": "local"}, "TWILIO_REGULATIONS has no 'AU/local' entry"),
        (
            {"country": "GB", "numberType": "tollfree"},
            "GB tollfree numbers need an approved bundle (TWILIO_REGULATIONS 'GB/tollfree' bundleSid) "
            "and an address (TWILIO_REGULATIONS 'GB/tollfree' addressSid)",
        ),
    ],
)
def test_a_pair_that_cannot_be_bought_here_is_a_400_naming_country_and_number_type(pair, said):
    with pytest.raises(InvalidRequest) as raised:
        with_offered_number(request(**pair), OFFERED)

    assert raised.value.fields == ("country", "numberType")
    assert said in str(raised.value)
    assert "TWILIO_REGULATIONS" in str(raised.value)


def test_an_offered_pair_is_filled_in():
    assert with_offered_number(request(), OFFERED).model_dump(include={"country", "numberType"}) == {
        "country": "AU",
        "numberType": "mobile",
    }
    chosen = with_offered_number(request(country="US", numberType="local"), OFFERED)
    assert (chosen.country, chosen.numberType) == ("US", "local")


def test_a_local_number_says_its_address_must_be_in_the_country():
    order = NumberOrder("GB", "local")

    with pytest.raises(NumberNotOffered, match="an address in the country"):
        refuse_unoffered(order, settings({"GB/local": {}}).number_options())


# --- the table and older records ---------------------------------------------------------------------


def test_every_country_of_the_table_is_supported_and_every_example_is_its_line_type():
    import phonenumbers

    for (country, number_type), rules in TWILIO_NUMBERS.items():
        assert country in ("AU", "NZ", "GB", "US", "CA")
        assert number_type in ("mobile", "local", "tollfree")
        assert rules.example.startswith("+" + str(phonenumbers.country_code_for_region(country)))


@pytest.mark.parametrize(
    ("number", "pair"),
    [
        ("+61480000000", ("AU", "mobile")),
        ("+61290000000", ("AU", "local")),
        ("+611800000000", ("AU", "tollfree")),
        ("+447400000000", ("GB", "mobile")),
        ("+442079460000", ("GB", "local")),
        ("+64210000000", ("NZ", "mobile")),
        ("+14155550100", ("US", "local")),
        ("+16135550100", ("CA", "local")),
        ("+18885550100", ("US", "tollfree")),  # NANP toll-free numbers are nobody's in particular
        ("+999", None),
        ("not a number", None),
    ],
)
def test_an_older_records_pair_is_read_from_its_number(number, pair):
    assert pair_of_number(number) == pair
