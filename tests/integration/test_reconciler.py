"""The scheduled reconciler: exactly-once repairs across processes, idempotent runs, drift repair,
foreign numbers left alone, bounded by the Lambda's remaining time."""

from __future__ import annotations

import time

import pytest
from bson import ObjectId

from local.invoke import LambdaContext, create_active_agent, http_event, invoke
from local.sample_events import load_event
from tests.integration.crashes import Crash, crash_after
from tests.integration.faults import (
    DELETE_OPERATIONS,
    let_time_pass,
    make_providers_slow,
    providers_recover,
    run_reconciler,
    wait_until,
)
from tests.integration.leaks import leaks
from tests.integration.workers import run_in_processes
from voice_agents import runtime
from voice_agents.core.countries import NumberOrder
from voice_agents.data.deployment import write_marker
from voice_agents.providers.twilio import TwilioNumbers
from voice_agents.repair import reconciler

AU_MOBILE = NumberOrder("AU", "mobile")  # the stack's default pair: the fake asks no bundle of it

pytestmark = pytest.mark.integration


def crashed_create() -> None:
    """A create that died after the purchase: LLM, agent and number exist, the record is stale."""
    event = http_event("create_agent.json", headers={"idempotency-key": str(ObjectId())})
    with crash_after(TwilioNumbers, "buy"), pytest.raises(Crash):
        invoke("create_agent", event)


def removal_calls(env) -> dict[str, int]:
    return {
        op: (env.twilio if op == "release_number" else env.retell).call_count(op) for op in DELETE_OPERATIONS
    }


def test_two_reconcilers_at_once_repair_everything_exactly_once(env, db, monkeypatch):
    # Given three creates that crashed, and a tagged number whose agent record does not exist
    for _ in range(3):
        crashed_create()
    unrecorded = runtime.twilio().buy(
        "+61480000150", order=AU_MOBILE, voice_url="https://example.invalid/x", tag=f"va-local:{ObjectId()}"
    )
    let_time_pass(env)
    owned, agents, llms = len(env.twilio.owned), len(env.retell.agents), len(env.retell.llms)
    before = removal_calls(env)

    # When two reconcilers run at the same time in two processes
    reports = run_in_processes([("reconcile", load_event("reconcile.json"))] * 2)

    # Then every resource a record accounts for was removed by exactly one call, each record settled
    # once, and the number no record names is reported by every sweeping run and left in place
    after = removal_calls(env)
    assert {op: after[op] - before[op] for op in DELETE_OPERATIONS} == {
        "release_number": owned - 1, "delete_agent": agents, "delete_llm": llms,
    }  # fmt: skip
    settled = sum(report["repaired"].get("provisioning_settled", 0) for report in reports)
    assert settled == 3
    sweeping = [report for report in reports if report["swept"]]
    assert sweeping and all([i["id"] for i in r["unaccounted"]] == [unrecorded.sid] for r in sweeping)
    assert leaks(env, db) == {"numbers": [unrecorded.sid]}


def test_a_second_run_changes_nothing(env, db, monkeypatch):
    create_active_agent()
    crashed_create()
    let_time_pass(env)
    run_reconciler()
    snapshot = list(db.agents.find())
    calls = {**env.twilio.call_counts(), **{f"r_{k}": v for k, v in env.retell.call_counts().items()}}

    report = run_reconciler()

    assert report["repaired"] == {} and report["removed"] == {} and report["webhooksRepaired"] == 0
    assert list(db.agents.find()) == snapshot
    after = {**env.twilio.call_counts(), **{f"r_{k}": v for k, v in env.retell.call_counts().items()}}
    mutations = [
        op
        for op in after
        if op.split("_", 1)[-1].startswith(("buy", "release", "update", "delete", "create"))
    ]
    assert {op: after[op] for op in mutations} == {op: calls.get(op, 0) for op in mutations}


def test_webhook_drift_is_repaired_when_the_base_url_changes(env, db, monkeypatch, server):
    agent = create_active_agent()
    # A new base that answers its health route as this deployment (the local API: the template's)
    monkeypatch.setenv("WEBHOOK_BASE_URL", server.base_url)
    runtime.reset()

    report = run_reconciler()

    expected = f"{server.base_url}/api/webhooks/twilio/{agent['id']}"
    assert report["webhooksRepaired"] == 1
    assert env.twilio.owned[agent["twilioPhoneNumberSid"]]["voice_url"] == expected
    assert db.agents.find_one()["webhookUrl"] == expected
    assert report["eventsWebhooksRepaired"] == 1  # the Retell agent's call events follow the base URL
    agent_after = env.retell.state()["agents"][agent["retellAgentId"]]
    assert agent_after["webhook_url"] == f"{server.base_url}/api/webhooks/retell"
    second = run_reconciler()
    assert second["webhooksRepaired"] == 0 and second["eventsWebhooksRepaired"] == 0


def test_an_agent_without_a_call_events_url_gets_it_on_a_new_published_version(env, db):
    """An agent made before agents sent their call events to us: the sweep re-points it the way an
    update does (new draft, published, then the record's commit), and calls follow the record."""
    agent = create_active_agent()
    write_marker(runtime.store(), "va-local")  # so that the sweep runs
    retell_agent_id = agent["retellAgentId"]
    with env.retell._lock:  # what such an agent looks like at Retell: version 0, no webhook_url
        env.retell._agents[retell_agent_id]["webhook_url"] = None
    record = db.agents.find_one()
    expected = record["webhookUrl"].split("/api/webhooks/twilio/")[0] + "/api/webhooks/retell"

    report = run_reconciler()

    assert report["eventsWebhooksRepaired"] == 1
    state = env.retell.state()
    versions = state["agent_versions"][retell_agent_id]
    assert sorted(versions) == ["0", "1"]
    assert versions["0"]["webhook_url"] is None and versions["0"]["is_published"]
    assert versions["1"]["webhook_url"] == expected and versions["1"]["is_published"]
    after = db.agents.find_one()
    assert after["retellAgentVersion"] == 1 and after["retellWebhookUrl"] == expected
    assert "pendingUpdate" not in after and "leaseOwner" not in after
    assert after["prompt"] == record["prompt"] and after["phoneNumber"] == record["phoneNumber"]
    assert run_reconciler()["eventsWebhooksRepaired"] == 0


def test_a_failed_call_events_repair_leaves_the_agent_as_it_was(env, db):
    agent = create_active_agent()
    write_marker(runtime.store(), "va-local")
    with env.retell._lock:
        env.retell._agents[agent["retellAgentId"]]["webhook_url"] = None
    env.retell.inject("publish_agent_version", status=400, message="injected", times=1)

    report = run_reconciler()

    assert report["eventsWebhooksRepaired"] == 0
    after = db.agents.find_one()
    assert after["retellAgentVersion"] == 0 and "pendingUpdate" not in after
    versions = env.retell.state()["agent_versions"][agent["retellAgentId"]]
    assert sorted(versions) == ["0"]  # the draft was deleted
    assert run_reconciler()["eventsWebhooksRepaired"] == 1  # and the next run repairs it


def test_numbers_without_our_tag_are_never_touched(env, db):
    write_marker(runtime.store(), "va-local")  # so that the sweep runs
    twilio = runtime.twilio()
    foreign = [
        twilio.buy(
            "+61480000101", order=AU_MOBILE, voice_url="https://pbx.example.com/in", tag="Reception line"
        ),
        twilio.buy(
            "+61480000102",
            order=AU_MOBILE,
            voice_url="https://pbx.example.com/in",
            tag=f"va-prod:{ObjectId()}",
        ),
        twilio.buy("+61480000103", order=AU_MOBILE, voice_url="https://pbx.example.com/in", tag=""),
    ]

    report = run_reconciler()

    assert report["swept"] is True and report["removed"] == {} and report["unaccounted"] == []
    assert sorted(env.twilio.owned) == sorted(number.sid for number in foreign)
    assert env.twilio.call_count("release_number") == 0


def test_orphans_of_failed_and_deleted_agents_are_swept(env, db, monkeypatch):
    # Given a failed create whose Retell LLM was created after the request gave up on it (and after
    # its rollback looked for it: the LLM lands 2 s after the create's 0.5 s timeout)
    monkeypatch.setenv("RETELL_TIMEOUT_SECONDS", "0.5")
    env.retell.inject("create_llm", delay_ms=2500)
    assert invoke("create_agent", load_event("create_agent.json"))["statusCode"] == 504
    wait_until(lambda: len(env.retell.llms) == 1)  # the late LLM, tagged with the failed agent's id
    let_time_pass(env)

    report = run_reconciler()

    assert report["removed"] == {"retell_llm": 1}
    assert leaks(env, db) == {}


def test_a_run_with_little_time_left_stops_without_starting_work(env, db, monkeypatch):
    crashed_create()
    let_time_pass(env)

    report = run_reconciler(LambdaContext(timeout_ms=5000))

    assert report["stoppedEarly"] is True and report["repaired"] == {} and report["swept"] is False
    assert db.agents.find_one()["status"] == "provisioning"
    assert env.twilio.call_count("release_number") == 0


def test_hung_providers_stop_the_run_before_its_deadline_and_the_next_run_finishes(env, db, monkeypatch):
    # Given a crashed create, and providers that hang far longer than the reconciler has left
    crashed_create()
    let_time_pass(env)
    monkeypatch.setattr(reconciler, "TIME_RESERVE_MS", 1000)
    make_providers_slow(env, delay_ms=10_000)
    context = LambdaContext(timeout_ms=6000)

    # When the reconciler runs
    started = time.monotonic()
    report = run_reconciler(context)
    elapsed_ms = (time.monotonic() - started) * 1000

    # Then it stopped early, before its deadline, instead of being killed mid-repair
    assert elapsed_ms < context.timeout_ms
    assert report["stoppedEarly"] is True and report["errors"] == []
    # And once the providers recover, the next run cleans everything up
    providers_recover(env, delay_ms=10_000)
    let_time_pass(env)
    run_reconciler()
    assert leaks(env, db) == {}


def test_a_listed_version_calls_do_not_run_is_never_re_pointed(env, db):
    """Only the version the record pins is live: a newer draft without the call-events URL (left by
    someone editing the agent at Retell) is not a reason to mint a version, run after run."""
    agent = create_active_agent()
    write_marker(runtime.store(), "va-local")
    retell_agent_id = agent["retellAgentId"]
    draft = runtime.retell().create_agent_version(retell_agent_id, base_version=0)
    with env.retell._lock:  # the listing shows the latest version: the draft, without the URL
        env.retell._agent_versions[retell_agent_id][draft]["webhook_url"] = None

    reports = [run_reconciler(), run_reconciler()]

    assert [report["eventsWebhooksRepaired"] for report in reports] == [0, 0]
    assert sorted(env.retell.state()["agent_versions"][retell_agent_id]) == ["0", "1"]
    assert db.agents.find_one()["retellAgentVersion"] == 0
