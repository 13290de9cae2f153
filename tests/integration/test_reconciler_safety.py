"""The reconciler never destroys what is live: a wrong database, another deployment's database, a
clock far ahead, resources no record names, a plan removing too much. Only the operator, asked
explicitly, releases what no record accounts for."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo import MongoClient

from local.invoke import create_active_agent, http_event, invoke, json_body
from local.sample_events import load_event
from local.stack import LocalStack
from tests.integration.emf import emitted_metrics
from tests.integration.faults import DELETE_OPERATIONS, run_reconciler
from tests.integration.leaks import leaks
from tests.integration.test_reconciler import crashed_create
from voice_agents import runtime
from voice_agents.core import clock as store_module
from voice_agents.core.clock import now
from voice_agents.core.countries import NumberOrder
from voice_agents.core.tags import retell_agent_name
from voice_agents.repair import operate

AU_MOBILE = NumberOrder("AU", "mobile")  # the stack's default pair: the fake asks no bundle of it

pytestmark = pytest.mark.integration

OTHER_DATABASE = "voice_agnets"  # a misspelling: an empty database


@pytest.fixture
def other_database(env: LocalStack) -> Iterator[str]:
    client: MongoClient = MongoClient(env.mongodb_uri)
    client.drop_database(OTHER_DATABASE)
    yield OTHER_DATABASE
    client.drop_database(OTHER_DATABASE)
    client.close()


def new_agent() -> dict[str, Any]:
    """An active agent of its own (the sample event carries one Idempotency-Key for all)."""
    return create_active_agent(http_event("create_agent.json", headers={"idempotency-key": str(ObjectId())}))


def configure(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    runtime.reset()


def live(env: LocalStack) -> dict[str, Any]:
    """What is bought and where calls go: must be unchanged when nothing may be removed."""
    return {
        "numbers": {sid: (n["friendly_name"], n["voice_url"]) for sid, n in env.twilio.owned.items()},
        "retell_agents": sorted(env.retell.agents),
        "retell_llms": sorted(env.retell.llms),
    }


def removals(env: LocalStack) -> dict[str, int]:
    return {
        op: (env.twilio if op == "release_number" else env.retell).call_count(op) for op in DELETE_OPERATIONS
    }


NO_REMOVALS = dict.fromkeys(DELETE_OPERATIONS, 0)


# --- the wrong database ------------------------------------------------------------------------


@pytest.mark.parametrize("marked", [False, True], ids=["unmarked", "marked-by-mistake"])
def test_a_reconciler_on_an_empty_database_removes_nothing(
    env, db, other_database, monkeypatch, capsys, marked
):
    # Given three active agents
    for _ in range(3):
        new_agent()
    before = live(env)
    assert len(before["numbers"]) == 3
    # And a reconciler whose MONGODB_DATABASE is misspelled (an empty database), which an operator
    # may even have marked as this deployment's by mistake
    configure(monkeypatch, MONGODB_DATABASE=other_database)
    if marked:
        assert operate.main(["mark", "--confirm"]) == 0
    capsys.readouterr()

    # When it runs
    report = run_reconciler()

    # Then nothing was removed: the numbers are owned and still point at their webhooks
    metrics = emitted_metrics(capsys.readouterr().out)
    assert removals(env) == NO_REMOVALS and report["removed"] == {}
    assert live(env) == before
    if marked:
        # Every live resource is unaccounted here: reported, counted, left in place
        assert report["swept"] is True and report["unaccountedCount"] == 9
        assert metrics["UnaccountedResources"] == [9]
    else:
        # Nothing was swept, and the run said why; it wrote nothing into the empty database
        assert report["swept"] is False and report["sweepSkipped"] == "no_marker"
        assert metrics["SweepSkipped"] == [1]
        assert db.client[other_database].list_collection_names() == []
        # Nor does the operator command release anything from a database not marked as ours
        assert operate.main(["unaccounted", "--older-than", "0s", "--confirm"]) == operate.REFUSED
        assert removals(env) == NO_REMOVALS and live(env) == before


def test_a_reconciler_on_another_deployments_database_does_nothing(
    env, db, other_database, monkeypatch, capsys
):
    # Given deployment A (tag va-local) with three active agents and a failed record due for repair
    for _ in range(3):
        new_agent()
    failed_id = ObjectId()
    number = runtime.twilio().buy(
        "+61480000170", order=AU_MOBILE, voice_url="https://a.example/x", tag=f"va-local:{failed_id}"
    )
    db.agents.insert_one(
        legacy_record(
            failed_id, status="failed", tag=f"va-local:{failed_id}", twilioPhoneNumberSid=number.sid
        )
    )
    # And deployment B (tag va-other, its own database) with two active agents on the same accounts
    configure(monkeypatch, MONGODB_DATABASE=other_database, RESOURCE_TAG="va-other")
    for _ in range(2):
        new_agent()
    before, records = live(env), list(db.agents.find())

    # When B's reconciler runs against A's database
    configure(monkeypatch, MONGODB_DATABASE=env.database)
    capsys.readouterr()
    report = run_reconciler()

    # Then it did nothing at all: nothing removed, A's records untouched, and it said why
    assert removals(env) == NO_REMOVALS and live(env) == before
    assert list(db.agents.find()) == records
    assert report["sweepSkipped"] == "foreign_marker" and report["repaired"] == {}
    assert emitted_metrics(capsys.readouterr().out)["SweepSkipped"] == [1]
    # And B's operator cannot re-mark A's database, nor release anything from it, without --replace
    assert operate.main(["mark", "--confirm"]) == operate.REFUSED
    assert operate.main(["unaccounted", "--older-than", "0s", "--confirm"]) == operate.REFUSED
    assert db.deployment.find_one()["resourceTag"] == "va-local"
    assert removals(env) == NO_REMOVALS and live(env) == before


def test_create_refuses_a_database_marked_for_another_deployment(env, db):
    # Given a database that serves another deployment
    db.deployment.insert_one({"_id": "deployment", "resourceTag": "va-prod", "createdAt": now()})

    # When an agent is created with this deployment's tag
    response = invoke("create_agent", load_event("create_agent.json"))

    # Then the create is refused before anything is bought or journaled, naming the setting to check
    # (the other deployment's tag is for the log, not for the client)
    body = json_body(response)
    assert response["statusCode"] == 500 and body["error"] == "configuration_error"
    assert body["setting"] == "MONGODB_DATABASE" and "MONGODB_DATABASE" in body["message"]
    assert "va-prod" not in response["body"]
    assert env.twilio.call_counts().get("buy_number", 0) == 0
    assert env.retell.call_counts().get("create_llm", 0) == 0
    assert db.agents.count_documents({}) == 0


def test_the_first_create_marks_the_database(env, db):
    assert db.deployment.find_one() is None

    new_agent()
    new_agent()

    assert list(db.deployment.find({}, {"_id": 1, "resourceTag": 1})) == [
        {"_id": "deployment", "resourceTag": "va-local"}
    ]


def test_without_a_marker_only_records_carrying_our_tag_are_repaired(env, db):
    # Given an unmarked database holding our deletion that is due, and another deployment's failed
    # record (with its number still bought) that is due as well
    ours = new_agent()
    db.deployment.delete_many({})
    db.agents.update_one(
        {"_id": ObjectId(ours["id"])}, {"$set": {"status": "deleting", "repairAfter": past()}}
    )
    theirs_id = ObjectId()
    theirs = runtime.twilio().buy(
        "+61480000171", order=AU_MOBILE, voice_url="https://b.example/x", tag=f"va-prod:{theirs_id}"
    )
    db.agents.insert_one(
        legacy_record(theirs_id, status="failed", tag=f"va-prod:{theirs_id}", twilioPhoneNumberSid=theirs.sid)
    )

    # When the reconciler runs
    report = run_reconciler()

    # Then our deletion is finished, and the other deployment's record and number are untouched
    assert db.agents.find_one({"_id": ObjectId(ours["id"])})["status"] == "deleted"
    assert sorted(env.twilio.owned) == [theirs.sid]
    assert db.agents.find_one({"_id": theirs_id})["repairAfter"] is not None
    assert report["sweepSkipped"] == "no_marker" and report["swept"] is False


# --- the clock -----------------------------------------------------------------------------------


def process_clock_ahead(monkeypatch: pytest.MonkeyPatch, ahead: timedelta) -> None:
    """Every time this process reads (leases, deadlines, repairAfter) is ``ahead`` of the truth."""

    class Ahead(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return datetime.now(tz) + ahead

    monkeypatch.setattr(store_module, "datetime", Ahead)


@pytest.mark.parametrize("ahead", [timedelta(hours=3), timedelta(days=3)], ids=["hours", "days"])
def test_a_reconciler_whose_clock_is_ahead_removes_nothing_live(env, db, monkeypatch, capsys, ahead):
    # Given three active agents, and a create still within its deadline (its process may be running)
    for _ in range(3):
        new_agent()
    crashed_create()
    in_flight = db.agents.find_one({"status": "provisioning"})
    before = live(env)

    # When the reconciler runs with its clock hours or days ahead
    process_clock_ahead(monkeypatch, ahead)
    assert now() - datetime.now(in_flight["createdAt"].tzinfo) > ahead - timedelta(minutes=1)
    capsys.readouterr()
    report = run_reconciler()

    # Then nothing was removed, the create keeps its lease, and the run said why
    assert removals(env) == NO_REMOVALS and live(env) == before
    assert db.agents.find_one({"_id": in_flight["_id"]}) == in_flight
    assert report["sweepSkipped"] == "clock_skew" and report["repaired"] == {}
    assert emitted_metrics(capsys.readouterr().out)["SweepSkipped"] == [1]


# --- what no record names ------------------------------------------------------------------------


def test_unaccounted_resources_are_reported_and_released_only_by_the_operator(env, db, capsys, caplog):
    # Given a live agent, and resources tagged with agent ids no record names: three from a create
    # three days ago, one from a create a moment ago
    new_agent()
    live_agent = live(env)
    old_tag = f"va-local:{ObjectId.from_datetime(now() - timedelta(days=3))}"
    twilio, retell = runtime.twilio(), runtime.retell()
    old_number = twilio.buy(
        "+61480000180", order=AU_MOBILE, voice_url="https://old.example/x", tag=old_tag
    ).sid
    old_llm = retell.create_llm(prompt="old", begin_message=None, tag=old_tag)
    old_agent = retell.create_agent(
        llm_id=old_llm,
        voice_id="11labs-Adrian",
        language="en-AU",
        agent_name=retell_agent_name(old_tag, "Old"),
    )
    recent_number = twilio.buy(
        "+61480000181", order=AU_MOBILE, voice_url="https://new.example/x", tag=f"va-local:{ObjectId()}"
    ).sid
    capsys.readouterr()

    # When the reconciler runs
    report = run_reconciler()

    # Then they are reported (answer, log line each, metric) and nothing is removed
    assert removals(env) == NO_REMOVALS
    unaccounted = {item["id"]: item for item in report["unaccounted"]}
    assert report["unaccountedCount"] == 4
    assert set(unaccounted) == {old_number, old_llm, old_agent, recent_number}
    assert (
        unaccounted[old_number]["tag"] == old_tag and unaccounted[old_number]["resource"] == "twilio_number"
    )
    assert unaccounted[old_agent]["ageSeconds"] >= 3 * 86400 > unaccounted[recent_number]["ageSeconds"]
    logged = [r for r in caplog.records if r.getMessage().startswith("unaccounted resource")]
    assert sorted(str(getattr(r, "id", None)) for r in logged) == sorted(unaccounted)
    assert emitted_metrics(capsys.readouterr().out)["UnaccountedResources"] == [4]

    # When the operator lists them, and asks with a threshold but without confirming
    assert operate.main(["unaccounted"]) == 0
    assert operate.main(["unaccounted", "--older-than", "2d"]) == 0
    listed = capsys.readouterr().out
    # Then they are listed, and still nothing is released
    assert all(resource_id in listed for resource_id in unaccounted) and "Dry run" in listed
    assert removals(env) == NO_REMOVALS

    # When the operator confirms, with a two-day threshold
    assert operate.main(["unaccounted", "--older-than", "2d", "--confirm"]) == 0

    # Then only the old ones are gone: the recent one and the live agent stay
    assert sorted(env.twilio.owned) == sorted([*live_agent["numbers"], recent_number])
    assert sorted(env.retell.agents) == live_agent["retell_agents"]
    assert sorted(env.retell.llms) == live_agent["retell_llms"]


def test_a_clean_run_emits_its_gauges_as_zero(env, db, capsys):
    new_agent()
    capsys.readouterr()

    report = run_reconciler()

    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["UnaccountedResources"] == [0] and metrics["StuckRecords"] == [0]
    assert not {"SweepSkipped", "MassRemovalBlocked", "RecordRepairFailed"} & set(metrics)
    assert report["swept"] is True and report["errors"] == []


# --- the brake -----------------------------------------------------------------------------------


def test_a_sweep_planning_more_removals_than_the_limit_removes_none(env, db, monkeypatch, capsys, server):
    # Given three agents whose records say they failed while their resources (9) still exist, and
    # an active agent whose number's webhook has drifted, with a limit of 8 removals per sweep
    configure(monkeypatch, RECONCILER_MAX_REMOVALS="8")
    failed = [new_agent()["id"] for _ in range(3)]
    active = new_agent()
    db.agents.update_many({"_id": {"$in": [ObjectId(i) for i in failed]}}, {"$set": {"status": "failed"}})
    configure(monkeypatch, WEBHOOK_BASE_URL=server.base_url)  # a base answering as this deployment
    capsys.readouterr()

    # When the reconciler runs
    report = run_reconciler()

    # Then the brake holds: none removed, the count logged and alarmed; the drift is still repaired
    assert removals(env) == NO_REMOVALS and report["removed"] == {}
    assert report["removalsBlocked"] == 9
    assert emitted_metrics(capsys.readouterr().out)["MassRemovalBlocked"] == [1]
    expected = f"{server.base_url}/api/webhooks/twilio/{active['id']}"
    assert report["webhooksRepaired"] == 1
    assert env.twilio.owned[active["twilioPhoneNumberSid"]]["voice_url"] == expected

    # When the operator raises the limit for a run
    configure(monkeypatch, RECONCILER_MAX_REMOVALS="9")
    report = run_reconciler()

    # Then the planned removals happen, and nothing else
    assert report["removed"] == {"twilio_number": 3, "retell_agent": 3, "retell_llm": 3}
    assert leaks(env, db) == {}


# --- helpers -------------------------------------------------------------------------------------


def past() -> datetime:
    return now() - timedelta(minutes=5)


def legacy_record(agent_id: Any, **fields: Any) -> dict[str, Any]:
    """A record as written by the create path, with ``fields`` replacing or adding to it."""
    created = now() - timedelta(hours=1)
    record = {
        "_id": agent_id,
        "ownerId": "owner-1",
        "name": "Legacy",
        "prompt": "p",
        "voiceId": "11labs-Adrian",
        "language": "en-AU",
        "repairAfter": past(),
        "createdAt": created,
        "updatedAt": created,
    }
    return {**record, **fields}
