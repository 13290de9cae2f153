"""The process dies at every step of create and of delete; one reconciler pass repairs it all."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from local.invoke import http_event, invoke, json_body
from local.sample_events import load_event
from tests.integration.crashes import CREATE_STEPS, DELETE_STEPS, Crash, crash_after
from tests.integration.faults import let_time_pass, run_reconciler
from tests.integration.leaks import leaks
from tests.integration.workers import invoke_in_process

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("step", CREATE_STEPS)
def test_crash_during_create_is_repaired_by_the_reconciler(env, db, step):
    # Given a process that dies right after this step succeeded
    # When the create request runs, and later the reconciler
    with crash_after(*CREATE_STEPS[step]), pytest.raises(Crash):
        invoke("create_agent", load_event("create_agent.json"))
    let_time_pass(env)
    run_reconciler()

    # Then nothing is leaked and the record is settled
    assert leaks(env, db) == {}
    assert db.agents.count_documents({"status": {"$nin": ["active", "failed"]}}) == 0


@pytest.mark.parametrize("step", DELETE_STEPS)
def test_crash_during_delete_is_finished_by_the_reconciler(env, db, step):
    created = json_body(invoke("create_agent", load_event("create_agent.json")))

    with crash_after(*DELETE_STEPS[step]), pytest.raises(Crash):
        invoke("delete_agent", http_event("delete_agent.json", agent_id=created["id"]))
    let_time_pass(env)
    run_reconciler()

    assert db.agents.find_one()["status"] == "deleted"
    assert env.twilio.owned == {} and env.retell.agents == {} and env.retell.llms == {}
    assert leaks(env, db) == {}


def test_worker_killed_while_the_purchase_is_in_flight(env, db):
    # Given a purchase that Twilio carries out but whose answer takes 5 s to come back
    env.twilio.inject("buy_number", drop=True, hold_ms=5000)
    worker = multiprocessing.get_context("spawn").Process(
        target=invoke_in_process, args=(("create_agent", load_event("create_agent.json")),)
    )
    worker.start()
    deadline = time.monotonic() + 20
    while not env.twilio.owned and time.monotonic() < deadline:
        time.sleep(0.05)
    assert env.twilio.owned, "the purchase never happened"

    # When the worker is killed (SIGKILL: no cleanup of any kind runs)
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    worker.join()
    assert db.agents.find_one()["status"] == "provisioning"
    let_time_pass(env)
    run_reconciler()

    # Then the number is released and the record settled as failed
    assert env.twilio.owned == {}
    assert db.agents.find_one()["status"] == "failed"
    assert leaks(env, db) == {}
