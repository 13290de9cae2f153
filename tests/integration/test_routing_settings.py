"""An agent's routing settings on its paid resources: the Retell LLM's transfer tool (while the agent
has a transferNumber) and the number's VoiceFallbackUrl (where the settings send a caller when the
webhook fails), on create, on update and in the reconciler's sweep; and the cross-field check that
refuses settings that cannot work together before anything is bought or changed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bson import ObjectId

from local.invoke import create_active_agent, http_event, invoke, json_body, load_event
from tests.integration.crashes import Crash, crash_after
from tests.integration.emf import emitted_metrics
from tests.integration.faults import let_time_pass, run_reconciler
from tests.integration.leaks import leaks
from tests.integration.spec_schemas import retell_spec
from tests.integration.test_update_agent import get, patch
from voice_agents.core.routing import FORWARD, MESSAGE, TRANSFER_TOOL, VOICEMAIL, Destination
from voice_agents.core.tags import fallback_url, transfer_tool_url
from voice_agents.data.agents import AgentStore

pytestmark = pytest.mark.integration

PERSON = "+61412345678"
OTHER_PERSON = "+61298765432"
HOURS = {
    "timezone": "Australia/Sydney",
    "weekly": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]]},
    "afterHours": "voicemail",
}


def base_url(env) -> str:
    return env.environment()["WEBHOOK_BASE_URL"]


def create(**settings: Any) -> dict[str, Any]:
    """Create an agent with the sample body plus ``settings`` (its own Idempotency-Key)."""
    body = {**json.loads(load_event("create_agent.json")["body"]), **settings}
    event = http_event("create_agent.json", body=body, headers={"idempotency-key": str(ObjectId())})
    return invoke("create_agent", event)


def tools_of(env, agent: dict[str, Any], version: int | None = None) -> Any:
    """The general_tools of the agent's Retell LLM, as Retell holds them (a version, or the latest)."""
    if version is None:
        return env.retell.llms[agent["retellLlmId"]]["general_tools"]
    return env.retell.llm_versions[agent["retellLlmId"]][version]["general_tools"]


def number_of(env, agent: dict[str, Any]) -> dict[str, Any]:
    return env.twilio.owned[agent["twilioPhoneNumberSid"]]


def forward_url(env, agent: dict[str, Any], number: str = PERSON) -> str:
    return fallback_url(base_url(env), agent["id"], Destination(FORWARD, number))


def then_url(env, agent: dict[str, Any], action: str) -> str:
    return fallback_url(base_url(env), agent["id"], Destination(action))


def assert_transfer_tool(env, tools: Any) -> None:
    assert isinstance(tools, list) and len(tools) == 1, tools
    tool = tools[0]
    spec = retell_spec()
    spec.assert_valid(tool, spec.component_schema("CustomTool"))
    assert (tool["type"], tool["name"]) == ("custom", TRANSFER_TOOL)
    assert tool["url"] == transfer_tool_url(base_url(env))
    assert tool["speak_during_execution"] is True and tool["speak_after_execution"] is True
    assert tool["execution_message_description"]
    assert tool["timeout_ms"] == 10_000
    assert tool["parameters"]["type"] == "object"
    assert set(tool["parameters"]["properties"]) == {"reason"}
    assert not tool["parameters"].get("required")


# --- create ----------------------------------------------------------------------------------------


def test_create_with_a_transfer_number_gives_the_llm_the_tool_and_the_number_a_forward_fallback(env, db):
    response = create(transferNumber="+61 412 345 678")

    assert response["statusCode"] == 201, response["body"]
    agent = json_body(response)
    assert agent["transferNumber"] == PERSON
    assert_transfer_tool(env, tools_of(env, agent))
    number = number_of(env, agent)
    assert number["voice_fallback_url"] == forward_url(env, agent)
    assert number["voice_fallback_method"] == "POST"
    assert number["voice_url"] == agent["webhookUrl"]
    assert db.agents.find_one()["fallbackUrl"] == number["voice_fallback_url"]
    assert leaks(env, db) == {}


def test_create_without_a_transfer_number_has_no_tool_and_falls_back_to_voicemail(env, db):
    response = create()

    assert response["statusCode"] == 201, response["body"]
    agent = json_body(response)
    assert not tools_of(env, agent)
    assert number_of(env, agent)["voice_fallback_url"] == then_url(env, agent, VOICEMAIL)
    assert db.agents.find_one()["fallbackUrl"] == then_url(env, agent, VOICEMAIL)


def test_create_with_an_explicit_fallback_sets_it_on_the_number(env, db):
    response = create(transferNumber=PERSON, fallback={"action": "forward", "number": OTHER_PERSON})

    agent = json_body(response)
    assert response["statusCode"] == 201, response["body"]
    assert number_of(env, agent)["voice_fallback_url"] == forward_url(env, agent, OTHER_PERSON)


BAD_CREATE_SETTINGS = [
    ({"answerMode": "person_first"}, "answerMode"),
    ({"fallback": {"action": "forward"}}, "fallback.number"),
    ({"businessHours": {**HOURS, "afterHours": "forward"}}, "businessHours.afterHours"),
    ({"fallback": {"action": "voicemail", "number": PERSON}}, "fallback.number"),
]


@pytest.mark.parametrize(("settings", "field"), BAD_CREATE_SETTINGS, ids=[f for _, f in BAD_CREATE_SETTINGS])
def test_create_refuses_settings_that_cannot_work_together_before_buying_anything(env, db, settings, field):
    response = create(**settings)

    assert response["statusCode"] == 400, response["body"]
    answer = json_body(response)
    assert answer["error"] == "validation_error"
    assert [each["field"] for each in answer["fields"]] == [field]
    assert env.twilio.call_count("search_numbers") == 0 and env.twilio.owned == {}
    assert env.retell.call_count("create_llm") == 0
    assert db.agents.count_documents({}) == 0


# --- update ----------------------------------------------------------------------------------------


def test_adding_and_clearing_the_transfer_number_adds_and_removes_the_tool_on_a_new_version(env, db):
    agent = create_active_agent()
    assert number_of(env, agent)["voice_fallback_url"] == then_url(env, agent, VOICEMAIL)

    # Adding it: a new published version whose LLM has the tool; the number's fallback now forwards
    added = patch(agent["id"], {"transferNumber": PERSON}, if_match='"0"')

    assert added["statusCode"] == 200, added["body"]
    assert added["headers"]["ETag"] == '"1"' and json_body(added)["transferNumber"] == PERSON
    record = db.agents.find_one()
    assert record["retellAgentVersion"] == 1
    assert env.retell.agent_versions[agent["retellAgentId"]][1]["is_published"]
    assert not tools_of(env, agent, 0)
    assert_transfer_tool(env, tools_of(env, agent, 1))
    assert number_of(env, agent)["voice_fallback_url"] == forward_url(env, agent)
    assert record["fallbackUrl"] == forward_url(env, agent)

    # Changing it: the tool reads the number at call time, so no version; the fallback follows
    changed = patch(agent["id"], {"transferNumber": OTHER_PERSON})

    assert changed["statusCode"] == 200, changed["body"]
    assert changed["headers"]["ETag"] == '"2"'
    assert env.retell.call_count("create_agent_version") == 1
    assert db.agents.find_one()["retellAgentVersion"] == 1
    assert number_of(env, agent)["voice_fallback_url"] == forward_url(env, agent, OTHER_PERSON)

    # Clearing it: a new published version without the tool; the fallback is voicemail again
    cleared = patch(agent["id"], {"transferNumber": None})

    assert cleared["statusCode"] == 200, cleared["body"]
    assert cleared["headers"]["ETag"] == '"3"' and json_body(cleared)["transferNumber"] is None
    record = db.agents.find_one()
    assert record["retellAgentVersion"] == 2
    assert tools_of(env, agent, 2) == []
    assert env.retell.agent_versions[agent["retellAgentId"]][2]["is_published"]
    assert_transfer_tool(env, tools_of(env, agent, 1))  # the version before is as it was
    assert number_of(env, agent)["voice_fallback_url"] == then_url(env, agent, VOICEMAIL)
    assert record["fallbackUrl"] == then_url(env, agent, VOICEMAIL)
    assert leaks(env, db) == {}


def test_changing_only_business_hours_makes_no_retell_version_and_moves_the_etag(env, db):
    agent = create_active_agent()
    retell_calls = env.retell.call_counts()
    number_updates = env.twilio.call_count("update_number")

    response = patch(agent["id"], {"businessHours": HOURS}, if_match='"0"')

    assert response["statusCode"] == 200, response["body"]
    assert response["headers"]["ETag"] == '"1"'
    assert env.retell.call_counts() == retell_calls  # not even a read
    assert env.twilio.call_count("update_number") == number_updates  # the fallback did not change
    record = db.agents.find_one()
    assert (record["retellAgentVersion"], record["revision"]) == (0, 1)
    assert "pendingUpdate" not in record and "leaseOwner" not in record and "repairAfter" not in record
    read = get(agent["id"])
    assert read["headers"]["ETag"] == '"1"'
    shown = json_body(read)["businessHours"]
    assert shown["timezone"] == "Australia/Sydney" and shown["weekly"]["mon"] == [["09:00", "17:00"]]
    assert shown["weekly"]["sun"] == [] and shown["afterHours"] == "voicemail"
    # A stale ETag is still refused, and the next Retell change starts from the pinned version
    assert patch(agent["id"], {"ringSeconds": 30}, if_match='"0"')["statusCode"] == 412
    renamed = patch(agent["id"], {"prompt": "A new prompt."}, if_match='"1"')
    assert renamed["statusCode"] == 200 and renamed["headers"]["ETag"] == '"2"'
    assert db.agents.find_one()["retellAgentVersion"] == 1
    assert json_body(get(agent["id"]))["businessHours"] == shown


def test_changing_the_fallback_re_points_the_numbers_fallback_url(env, db):
    response = create(transferNumber=PERSON)
    agent = json_body(response)
    assert number_of(env, agent)["voice_fallback_url"] == forward_url(env, agent)

    changed = patch(agent["id"], {"fallback": {"action": "message"}})

    assert changed["statusCode"] == 200, changed["body"]
    assert json_body(changed)["fallback"] == {"action": "message", "number": None}
    assert env.retell.call_count("create_agent_version") == 0
    assert number_of(env, agent)["voice_fallback_url"] == then_url(env, agent, MESSAGE)
    assert db.agents.find_one()["fallbackUrl"] == then_url(env, agent, MESSAGE)
    assert run_reconciler()["webhooksRepaired"] == 0  # nothing left to repair


def test_a_failed_fallback_re_point_still_answers_200_and_the_reconciler_repairs_it(env, db, capsys):
    agent = create_active_agent()
    before = number_of(env, agent)["voice_fallback_url"]
    env.twilio.inject("update_number", status=500, message="injected")
    capsys.readouterr()

    response = patch(agent["id"], {"fallback": {"action": "message"}})

    assert response["statusCode"] == 200, response["body"]
    assert json_body(response)["fallback"]["action"] == "message"
    assert emitted_metrics(capsys.readouterr().out).get("FallbackUrlRepairPending") == [1]
    assert number_of(env, agent)["voice_fallback_url"] == before  # left behind
    record = db.agents.find_one()
    assert record["fallback"]["action"] == "message" and record["fallbackUrl"] == before

    env.twilio.clear_faults()
    report = run_reconciler()

    assert report["webhooksRepaired"] == 1
    assert number_of(env, agent)["voice_fallback_url"] == then_url(env, agent, MESSAGE)
    assert number_of(env, agent)["voice_url"] == agent["webhookUrl"]
    assert db.agents.find_one()["fallbackUrl"] == then_url(env, agent, MESSAGE)
    assert run_reconciler()["webhooksRepaired"] == 0


BAD_UPDATES = [
    ({"answerMode": "person_first"}, "answerMode"),
    ({"fallback": {"action": "forward"}}, "fallback.number"),
    ({"businessHours": {**HOURS, "afterHours": "forward"}}, "businessHours.afterHours"),
]


@pytest.mark.parametrize(("body", "field"), BAD_UPDATES, ids=[f for _, f in BAD_UPDATES])
def test_an_update_leaving_settings_that_cannot_work_is_400_and_changes_nothing(env, db, body, field):
    agent = create_active_agent()
    before = db.agents.find_one()
    number = number_of(env, agent)

    response = patch(agent["id"], body)

    assert response["statusCode"] == 400, response["body"]
    answer = json_body(response)
    assert answer["error"] == "validation_error"
    assert [each["field"] for each in answer["fields"]] == [field]
    assert db.agents.find_one() == before
    assert number_of(env, agent) == number
    assert env.retell.call_count("create_agent_version") == 0


def test_clearing_the_number_person_first_rings_is_refused(env, db):
    agent = json_body(create(transferNumber=PERSON, answerMode="person_first"))
    before = db.agents.find_one()

    response = patch(agent["id"], {"transferNumber": None})

    assert response["statusCode"] == 400, response["body"]
    assert [each["field"] for each in json_body(response)["fields"]] == ["answerMode"]
    assert db.agents.find_one() == before
    assert env.retell.call_count("create_agent_version") == 0
    # Both at once is fine: the agent answers first again, and its LLM loses the tool
    both = patch(agent["id"], {"transferNumber": None, "answerMode": "agent"})
    assert both["statusCode"] == 200, both["body"]
    assert tools_of(env, agent, db.agents.find_one()["retellAgentVersion"]) == []


def test_an_update_without_a_retell_version_killed_before_its_commit_is_dropped_by_the_reconciler(env, db):
    agent = create_active_agent()
    with crash_after(AgentStore, "begin_update"), pytest.raises(Crash):
        patch(agent["id"], {"businessHours": HOURS})
    assert "pendingUpdate" in db.agents.find_one()
    let_time_pass(env)
    retell_calls = env.retell.call_counts()

    run_reconciler()

    record = db.agents.find_one()
    assert "pendingUpdate" not in record and "leaseOwner" not in record
    assert "businessHours" not in record or record["businessHours"] is None
    assert record.get("revision", 0) == 0
    mutations = {op: n for op, n in env.retell.call_counts().items() if not op.startswith(("get", "list"))}
    assert mutations == {op: n for op, n in retell_calls.items() if not op.startswith(("get", "list"))}
    # The agent can be changed afterwards
    assert patch(agent["id"], {"businessHours": HOURS})["statusCode"] == 200


# --- the sweep -------------------------------------------------------------------------------------


def test_the_sweep_gives_a_number_bought_before_fallback_urls_one(env, db):
    # Given an agent whose number and record predate fallback URLs
    agent = create_active_agent()
    with env.twilio._lock:
        env.twilio._owned[agent["twilioPhoneNumberSid"]]["voice_fallback_url"] = None
    db.agents.update_one({}, {"$unset": {"fallbackUrl": ""}})

    report = run_reconciler()

    assert report["webhooksRepaired"] == 1
    number = number_of(env, agent)
    assert number["voice_fallback_url"] == then_url(env, agent, VOICEMAIL)
    assert number["voice_fallback_method"] == "POST" and number["voice_url"] == agent["webhookUrl"]
    assert db.agents.find_one()["fallbackUrl"] == then_url(env, agent, VOICEMAIL)
    assert run_reconciler()["webhooksRepaired"] == 0


def test_business_hours_are_stored_without_nested_arrays_and_read_back_as_sent(env, db):
    """FerretDB refuses nested arrays: an interval is stored as "HH:MM-HH:MM" and shown as the pair."""
    response = create(businessHours={**HOURS, "weekly": {"mon": [["08:00", "12:00"], ["13:00", "24:00"]]}})

    assert response["statusCode"] == 201, response["body"]
    agent = json_body(response)
    assert agent["businessHours"]["weekly"]["mon"] == [["08:00", "12:00"], ["13:00", "24:00"]]
    assert db.agents.find_one()["businessHours"]["weekly"]["mon"] == ["08:00-12:00", "13:00-24:00"]
    assert json_body(get(agent["id"]))["businessHours"] == agent["businessHours"]
    # The same hours sent again change nothing
    same = patch(agent["id"], {"businessHours": agent["businessHours"]})
    assert same["statusCode"] == 200 and same["headers"]["ETag"] == '"0"'


def test_adding_a_transfer_number_that_fails_at_retell_changes_neither_the_agent_nor_its_number(env, db):
    agent = create_active_agent()
    before = db.agents.find_one()
    fallback_before = number_of(env, agent)["voice_fallback_url"]
    env.retell.inject("publish_agent_version", status=500, message="injected", times=1)

    response = patch(agent["id"], {"transferNumber": PERSON})

    assert response["statusCode"] == 502, response["body"]
    assert json_body(response)["step"] == "publish"
    assert db.agents.find_one() == {**before, "updatedAt": db.agents.find_one()["updatedAt"]}
    assert sorted(env.retell.agent_versions[agent["retellAgentId"]]) == [0]  # the draft was deleted
    assert not tools_of(env, agent)
    assert number_of(env, agent)["voice_fallback_url"] == fallback_before
    # And the same change goes through afterwards
    assert patch(agent["id"], {"transferNumber": PERSON})["statusCode"] == 200
    assert_transfer_tool(env, tools_of(env, agent, 1))
    assert number_of(env, agent)["voice_fallback_url"] == forward_url(env, agent)
