"""One bad record never stops a run: records of older or broken shapes beside a crashed create, a
database error in the repair pass. Each record's repair is isolated and retried with back-off; the
sweep and the drift repair always run."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId

from tests.integration.emf import emitted_metrics
from tests.integration.faults import let_time_pass, run_reconciler
from tests.integration.test_reconciler import crashed_create
from tests.integration.test_reconciler_safety import configure, legacy_record, new_agent, past
from voice_agents import runtime
from voice_agents.core.clock import now
from voice_agents.core.countries import NumberOrder
from voice_agents.core.errors import StoreError
from voice_agents.core.tags import retell_agent_name
from voice_agents.data.agents import AgentStore
from voice_agents.repair.reconciler import REPAIR_BACKOFF, ReconcileIncomplete

AU_MOBILE = NumberOrder("AU", "mobile")  # the stack's default pair: the fake asks no bundle of it

pytestmark = pytest.mark.integration


def tagged_number(phone: str, agent_id: Any) -> str:
    return (
        runtime.twilio()
        .buy(phone, order=AU_MOBILE, voice_url="https://legacy.example/x", tag=f"va-local:{agent_id}")
        .sid
    )


def tagged_llm(agent_id: Any) -> str:
    return runtime.retell().create_llm(prompt="legacy", begin_message=None, tag=f"va-local:{agent_id}")


def tagged_agent(agent_id: Any, llm_id: str) -> str:
    name = retell_agent_name(f"va-local:{agent_id}", "Legacy")
    return runtime.retell().create_agent(
        llm_id=llm_id, voice_id="11labs-Adrian", language="en-AU", agent_name=name
    )


def test_malformed_records_beside_a_crashed_create(env, db, capsys):
    # Given a create that crashed after buying its number (LLM, agent and number exist)
    crashed_create()
    let_time_pass(env)
    crashed = db.agents.find_one({"status": "provisioning"})
    assert all(carrying(env, crashed["tag"]).values())

    # And records of older or broken shapes, all due for repair, most with resources bought for them
    no_tag = ObjectId()  # a create from before tags were journaled
    no_tag_number = tagged_number("+61480000190", no_tag)
    db.agents.insert_one(legacy_record(no_tag, status="provisioning", deadline=past()))

    wrong_types = ObjectId()  # ids and lists of the wrong type
    wrong_types_llm = tagged_llm(wrong_types)
    db.agents.insert_one(
        legacy_record(
            wrong_types, status="failed", tag=f"va-local:{wrong_types}", twilioPhoneNumberSid=12345,
            retellLlmId=["not", "an", "id"], retellAgentId={"id": 1}, unknownOutcomes=5,
        )
    )  # fmt: skip

    unknown_status = ObjectId()  # a status this code does not know: not guessed at
    unknown_status_number = tagged_number("+61480000191", unknown_status)
    db.agents.insert_one(
        legacy_record(
            unknown_status, status="archived", tag=f"va-local:{unknown_status}",
            twilioPhoneNumberSid=unknown_status_number, repairAttempts="three",
        )
    )  # fmt: skip

    string_id = "legacy-7"  # an id that is not an ObjectId, and no status at all
    db.agents.insert_one({k: v for k, v in legacy_record(string_id).items() if k != "status"})

    no_timestamps = ObjectId()  # a deletion without createdAt, updatedAt or deleteRequestedAt
    no_timestamps_llm = tagged_llm(no_timestamps)
    no_timestamps_agent = tagged_agent(no_timestamps, no_timestamps_llm)
    db.agents.insert_one(
        {
            k: v
            for k, v in legacy_record(
                no_timestamps, status="deleting", tag=f"va-local:{no_timestamps}",
                retellAgentId=no_timestamps_agent, retellLlmId=no_timestamps_llm,
            ).items()
            if k not in ("createdAt", "updatedAt")
        }
    )  # fmt: skip

    text_dates = ObjectId()  # dates written as text: never due, but its record says failed
    text_dates_llm = tagged_llm(text_dates)
    db.agents.insert_one(
        legacy_record(
            text_dates, status="failed", tag=f"va-local:{text_dates}",
            repairAfter="yesterday", deadline="soon", updatedAt="today",
        )
    )  # fmt: skip
    capsys.readouterr()

    # When the reconciler runs
    report = run_reconciler()

    # Then the crashed create is cleaned up completely
    assert db.agents.find_one({"_id": crashed["_id"]})["status"] == "failed"
    assert carrying(env, crashed["tag"]) == {"numbers": [], "retell_agents": [], "retell_llms": []}
    # And the records that could be read defensively are settled, their resources removed
    assert no_tag_number not in env.twilio.owned and by_id(db, no_tag)["status"] == "failed"
    assert wrong_types_llm not in env.retell.llms and by_id(db, wrong_types)["status"] == "failed"
    assert by_id(db, no_timestamps)["status"] == "deleted"
    assert no_timestamps_agent not in env.retell.agents and no_timestamps_llm not in env.retell.llms
    assert text_dates_llm not in env.retell.llms
    # And the two that could not be repaired got an attempt, a back-off and the error; nothing of theirs
    # was removed
    for agent_id in (unknown_status, string_id):
        record = by_id(db, agent_id)
        assert record["repairAttempts"] == 1 and record["repairError"]
        assert (
            now() + REPAIR_BACKOFF - timedelta(seconds=10) < record["repairAfter"] <= now() + REPAIR_BACKOFF
        )
    assert "unknown status 'archived'" in by_id(db, unknown_status)["repairError"]
    assert unknown_status_number in env.twilio.owned
    # And the run finished every phase, and said so
    assert report["errors"] == [] and report["swept"] is True and report["repairFailures"] == 2
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["RecordRepairFailed"] == [1, 1] and metrics["StuckRecords"] == [0]

    # When it runs again at once: the failing records wait for their back-off
    assert run_reconciler()["repairFailures"] == 0

    # When they keep failing until the fifth attempt
    db.agents.update_many(
        {"_id": {"$in": [unknown_status, string_id]}}, {"$set": {"repairAfter": past(), "repairAttempts": 4}}
    )
    capsys.readouterr()
    report = run_reconciler()

    # Then the back-off has grown, and they are counted as stuck (the alarm's metric)
    assert by_id(db, string_id)["repairAttempts"] == 5
    assert by_id(db, string_id)["repairAfter"] > now() + 15 * REPAIR_BACKOFF
    assert report["stuckRecords"] == 2
    assert emitted_metrics(capsys.readouterr().out)["StuckRecords"] == [2]


def test_a_database_error_in_the_repair_pass_does_not_stop_the_sweep(env, db, monkeypatch, server):
    # Given an agent whose record says it failed while its resources still exist, and an active
    # agent whose webhook has drifted
    failed = new_agent()
    active = new_agent()
    db.agents.update_one({"_id": ObjectId(failed["id"])}, {"$set": {"status": "failed"}})
    configure(monkeypatch, WEBHOOK_BASE_URL=server.base_url)  # a base answering as this deployment
    # And a database that fails every read of the repair queue
    claim = AgentStore.claim

    def failing_claim(self: AgentStore, query: dict[str, Any], **kwargs: Any) -> Any:
        if "repairAfter" in json.dumps(query, default=str):
            raise StoreError("injected: the repair queue cannot be read")
        return claim(self, query, **kwargs)

    monkeypatch.setattr(AgentStore, "claim", failing_claim)

    # When the reconciler runs, the invocation fails (so it alarms)...
    with pytest.raises(ReconcileIncomplete) as raised:
        run_reconciler()

    # ...after the sweep and the drift repair ran all the same
    report = raised.value.report
    assert report.errors == ["repair"] and report.swept is True
    assert dict(report.removed) == {"twilio_number": 1, "retell_agent": 1, "retell_llm": 1}
    assert failed["twilioPhoneNumberSid"] not in env.twilio.owned
    assert report.webhooks_repaired == 1
    expected = f"{server.base_url}/api/webhooks/twilio/{active['id']}"
    assert env.twilio.owned[active["twilioPhoneNumberSid"]]["voice_url"] == expected


def carrying(env: Any, tag: str) -> dict[str, list[str]]:
    """The fakes' resources that carry ``tag``."""
    return {
        "numbers": [sid for sid, n in env.twilio.owned.items() if n["friendly_name"] == tag],
        "retell_agents": [i for i, a in env.retell.agents.items() if a["agent_name"].startswith(f"{tag} ")],
        "retell_llms": [
            i
            for i, llm in env.retell.llms.items()
            if llm["default_dynamic_variables"]["voice_agents_tag"] == tag
        ],
    }


def by_id(db: Any, agent_id: Any) -> dict[str, Any]:
    record = db.agents.find_one({"_id": agent_id})
    assert record is not None
    return dict(record)
