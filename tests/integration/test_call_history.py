"""The call history on the local stack: the Twilio webhook records each call, Retell's signed call
events (POST /api/webhooks/retell, through the real handler) complete it, and
GET /api/agents/{agentId}/calls lists the owner's calls of an agent, newest first."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId

from local.fakes.retell import retell_signature
from local.invoke import http_event, invoke, json_body
from local.sample_events import load_event
from local.signing import signed_retell_event
from local.stack import RETELL_API_KEY
from tests.integration import test_twilio_webhook as twilio_webhook
from tests.integration.test_twilio_webhook import (
    CALL_SID,
    CALLER,
    DEAD_MONGODB_URI,
    NEW_RETELL_KEY,
    _use,
    dialled_sip,
    signed_event,
)

pytestmark = pytest.mark.integration

# The Twilio webhook tests' fixtures: an active agent, the database commands sent, the metrics
# emitted, the stack's values in a rotatable secret.
agent = twilio_webhook.agent
database_commands = twilio_webhook.database_commands
emitted = twilio_webhook.emitted
secret = twilio_webhook.secret

OWNER = "user-1234-owner"
STARTED_MS = 1_795_600_300_000
ENDED_MS = STARTED_MS + 72_500
SUMMARY = "The caller booked a table for two."


@pytest.fixture
def call(env, agent) -> dict[str, Any]:
    """A call the Twilio webhook handed to Retell: its Retell call object."""
    dialled_sip(invoke("twilio_webhook", signed_event(agent)))
    [registered] = env.retell.calls_registered.values()
    return registered


def retell_call(call_id: str, **fields: Any) -> dict[str, Any]:
    return {"call_id": call_id, "call_type": "phone_call", "from_number": CALLER, **fields}


def started(call_id: str) -> dict[str, Any]:
    return {
        "event": "call_started",
        "call": retell_call(call_id, call_status="ongoing", start_timestamp=STARTED_MS),
    }


def ended(call_id: str, status: str = "ended") -> dict[str, Any]:
    fields = {"call_status": status, "start_timestamp": STARTED_MS, "end_timestamp": ENDED_MS}
    fields |= {"duration_ms": ENDED_MS - STARTED_MS, "disconnection_reason": "user_hangup"}
    return {"event": "call_ended", "call": retell_call(call_id, **fields)}


def analyzed(call_id: str) -> dict[str, Any]:
    payload = ended(call_id)
    payload["event"] = "call_analyzed"
    payload["call"]["call_analysis"] = {
        "call_summary": SUMMARY,
        "user_sentiment": "Positive",
        "in_voicemail": False,
    }
    return payload


def event_for(
    body: bytes | str,
    *,
    key: str = RETELL_API_KEY,
    timestamp_ms: int | None = None,
    base64_body: bool = False,
    signature: str | None = "sign",
) -> dict[str, Any]:
    """events/retell_webhook.json carrying ``body``, signed over it (or with ``signature`` as given)."""
    raw = body.encode() if isinstance(body, str) else body
    event = load_event("retell_webhook.json")
    event["body"] = base64.b64encode(raw).decode() if base64_body else raw.decode()
    event["isBase64Encoded"] = base64_body
    headers = {k: v for k, v in event["headers"].items() if k != "x-retell-signature"}
    if signature == "sign":
        headers["x-retell-signature"] = retell_signature(raw, key, timestamp_ms)
    elif signature is not None:
        headers["x-retell-signature"] = signature
    event["headers"] = headers
    return event


def send(payload: dict[str, Any], **options: Any) -> dict[str, Any]:
    return invoke("retell_webhook", event_for(json.dumps(payload), **options))


def stored(db) -> dict[str, Any]:
    record: dict[str, Any] = db.calls.find_one({"_id": CALL_SID})
    return record


def history(agent_id: str, owner: str = OWNER, **query: str) -> dict[str, Any]:
    return invoke("get_agents", http_event("list_calls.json", agent_id=agent_id, owner=owner, query=query))


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def listed_call(agent_id: str) -> dict[str, Any]:
    response = history(agent_id)
    assert response["statusCode"] == 200, response["body"]
    [only] = json_body(response)["items"]
    return dict(only)


# --- the record the Twilio webhook writes ------------------------------------------------------------


def test_a_connected_call_is_listed_as_registered_with_its_numbers(env, agent, call):
    listed = listed_call(agent["id"])

    assert listed["callSid"] == CALL_SID
    assert listed["retellCallId"] == call["call_id"]
    assert listed["agentId"] == agent["id"]
    assert (listed["from"], listed["to"]) == (CALLER, agent["phoneNumber"])
    assert listed["status"] == "registered"
    assert listed["startedAt"] is None and listed["durationMs"] is None and listed["summary"] is None


def test_a_new_agent_sends_its_call_events_to_our_retell_webhook(env, agent):
    # The Retell agent was created with the events' URL on the same base as the number's voice URL.
    [retell_agent] = env.retell.agents.values()
    base = agent["webhookUrl"].removesuffix(f"/api/webhooks/twilio/{agent['id']}")
    assert retell_agent["webhook_url"] == f"{base}/api/webhooks/retell"


# --- events complete the record ---------------------------------------------------------------------


def test_a_call_from_start_to_analysis_shows_ended_with_its_duration_and_summary(env, db, agent, call):
    for payload in (started(call["call_id"]), ended(call["call_id"]), analyzed(call["call_id"])):
        response = send(payload)
        assert response["statusCode"] == 204, response

    listed = listed_call(agent["id"])
    assert listed["status"] == "ended"
    assert listed["durationMs"] == 72_500
    assert moment(listed["startedAt"]) == datetime.fromtimestamp(STARTED_MS / 1000, UTC)
    assert moment(listed["endedAt"]) == datetime.fromtimestamp(ENDED_MS / 1000, UTC)
    assert listed["disconnectionReason"] == "user_hangup"
    assert (listed["summary"], listed["sentiment"]) == (SUMMARY, "Positive")


def test_a_replayed_event_changes_nothing_and_is_acknowledged(env, db, call):
    assert send(ended(call["call_id"]))["statusCode"] == 204
    before = stored(db)

    replay = send(ended(call["call_id"]))

    assert replay["statusCode"] == 204
    assert stored(db) == before


def test_ended_before_started_stays_ended(env, db, agent, call):
    send(ended(call["call_id"]))

    late = send(started(call["call_id"]))

    assert late["statusCode"] == 204
    listed = listed_call(agent["id"])
    assert listed["status"] == "ended"
    assert listed["durationMs"] == 72_500
    assert listed["endedAt"] is not None


def test_the_analysis_before_the_end_is_kept_when_the_end_arrives(env, db, agent, call):
    send(analyzed(call["call_id"]))
    assert listed_call(agent["id"])["status"] == "ended"

    send(ended(call["call_id"]))  # call_ended carries no call_analysis

    listed = listed_call(agent["id"])
    assert (listed["status"], listed["summary"], listed["sentiment"]) == ("ended", SUMMARY, "Positive")


def test_an_event_carrying_the_registration_metadata_updates_that_call(env, agent, call):
    # Retell echoes the metadata the webhook registered the call with: the CallSid finds the record
    payload = ended(call["call_id"])
    payload["call"]["metadata"] = call["metadata"]
    assert call["metadata"]["twilio_call_sid"] == CALL_SID

    assert send(payload)["statusCode"] == 204

    assert listed_call(agent["id"])["status"] == "ended"


def test_an_event_whose_metadata_names_another_call_changes_nothing(env, db, call):
    payload = ended(call["call_id"])
    payload["call"]["metadata"] = {"twilio_call_sid": "CA" + "3" * 32}

    assert send(payload)["statusCode"] == 204

    assert stored(db)["progress"] == 0


def test_a_call_retell_could_not_take_is_not_connected(env, agent, call):
    not_taken = retell_call(call["call_id"], call_status="not_connected", disconnection_reason="dial_failed")
    payload = {"event": "call_ended", "call": not_taken}

    assert send(payload)["statusCode"] == 204

    listed = listed_call(agent["id"])
    assert (listed["status"], listed["disconnectionReason"]) == ("not_connected", "dial_failed")


def test_a_call_ended_in_error_is_ended(env, agent, call):
    payload = ended(call["call_id"], status="error")
    payload["call"]["disconnection_reason"] = "error_llm_websocket_open"

    send(payload)

    assert listed_call(agent["id"])["status"] == "ended"


def test_a_base64_body_api_gateway_encoded_is_verified_over_its_bytes(env, agent, call):
    response = invoke("retell_webhook", event_for(json.dumps(ended(call["call_id"])), base64_body=True))

    assert response["statusCode"] == 204
    assert listed_call(agent["id"])["status"] == "ended"


def test_other_event_types_are_acknowledged_and_ignored(env, db, call):
    before = stored(db)
    for payload in (
        {"event": "transcript_updated", "call": retell_call(call["call_id"], call_status="ended")},
        {"event": "transfer_started", "call": "anything"},
        {"event": "chat_ended"},
    ):
        assert send(payload)["statusCode"] == 204, payload
    assert stored(db) == before


def test_an_event_for_a_call_we_never_registered_is_logged_and_acknowledged(env, db, call, log_lines):
    response = send(ended("call_not_ours_0000000000000000"))

    assert response["statusCode"] == 204
    assert stored(db)["progress"] == 0
    [warning] = [line for line in log_lines.entries() if "did not register" in line["message"]]
    assert warning["retell_call_id"] == "call_not_ours_0000000000000000"


# --- refused: nothing changes, nothing is read ---------------------------------------------------------

FIVE_MINUTES_MS = 5 * 60 * 1000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _bad_signature(case: str, body: str) -> dict[str, Any]:
    if case == "missing header":
        return event_for(body, signature=None)
    if case == "empty header":
        return event_for(body, signature="")
    if case == "another key":
        return event_for(body, key="key_of_someone_else")
    if case == "tampered body":
        event = event_for(body)
        event["body"] = body.replace("ended", "ongoing")
        return event
    if case == "stale timestamp":
        return event_for(body, timestamp_ms=_now_ms() - FIVE_MINUTES_MS - 10_000)
    if case == "future timestamp":
        return event_for(body, timestamp_ms=_now_ms() + FIVE_MINUTES_MS + 10_000)
    if case == "timestamp changed":
        event = event_for(body)
        header = event["headers"]["x-retell-signature"]
        timestamp = header.split(",")[0].removeprefix("v=")
        event["headers"]["x-retell-signature"] = header.replace(timestamp, str(int(timestamp) - 1))
        return event
    if case == "upper-case digest":
        event = event_for(body)
        event["headers"]["x-retell-signature"] = (
            event["headers"]["x-retell-signature"].upper().replace("V=", "v=")
        )
        return event
    if case == "digest only":
        event = event_for(body)
        event["headers"]["x-retell-signature"] = event["headers"]["x-retell-signature"].split(",d=")[1]
        return event
    if case == "not base64":
        event = event_for(body, base64_body=True)
        event["body"] = "%%%" + event["body"]
        return event
    raise AssertionError(case)


BAD_SIGNATURES = [
    "missing header",
    "empty header",
    "another key",
    "tampered body",
    "stale timestamp",
    "future timestamp",
    "timestamp changed",
    "upper-case digest",
    "digest only",
    "not base64",
]


@pytest.mark.parametrize("case", BAD_SIGNATURES)
def test_a_bad_signature_is_401_changes_nothing_and_reads_no_database(env, db, call, database_commands, case):
    event = _bad_signature(case, json.dumps(ended(call["call_id"])))
    before = stored(db)
    database_commands.names.clear()

    response = invoke("retell_webhook", event)

    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"] == "unauthorized"
    assert database_commands.names == []
    assert stored(db) == before


MALFORMED = {
    "not JSON": "{not json",
    "a JSON array": "[]",
    "no event": '{"call": {"call_id": "x"}}',
    "event not a string": '{"event": 3, "call": {"call_id": "x"}}',
    "no call": '{"event": "call_ended"}',
    "call not an object": '{"event": "call_ended", "call": "x"}',
    "no call_id": '{"event": "call_ended", "call": {"call_status": "ended"}}',
    "timestamp as text": '{"event": "call_ended", "call": {"call_id": "x", "end_timestamp": "179560037"}}',
    "timestamp true": '{"event": "call_ended", "call": {"call_id": "x", "start_timestamp": true}}',
    "negative duration": '{"event": "call_ended", "call": {"call_id": "x", "duration_ms": -1}}',
    "timestamp past year 9999": '{"event": "call_ended", "call": {"call_id": "x", "end_timestamp": 1e20}}',
    "analysis not an object": '{"event": "call_analyzed", "call": {"call_id": "x", "call_analysis": []}}',
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_signed_body_that_is_not_an_event_is_400_without_internals(env, db, call, case, log_lines):
    before = stored(db)

    response = invoke("retell_webhook", event_for(MALFORMED[case]))

    assert response["statusCode"] == 400
    body = json.loads(response["body"])
    assert set(body) == {"error", "message"} and body["error"] == "validation_error"
    assert log_lines.tracebacks() == []
    assert stored(db) == before


def test_with_the_database_down_the_answer_is_503_without_internals(env, call, monkeypatch):
    _use(monkeypatch, MONGODB_URI=DEAD_MONGODB_URI)

    response = send(ended(call["call_id"]))

    assert response["statusCode"] == 503
    assert json.loads(response["body"]) == {
        "error": "database_unavailable",
        "message": "the database is unavailable; retry shortly",
    }


def test_a_rotated_retell_key_re_reads_the_secret_and_accepts_the_event(env, db, secret, agent, emitted):
    # Given a warm process that read the secret and took a call
    dialled_sip(invoke("twilio_webhook", signed_event(agent)))
    [registered] = env.retell.calls_registered.values()
    # And the API key rotated: Retell signs with the new one, the secret holds it
    secret.rotate(RETELL_API_KEY=NEW_RETELL_KEY)
    emitted()

    response = send(ended(registered["call_id"]), key=NEW_RETELL_KEY)

    assert response["statusCode"] == 204
    assert emitted()["SecretsRefreshed"] == 1
    assert stored(db)["progress"] == 2


# --- retention ---------------------------------------------------------------------------------------


def test_an_expired_call_is_no_longer_listed_nor_updated(env, db, agent, call):
    # Given a call whose record is past its retention (FerretDB has no TTL index: the code checks)
    record = stored(db)
    past = timedelta(days=91)
    db.calls.update_one(
        {"_id": CALL_SID},
        {"$set": {"createdAt": record["createdAt"] - past, "expiresAt": record["expiresAt"] - past}},
    )

    # Then the history leaves it out, and a late event for it changes nothing
    assert json_body(history(agent["id"]))["items"] == []
    assert send(ended(call["call_id"]))["statusCode"] == 204
    assert stored(db)["progress"] == 0


# --- the calls route ------------------------------------------------------------------------------------


def test_another_owners_agent_and_an_unknown_one_are_404(env, agent, call):
    for answer in (
        history(agent["id"], owner="someone-else"),
        history(str(ObjectId())),
        history("not-an-id"),
    ):
        assert answer["statusCode"] == 404, answer
        assert json.loads(answer["body"])["error"] == "not_found"


def test_a_cursor_this_api_did_not_return_is_400(env, agent):
    for cursor in ("zz", "6740a1b2c3d4e5f6a7b8c9d0" + "0"):
        response = history(agent["id"], cursor=cursor)
        assert response["statusCode"] == 400, (cursor, response)


def test_calls_are_paged_newest_first_with_a_cursor(env, db, agent):
    # Given five calls, one after the other
    sids = [f"CA{n:032x}" for n in range(1, 6)]
    for sid in sids:
        dialled_sip(invoke("twilio_webhook", signed_event(agent, call_sid=sid)))

    # When the owner reads them two at a time
    pages, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = json_body(history(agent["id"], **query))
        pages.append([item["callSid"] for item in page["items"]])
        cursor = page["nextCursor"]
        if cursor is None:
            break

    # Then they come newest first, each once, in pages of 2, 2 and 1
    assert pages == [sids[4:2:-1], sids[2:0:-1], sids[:1]]


def test_an_owners_list_holds_only_that_agents_calls(env, db, agent):
    # Given a second agent of the same owner, which took a call too
    other = json_body(
        invoke("create_agent", http_event("create_agent.json", headers={"idempotency-key": "second"}))
    )
    dialled_sip(invoke("twilio_webhook", signed_event(agent)))
    dialled_sip(invoke("twilio_webhook", signed_event(other, call_sid="CA" + "9" * 32)))

    assert [item["callSid"] for item in json_body(history(agent["id"]))["items"]] == [CALL_SID]
    assert [item["callSid"] for item in json_body(history(other["id"]))["items"]] == ["CA" + "9" * 32]


def test_the_sample_event_is_signed_for_the_local_key(env):
    # make invoke signs events/retell_webhook.json as it sends it; its call is none of ours: 204
    assert invoke("retell_webhook", signed_retell_event())["statusCode"] == 204
