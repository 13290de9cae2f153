"""The per-owner agent quota (AGENT_LIMIT_PER_OWNER): past it a create answers 429 and buys nothing."""

from __future__ import annotations

import pytest

from local.invoke import http_event, invoke, json_body
from voice_agents import runtime

pytestmark = pytest.mark.integration

DEFAULT_LIMIT = 25


def create(key: str, owner: str | None = None) -> dict:
    return invoke(
        "create_agent", http_event("create_agent.json", owner=owner, headers={"idempotency-key": key})
    )


def test_a_stream_of_creates_stops_at_the_default_limit_and_replays_still_answer(env, db, monkeypatch):
    # The agent quota alone: the purchase budget is another bound (test_purchase_budget.py)
    monkeypatch.setenv("PURCHASE_BUDGET_PER_DAY", str(DEFAULT_LIMIT + 2))
    runtime.reset()
    # Given an owner who creates agents one after another
    answers = [create(f"stream-{n}") for n in range(DEFAULT_LIMIT + 1)]

    # Then the first 25 are created and the 26th is refused, naming the limit
    assert [a["statusCode"] for a in answers[:DEFAULT_LIMIT]] == [201] * DEFAULT_LIMIT
    refused = answers[DEFAULT_LIMIT]
    assert refused["statusCode"] == 429, refused["body"]
    body = json_body(refused)
    assert body["error"] == "quota_exceeded" and body["limit"] == DEFAULT_LIMIT
    assert body["requestId"] and body["message"]
    # and it bought nothing and journaled nothing
    assert env.twilio.call_count("buy_number") == DEFAULT_LIMIT
    assert env.retell.call_count("create_llm") == DEFAULT_LIMIT
    assert db.agents.count_documents({}) == DEFAULT_LIMIT
    # And a replay of an earlier key still answers its agent
    replay = create("stream-3")
    assert replay["statusCode"] == 201, replay["body"]
    assert json_body(replay)["id"] == json_body(answers[3])["id"]
    # And the refused key was not used up: once there is room, it creates
    invoke("delete_agent", http_event("delete_agent.json", agent_id=json_body(answers[0])["id"]))
    assert create(f"stream-{DEFAULT_LIMIT}")["statusCode"] == 201
    assert env.twilio.call_count("buy_number") == DEFAULT_LIMIT + 1


def test_failed_and_deleted_agents_do_not_count_and_other_owners_are_apart(env, db, monkeypatch):
    monkeypatch.setenv("AGENT_LIMIT_PER_OWNER", "2")
    runtime.reset()
    # Given one create that failed (rolled back) and two active agents
    env.retell.inject("create_llm", status=400, message="Invalid request format", times=1)
    assert create("failed")["statusCode"] == 502
    first, second = (json_body(create(key)) for key in ("one", "two"))

    bought = env.twilio.call_count("buy_number")

    # Then a third is refused, without an Idempotency-Key too, and nothing is bought
    assert create("three")["statusCode"] == 429
    assert invoke("create_agent", http_event("create_agent.json", headers={}))["statusCode"] == 429
    assert env.twilio.call_count("buy_number") == bought
    # while another owner still creates
    assert create("elsewhere", owner="another-owner")["statusCode"] == 201
    # And once one is deleted there is room again
    invoke("delete_agent", http_event("delete_agent.json", agent_id=first["id"]))
    assert create("three")["statusCode"] == 201
    assert create("four")["statusCode"] == 429
    assert second["status"] == "active"
    assert env.twilio.call_count("buy_number") == bought + 2
    assert len(env.twilio.owned) == 3  # two, elsewhere, three
