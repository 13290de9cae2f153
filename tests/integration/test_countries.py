"""Numbers in AU, NZ, GB, US and CA: creates through the real handler against the fake Twilio, which
enforces each country's purchase rules (local/fakes/twilio_numbers.py), and FerretDB.

A pair the deployment cannot buy is refused before anything is counted or bought; a bundle or address
Twilio refuses reaches the API as the configuration error naming the setting to fix."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from local.fakes.twilio_numbers import INVENTORY, SOLD
from local.invoke import http_event, invoke, json_body
from local.sample_events import load_event
from local.stack import LOCAL_ADDRESSES, LOCAL_BUNDLES, local_regulations
from tests.integration.leaks import leaks
from voice_agents import runtime
from voice_agents.core.countries import TWILIO_NUMBERS

pytestmark = pytest.mark.integration

# What libphonenumber calls the numbers of each type Twilio sells (NANP local numbers cannot be told
# from mobiles by their digits).
LINE_TYPES = {
    ("mobile", "AU"): {PhoneNumberType.MOBILE},
    ("mobile", "NZ"): {PhoneNumberType.MOBILE},
    ("mobile", "GB"): {PhoneNumberType.MOBILE},
    ("local", "AU"): {PhoneNumberType.FIXED_LINE},
    ("local", "NZ"): {PhoneNumberType.FIXED_LINE},
    ("local", "GB"): {PhoneNumberType.FIXED_LINE},
    ("local", "US"): {PhoneNumberType.FIXED_LINE_OR_MOBILE},
    ("local", "CA"): {PhoneNumberType.FIXED_LINE_OR_MOBILE},
    ("tollfree", "AU"): {PhoneNumberType.TOLL_FREE},
    ("tollfree", "GB"): {PhoneNumberType.TOLL_FREE},
    ("tollfree", "US"): {PhoneNumberType.TOLL_FREE},
    ("tollfree", "CA"): {PhoneNumberType.TOLL_FREE},
}
URL_TYPES = {"mobile": "Mobile", "local": "Local", "tollfree": "TollFree"}
# The local stack's pairs: AU mobile (its default) and TWILIO_REGULATIONS' keys.
LOCAL_PAIRS = [("AU", "mobile")] + [tuple(key.split("/")) for key in local_regulations()]
UNAPPROVED_BUNDLE = "BU" + "f" * 32
UNKNOWN_ADDRESS = "AD" + "e" * 32


@pytest.fixture
def rules(env):
    """The fake Twilio enforcing each country's rules against the stack's bundles and addresses."""
    env.twilio.configure(regulations=True)
    return env


def create(body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = {"name": "Reception", "prompt": "You answer the phone.", **(body or {})}
    key = {"idempotency-key": uuid.uuid4().hex}  # each create a request of its own
    return invoke("create_agent", http_event("create_agent.json", body=request, headers=key))


def phone_number_options() -> dict[str, Any]:
    return invoke("get_agents", load_event("get_phone_number_options.json"))


def set_regulations(monkeypatch, regulations: dict[str, Any]) -> None:
    monkeypatch.setenv("TWILIO_REGULATIONS", json.dumps(regulations))
    runtime.reset()


def assert_nothing_happened(env, db) -> None:
    """Nothing searched, bought, created, counted or written."""
    assert env.twilio.call_count("search_numbers") == 0 and env.twilio.call_count("buy_number") == 0
    assert env.twilio.owned == {}
    assert env.retell.llms == {} and env.retell.agents == {}
    assert db.purchases.count_documents({}) == 0
    assert db.agents.count_documents({}) == 0


# --- creates in every offered pair -------------------------------------------------------------------


@pytest.mark.parametrize(("country", "number_type"), LOCAL_PAIRS)
def test_each_offered_pair_gets_a_number_of_its_country_and_type(rules, db, country, number_type):
    # When an agent is created in the pair
    response = create({"country": country, "numberType": number_type})

    # Then it is active with a number valid in that country, of that type
    assert response["statusCode"] == 201, response["body"]
    agent = json_body(response)
    assert (agent["country"], agent["numberType"]) == (country, number_type)
    parsed = phonenumbers.parse(agent["phoneNumber"])
    assert phonenumbers.is_valid_number_for_region(parsed, country), agent["phoneNumber"]
    assert phonenumbers.number_type(parsed) in LINE_TYPES[(number_type, country)]
    # And bought with the pair's bundle and address (none where the country needs none)
    number = rules.twilio.owned[agent["twilioPhoneNumberSid"]]
    assert number["bundle_sid"] == LOCAL_BUNDLES.get((country, number_type))
    needs_address = TWILIO_NUMBERS[(country, number_type)].address != "none"
    assert number["address_sid"] == (LOCAL_ADDRESSES[country] if needs_address else None)
    # And the record carries the pair
    record = db.agents.find_one()
    assert (record["country"], record["numberType"]) == (country, number_type)
    assert leaks(rules, db) == {}


def test_a_create_without_a_pair_gets_the_default_one(rules, db):
    response = create()

    assert response["statusCode"] == 201, response["body"]
    agent = json_body(response)
    assert (agent["country"], agent["numberType"]) == ("AU", "mobile")
    assert (db.agents.find_one()["country"], db.agents.find_one()["numberType"]) == ("AU", "mobile")


# --- refused before anything is counted or bought ----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"country": "FR", "numberType": "mobile"}, "FR is not a supported country"),
        ({"country": "US", "numberType": "mobile"}, "Twilio sells no US mobile numbers"),
        ({"country": "CA", "numberType": "mobile"}, "Twilio sells no CA mobile numbers"),
        ({"country": "NZ", "numberType": "local"}, "does not offer NZ local numbers"),
        ({"country": "GB", "numberType": "tollfree"}, "does not offer GB tollfree numbers"),
        ({"numberType": "tollfree"}, "does not offer AU tollfree numbers"),
    ],
)
def test_a_pair_not_offered_is_refused_before_anything_happens(rules, db, body, said):
    response = create(body)

    assert response["statusCode"] == 400
    error = json_body(response)
    assert error["error"] == "validation_error"
    assert [field["field"] for field in error["fields"]] == ["country", "numberType"]
    assert said in error["message"] and "TWILIO_REGULATIONS" in error["message"]
    assert_nothing_happened(rules, db)


def test_a_pair_whose_bundle_and_address_are_not_configured_is_refused(rules, db, monkeypatch):
    # Given GB toll-free offered without the bundle Twilio requires there
    set_regulations(monkeypatch, local_regulations() | {"GB/tollfree": {}})

    response = create({"country": "GB", "numberType": "tollfree"})

    assert response["statusCode"] == 400
    message = json_body(response)["message"]
    assert "an approved bundle (TWILIO_REGULATIONS 'GB/tollfree' bundleSid)" in message
    assert "an address (TWILIO_REGULATIONS 'GB/tollfree' addressSid)" in message
    assert_nothing_happened(rules, db)


def test_the_default_pair_without_its_bundle_names_both_settings(rules, db, monkeypatch):
    monkeypatch.delenv("TWILIO_BUNDLE_SID")
    runtime.reset()

    response = create()

    assert response["statusCode"] == 400
    message = json_body(response)["message"]
    assert "TWILIO_BUNDLE_SID, or TWILIO_REGULATIONS 'AU/mobile' bundleSid" in message
    assert "addressSid" not in message  # the address is configured
    assert_nothing_happened(rules, db)


def test_a_body_with_a_bad_pair_is_refused_by_validation(rules, db):
    for body in ({"country": "gb"}, {"numberType": "national"}, {"country": None}):
        response = create(body)
        assert response["statusCode"] == 400, body
        assert json_body(response)["fields"][0]["field"] in ("country", "numberType")
    assert_nothing_happened(rules, db)


# --- Twilio's own refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pair", "entry", "code"),
    [
        ("GB/mobile", {"bundleSid": UNAPPROVED_BUNDLE, "addressSid": LOCAL_ADDRESSES["GB"]}, 21649),
        # A bundle approved for GB local is not one for GB mobile.
        (
            "GB/mobile",
            {"bundleSid": LOCAL_BUNDLES[("GB", "local")], "addressSid": LOCAL_ADDRESSES["GB"]},
            21649,
        ),
        ("GB/mobile", {"bundleSid": LOCAL_BUNDLES[("GB", "mobile")], "addressSid": UNKNOWN_ADDRESS}, 21631),
        (
            "GB/local",
            {"bundleSid": LOCAL_BUNDLES[("GB", "local")], "addressSid": LOCAL_ADDRESSES["AU"]},
            21615,
        ),
    ],
)
def test_twilios_refusal_is_a_configuration_error_naming_twilio_regulations(
    rules, db, monkeypatch, pair, entry, code
):
    # Given an entry whose bundle or address Twilio does not accept for the pair
    set_regulations(monkeypatch, local_regulations() | {pair: entry})
    country, number_type = pair.split("/")

    response = create({"country": country, "numberType": number_type})

    # Then the operator is told which setting to fix; nothing is left bought or created
    assert response["statusCode"] == 500, response["body"]
    error = json_body(response)
    assert error["error"] == "configuration_error" and error["setting"] == "TWILIO_REGULATIONS"
    assert "TWILIO_REGULATIONS" in error["message"]
    assert rules.twilio.call_count("buy_number") >= 1 and rules.twilio.owned == {}
    assert leaks(rules, db) == {}


def test_the_default_pairs_refused_bundle_names_twilio_bundle_sid_as_before(rules, db, monkeypatch):
    monkeypatch.setenv("TWILIO_BUNDLE_SID", UNAPPROVED_BUNDLE)
    runtime.reset()

    response = create()

    assert response["statusCode"] == 500
    error = json_body(response)
    assert error["error"] == "configuration_error" and error["setting"] == "TWILIO_BUNDLE_SID"
    assert leaks(rules, db) == {}


# --- what a deployment offers ------------------------------------------------------------------------


def test_the_options_are_the_default_pair_then_the_configured_ones_sorted(env):
    response = phone_number_options()

    assert response["statusCode"] == 200, response["body"]
    assert json_body(response) == {
        "options": [
            {"country": "AU", "numberType": "mobile", "default": True},
            {"country": "AU", "numberType": "local", "default": False},
            {"country": "CA", "numberType": "local", "default": False},
            {"country": "GB", "numberType": "local", "default": False},
            {"country": "GB", "numberType": "mobile", "default": False},
            {"country": "NZ", "numberType": "mobile", "default": False},
            {"country": "US", "numberType": "local", "default": False},
            {"country": "US", "numberType": "tollfree", "default": False},
        ]
    }


def test_without_regulations_only_the_default_pair_is_offered(env, monkeypatch):
    monkeypatch.delenv("TWILIO_REGULATIONS")
    monkeypatch.setenv("PHONE_NUMBER_COUNTRY", "US")
    monkeypatch.setenv("PHONE_NUMBER_TYPE", "local")
    runtime.reset()

    response = phone_number_options()

    assert json_body(response) == {"options": [{"country": "US", "numberType": "local", "default": True}]}


def test_bad_regulations_are_a_configuration_error_naming_the_setting(env, db, monkeypatch):
    monkeypatch.setenv("TWILIO_REGULATIONS", '{"FR/mobile": {}}')
    runtime.reset()

    for response in (phone_number_options(), create()):
        assert response["statusCode"] == 500
        error = json_body(response)
        assert error["error"] == "configuration_error" and error["setting"] == "TWILIO_REGULATIONS"
    assert env.twilio.owned == {}


# --- records from before agents had a country --------------------------------------------------------


def test_an_older_record_reads_its_pair_from_its_number_else_the_default(rules, db):
    # Given two agents (GB mobile, AU mobile) whose records lose their pair, as older records have none
    gb = json_body(create({"country": "GB", "numberType": "mobile"}))
    au = json_body(create())
    db.agents.update_many({}, {"$unset": {"country": "", "numberType": ""}})
    # And the AU one without a number either (a create that failed before buying one)
    db.agents.update_one(
        {"_id": db.agents.find_one({"phoneNumber": au["phoneNumber"]})["_id"]},
        {"$unset": {"phoneNumber": ""}},
    )

    listed = json_body(invoke("get_agents", load_event("get_agents.json")))["items"]

    pairs = {agent["id"]: (agent["country"], agent["numberType"]) for agent in listed}
    assert pairs == {gb["id"]: ("GB", "mobile"), au["id"]: ("AU", "mobile")}
    fetched = json_body(invoke("get_agents", http_event("get_agent.json", agent_id=gb["id"])))
    assert (fetched["country"], fetched["numberType"]) == ("GB", "mobile")


def test_an_update_cannot_change_the_pair(rules, db):
    agent = json_body(create({"country": "GB", "numberType": "mobile"}))

    response = invoke(
        "update_agent", http_event("update_agent.json", agent_id=agent["id"], body={"country": "AU"})
    )

    assert response["statusCode"] == 400
    assert json_body(response)["fields"] == [{"field": "country", "message": "unknown field"}]
    assert db.agents.find_one()["country"] == "GB"


# --- the fake Twilio's catalogue ---------------------------------------------------------------------


def test_the_fakes_catalogue_agrees_with_the_rules_table():
    # Two statements of Twilio's guidelines (the fake's and the code's), held against each other
    assert {(country, URL_TYPES[kind]) for country, kind in TWILIO_NUMBERS} == SOLD
    for block in INVENTORY:
        kind = next(kind for kind, url in URL_TYPES.items() if url == block.number_type)
        rules = TWILIO_NUMBERS[(block.iso_country, kind)]  # type: ignore[index]
        assert block.bundle_required == rules.bundle, block
        assert block.address_requirements == rules.address, block
        for number in block.numbers():
            parsed = phonenumbers.parse(number)
            assert phonenumbers.is_valid_number_for_region(parsed, block.iso_country), number
            assert phonenumbers.number_type(parsed) in LINE_TYPES[(kind, block.iso_country)], number


@pytest.mark.parametrize(("country", "number_type"), sorted(TWILIO_NUMBERS))
def test_the_fake_offers_numbers_of_each_sold_pair(env, country, number_type):
    found = available(env, country, URL_TYPES[number_type])

    assert found.status_code == 200
    numbers = found.json()["available_phone_numbers"]
    assert numbers
    for number in numbers:
        assert number["iso_country"] == country
        expected = TWILIO_NUMBERS[(country, number_type)].address
        assert number["address_requirements"] == expected


@pytest.mark.parametrize(
    ("country", "url_type"), [("US", "Mobile"), ("CA", "Mobile"), ("NZ", "TollFree"), ("FR", "Local")]
)
def test_the_fake_answers_404_for_a_type_twilio_does_not_sell_there(env, country, url_type):
    found = available(env, country, url_type)

    assert found.status_code == 404
    assert found.json()["code"] == 20404


def available(env, country: str, url_type: str) -> httpx.Response:
    environment = env.environment()
    account = environment["TWILIO_ACCOUNT_SID"]
    return httpx.get(
        f"{env.twilio.base_url}/2010-04-01/Accounts/{account}/AvailablePhoneNumbers/{country}/{url_type}.json",
        params={"VoiceEnabled": "true"},
        auth=(account, environment["TWILIO_AUTH_TOKEN"]),
    )
