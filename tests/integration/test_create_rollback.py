"""The create saga's failure paths: the seed's rollback table, number races, configuration
errors and the deadline. Each case checks the answer, the record and the providers' real state."""

from __future__ import annotations

import pytest

from local.invoke import LambdaContext, invoke, json_body
from local.sample_events import load_event
from tests.integration.faults import (
    inject_store_fault,
    let_time_pass,
    make_providers_slow,
    providers_recover,
    run_reconciler,
)
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
def test_regulatory_requirement_is_reported_as_a_configuration_error(env, db, monkeypatch, code, setting):
    # Twilio refuses the default pair's configured bundle / address (one left out altogether is
    # refused before the purchase; the fake's own rules: tests/integration/test_countries.py)
    env.twilio.inject("buy_number", status=400, code=code, message="refused", times=1)

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


# --- the time budget ---------------------------------------------------------------------------

# Providers slower than any per-call timeout a 7 s function can give: every call times out.
SLOW_MS = 4000
SHORT_FUNCTION_MS = 7000


def test_little_time_left_compensates_instead_of_starting_a_step(env, db):
    # Given an LLM that takes 800 ms to create, in a function with 5.5 s: its work window (half of
    # what the answer margin leaves, 1.75 s) then has less than a database step needs
    env.retell.inject("create_llm", delay_ms=800)

    response = create(LambdaContext(timeout_ms=5500))

    # Then the next step never starts, the LLM and the number are removed and the answer says why
    assert response["statusCode"] == 504
    body = json_body(response)
    assert (body["error"], body["step"], body["rolledBack"]) == ("deadline_exceeded", "record_llm", True)
    assert env.retell.call_count("get_llm") == 0
    assert env.retell.call_count("create_agent") == 0
    assert env.retell.llms == {} and env.twilio.owned == {}
    assert leaks(env, db) == {}


@pytest.mark.parametrize("configured_timeout", [None, "2.5"], ids=["default-timeouts", "2.5s-timeouts"])
def test_slow_providers_answer_504_before_the_deadline_and_leak_nothing(
    env, db, monkeypatch, configured_timeout
):
    # Given every provider call slower than the function could wait for, with the default timeouts
    # (longer than the function's work window) or timeouts that each fit but not one after another
    if configured_timeout:
        monkeypatch.setenv("RETELL_TIMEOUT_SECONDS", configured_timeout)
        monkeypatch.setenv("TWILIO_TIMEOUT_SECONDS", configured_timeout)
    make_providers_slow(env, SLOW_MS)
    context = LambdaContext(timeout_ms=SHORT_FUNCTION_MS)

    response = create(context)

    # Then the documented 504 comes before the function's timeout, naming what is left to remove
    assert context.get_remaining_time_in_millis() > 0
    assert response["statusCode"] == 504, response["body"]
    body = json_body(response)
    assert body["error"] == "deadline_exceeded" and body["rolledBack"] is False
    assert "twilio_number" in body["cleanupPending"]
    record = only_record(db)
    assert record["status"] == "failed" and record["cleanupPending"] == body["cleanupPending"]
    # And once the providers recover, one reconciler pass removes what the slow calls created
    providers_recover(env, SLOW_MS)
    let_time_pass(env)
    run_reconciler()
    assert leaks(env, db) == {}


def test_slow_providers_that_answer_are_rolled_back_within_the_budget(env, db):
    # Given providers answering every call in 400 ms, and Retell failing the agent create
    env.retell.inject("create_agent", status=500, message="injected failure", delay_ms=400, times=1)
    make_providers_slow(env, 400)
    context = LambdaContext(timeout_ms=8000)

    response = create(context)

    # Then the rollback finished before the answer, within the function's time: nothing is left
    assert context.get_remaining_time_in_millis() > 0
    assert response["statusCode"] == 502, response["body"]
    body = json_body(response)
    assert (body["step"], body["rolledBack"]) == ("create_agent", True)
    assert leaks(env, db) == {}


# --- Retell answering success with a body it cannot have meant ------------------------------------


@pytest.mark.parametrize("operation", ["create_llm", "create_agent"])
@pytest.mark.parametrize("body", ["<html><body>502 Bad Gateway</body></html>", '{"status": "ok"}'])
def test_a_create_answered_without_its_id_is_rolled_back_by_tag(env, db, operation, body):
    # Given Retell creating the resource but answering a proxy's page, or JSON without the id
    env.retell.inject(operation, body=body, times=1)

    response = create()

    # Then the create fails at that step as a provider failure (not a 500), and the resource Retell
    # did create is found by its tag and removed with everything else
    assert response["statusCode"] == 502, response["body"]
    answer = json_body(response)
    assert (answer["error"], answer["step"], answer["rolledBack"]) == ("provisioning_failed", operation, True)
    assert env.retell.call_count(operation) == 1
    assert env.retell.llms == {} and env.retell.agents == {} and env.twilio.owned == {}
    assert only_record(db)["status"] == "failed"
    assert leaks(env, db) == {}


def test_an_llm_check_answered_unreadably_is_retried(env, db):
    env.retell.inject("get_llm", body="<html>", times=1)

    response = create()

    assert response["statusCode"] == 201, response["body"]
    assert env.retell.call_count("get_llm") == 2
    assert leaks(env, db) == {}


def test_a_purchase_answered_unreadably_is_found_by_its_tag(env, db):
    # Given Twilio buying the number but answering a proxy's page
    env.twilio.inject("buy_number", body="<html><body>502 Bad Gateway</body></html>", times=1)

    response = create()

    # Then the number it did buy is found by its tag and used: one number, one active agent
    assert response["statusCode"] == 201, response["body"]
    assert list(env.twilio.owned) == [json_body(response)["twilioPhoneNumberSid"]]
    assert leaks(env, db) == {}
