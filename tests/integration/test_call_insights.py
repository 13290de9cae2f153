"""The whole call on the local stack: Retell's call events bring the transcript (as turns), the cost and
the answers to the agent's postCallFields onto the call record, capped as documented, whatever their
order or repetition; GET /api/agents/{agentId}/calls/{callSid} shows one call in full to its owner
only, and the history lists the answers and the cost."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from bson import BSON

from local.invoke import http_event, invoke, json_body
from tests.integration import test_call_history as history_tests
from tests.integration.test_call_history import analyzed, ended, send, started, stored
from tests.integration.test_call_path import CALLER, bearer, place, retell_call_id
from tests.integration.test_post_call_fields import FIELDS
from tests.integration.test_twilio_webhook import CALL_SID, OTHER_CALL_SID, dialled_sip, signed_event
from voice_agents.data.calls import TRANSCRIPT_MAX_CHARACTERS, TRANSCRIPT_MAX_TURNS

pytestmark = pytest.mark.integration

agent = history_tests.agent
call = history_tests.call
OWNER = history_tests.OWNER
CONVERSATION = [
    ("agent", "Northstar Dental, how can I help?"),
    ("user", "I'd like to book a check-up for two people, my name is Sam."),
    ("agent", "Booked for Thursday at ten."),
]
UTTERANCES = [
    {
        "role": "agent",
        "content": "Hello, Northstar Dental.",
        "words": [{"word": "Hello,", "start": 0.5, "end": 0.9}],
    },
    {
        "role": "user",
        "content": "I need a check-up.",
        "words": [{"word": "I", "start": 1.2, "end": 1.3}, {"word": "check-up.", "start": 1.9, "end": 2.4}],
    },
    {"role": "transfer_target", "content": "Front desk here.", "words": []},
]
COST = {
    "product_costs": [
        {"product": "elevenlabs_tts", "unit_price": 0.1166667, "cost": 8.4583},
        {"product": "gpt_4_1", "unit_price": 0.075, "cost": 5.4375},
    ],
    "total_duration_seconds": 72.5,
    "total_duration_unit_price": 0.1916667,
    "combined_cost": 13.8958,
}
ANSWERS = {"appointment_booked": True, "reason": "booking", "party_size": 2, "caller_name": "Sam"}
RECORDING_URL = "https://retellai.s3.us-west-2.amazonaws.com/call_x/recording.wav"


def whole(payload: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """An event carrying the whole call, as Retell's call_ended and call_analyzed do."""
    payload = copy.deepcopy(payload)
    payload["call"] |= {
        "transcript": "Agent: Hello, Northstar Dental.\nUser: I need a check-up.\n",
        "transcript_object": UTTERANCES,
        "recording_url": RECORDING_URL,
        "call_cost": COST,
        **fields,
    }
    if payload["event"] == "call_analyzed":
        payload["call"]["call_analysis"]["custom_analysis_data"] = ANSWERS
    return payload


def one_call(agent_id: str, call_sid: str = CALL_SID, owner: str = OWNER) -> dict[str, Any]:
    return invoke(
        "get_agents", http_event("get_call.json", agent_id=agent_id, call_sid=call_sid, owner=owner)
    )


def detail(agent_id: str) -> dict[str, Any]:
    response = one_call(agent_id)
    assert response["statusCode"] == 200, response["body"]
    return json_body(response)


# --- a call played through the local API ---------------------------------------------------------------


def test_a_played_call_shows_its_transcript_answers_and_cost_to_its_owner(client, env):
    created = client.post(
        "/api/agents",
        json={"name": "Northstar", "prompt": "You book check-ups.", "postCallFields": FIELDS},
        headers=bearer(),
    )
    assert created.status_code == 201, created.text
    agent = created.json()
    sid = place(env, agent)
    call_id = retell_call_id(env)

    env.retell.end_call(call_id, 300, conversation=CONVERSATION).join()

    # The events carried what Retell's do; the API shows the call from them
    retell_call = env.retell.calls_registered[call_id]
    shown = client.get(f"/api/agents/{agent['id']}/calls/{sid}", headers=bearer())
    assert shown.status_code == 200, shown.text
    call = shown.json()
    assert (call["callSid"], call["status"], call["from"]) == (sid, "ended", CALLER)
    assert [(turn["speaker"], turn["text"]) for turn in call["transcript"]] == [
        ("agent", CONVERSATION[0][1]),
        ("caller", CONVERSATION[1][1]),
        ("agent", CONVERSATION[2][1]),
    ]
    times = [(turn["startSeconds"], turn["endSeconds"]) for turn in call["transcript"]]
    assert times[0][0] == 0 and all(start < end for start, end in times)
    assert [start for start, _ in times] == sorted(start for start, _ in times)
    assert call["transcriptTruncated"] is False
    # A sample answer of each field's type, by name (the fake answers the version the call ran)
    assert call["postCallAnswers"] == {
        "appointment_booked": True,
        "reason": "booking",
        "party_size": 2,
        "caller_name": "a short answer",
    }
    cost = retell_call["call_cost"]
    assert call["cost"] == {
        "currency": "USD",
        "totalCents": round(cost["combined_cost"]),
        "billedSeconds": cost["total_duration_seconds"],
        "products": [{"product": p["product"], "cents": round(p["cost"])} for p in cost["product_costs"]],
    }
    assert call["recording"] == {"status": "pending", "url": None}  # the reconciler copies it
    # The history lists the answers and the cost, not the transcript
    [listed] = client.get(f"/api/agents/{agent['id']}/calls", headers=bearer()).json()["items"]
    assert (listed["postCallAnswers"], listed["cost"]) == (call["postCallAnswers"], call["cost"])
    assert "transcript" not in listed
    # Nobody else sees it
    assert (
        client.get(f"/api/agents/{agent['id']}/calls/{sid}", headers=bearer("someone-else")).status_code
        == 404
    )


# --- what the record keeps --------------------------------------------------------------------------------


def test_the_record_keeps_turns_cost_in_whole_cents_and_typed_answers(env, db, agent, call):
    assert send(whole(analyzed(call["call_id"])))["statusCode"] == 204

    record = stored(db)
    assert record["transcript"] == [
        {"speaker": "agent", "text": "Hello, Northstar Dental.", "start": 0.5, "end": 0.9},
        {"speaker": "caller", "text": "I need a check-up.", "start": 1.2, "end": 2.4},
        {"speaker": "person", "text": "Front desk here."},  # no words: no times
    ]
    assert (record["transcriptTruncated"], record["transcriptTurns"]) == (False, 3)
    # Retell's fractions of a cent, rounded half up, each amount on its own
    assert record["cost"] == {
        "currency": "USD",
        "totalCents": 14,
        "billedSeconds": 72.5,
        "products": [{"product": "elevenlabs_tts", "cents": 8}, {"product": "gpt_4_1", "cents": 5}],
    }
    assert record["postCallAnswers"] == ANSWERS
    assert "words" not in json.dumps(record["transcript"])
    shown = detail(agent["id"])
    assert shown["transcript"][2] == {
        "speaker": "person",
        "text": "Front desk here.",
        "startSeconds": None,
        "endSeconds": None,
    }
    assert shown["postCallAnswers"] == ANSWERS and shown["cost"]["totalCents"] == 14


def test_answers_of_other_types_and_names_that_are_not_ours_are_left_out(env, db, call):
    payload = analyzed(call["call_id"])
    payload["call"]["call_analysis"]["custom_analysis_data"] = {
        "booked": False,
        "score": -2.5,
        "not_extracted": None,
        "nested": {"a": 1},
        "listed": ["a"],
        "a.b": "dotted",
        "$where": "x",
        "Capital": "x",
        "huge": 2**60,
        "long_text": "x" * 5000,
    }

    assert send(payload)["statusCode"] == 204

    answers = stored(db)["postCallAnswers"]
    assert answers == {"booked": False, "score": -2.5, "long_text": "x" * 1000}


def test_a_turn_of_a_role_retell_may_add_later_is_left_out_not_refused(env, db, call):
    payload = ended(call["call_id"])
    payload["call"]["transcript_object"] = [*UTTERANCES[:2], {"role": "dtmf", "content": "1", "words": []}]

    assert send(payload)["statusCode"] == 204

    assert [turn["speaker"] for turn in stored(db)["transcript"]] == ["agent", "caller"]


# --- the caps --------------------------------------------------------------------------------------------


def utterances(count: int, length: int) -> list[dict[str, Any]]:
    return [
        {
            "role": "agent" if n % 2 == 0 else "user",
            "content": f"{n:06d}" + "x" * (length - 6),
            "words": [{"word": "x", "start": n, "end": n + 0.5}],
        }
        for n in range(count)
    ]


def test_a_transcript_of_too_many_turns_keeps_the_first_ones_and_says_so(env, db, agent, call):
    payload = ended(call["call_id"])
    payload["call"]["transcript_object"] = utterances(TRANSCRIPT_MAX_TURNS + 200, 40)

    assert send(payload)["statusCode"] == 204

    record = stored(db)
    assert len(record["transcript"]) == TRANSCRIPT_MAX_TURNS
    assert record["transcript"][-1]["text"].startswith(f"{TRANSCRIPT_MAX_TURNS - 1:06d}")
    assert (record["transcriptTruncated"], record["transcriptTurns"]) == (True, TRANSCRIPT_MAX_TURNS + 200)
    shown = detail(agent["id"])
    assert (len(shown["transcript"]), shown["transcriptTruncated"]) == (TRANSCRIPT_MAX_TURNS, True)


def test_a_transcript_of_too_many_characters_is_cut_at_the_cap_and_says_so(env, db, agent, call):
    payload = ended(call["call_id"])
    payload["call"]["transcript_object"] = utterances(3, 40_000)

    assert send(payload)["statusCode"] == 204

    record = stored(db)
    kept = [turn["text"] for turn in record["transcript"]]
    assert [len(text) for text in kept] == [40_000, 40_000, 20_000]
    assert sum(map(len, kept)) == TRANSCRIPT_MAX_CHARACTERS
    assert record["transcriptTruncated"] is True
    # The record stays far from MongoDB's 16 MB: the cap of characters, and the turns' keys
    assert len(BSON.encode(record)) < 150_000


def test_a_transcript_just_at_the_caps_is_whole(env, db, call):
    payload = ended(call["call_id"])
    payload["call"]["transcript_object"] = utterances(TRANSCRIPT_MAX_TURNS, TRANSCRIPT_MAX_CHARACTERS // 1000)

    send(payload)

    record = stored(db)
    assert (len(record["transcript"]), record["transcriptTruncated"]) == (TRANSCRIPT_MAX_TURNS, False)


# --- events twice, and out of order -----------------------------------------------------------------------


def test_events_twice_and_out_of_order_neither_lose_nor_duplicate_anything(env, db, agent, call):
    call_id = call["call_id"]
    # The analysis first, then the end, each twice, then a late start
    for payload in (
        whole(analyzed(call_id)),
        whole(ended(call_id)),
        whole(analyzed(call_id)),
        whole(ended(call_id)),
        started(call_id),
    ):
        assert send(payload)["statusCode"] == 204
    out_of_order = {k: v for k, v in stored(db).items()}

    # What the events in order, once each, leave
    db.calls.delete_many({})
    db.recordings.delete_many({})
    dialled_sip(invoke("twilio_webhook", signed_event(agent)))
    in_order_call = list(env.retell.calls_registered)[-1]
    for payload in (started(in_order_call), whole(ended(in_order_call)), whole(analyzed(in_order_call))):
        send(payload)
    in_order = stored(db)

    facts = ("progress", "transcript", "transcriptTruncated", "transcriptTurns", "cost", "postCallAnswers",
             "summary", "sentiment", "durationMs", "startedAt", "endedAt", "disconnectionReason")  # fmt: skip
    assert {name: out_of_order[name] for name in facts} == {name: in_order[name] for name in facts}
    assert len(out_of_order["transcript"]) == len(UTTERANCES)
    # One recording to copy, whatever the number of events naming it
    assert db.recordings.count_documents({}) == 1
    assert db.recordings.find_one()["_id"] == CALL_SID


def test_a_late_start_carrying_an_empty_transcript_erases_nothing_and_files_no_recording(env, db, call):
    send(whole(ended(call["call_id"])))
    before = stored(db)

    late = started(call["call_id"])
    late["call"] |= {
        "transcript_object": [],
        "call_cost": {**COST, "combined_cost": 0},
        "recording_url": "https://x/r",
    }
    assert send(late)["statusCode"] == 204

    assert stored(db) == before
    assert db.recordings.find_one()["sourceUrl"] == RECORDING_URL


def test_an_end_without_the_analysis_keeps_the_answers_an_earlier_analysis_brought(env, db, call):
    send(whole(analyzed(call["call_id"])))

    payload = ended(call["call_id"])  # call_ended carries no call_analysis, and here no transcript
    assert send(payload)["statusCode"] == 204

    record = stored(db)
    assert record["postCallAnswers"] == ANSWERS and len(record["transcript"]) == len(UTTERANCES)
    assert record["cost"]["totalCents"] == 14


# --- malformed: refused, nothing changes -----------------------------------------------------------------

MALFORMED_CALL_FIELDS = {
    "transcript not a list": {"transcript_object": {"role": "agent"}},
    "a turn without content": {"transcript_object": [{"role": "agent", "words": []}]},
    "a turn's words not a list": {"transcript_object": [{"role": "agent", "content": "hi", "words": "hi"}]},
    "cost not an object": {"call_cost": 12},
    "cost without a total": {"call_cost": {**COST, "combined_cost": None}},
    "a negative cost": {"call_cost": {**COST, "combined_cost": -1}},
    "a cost as text": {"call_cost": {**COST, "combined_cost": "13.9"}},
    "a product without a cost": {"call_cost": {**COST, "product_costs": [{"product": "x"}]}},
    "recording URL not text": {"recording_url": 42},
    "recording URL too long": {"recording_url": "https://x/" + "a" * 3000},
}


@pytest.mark.parametrize("case", MALFORMED_CALL_FIELDS)
def test_a_call_field_not_as_retell_documents_it_is_a_400_and_changes_nothing(env, db, call, case):
    before = stored(db)
    payload = ended(call["call_id"])
    payload["call"] |= MALFORMED_CALL_FIELDS[case]

    response = send(payload)

    assert response["statusCode"] == 400, response
    assert json.loads(response["body"])["error"] == "validation_error"
    assert stored(db) == before


def test_answers_that_are_not_an_object_are_a_400(env, db, call):
    payload = analyzed(call["call_id"])
    payload["call"]["call_analysis"]["custom_analysis_data"] = ["yes"]

    response = send(payload)

    assert response["statusCode"] == 400
    assert "call_analysis.custom_analysis_data" in json.loads(response["body"])["message"]


# --- the one-call route --------------------------------------------------------------------------------


def test_one_call_is_its_owners_only_and_of_its_own_agent(env, db, agent, call):
    send(whole(analyzed(call["call_id"])))
    assert one_call(agent["id"])["statusCode"] == 200
    # Another agent of the same owner, which took a call of its own
    other = json_body(
        invoke("create_agent", http_event("create_agent.json", headers={"idempotency-key": "another"}))
    )
    dialled_sip(invoke("twilio_webhook", signed_event(other, call_sid=OTHER_CALL_SID)))

    for response in (
        one_call(agent["id"], owner="someone-else"),  # another owner
        one_call(other["id"]),  # the owner's other agent: not its call
        one_call(agent["id"], call_sid=OTHER_CALL_SID),  # the other agent's call, through this agent
        one_call(agent["id"], call_sid="CA" + "f" * 32),  # no such call
        one_call(agent["id"], call_sid="not-a-call-sid"),
    ):
        assert response["statusCode"] == 404, response
        assert json_body(response)["error"] == "not_found"
    assert one_call(other["id"], call_sid=OTHER_CALL_SID)["statusCode"] == 200


def test_a_call_of_a_deleted_agent_is_not_found(env, db, agent, call):
    assert invoke("delete_agent", http_event("delete_agent.json", agent_id=agent["id"]))["statusCode"] == 200

    assert one_call(agent["id"])["statusCode"] == 404


def test_a_call_before_any_event_shows_registered_and_empty(env, agent, call):
    shown = detail(agent["id"])

    assert shown["status"] == "registered"
    assert (shown["transcript"], shown["transcriptTruncated"], shown["recording"]) == ([], False, None)
    assert (shown["postCallAnswers"], shown["cost"]) == ({}, None)
