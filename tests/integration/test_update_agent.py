"""PATCH /api/agents/{agentId}: a change is made on a new Retell draft version, published, then
committed to the record in one write; calls run the version the record names. Failures undo the
draft or leave it to the reconciler, which finishes or undoes it: the record and Retell agree."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from local.invoke import create_active_agent, http_event, invoke, json_body
from local.sample_events import load_event
from tests.integration.crashes import CREATE_STEPS, UPDATE_STEPS, Crash, crash_after
from tests.integration.faults import (
    KINDS,
    RETELL_UPDATE_OPERATIONS,
    inject_provider_fault,
    let_time_pass,
    run_reconciler,
    use_short_timeouts,
)
from tests.integration.leaks import leaks
from tests.integration.test_twilio_webhook import dialled_sip, signed_event
from tests.integration.workers import run_in_processes
from voice_agents.core.clock import now
from voice_agents.providers.retell import RetellClient

pytestmark = pytest.mark.integration

CHANGE = {
    "name": "Northstar after hours",
    "prompt": "You take messages for Northstar Dental outside opening hours.",
    "beginMessage": "Northstar Dental, after hours. How can I help?",
    "voiceId": "11labs-Emily",
    "language": "en-GB",
}
# The Retell names of each changed field, on the LLM and on the agent.
LLM_VIEW = {"prompt": "general_prompt", "beginMessage": "begin_message"}
AGENT_VIEW = {"voiceId": "voice_id", "language": "language"}


def patch(
    agent_id: str, body: Any, *, if_match: str | None = None, key: str | None = None, owner: str | None = None
) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    if if_match is not None:
        headers["if-match"] = if_match
    if key is not None:
        headers["idempotency-key"] = key
    event = http_event("update_agent.json", agent_id=agent_id, body=body, headers=headers, owner=owner)
    return invoke("update_agent", event)


def get(agent_id: str) -> dict[str, Any]:
    return invoke("get_agents", http_event("get_agent.json", agent_id=agent_id))


def published_view(env, record: dict[str, Any]) -> dict[str, Any]:
    """What a call runs: the record's pinned version of the Retell agent and of its LLM."""
    version = record["retellAgentVersion"]
    agent = env.retell.agent_versions[record["retellAgentId"]][version]
    llm = env.retell.llm_versions[record["retellLlmId"]][version]
    assert agent["is_published"] and llm["is_published"]
    return {
        "prompt": llm["general_prompt"],
        "beginMessage": llm["begin_message"],
        "voiceId": agent["voice_id"],
        "language": agent["language"],
        "name": agent["agent_name"].split(" ", 1)[1],  # after the tag
    }


def assert_record_and_retell_agree(env, db) -> dict[str, Any]:
    """The record shows exactly what calls run, no update is in flight, no draft is left over."""
    record = db.agents.find_one()
    assert "pendingUpdate" not in record and "leaseOwner" not in record
    assert published_view(env, record) == {name: record[name] for name in CHANGE}
    versions = env.retell.agent_versions[record["retellAgentId"]]
    assert all(version["is_published"] for version in versions.values()), "a draft was left behind"
    assert max(versions) == record["retellAgentVersion"]
    assert leaks(env, db) == {}
    return record


def test_update_changes_retell_and_the_record_and_the_next_call_runs_it(env, db):
    agent = create_active_agent()
    before = db.agents.find_one()
    assert before["retellAgentVersion"] == 0
    read = get(agent["id"])
    assert read["headers"]["ETag"] == '"0"'

    response = patch(agent["id"], CHANGE, if_match='"0"')

    assert response["statusCode"] == 200, response["body"]
    assert response["headers"]["ETag"] == '"1"'
    updated = json_body(response)
    assert {name: updated[name] for name in CHANGE} == CHANGE
    # The number, its webhook and the ids stay
    unchanged = ("phoneNumber", "twilioPhoneNumberSid", "webhookUrl", "retellAgentId", "retellLlmId", "id")
    assert {k: updated[k] for k in unchanged} == {k: agent[k] for k in unchanged}
    assert env.twilio.owned[agent["twilioPhoneNumberSid"]]["voice_url"] == agent["webhookUrl"]
    record = assert_record_and_retell_agree(env, db)
    assert (record["retellAgentVersion"], record["revision"]) == (1, 1)
    # Version 0 is kept as it was: the old prompt is in no version calls run
    llm_versions = env.retell.llm_versions[agent["retellLlmId"]]
    assert llm_versions[0]["general_prompt"] == before["prompt"]
    assert llm_versions[1]["general_prompt"] == CHANGE["prompt"]
    assert get(agent["id"])["headers"]["ETag"] == '"1"'
    assert json_body(get(agent["id"]))["prompt"] == CHANGE["prompt"]

    # The next call registers with the new version
    call = invoke("twilio_webhook", signed_event(updated))
    call_id = dialled_sip(call).removeprefix("sip:").split("@", 1)[0]
    assert env.retell.calls_registered[call_id]["agent_version"] == 1


def test_only_changed_fields_are_sent_and_an_unchanged_body_makes_no_version(env, db):
    agent = create_active_agent()

    same = patch(agent["id"], {"prompt": agent["prompt"], "voiceId": agent["voiceId"]})
    assert same["statusCode"] == 200 and same["headers"]["ETag"] == '"0"'
    assert env.retell.call_count("create_agent_version") == 0

    response = patch(agent["id"], {"prompt": "A new prompt.", "voiceId": agent["voiceId"]})

    assert response["statusCode"] == 200
    assert env.retell.call_count("update_llm") == 1
    assert env.retell.call_count("update_agent") == 0  # the voice did not change
    record = db.agents.find_one()
    assert record["prompt"] == "A new prompt." and record["retellAgentVersion"] == 1


def test_clearing_the_greeting_makes_the_user_speak_first(env, db):
    agent = create_active_agent()
    assert agent["beginMessage"]

    response = patch(agent["id"], {"beginMessage": None})

    assert response["statusCode"] == 200 and json_body(response)["beginMessage"] is None
    llm = env.retell.llm_versions[agent["retellLlmId"]][1]
    assert (llm["begin_message"], llm["start_speaker"]) == (None, "user")


@pytest.mark.parametrize("operation", RETELL_UPDATE_OPERATIONS)
@pytest.mark.parametrize("kind", KINDS)
def test_a_failing_retell_step_leaves_record_and_retell_agreeing(env, db, monkeypatch, operation, kind):
    use_short_timeouts(monkeypatch)
    agent = create_active_agent()
    inject_provider_fault(env, operation, kind)

    response = patch(agent["id"], CHANGE)

    body = json_body(response)
    if operation == "publish_agent_version" and kind == "lost":
        # Published, only the answer was lost: read back, the change is complete and committed
        assert response["statusCode"] == 200, body
        assert body["prompt"] == CHANGE["prompt"]
    elif operation == "publish_agent_version" and kind == "timeout" and response["statusCode"] == 200:
        # The slow publish landed before it was read back (a loaded machine): committed, as for "lost"
        assert body["prompt"] == CHANGE["prompt"]
    else:
        assert response["statusCode"] == (502 if kind == "error" else 504), body
        assert body["error"] == ("update_failed" if kind == "error" else "deadline_exceeded")
        assert (
            body["step"]
            == {
                "create_agent_version": "create_draft",
                "update_llm": "update_llm",
                "update_agent": "update_agent",
                "publish_agent_version": "publish",
            }[operation]
        )
        # Meanwhile the API shows what calls run: the agent as it was
        assert json_body(get(agent["id"]))["prompt"] == agent["prompt"]
    let_time_pass(env)
    env.retell.clear_faults()
    run_reconciler()

    record = assert_record_and_retell_agree(env, db)
    if response["statusCode"] == 200:
        assert record["prompt"] == CHANGE["prompt"]
    elif body.get("pending"):
        # The undo could not finish (a slow publish landing during it, on a loaded machine): the
        # reconciler settled it whichever way Retell ended up, and the record agrees with Retell
        assert record["prompt"] in {CHANGE["prompt"], agent["prompt"]}
    else:
        assert record["prompt"] == agent["prompt"]
    # The agent can be changed again afterwards
    again = patch(agent["id"], {"prompt": "Later prompt."})
    assert again["statusCode"] == 200, again["body"]
    assert published_view(env, db.agents.find_one())["prompt"] == "Later prompt."


@pytest.mark.parametrize("step", UPDATE_STEPS)
def test_a_process_killed_during_an_update_is_settled_by_the_reconciler(env, db, step):
    agent = create_active_agent()

    with crash_after(*UPDATE_STEPS[step]), pytest.raises(Crash):
        patch(agent["id"], CHANGE)
    # Until it is settled the agent shows what calls run, and refuses another change and a delete
    record = db.agents.find_one()
    assert published_view(env, record)["prompt"] == json_body(get(agent["id"]))["prompt"]
    if step != "commit":
        assert patch(agent["id"], {"name": "Another"})["statusCode"] == 409
        deleted = invoke("delete_agent", http_event("delete_agent.json", agent_id=agent["id"]))
        assert deleted["statusCode"] == 409, deleted["body"]
    let_time_pass(env)
    run_reconciler()

    record = assert_record_and_retell_agree(env, db)
    applied = step in ("publish", "commit")  # published: the reconciler commits it forward
    assert record["prompt"] == (CHANGE["prompt"] if applied else agent["prompt"])
    assert record.get("revision", 0) == (1 if applied else 0)


def test_killed_between_the_two_retell_updates_keeps_calls_on_the_old_version(env, db):
    agent = create_active_agent()
    with crash_after(RetellClient, "update_llm"), pytest.raises(Crash):
        patch(agent["id"], CHANGE)
    # The draft holds the new prompt, but no call runs it
    draft = env.retell.llm_versions[agent["retellLlmId"]][1]
    assert draft["general_prompt"] == CHANGE["prompt"] and not draft["is_published"]
    call = invoke("twilio_webhook", signed_event(agent))
    call_id = dialled_sip(call).removeprefix("sip:").split("@", 1)[0]
    assert env.retell.calls_registered[call_id]["agent_version"] == 0

    let_time_pass(env)
    run_reconciler()

    assert 1 not in env.retell.agent_versions[agent["retellAgentId"]]
    assert 1 not in env.retell.llm_versions[agent["retellLlmId"]]
    assert assert_record_and_retell_agree(env, db)["prompt"] == agent["prompt"]


def test_an_undo_that_fails_is_finished_by_the_reconciler(env, db, monkeypatch):
    use_short_timeouts(monkeypatch)
    agent = create_active_agent()
    env.retell.inject("update_agent", status=500, message="injected")
    env.retell.inject("delete_agent_version", status=500, message="injected")

    response = patch(agent["id"], CHANGE)

    assert response["statusCode"] == 502
    assert json_body(response)["pending"] is True
    assert "pendingUpdate" in db.agents.find_one()
    env.retell.clear_faults()
    run_reconciler()  # handed over at once: no lease to wait for
    assert assert_record_and_retell_agree(env, db)["prompt"] == agent["prompt"]


def test_stale_if_match_is_412_and_changes_nothing(env, db):
    agent = create_active_agent()
    assert patch(agent["id"], {"name": "First"}, if_match='"0"')["statusCode"] == 200

    response = patch(agent["id"], {"name": "Second"}, if_match='"0"')

    assert response["statusCode"] == 412
    assert json_body(response)["error"] == "precondition_failed"
    assert json_body(response)["etag"] == '"1"'
    assert db.agents.find_one()["name"] == "First"
    assert env.retell.call_count("create_agent_version") == 1
    assert patch(agent["id"], {"name": "Second"}, if_match='"1"')["statusCode"] == 200
    assert patch(agent["id"], {"name": "Third"}, if_match="*")["statusCode"] == 200
    # A tag sent without its quotes is taken as quoted; a weak tag never matches
    assert patch(agent["id"], {"name": "Fourth"}, if_match="3")["statusCode"] == 200
    assert patch(agent["id"], {"name": "Fifth"}, if_match='W/"4"')["statusCode"] == 412


def test_an_agent_still_provisioning_is_409(env, db):
    with crash_after(*CREATE_STEPS["create_agent"]), pytest.raises(Crash):
        invoke("create_agent", load_event("create_agent.json"))
    agent_id = str(db.agents.find_one()["_id"])

    response = patch(agent_id, {"name": "Too early"})

    assert response["statusCode"] == 409
    assert (json_body(response)["error"], json_body(response)["status"]) == (
        "agent_not_active",
        "provisioning",
    )
    assert env.retell.call_count("create_agent_version") == 0


@pytest.mark.parametrize("status", ["deleting", "failed"])
def test_an_agent_deleting_or_failed_is_409(env, db, status):
    agent = create_active_agent()
    if status == "deleting":
        env.twilio.inject("release_number", status=500, message="injected")
        deleted = invoke("delete_agent", http_event("delete_agent.json", agent_id=agent["id"]))
        assert deleted["statusCode"] == 202
    else:
        db.agents.update_one({}, {"$set": {"status": "failed"}})

    response = patch(agent["id"], {"name": "Too late"})

    assert response["statusCode"] == 409
    assert (json_body(response)["error"], json_body(response)["status"]) == ("agent_not_active", status)
    assert env.retell.call_count("create_agent_version") == 0


def test_another_owners_agent_is_404(env, db):
    agent = create_active_agent()
    response = patch(agent["id"], {"name": "Mine now"}, owner="intruder")
    assert response["statusCode"] == 404
    assert db.agents.find_one()["name"] == agent["name"]


def test_idempotency_key_replays_the_answer_and_changes_nothing_twice(env, db):
    agent = create_active_agent()
    first = patch(agent["id"], {"prompt": "Keyed prompt."}, key="update-0001", if_match='"0"')
    assert first["statusCode"] == 200

    replay = patch(agent["id"], {"prompt": "Keyed prompt."}, key="update-0001", if_match='"0"')

    assert replay["statusCode"] == 200, replay["body"]
    assert json_body(replay)["prompt"] == "Keyed prompt." and replay["headers"]["ETag"] == '"1"'
    assert env.retell.call_count("create_agent_version") == 1
    reused = patch(agent["id"], {"prompt": "Another prompt."}, key="update-0001")
    assert reused["statusCode"] == 422
    assert json_body(reused)["error"] == "idempotency_key_reused"
    cleared = patch(agent["id"], {"description": None}, key="update-0002")
    assert cleared["statusCode"] == 200
    # Another field cleared under the same key is another body
    assert patch(agent["id"], {"beginMessage": None}, key="update-0002")["statusCode"] == 422


def test_a_record_from_before_versions_is_pinned_then_updated(env, db, monkeypatch):
    # Given an agent created before creates published a version (its record names none)
    with monkeypatch.context() as old_code:
        old_code.setattr(RetellClient, "publish_agent_version", lambda self, agent_id, version: None)
        agent = create_active_agent()
    db.agents.update_one({}, {"$unset": {"retellAgentVersion": ""}})
    assert not env.retell.agent_versions[agent["retellAgentId"]][0]["is_published"]

    response = patch(agent["id"], {"prompt": "Pinned prompt."})

    assert response["statusCode"] == 200, response["body"]
    versions = env.retell.agent_versions[agent["retellAgentId"]]
    assert versions[0]["is_published"] and versions[1]["is_published"]
    record = db.agents.find_one()
    assert record["retellAgentVersion"] == 1
    assert published_view(env, record)["prompt"] == "Pinned prompt."


BAD_BODIES = [
    ({}, "body"),
    ({"phoneNumber": "+61480000000"}, "phoneNumber"),
    ({"status": "deleted"}, "status"),
    ({"retellAgentId": "agent_other"}, "retellAgentId"),
    ({"name": "ok", "webhookUrl": "https://evil.example"}, "webhookUrl"),
    ({"name": ""}, "name"),
    ({"name": None}, "name"),
    ({"prompt": None}, "prompt"),
    ({"prompt": "x" * 20_001}, "prompt"),
    ({"name": "a\u202eb"}, "name"),
    ({"description": "line\nbreak"}, "description"),
    ({"voiceId": "no spaces please"}, "voiceId"),
    ({"language": "xx-XX"}, "language"),
    ({"beginMessage": 42}, "beginMessage"),
    ([], "body"),
    ("not json", "body"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES, ids=[f for _, f in BAD_BODIES])
def test_a_bad_body_is_400_naming_the_field_and_changes_nothing(env, db, body, field):
    agent = create_active_agent()
    before = db.agents.find_one()

    response = patch(agent["id"], body if isinstance(body, str) else json.dumps(body))

    assert response["statusCode"] == 400, response["body"]
    answer = json_body(response)
    assert answer["error"] == "validation_error"
    assert field in [each["field"] for each in answer["fields"]], answer
    assert db.agents.find_one() == before
    assert env.retell.call_count("create_agent_version") == 0


def test_a_delete_waits_for_an_update_in_flight_and_then_wins(env, db):
    # Given an update whose process died after creating its draft (its lease still held)
    agent = create_active_agent()
    with crash_after(*UPDATE_STEPS["update_llm"]), pytest.raises(Crash):
        patch(agent["id"], CHANGE)

    # When the agent is deleted while the update is in flight, and after it lapsed
    during = invoke("delete_agent", http_event("delete_agent.json", agent_id=agent["id"]))
    let_time_pass(env)
    after = invoke("delete_agent", http_event("delete_agent.json", agent_id=agent["id"]))

    # Then the first is refused (nothing removed), the second removes everything, drafts included
    assert during["statusCode"] == 409 and json_body(during)["error"] == "request_in_progress"
    assert after["statusCode"] == 200, after["body"]
    assert env.retell.agents == {} and env.retell.llms == {} and env.twilio.owned == {}
    record = db.agents.find_one()
    assert record["status"] == "deleted" and "pendingUpdate" not in record
    run_reconciler()
    assert leaks(env, db) == {}


def test_an_update_unsettled_for_long_is_counted_as_stuck(env, db):
    # Given an update whose process died half an hour ago, and a Retell that cannot be read
    agent = create_active_agent()
    with crash_after(*UPDATE_STEPS["update_llm"]), pytest.raises(Crash):
        patch(agent["id"], CHANGE)
    db.agents.update_one({}, {"$set": {"pendingUpdate.startedAt": now() - timedelta(minutes=31)}})
    let_time_pass(env)
    env.retell.inject("get_agent", status=500, message="injected")

    report = run_reconciler()

    # Then the repair backs off, and the record counts towards the StuckRecords alarm
    assert report["repairFailures"] == 1
    assert report["stuckRecords"] == 1
    assert "pendingUpdate" in db.agents.find_one()


def test_two_updates_at_once_from_two_instances_one_wins(env, db):
    agent = create_active_agent()
    jobs = []
    for prompt in ("First writer.", "Second writer."):
        headers = {"content-type": "application/json", "if-match": '"0"'}
        event = http_event(
            "update_agent.json", agent_id=agent["id"], body={"prompt": prompt}, headers=headers
        )
        jobs.append(("update_agent", event))

    responses = run_in_processes(jobs)

    statuses = sorted(response["statusCode"] for response in responses)
    assert statuses[0] == 200 and statuses[1] in {409, 412}, [r["body"] for r in responses]
    winner = json_body(next(r for r in responses if r["statusCode"] == 200))
    record = assert_record_and_retell_agree(env, db)
    assert (record["prompt"], record["revision"]) == (winner["prompt"], 1)
    assert max(env.retell.agent_versions[agent["retellAgentId"]]) == 1  # one version made, not two


@pytest.mark.parametrize("header", ["", " ", '"3', '"3", ', 'W/"3" "4"', "3 4"])
def test_a_malformed_if_match_is_400(env, db, header):
    agent = create_active_agent()

    response = patch(agent["id"], {"name": "Renamed"}, if_match=header)

    assert response["statusCode"] == 400, response["body"]
    assert json_body(response)["fields"][0]["field"] == "If-Match"
    assert db.agents.find_one()["name"] == agent["name"]
