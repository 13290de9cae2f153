"""ALLOWED_VOICE_IDS: create and update refuse a voice outside the list with a 400 naming ``voiceId``
and the voices allowed; an empty list allows any voice, as before."""

from __future__ import annotations

from typing import Any

import pytest

from local.invoke import http_event, invoke, json_body
from voice_agents import runtime

pytestmark = pytest.mark.integration

OFFERED = "11labs-Adrian, 11labs-Brian"
BODY = {"name": "Front desk", "prompt": "Answer briefly."}


@pytest.fixture
def offered(env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_VOICE_IDS", OFFERED)
    runtime.reset()


def create(voice: str) -> dict[str, Any]:
    return invoke(
        "create_agent", http_event("create_agent.json", body={**BODY, "voiceId": voice}, headers={})
    )


def update(agent_id: str, voice: str) -> dict[str, Any]:
    return invoke(
        "update_agent",
        http_event("update_agent.json", agent_id=agent_id, body={"voiceId": voice}, headers={}),
    )


def assert_refused_naming_the_voices(answer: dict[str, Any]) -> None:
    assert answer["statusCode"] == 400, answer["body"]
    body = json_body(answer)
    assert body["error"] == "validation_error"
    [field] = body["fields"]
    assert field["field"] == "voiceId"
    assert "11labs-Adrian" in field["message"] and "11labs-Brian" in field["message"]
    assert body["message"].startswith("voiceId: ")


def test_a_create_with_a_voice_outside_the_list_is_refused_and_buys_nothing(env, db, offered):
    refused = create("openai-Alloy")

    assert_refused_naming_the_voices(refused)
    assert env.twilio.call_count("buy_number") == 0 and env.retell.call_count("create_llm") == 0
    assert db.agents.count_documents({}) == 0 and db.purchases.count_documents({}) == 0
    # while a listed voice creates
    created = create("11labs-Brian")
    assert created["statusCode"] == 201 and json_body(created)["voiceId"] == "11labs-Brian"


def test_an_update_to_a_voice_outside_the_list_is_refused_and_changes_nothing(env, offered):
    agent = json_body(create("11labs-Brian"))
    versions = env.retell.call_count("create_agent_version")

    refused = update(agent["id"], "openai-Alloy")

    assert_refused_naming_the_voices(refused)
    assert env.retell.call_count("create_agent_version") == versions
    shown = json_body(invoke("get_agents", http_event("get_agent.json", agent_id=agent["id"])))
    assert shown["voiceId"] == "11labs-Brian"
    # while a listed voice is changed to
    changed = update(agent["id"], "11labs-Adrian")
    assert changed["statusCode"] == 200 and json_body(changed)["voiceId"] == "11labs-Adrian"


def test_without_a_list_any_voice_is_allowed(env):
    created = create("openai-Alloy")

    assert created["statusCode"] == 201, created["body"]
    assert update(json_body(created)["id"], "openai-Nova")["statusCode"] == 200
