"""The create saga's failure paths: the seed's rollback table, number races, configuration
errors and the deadline. Each case checks the answer, the record and the providers' real state."""

from __future__ import annotations

import pytest

from local.invoke import LambdaContext, invoke, json_body, load_event
from tests.integration.faults import inject_store_fault
from tests.integration.leaks import leaks

pytestmark = pytest.mark.integration


def create(context: LambdaContext | None = None) -> dict:
    return invoke("create_agent", load_event("create_agent.json"), context)


def only_record(db) -> dict:
    records = list(db.agents.find())
    assert len(records) == 1
    return records[0]


# --- the seed's rollback table ---------------------------------------------------------------


def test_llm_fails_nothing_is_left(env, db):
    env.retell.inject("create_llm", status=400, message="Invalid request format")

    response = create()

    assert response["statusCode"] == 502
    assert json_body(response)["step"] == "create_llm"
    assert env.retell.llms == {} and env.retell.agents == {}
    assert env.twilio.owned == {}  # the number bought meanwhile was released
    assert only_record(db)["status"] == "failed"
    assert leaks(env, db) == {}


def test_agent_fails_the_llm_is_deleted(env, db):
    env.retell.inject("create_agent", status=422, message="Cannot find requested asset under given api key.")

    response = create()

    assert response["statusCode"] == 502
    assert json_body(response)["step"] == "create_agent"
    assert env.retell.call_count("delete_llm") == 1
    assert env.retell.llms == {} and env.twilio.owned == {}
    record = only_record(db)
    assert record["status"] == "failed" and record["failure"]["step"] == "create_agent"
    assert leaks(env, db) == {}


def test_number_fails_agent_and_llm_are_deleted(env, db):
    env.twilio.inject("buy_number", status=400, code=21452, message="Number cannot be provisioned")
    # The Twilio chain fails fast; delay the Retell chain so both its resources exist first.
    env.twilio.inject("search_numbers", delay_ms=300)

    response = create()

    assert response["statusCode"] == 502
    assert json_body(response)["step"] == "buy_number"
    assert env.retell.agents == {} and env.retell.llms == {}
    assert env.retell.call_count("create_agent") == 1 and env.retell.call_count("delete_agent") == 1
    assert leaks(env, db) == {}


def test_database_fails_number_released_and_retell_deleted(env, db, monkeypatch):
    inject_store_fault(monkeypatch, "activate", "error")

    response = create()

    assert response["statusCode"] == 503
    assert json_body(response)["step"] == "activate"
    assert env.twilio.call_count("release_number") == 1
    assert env.twilio.owned == {} and env.retell.agents == {} and env.retell.llms == {}
    assert only_record(db)["status"] == "failed"
    assert leaks(env, db) == {}


# --- numbers ---------------------------------------------------------------------------------


def test_number_taken_between_search_and_purchase_buys_the_next_candidate(env, db):
    env.twilio.inject("buy_number", status=400, code=21422, message="PhoneNumber is not available", times=1)

    response = create()

    assert response["statusCode"] == 201, response["body"]
    assert env.twilio.call_count("buy_number") == 2
    assert [n["phone_number"] for n in env.twilio.owned.values()] == [json_body(response)["phoneNumber"]]
    assert leaks(env, db) == {}


@pytest.mark.parametrize(("code", "setting"), [(21649, "TWILIO_BUNDLE_SID"), (21631, "TWILIO_ADDRESS_SID")])
def test_regulatory_requirement_is_reported_as_a_configuration_error(env, db, code, setting):
    env.twilio.configure(require_bundle=code == 21649, require_address=code == 21631)

    response = create()

    assert response["statusCode"] == 500
    body = json_body(response)
    assert body["error"] == "configuration_error" and body["setting"] == setting
    assert setting in body["message"]
    assert leaks(env, db) == {}


def test_bundle_and_address_from_configuration_are_sent(env, db, monkeypatch):
    env.twilio.configure(require_bundle=True, require_address=True)
    monkeypatch.setenv("TWILIO_BUNDLE_SID", "BU" + "b" * 32)
    monkeypatch.setenv("TWILIO_ADDRESS_SID", "AD" + "d" * 32)

    response = create()

    assert response["statusCode"] == 201, response["body"]
    number = env.twilio.owned[json_body(response)["twilioPhoneNumberSid"]]
    assert number["bundle_sid"] == "BU" + "b" * 32 and number["address_sid"] == "AD" + "d" * 32


def test_billing_error_is_reported_plainly(env, db):
    env.retell.inject("create_llm", status=402, message="Trial has ended, please add payment method.")

    response = create()

    assert response["statusCode"] == 502
    assert json_body(response)["error"] == "billing_error"
    assert leaks(env, db) == {}


# --- the deadline ----------------------------------------------------------------------------


def test_little_time_left_compensates_instead_of_starting_a_step(env, db, monkeypatch):
    # Given 1 s client timeouts, so a step needs 1 s plus the 4 s compensation reserve,
    monkeypatch.setenv("RETELL_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("TWILIO_TIMEOUT_SECONDS", "1")
    # and an LLM that takes 800 ms to create, with 5.5 s left in the Lambda
    env.retell.inject("create_llm", delay_ms=800)

    response = create(LambdaContext(timeout_ms=5500))

    # Then the LLM check never starts, the LLM is deleted and the answer says why
    assert response["statusCode"] == 504
    assert json_body(response)["error"] == "deadline_exceeded"
    assert env.retell.call_count("get_llm") == 0
    assert env.retell.call_count("create_agent") == 0
    assert env.retell.llms == {} and env.twilio.owned == {}
    assert leaks(env, db) == {}
