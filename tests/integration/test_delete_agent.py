"""DELETE /api/agents/{agentId}: owner-checked, journal first, number first, safe to repeat."""

from __future__ import annotations

import pytest

from local.invoke import LambdaContext, create_active_agent, http_event, invoke, json_body
from local.sample_events import load_event
from tests.integration.faults import (
    DELETE_OPERATIONS,
    KINDS,
    inject_provider_fault,
    let_time_pass,
    make_providers_slow,
    providers_recover,
    run_reconciler,
    use_short_timeouts,
)
from tests.integration.leaks import leaks
from tests.integration.workers import run_in_processes

pytestmark = pytest.mark.integration


def delete(agent_id: str, owner: str | None = None, context: LambdaContext | None = None) -> dict:
    return invoke("delete_agent", http_event("delete_agent.json", agent_id=agent_id, owner=owner), context)


def test_delete_releases_the_number_and_removes_retell_resources(env, db):
    agent = create_active_agent()

    response = delete(agent["id"])

    assert response["statusCode"] == 200
    assert json_body(response) == {"id": agent["id"], "status": "deleted", "pending": []}
    assert env.twilio.owned == {} and env.retell.agents == {} and env.retell.llms == {}
    record = db.agents.find_one()
    assert record["status"] == "deleted" and "deletedAt" in record and "leaseOwner" not in record
    get = invoke("get_agents", http_event("get_agent.json", agent_id=agent["id"]))
    assert get["statusCode"] == 404
    listed = json_body(invoke("get_agents", load_event("get_agents.json")))
    assert listed["items"] == []
    assert leaks(env, db) == {}


def test_delete_repeated_is_harmless(env, db):
    agent = create_active_agent()
    delete(agent["id"])
    calls = env.twilio.call_count("release_number") + env.retell.call_count("delete_agent")

    again = delete(agent["id"])

    assert again["statusCode"] == 200
    assert json_body(again)["status"] == "deleted"
    assert env.twilio.call_count("release_number") + env.retell.call_count("delete_agent") == calls


@pytest.mark.parametrize("agent_id", ["another-owners", "6740a1b2c3d4e5f6a7b8c9d0", "not-an-id"])
def test_delete_of_an_agent_that_is_not_yours_is_404(env, db, agent_id):
    agent = create_active_agent()
    target = agent["id"] if agent_id == "another-owners" else agent_id

    response = delete(target, owner="intruder")

    assert response["statusCode"] == 404
    assert json_body(response)["error"] == "not_found"
    assert len(env.twilio.owned) == 1 and db.agents.find_one()["status"] == "active"


def test_a_number_already_released_counts_as_released(env, db):
    agent = create_active_agent()
    env.twilio.inject("release_number", status=404, code=20404, message="not found")

    response = delete(agent["id"])

    assert response["statusCode"] == 200
    assert env.retell.agents == {} and env.retell.llms == {}


def test_partial_failure_answers_202_and_the_reconciler_finishes(env, db):
    agent = create_active_agent()
    env.twilio.inject("release_number", status=503, message="Service unavailable")

    response = delete(agent["id"])

    # Then the answer says what is pending and the record stays 'deleting' for the reconciler
    assert response["statusCode"] == 202
    assert json_body(response) == {"id": agent["id"], "status": "deleting", "pending": ["twilio_number"]}
    assert db.agents.find_one()["status"] == "deleting"
    assert env.retell.agents == {}  # what could be removed was removed
    # When Twilio recovers and the reconciler runs
    env.twilio.clear_faults()
    let_time_pass(env)
    run_reconciler()
    # Then the number is released and the record is deleted
    assert env.twilio.owned == {}
    assert db.agents.find_one()["status"] == "deleted"
    assert leaks(env, db) == {}


@pytest.mark.parametrize(("operation", "kind"), [(o, k) for o in DELETE_OPERATIONS for k in KINDS])
def test_delete_fault_leaks_nothing_after_one_reconciler_pass(env, db, monkeypatch, operation, kind):
    agent = create_active_agent()
    use_short_timeouts(monkeypatch)
    inject_provider_fault(env, operation, kind)

    response = delete(agent["id"])

    assert response["statusCode"] in {200, 202}, response["body"]
    env.twilio.clear_faults()
    env.retell.clear_faults()
    let_time_pass(env)
    run_reconciler()
    assert db.agents.find_one()["status"] == "deleted"
    assert leaks(env, db) == {}


def test_delete_racing_a_reconciler_removes_each_resource_once(env, db):
    # Given an agent whose first delete left everything pending (Twilio and Retell were down)
    agent = create_active_agent()
    removals = ((env.twilio, "release_number"), (env.retell, "delete_agent"), (env.retell, "delete_llm"))
    for fake, operation in removals:
        fake.inject(operation, status=503, message="down", times=3)
    assert delete(agent["id"])["statusCode"] == 202
    let_time_pass(env)
    # Slow releases widen the window in which both could act
    env.twilio.inject("release_number", delay_ms=400)
    reconcile = ("reconcile", load_event("reconcile.json"))
    user_delete = ("delete_agent", http_event("delete_agent.json", agent_id=agent["id"]))
    before = {op: fake.call_count(op) for fake, op in removals}

    # When the user retries the delete while the reconciler runs, in two processes
    delete_response, report = run_in_processes([user_delete, reconcile])

    # Then each resource was removed by exactly one of them, and the record ends deleted
    assert delete_response["statusCode"] in {200, 202}
    assert {op: fake.call_count(op) - before[op] for fake, op in removals} == dict.fromkeys(before, 1)
    assert report["repaired"].get("deletion_finished", 0) + (report["repaired"] == {}) == 1, report
    assert env.twilio.owned == {}
    assert db.agents.find_one()["status"] == "deleted"
    assert leaks(env, db) == {}


# --- the time budget ---------------------------------------------------------------------------

SLOW_MS = 4000  # slower than any per-call timeout a 7 s function can give


@pytest.mark.parametrize("configured_timeout", [None, "2.5"], ids=["default-timeouts", "2.5s-timeouts"])
def test_slow_providers_answer_202_with_pending_before_the_deadline(env, db, monkeypatch, configured_timeout):
    # Given an active agent, then every provider call slower than the function could wait for
    agent = create_active_agent()
    if configured_timeout:
        monkeypatch.setenv("RETELL_TIMEOUT_SECONDS", configured_timeout)
        monkeypatch.setenv("TWILIO_TIMEOUT_SECONDS", configured_timeout)
    make_providers_slow(env, SLOW_MS)
    context = LambdaContext(timeout_ms=7000)

    response = delete(agent["id"], context=context)

    # Then the answer comes before the function's timeout: accepted, with everything still pending
    # (removals that no longer fit were not started)
    assert context.get_remaining_time_in_millis() > 0
    assert response["statusCode"] == 202, response["body"]
    pending = ["twilio_number", "retell_agent", "retell_llm"]
    assert json_body(response) == {"id": agent["id"], "status": "deleting", "pending": pending}
    record = db.agents.find_one()
    assert record["status"] == "deleting" and record["cleanupPending"] == pending
    assert env.retell.call_count("delete_llm") == 0
    # And once the providers recover, one reconciler pass finishes the deletion
    providers_recover(env, SLOW_MS)
    let_time_pass(env)
    run_reconciler()
    assert db.agents.find_one()["status"] == "deleted"
    assert leaks(env, db) == {}


def test_slow_providers_that_answer_in_time_are_all_removed(env, db):
    agent = create_active_agent()
    make_providers_slow(env, 400)
    context = LambdaContext(timeout_ms=7000)

    response = delete(agent["id"], context=context)

    assert response["statusCode"] == 200, response["body"]
    assert env.twilio.owned == {} and env.retell.agents == {} and env.retell.llms == {}
    assert leaks(env, db) == {}
