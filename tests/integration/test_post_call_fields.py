"""The owner's own questions about each call (an agent's ``postCallFields``) on the local stack: checked
on create and update with a 400 naming the field, sent to Retell as the agent's
``post_call_analysis_data`` (on create, and for an update on a new published version), and shown on the
agent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.invoke import create_active_agent, http_event, invoke, json_body
from local.sample_events import load_event
from tests.integration.leaks import leaks
from tests.integration.test_twilio_webhook import dialled_sip, signed_event
from tests.integration.test_update_agent import get, patch

pytestmark = pytest.mark.integration

BODY = json.loads(load_event("create_agent.json")["body"])
FIELDS: list[dict[str, Any]] = [
    {"name": "appointment_booked", "type": "boolean", "description": "Whether the caller booked a visit."},
    {
        "name": "reason",
        "type": "enum",
        "description": "Why the caller called.",
        "choices": ["booking", "billing", "other"],
    },
    {"name": "party_size", "type": "number", "description": "How many people the booking is for."},
    {"name": "caller_name", "type": "string", "description": "The caller's name, as they said it."},
]
# As Retell's items have them (specs/retell-openapi.yaml: choices only on the enum).
RETELL_ITEMS: list[dict[str, Any]] = [
    {"type": "boolean", "name": "appointment_booked", "description": "Whether the caller booked a visit."},
    {
        "type": "enum",
        "name": "reason",
        "description": "Why the caller called.",
        "choices": ["booking", "billing", "other"],
    },
    {"type": "number", "name": "party_size", "description": "How many people the booking is for."},
    {"type": "string", "name": "caller_name", "description": "The caller's name, as they said it."},
]


def answered(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fields as the API answers them: every field has choices (null unless an enum)."""
    return [{"choices": None, **field} for field in fields]


def create(body: dict[str, Any], key: str = "fields-1") -> dict[str, Any]:
    event = http_event("create_agent.json", body=body, headers={"idempotency-key": key})
    return invoke("create_agent", event)


def retell_agent(env, agent: dict[str, Any], version: int | None = None) -> dict[str, Any]:
    versions = env.retell.agent_versions[agent["retellAgentId"]]
    found: dict[str, Any] = versions[max(versions) if version is None else version]
    return found


# --- create --------------------------------------------------------------------------------------------


def test_a_new_agent_sends_its_fields_to_retell_and_shows_them(env, db):
    response = create({**BODY, "postCallFields": FIELDS})

    assert response["statusCode"] == 201, response["body"]
    agent = json_body(response)
    assert agent["postCallFields"] == answered(FIELDS)
    published = retell_agent(env, agent, 0)
    assert published["is_published"]
    assert published["post_call_analysis_data"] == RETELL_ITEMS
    assert json_body(get(agent["id"]))["postCallFields"] == answered(FIELDS)


def test_an_agent_without_fields_asks_retell_nothing(env, db):
    agent = json_body(create(BODY))

    assert agent["postCallFields"] == []
    assert retell_agent(env, agent, 0)["post_call_analysis_data"] is None


def _too_many() -> list[dict[str, Any]]:
    return [{"name": f"field_{n}", "type": "string", "description": "Anything."} for n in range(11)]


# Each case: the fields sent, and the field the 400 names.
INVALID: dict[str, tuple[Any, str]] = {
    "eleven fields": (_too_many(), "postCallFields"),
    "an enum without choices": ([{**FIELDS[1], "choices": None}], "postCallFields.0"),
    "choices on a boolean": ([{**FIELDS[0], "choices": ["yes"]}], "postCallFields.0"),
    "an empty choice list": ([{**FIELDS[1], "choices": []}], "postCallFields.0.choices"),
    "a choice twice": ([{**FIELDS[1], "choices": ["a", "a"]}], "postCallFields.0"),
    "two fields of one name": ([FIELDS[0], {**FIELDS[2], "name": "appointment_booked"}], "postCallFields"),
    "a name with capitals": ([{**FIELDS[0], "name": "Booked"}], "postCallFields.0.name"),
    "a name with a dot": ([{**FIELDS[0], "name": "a.b"}], "postCallFields.0.name"),
    "a name of 41 characters": ([{**FIELDS[0], "name": "a" * 41}], "postCallFields.0.name"),
    "one of Retell's names": ([{**FIELDS[0], "name": "call_summary"}], "postCallFields.0.name"),
    "an unknown type": ([{**FIELDS[0], "type": "date"}], "postCallFields.0.type"),
    "no description": ([{"name": "x", "type": "string"}], "postCallFields.0.description"),
    "a blank description": ([{**FIELDS[0], "description": "   "}], "postCallFields.0.description"),
    "a description of 501 characters": (
        [{**FIELDS[0], "description": "d" * 501}],
        "postCallFields.0.description",
    ),
    "a choice of 101 characters": ([{**FIELDS[1], "choices": ["c" * 101]}], "postCallFields.0.choices.0"),
    "a control character": ([{**FIELDS[0], "description": "a\x07b"}], "postCallFields.0.description"),
    "an unknown key": ([{**FIELDS[0], "required": True}], "postCallFields.0.required"),
    "not a list": ({"name": "x"}, "postCallFields"),
}


@pytest.mark.parametrize("case", INVALID)
def test_invalid_fields_are_a_400_naming_the_field_and_buy_nothing(env, db, case):
    fields, named = INVALID[case]

    response = create({**BODY, "postCallFields": fields})

    assert response["statusCode"] == 400, response["body"]
    body = json_body(response)
    assert body["error"] == "validation_error"
    assert named in {each["field"] for each in body["fields"]}, body
    assert env.twilio.owned == {} and env.retell.agents == {}
    assert db.agents.count_documents({}) == 0


# --- update --------------------------------------------------------------------------------------------


def test_an_update_publishes_a_new_version_carrying_the_fields_and_calls_run_it(env, db):
    agent = create_active_agent()
    assert retell_agent(env, agent, 0)["post_call_analysis_data"] is None

    response = patch(agent["id"], {"postCallFields": FIELDS}, if_match='"0"')

    assert response["statusCode"] == 200, response["body"]
    assert response["headers"]["ETag"] == '"1"'
    assert json_body(response)["postCallFields"] == answered(FIELDS)
    # Version 1 is published with the fields; version 0, which earlier calls ran, is as it was
    published = retell_agent(env, agent, 1)
    assert published["is_published"] and published["post_call_analysis_data"] == RETELL_ITEMS
    assert retell_agent(env, agent, 0)["post_call_analysis_data"] is None
    record = db.agents.find_one()
    assert (record["retellAgentVersion"], record["postCallFields"][1]["choices"]) == (1, FIELDS[1]["choices"])
    assert "pendingUpdate" not in record and leaks(env, db) == {}
    # The next call runs version 1
    call_id = dialled_sip(invoke("twilio_webhook", signed_event(agent))).removeprefix("sip:").split("@")[0]
    assert env.retell.calls_registered[call_id]["agent_version"] == 1


def test_an_empty_list_clears_the_fields_on_a_new_version_and_the_same_fields_make_none(env, db):
    agent = json_body(create({**BODY, "postCallFields": FIELDS}))

    same = patch(agent["id"], {"postCallFields": FIELDS})
    assert same["statusCode"] == 200 and same["headers"]["ETag"] == '"0"'  # nothing changed: no version
    assert set(env.retell.agent_versions[agent["retellAgentId"]]) == {0}

    cleared = patch(agent["id"], {"postCallFields": []})

    assert cleared["statusCode"] == 200, cleared["body"]
    assert json_body(cleared)["postCallFields"] == []
    assert retell_agent(env, agent, 1)["post_call_analysis_data"] == []
    assert retell_agent(env, agent, 0)["post_call_analysis_data"] == RETELL_ITEMS


@pytest.mark.parametrize("case", ["an enum without choices", "two fields of one name", "eleven fields"])
def test_an_invalid_update_is_a_400_and_makes_no_version(env, db, case):
    agent = create_active_agent()
    fields, named = INVALID[case]

    response = patch(agent["id"], {"postCallFields": fields})

    assert response["statusCode"] == 400, response["body"]
    assert named in {each["field"] for each in json_body(response)["fields"]}
    assert set(env.retell.agent_versions[agent["retellAgentId"]]) == {0}
    assert "pendingUpdate" not in db.agents.find_one()


def test_null_fields_on_an_update_are_refused_an_empty_list_clears_them(env, db):
    agent = create_active_agent()

    response = patch(agent["id"], {"postCallFields": None})

    assert response["statusCode"] == 400
    assert json_body(response)["fields"][0]["field"] == "postCallFields"
