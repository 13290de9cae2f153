"""The agent flows' use of the routing settings, without the local stack: the cross-field check of
create and of an update (against the settings as they would become), what an update changes on
Retell (the transfer tool follows transferNumber being set or not), and the record's storage of
business hours (no nested arrays)."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from voice_agents.core.errors import InvalidRequest
from voice_agents.core.routing import TRANSFER_TOOL
from voice_agents.core.tags import transfer_tool_url
from voice_agents.data.agent_record import AgentRecord, stored_fields
from voice_agents.flows.agents.retell_fields import llm_tools, needs_base_url, retell_changes, transfer_tool
from voice_agents.flows.agents.routing import (
    expected_fallback_url,
    refuse_unusable,
    settings_after,
    touches_routing,
)

AGENT_ID = ObjectId("6650f1a2b3c4d5e6f7a8b9c0")
TAG = f"va-test:{AGENT_ID}"
BASE = "https://voice.example.com"
PERSON = "+61412345678"
HOURS: dict[str, Any] = {
    "timezone": "Australia/Sydney",
    "weekly": {"mon": [["09:00", "12:00"], ["13:00", "24:00"]]},
    "closedDates": [],
    "afterHours": "voicemail",
}


def record(**fields: Any) -> AgentRecord:
    return AgentRecord({"_id": AGENT_ID, "webhookUrl": f"{BASE}/api/webhooks/twilio/{AGENT_ID}", **fields})


# --- the cross-field check -------------------------------------------------------------------------


def test_the_first_problem_is_raised_naming_its_field():
    with pytest.raises(InvalidRequest) as raised:
        refuse_unusable({"answerMode": "person_first", "fallback": {"action": "forward"}})
    assert raised.value.field == "answerMode"
    refuse_unusable({"answerMode": "person_first", "transferNumber": PERSON})  # usable


def test_an_update_is_judged_by_the_settings_as_they_would_become():
    person_first = record(transferNumber=PERSON, answerMode="person_first")

    after = settings_after(person_first, {"transferNumber": None})

    assert after["answerMode"] == "person_first" and after["transferNumber"] is None
    with pytest.raises(InvalidRequest) as raised:
        refuse_unusable(after)
    assert raised.value.field == "answerMode"
    refuse_unusable(settings_after(person_first, {"transferNumber": None, "answerMode": "agent"}))
    forwarding = record(transferNumber=PERSON, fallback={"action": "forward", "number": None})
    with pytest.raises(InvalidRequest):
        refuse_unusable(settings_after(forwarding, {"transferNumber": None}))


def test_a_damaged_stored_setting_is_judged_as_the_calls_read_it():
    damaged = record(fallback="forward please", businessHours=["mon"], answerMode=7, transferNumber=5)

    after = settings_after(damaged, {"ringSeconds": 30})

    assert after == {
        "transferNumber": None,
        "fallback": None,
        "answerMode": "agent",
        "ringSeconds": 30,
        "businessHours": None,
    }
    refuse_unusable(after)


def test_only_routing_fields_trigger_the_check():
    assert touches_routing({"businessHours": None})
    assert not touches_routing({"name": "x", "prompt": "y"})


# --- the transfer tool -----------------------------------------------------------------------------


def test_the_transfer_tool_is_a_custom_tool_posting_to_the_tool_url():
    tool = transfer_tool(BASE + "/")

    assert (tool["type"], tool["name"], tool["url"]) == ("custom", TRANSFER_TOOL, transfer_tool_url(BASE))
    assert (tool["speak_during_execution"], tool["speak_after_execution"]) == (True, False)
    assert tool["parameters"] == {
        "type": "object",
        "properties": {
            "reason": {
                "type": "string",
                "description": tool["parameters"]["properties"]["reason"]["description"],
            }
        },
    }
    assert tool["timeout_ms"] == 10_000
    assert llm_tools(PERSON, BASE) == [tool] and llm_tools(None, BASE) is None


@pytest.mark.parametrize(
    ("had", "changes", "tools"),
    [
        (False, {"transferNumber": PERSON}, [transfer_tool(BASE)]),  # added: the tool
        (True, {"transferNumber": None}, []),  # cleared: no tools
        (True, {"transferNumber": "+61298765432"}, None),  # changed: read at call time
        (False, {"transferNumber": None}, None),  # still none
        (False, {"businessHours": HOURS, "fallback": {"action": "message", "number": None}}, None),
    ],
)
def test_the_llm_changes_only_when_transfer_number_is_added_or_cleared(had, changes, tools):
    llm, agent = retell_changes(TAG, changes, had_transfer=had, base_url=BASE)

    assert llm.get("general_tools") == tools
    assert set(llm) <= {"general_tools"} and agent == {}


def test_other_fields_still_map_to_retell_names_beside_the_tool():
    llm, agent = retell_changes(
        TAG, {"prompt": "p", "transferNumber": PERSON, "name": "Front desk"}, base_url=BASE
    )

    assert llm == {"general_prompt": "p", "general_tools": [transfer_tool(BASE)]}
    assert agent == {"agent_name": f"{TAG} Front desk"}


def test_adding_the_tool_needs_a_base_url():
    assert needs_base_url({"transferNumber": PERSON}, had_transfer=False)
    assert not needs_base_url({"transferNumber": PERSON}, had_transfer=True)
    assert not needs_base_url({"transferNumber": None}, had_transfer=True)
    with pytest.raises(ValueError):
        retell_changes(TAG, {"transferNumber": PERSON})


# --- the number's fallback URL ---------------------------------------------------------------------


def test_the_expected_fallback_url_follows_the_records_routing_and_base():
    forward = expected_fallback_url(record(transferNumber=PERSON), None)
    voicemail = expected_fallback_url(record(), None)

    assert forward == f"{BASE}/api/webhooks/twilio/{AGENT_ID}/fallback?forward=%2B61412345678"
    assert voicemail == f"{BASE}/api/webhooks/twilio/{AGENT_ID}/fallback?then=voicemail"
    moved = expected_fallback_url(record(), "https://new.example.com")
    assert moved is not None and moved.startswith("https://new.example.com/")
    assert expected_fallback_url(AgentRecord({"_id": AGENT_ID, "webhookUrl": "https://x/y"}), None) is None


# --- business hours in the record ------------------------------------------------------------------


def test_business_hours_intervals_are_stored_as_text_and_read_back_as_pairs():
    stored = stored_fields({"name": "x", "businessHours": HOURS})

    assert stored["businessHours"]["weekly"] == {"mon": ["09:00-12:00", "13:00-24:00"]}
    assert stored_fields(stored) == stored  # idempotent: a journaled change is committed as is
    assert HOURS["weekly"]["mon"] == [["09:00", "12:00"], ["13:00", "24:00"]]  # not changed in place
    read = AgentRecord({"_id": AGENT_ID, **stored})
    assert read.document["businessHours"] == HOURS
    assert read.routing.hours is not None
    assert read.routing.hours.to_json()["weekly"]["mon"] == HOURS["weekly"]["mon"]
    assert read.differs({"businessHours": HOURS}) == {}
    # Pairs written by a server that stores nested arrays read as they are; nothing else is guessed
    assert AgentRecord({"_id": AGENT_ID, "businessHours": HOURS}).document["businessHours"] == HOURS
    odd = {"timezone": "UTC", "weekly": {"mon": ["9-5-6", 7]}, "afterHours": "agent"}
    assert AgentRecord({"_id": AGENT_ID, "businessHours": odd}).document["businessHours"] == odd
    assert stored_fields({"businessHours": None}) == {"businessHours": None}
