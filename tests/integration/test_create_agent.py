"""POST /api/agents through the real handler, on the local stack (FerretDB + fake providers)."""

from __future__ import annotations

import re

import pytest

from local.invoke import http_event, invoke, json_body
from local.sample_events import load_event
from tests.integration.leaks import leaks

pytestmark = pytest.mark.integration


def test_creates_an_active_agent_with_a_number_pointing_at_the_webhook(env, db):
    # Given the sample event
    event = load_event("create_agent.json")

    # When the handler runs
    response = invoke("create_agent", event)

    # Then the agent is active, and Twilio and Retell hold exactly what the record says
    assert response["statusCode"] == 201, response["body"]
    agent = json_body(response)
    assert agent["status"] == "active"
    assert re.fullmatch(r"\+614\d{8}", agent["phoneNumber"])
    assert agent["webhookUrl"] == f"{env.environment()['WEBHOOK_BASE_URL']}/api/webhooks/twilio/{agent['id']}"
    number = env.twilio.owned[agent["twilioPhoneNumberSid"]]
    assert number["phone_number"] == agent["phoneNumber"]
    assert number["voice_url"] == agent["webhookUrl"]
    assert number["voice_method"] == "POST"
    assert number["friendly_name"] == f"va-local:{agent['id']}"
    retell_agent = env.retell.agents[agent["retellAgentId"]]
    assert retell_agent["response_engine"]["llm_id"] == agent["retellLlmId"]
    assert retell_agent["voice_id"] == "11labs-Adrian"
    llm = env.retell.llms[agent["retellLlmId"]]
    assert llm["start_speaker"] == "agent"
    assert llm["begin_message"] == "Thanks for calling Northstar Heating. How can I help?"
    record = db.agents.find_one()
    assert record["status"] == "active" and record["ownerId"] == "user-1234-owner"
    assert "repairAfter" not in record and "leaseOwner" not in record
    assert leaks(env, db) == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "hi"}, "name"),
        ({"name": "x", "prompt": "hi", "colour": "red"}, "colour"),
        ({"name": "", "prompt": "hi"}, "name"),
        ({"name": "x", "prompt": "p" * 20_001}, "prompt"),
        ({"name": "x", "prompt": "hi", "language": "xx-XX"}, "language"),
        ({"name": "x", "prompt": "hi", "voiceId": "bad voice!"}, "voiceId"),
    ],
)
def test_rejects_a_bad_body_naming_the_field(env, db, body, field):
    response = invoke("create_agent", http_event("create_agent.json", body=body))

    assert response["statusCode"] == 400
    error = json_body(response)
    assert error["error"] == "validation_error"
    assert field in [item["field"] for item in error["fields"]]
    assert env.twilio.call_count("search_numbers") == 0 and db.agents.count_documents({}) == 0


def test_rejects_a_body_that_is_not_json(env, db):
    response = invoke("create_agent", http_event("create_agent.json", body="{not json"))

    assert response["statusCode"] == 400
    assert json_body(response)["error"] == "validation_error"
