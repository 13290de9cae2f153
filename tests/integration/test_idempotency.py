"""Idempotency-Key on POST /api/agents: a replay never provisions twice, across processes too."""

from __future__ import annotations

from typing import Any

import pytest

from local.invoke import http_event, invoke, json_body
from local.sample_events import load_event
from tests.integration.faults import let_time_pass, run_reconciler
from tests.integration.leaks import leaks
from tests.integration.workers import run_in_processes
from voice_agents.core.errors import StoreError
from voice_agents.data.agents import AgentStore

pytestmark = pytest.mark.integration


def test_same_key_twice_returns_the_same_agent_and_buys_one_number(env, db):
    event = load_event("create_agent.json")

    first = invoke("create_agent", event)
    second = invoke("create_agent", event)

    assert first["statusCode"] == 201 and second["statusCode"] == 201
    assert json_body(second) == json_body(first)
    assert env.twilio.call_count("buy_number") == 1
    assert env.retell.call_count("create_llm") == 1
    assert db.agents.count_documents({}) == 1


def test_same_key_with_a_different_body_is_rejected(env, db):
    invoke("create_agent", load_event("create_agent.json"))
    changed = http_event("create_agent.json", body={"name": "Another agent", "prompt": "Something else"},
                         headers={"idempotency-key": "create-northstar-0001"})  # fmt: skip

    response = invoke("create_agent", changed)

    assert response["statusCode"] == 422
    assert json_body(response)["error"] == "idempotency_key_reused"
    assert env.twilio.call_count("buy_number") == 1


def test_the_same_key_from_another_owner_is_another_request(env, db):
    invoke("create_agent", load_event("create_agent.json"))

    response = invoke("create_agent", http_event("create_agent.json", owner="someone-else"))

    assert response["statusCode"] == 201
    assert env.twilio.call_count("buy_number") == 2


def test_same_key_racing_from_two_processes_buys_one_number(env, db):
    # Given a slow LLM creation, so the second request arrives while the first is in progress
    env.retell.inject("create_llm", delay_ms=700)
    event = load_event("create_agent.json")

    responses = run_in_processes([("create_agent", event), ("create_agent", event)])

    statuses = sorted(response["statusCode"] for response in responses)
    assert statuses in ([201, 201], [201, 409]), [r["body"] for r in responses]
    created = {json_body(r)["id"] for r in responses if r["statusCode"] == 201}
    assert len(created) == 1
    assert env.twilio.call_count("buy_number") == 1
    assert env.retell.call_count("create_llm") == 1
    assert leaks(env, db) == {}


def test_a_failed_request_can_be_retried_with_the_same_key(env, db):
    env.retell.inject("create_llm", status=500, message="injected", times=1)
    event = load_event("create_agent.json")

    failed = invoke("create_agent", event)
    retried = invoke("create_agent", event)

    assert failed["statusCode"] == 502
    assert retried["statusCode"] == 201
    assert leaks(env, db) == {}


def test_a_malformed_key_is_a_client_error(env, db):
    response = invoke("create_agent", http_event("create_agent.json", headers={"idempotency-key": "x" * 300}))

    assert response["statusCode"] == 400
    assert json_body(response)["fields"][0]["field"] == "Idempotency-Key"


# --- an activation whose outcome is unknown -------------------------------------------------------


def lose_the_activation(monkeypatch: pytest.MonkeyPatch, *, applied: bool) -> None:
    """The activating write gets no reply (it ``applied`` or not), and neither does the write that
    would fence it off: the create cannot tell whether its agent is active."""
    original = AgentStore.update

    def flaky(self: AgentStore, agent_id: Any, fields: dict[str, Any], **kwargs: Any) -> Any:
        if fields.get("status") == "active":
            if applied:
                original(self, agent_id, fields, **kwargs)
            raise StoreError("injected: activation reply lost", outcome_unknown=True)
        if str(fields.get("leaseOwner", "")).endswith(":rolling-back"):
            raise StoreError("injected: fence reply lost", outcome_unknown=True)
        return original(self, agent_id, fields, **kwargs)

    monkeypatch.setattr(AgentStore, "update", flaky)


def test_unknown_activation_that_applied_answers_the_same_agent_on_retry(env, db, monkeypatch):
    lose_the_activation(monkeypatch, applied=True)
    event = load_event("create_agent.json")

    first = invoke("create_agent", event)
    monkeypatch.undo()
    retried = invoke("create_agent", event)

    assert first["statusCode"] == 503, first["body"]
    assert json_body(first)["step"] == "activate"
    assert retried["statusCode"] == 201, retried["body"]
    assert json_body(retried)["id"] == json_body(first)["agentId"]
    assert json_body(retried)["status"] == "active"
    assert env.twilio.call_count("buy_number") == 1
    assert db.agents.count_documents({}) == 1
    assert leaks(env, db) == {}


def test_unknown_activation_that_did_not_apply_is_409_then_the_settled_failure(env, db, monkeypatch):
    lose_the_activation(monkeypatch, applied=False)
    event = load_event("create_agent.json")

    first = invoke("create_agent", event)
    monkeypatch.undo()
    while_unsettled = invoke("create_agent", event)
    let_time_pass(env)
    run_reconciler()
    after_repair = invoke("create_agent", event)

    agent_id = json_body(first)["agentId"]
    assert first["statusCode"] == 503, first["body"]
    assert while_unsettled["statusCode"] == 409, while_unsettled["body"]
    assert json_body(while_unsettled)["error"] == "request_in_progress"
    assert after_repair["statusCode"] == 502, after_repair["body"]
    assert json_body(after_repair)["agentId"] == agent_id
    assert json_body(after_repair)["step"]
    # One number was bought (and released by the repair): none for the retries.
    assert env.twilio.call_count("buy_number") == 1
    assert env.retell.call_count("create_llm") == 1
    assert db.agents.count_documents({}) == 1
    assert leaks(env, db) == {}


def test_a_replayed_key_whose_agent_was_deleted_is_410(env, db):
    event = load_event("create_agent.json")
    created = json_body(invoke("create_agent", event))
    invoke("delete_agent", http_event("delete_agent.json", agent_id=created["id"]))

    replayed = invoke("create_agent", event)

    assert replayed["statusCode"] == 410, replayed["body"]
    assert json_body(replayed)["error"] == "agent_deleted"
    assert env.twilio.call_count("buy_number") == 1
