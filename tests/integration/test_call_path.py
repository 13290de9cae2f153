"""The call path end to end: the fake Twilio plays each call against the local API (signed webhooks,
the TwiML verb by verb, every <Dial>'s action, the fallback URL when the voice webhook fails) and the
fake Retell takes or refuses it; each test asserts what the caller reached (agent, person,
voicemail, message) and what the call history says. Never a dead line."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pymongo import monitoring

from local.api.tokens import local_token
from local.sample_events import load_event
from local.stack import LocalStack
from voice_agents import runtime
from voice_agents.flows.calls import incoming
from voice_agents.flows.calls.retell_signature import sign

pytestmark = pytest.mark.integration

OWNER = "owner-of-the-clinic"
CALLER = "+61298765432"
FRONT_DESK = "+61293744000"
MOBILE = "+61412345678"
BODY = json.loads(load_event("create_agent.json")["body"])


def bearer(sub: str = OWNER) -> dict[str, str]:
    return {"Authorization": f"Bearer {local_token(sub)}"}


def create(client: httpx.Client, **routing: Any) -> dict[str, Any]:
    response = client.post("/api/agents", json={**BODY, **routing}, headers=bearer())
    assert response.status_code == 201, response.text
    return dict(response.json())


def play(env: LocalStack, agent: dict[str, Any], *, timeout_s: float = 20) -> dict[str, Any]:
    return env.twilio.play_call(CALLER, agent["phoneNumber"], timeout_s=timeout_s)


def place(env: LocalStack, agent: dict[str, Any]) -> str:
    """A call left with the agent (its SIP leg connected): the test acts while the caller waits."""
    sid = env.twilio.place_call(CALLER, agent["phoneNumber"])
    log = env.twilio.wait_for_call(sid, until="settled", timeout_s=20)
    assert log["state"] == "with_agent", log
    return sid


def history(client: httpx.Client, agent: dict[str, Any], sub: str = OWNER) -> dict[str, Any]:
    response = client.get(f"/api/agents/{agent['id']}/calls", headers=bearer(sub))
    assert response.status_code == 200, response.text
    [call] = response.json()["items"]
    return dict(call)


def steps(log: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [step for step in log["steps"] if step["step"] == kind]


def retell_call_id(env: LocalStack) -> str:
    return list(env.retell.calls_registered)[-1]


def delivered(env: LocalStack, call_id: str, event: str = "call_ended", timeout_s: float = 10) -> None:
    """Wait until the fake Retell's ``event`` of ``call_id`` was answered 2xx: Retell sends a call's
    events on its own time, after the caller's line is settled."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(
            (each["call_id"], each["event"]) == (call_id, event) and 200 <= (each["status"] or 0) < 300
            for each in env.retell.event_deliveries
        ):
            return
        time.sleep(0.02)
    raise AssertionError(f"{event} of {call_id} was not delivered in {timeout_s} s")


# --- the agent answers ------------------------------------------------------------------------------


def test_a_call_reaches_the_agent_with_the_callers_context(client, env):
    agent = create(client)
    sid = place(env, agent)

    # Retell got the caller's number and the business's state as dynamic variables
    [registered] = env.retell.calls_registered.values()
    variables = registered["retell_llm_dynamic_variables"]
    assert (variables["caller_number"], variables["business_open"]) == (CALLER, "true")
    assert variables["transfer_failed"] == "false"

    env.retell.end_call(retell_call_id(env), 50).join()
    log = env.twilio.wait_for_call(sid)
    assert log["reached"] == "agent"
    # The <Dial> had an action, and it learned the leg completed
    [action] = steps(log, "dial_action")
    assert "leg=agent" in action["url"]
    assert history(client, agent)["outcome"] == "agent"


# --- Retell cannot take the call ------------------------------------------------------------------------


def test_retell_down_at_registration_forwards_the_caller_to_the_transfer_number(client, env):
    agent = create(client, transferNumber="+61 2 9374 4000")
    env.retell.inject("register_call", 500)
    env.twilio.set_dial_outcome(FRONT_DESK, "answered", talk_seconds=40)

    log = play(env, agent)

    assert log["reached"] == "person"
    [dialled] = steps(log, "dial_number")
    assert (dialled["number"], dialled["caller_id"]) == (FRONT_DESK, agent["phoneNumber"])
    call = history(client, agent)
    assert call["outcome"] == "person"
    assert call["forward"] == {"to": FRONT_DESK, "answered": True, "reason": "agent_unreachable"}


def test_retell_down_without_a_number_takes_a_voicemail_the_owner_can_play(client, env):
    agent = create(client)
    env.retell.inject("register_call", 503)

    log = play(env, agent)

    assert log["reached"] == "voicemail"
    call = history(client, agent)
    assert call["outcome"] == "voicemail"
    assert call["voicemail"]["durationSeconds"] == 5
    assert call["voicemail"]["reason"] == "agent_unreachable"
    # The owner plays it through the API; nobody else can
    audio = client.get(call["voicemail"]["recordingUrl"], headers=bearer())
    assert audio.status_code == 200
    assert audio.headers["content-type"].startswith("audio/")
    assert len(audio.content) > 100
    assert client.get(call["voicemail"]["recordingUrl"], headers=bearer("someone-else")).status_code == 404


def test_the_sip_leg_failing_after_registration_runs_the_fallback(client, env):
    agent = create(client, transferNumber=FRONT_DESK)
    env.retell.set_sip_outcome("failed")
    env.twilio.set_dial_outcome(FRONT_DESK, "no-answer")

    log = play(env, agent)

    # The agent's leg failed, the front desk did not answer: the caller left a message
    assert [step["outcome"] for step in steps(log, "dial_sip")] == ["failed"]
    assert log["reached"] == "voicemail"
    call = history(client, agent)
    assert call["forward"] == {"to": FRONT_DESK, "answered": False, "reason": "agent_leg_failed"}
    assert call["voicemail"]["reason"] == "forward_not_answered"


def test_a_message_fallback_says_so_and_hangs_up(client, env):
    agent = create(client, fallback={"action": "message"})
    env.retell.inject("register_call", 500)

    log = play(env, agent)

    assert log["reached"] == "message"
    assert steps(log, "say")
    assert history(client, agent)["outcome"] == "message"


# --- the voice webhook fails: Twilio takes the number's fallback URL -------------------------------------


def test_the_database_down_still_forwards_the_caller(client, env, monkeypatch):
    agent = create(client, transferNumber=FRONT_DESK)
    env.twilio.set_dial_outcome(FRONT_DESK, "answered")
    # The API's functions lose the database (nothing listens on port 9)
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300")
    runtime.reset()

    log = play(env, agent)

    [failed] = steps(log, "webhook")
    assert failed["status"] == 503
    assert steps(log, "fallback_webhook")
    assert log["reached"] == "person"


def test_a_crashing_voice_webhook_still_forwards_the_caller(client, env, monkeypatch):
    agent = create(client, fallback={"action": "forward", "number": MOBILE})
    env.twilio.set_dial_outcome(MOBILE, "answered")

    def crash(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("a bug in the voice webhook")

    monkeypatch.setattr(incoming, "_route", crash)

    log = play(env, agent)

    assert steps(log, "webhook")[0]["status"] == 500
    assert log["reached"] == "person"
    assert steps(log, "dial_number")[0]["number"] == MOBILE


def test_a_voice_webhook_that_times_out_still_takes_a_message(client, env, monkeypatch):
    agent = create(client)  # no transfer number: the fallback is voicemail
    env.twilio.configure_voice(webhook_timeout_ms=300)
    real = incoming._route

    def slow(*args: Any, **kwargs: Any) -> str:
        time.sleep(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(incoming, "_route", slow)

    log = play(env, agent)

    assert steps(log, "fallback_webhook")
    assert log["reached"] == "voicemail"


# --- the agent's transfer tool ------------------------------------------------------------------------


def test_the_agent_transfers_the_caller_to_a_person(client, env):
    agent = create(client, transferNumber=FRONT_DESK)
    env.twilio.set_dial_outcome(FRONT_DESK, "answered", talk_seconds=60)
    sid = place(env, agent)

    answer = env.retell.invoke_tool(retell_call_id(env), "transfer_to_person", {"reason": "wants the nurse"})

    assert answer["status"] == 200
    assert "Transferring" in json.loads(answer["body"])["result"]
    log = env.twilio.wait_for_call(sid)
    assert log["reached"] == "person"
    assert steps(log, "updated")
    delivered(env, retell_call_id(env))
    call = history(client, agent)
    # Noted while Retell's events of the interrupted call arrive: neither write loses the other's
    assert call["transfer"] == {"to": FRONT_DESK, "answered": True, "reason": "asked_for_person"}
    assert (call["outcome"], call["status"]) == ("person", "ended")


def test_a_transfer_nobody_answers_goes_back_to_the_agent_told_so(client, env):
    agent = create(client, transferNumber=FRONT_DESK)
    env.twilio.set_dial_outcome(FRONT_DESK, "no-answer")
    sid = place(env, agent)

    env.retell.invoke_tool(retell_call_id(env), "transfer_to_person", {})
    log = env.twilio.wait_for_call(sid, until="settled", timeout_s=20)

    # A second Retell call took the caller, told the transfer failed (so it takes a message)
    assert log["state"] == "with_agent"
    assert len(env.retell.calls_registered) == 2
    second = env.retell.calls_registered[retell_call_id(env)]
    assert second["retell_llm_dynamic_variables"]["transfer_failed"] == "true"
    assert history(client, agent)["transfer"]["answered"] is False
    env.retell.end_call(retell_call_id(env), 10).join()
    assert env.twilio.wait_for_call(sid)["reached"] == "agent"


def test_a_busy_transfer_with_retell_gone_ends_in_voicemail_not_the_same_number(client, env):
    agent = create(client, transferNumber=FRONT_DESK)
    env.twilio.set_dial_outcome(FRONT_DESK, "busy")
    sid = place(env, agent)
    env.retell.inject("register_call", 500)

    env.retell.invoke_tool(retell_call_id(env), "transfer_to_person", {})
    log = env.twilio.wait_for_call(sid)

    assert [step["number"] for step in steps(log, "dial_number")] == [FRONT_DESK]  # rung once only
    assert log["reached"] == "voicemail"


def signed_tool_call(
    body: dict[str, Any], key: str = "key_local_retell", at_ms: int | None = None
) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    moment = at_ms if at_ms is not None else time.time_ns() // 1_000_000
    return {"content": raw, "headers": {"x-retell-signature": sign(raw, key, moment)}}


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.seen.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


COMMANDS = Commands()
monitoring.register(COMMANDS)


@pytest.mark.parametrize(
    "signing",
    [
        {"key": "not-the-key"},
        {"at_ms": 1_000},  # stale
        {"header": "v=" + "9" * 5000 + ",d=" + "0" * 64},  # an oversized timestamp
        {"header": None},
    ],
    ids=["forged", "stale", "oversized-timestamp", "unsigned"],
)
def test_a_forged_or_stale_tool_call_is_refused_before_any_read(client, env, signing):
    agent = create(client, transferNumber=FRONT_DESK)
    sid = place(env, agent)
    body = {
        "name": "transfer_to_person",
        "args": {},
        "call": env.retell.calls_registered[retell_call_id(env)],
    }
    request = signed_tool_call(body, signing.get("key", "key_local_retell"), signing.get("at_ms"))
    if "header" in signing:
        request["headers"] = {} if signing["header"] is None else {"x-retell-signature": signing["header"]}
    COMMANDS.seen.clear()  # (Retell's call events for the placed call may still update its record)
    updates_before = env.twilio.call_count("update_call")

    response = client.post("/api/tools/transfer", **request)

    assert response.status_code == 401
    assert "Traceback" not in response.text
    assert "find" not in COMMANDS.seen  # neither the call nor the agent was read
    assert env.twilio.call_count("update_call") == updates_before
    env.retell.end_call(retell_call_id(env), 10).join()
    assert env.twilio.wait_for_call(sid)["reached"] == "agent"


def test_a_tool_call_for_another_agents_call_or_an_ended_call_transfers_nothing(client, env):
    ours = create(client, transferNumber=FRONT_DESK)
    theirs = create(client, transferNumber=MOBILE)
    place(env, ours)
    call = dict(env.retell.calls_registered[retell_call_id(env)])
    theirs_retell = next(
        a for a in env.retell.agents.values() if a["agent_name"].split(" ")[0].endswith(theirs["id"])
    )
    updates_before = env.twilio.call_count("update_call")

    # Signed by Retell, but naming the other agent: refused, the call stays with our agent
    forged_agent = client.post(
        "/api/tools/transfer",
        **signed_tool_call(
            {
                "name": "transfer_to_person",
                "args": {},
                "call": {**call, "agent_id": theirs_retell["agent_id"]},
            }
        ),
    )
    # The same call once it has ended
    env.retell.end_call(call["call_id"], 10).join()
    ended = client.post(
        "/api/tools/transfer", **signed_tool_call({"name": "transfer_to_person", "args": {}, "call": call})
    )

    for response in (forged_agent, ended):
        assert response.status_code == 200
        assert "not possible" in response.json()["result"]
    assert env.twilio.call_count("update_call") == updates_before


# --- the business's phone first --------------------------------------------------------------------


def test_person_first_answered_never_reaches_the_agent(client, env):
    agent = create(client, transferNumber=FRONT_DESK, answerMode="person_first", ringSeconds=15)
    env.twilio.set_dial_outcome(FRONT_DESK, "answered")

    log = play(env, agent)

    assert log["reached"] == "person"
    [dialled] = steps(log, "dial_number")
    assert dialled["timeout"] == 15
    assert env.retell.calls_registered == {}
    assert history(client, agent)["transfer"] == {
        "to": FRONT_DESK,
        "answered": True,
        "reason": "person_first",
    }


def test_person_first_not_answered_the_agent_answers(client, env):
    agent = create(client, transferNumber=FRONT_DESK, answerMode="person_first", ringSeconds=5)
    env.twilio.set_dial_outcome(FRONT_DESK, "no-answer")

    sid = env.twilio.place_call(CALLER, agent["phoneNumber"])
    log = env.twilio.wait_for_call(sid, until="settled", timeout_s=20)

    assert log["state"] == "with_agent"
    assert len(env.retell.calls_registered) == 1
    env.retell.end_call(retell_call_id(env), 10).join()
    assert env.twilio.wait_for_call(sid)["reached"] == "agent"


# --- business hours ----------------------------------------------------------------------------------


def hours(after_hours: str, **extra: Any) -> dict[str, Any]:
    return {
        "timezone": "Australia/Sydney",
        "weekly": {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        "afterHours": after_hours,
        **extra,
    }


def at(monkeypatch: pytest.MonkeyPatch, local: str) -> None:
    """The voice webhook's clock at ``local`` (Sydney wall-clock time)."""
    moment = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("Australia/Sydney")).astimezone(UTC)
    monkeypatch.setattr(incoming, "now", lambda: moment)


@pytest.mark.parametrize(
    ("local", "reached"),
    [
        ("2026-10-02 16:59", "agent"),  # Friday before the change, open
        ("2026-10-05 08:30", "voicemail"),  # Monday after clocks went forward: 08:30 AEDT, closed
        ("2026-10-05 09:00", "agent"),  # opens at 09:00 local, not 09:00 of the old offset
        ("2027-04-05 08:59", "voicemail"),  # the Monday after clocks went back (4 April 2027), a minute early
        ("2027-04-05 09:00", "agent"),
    ],
)
def test_hours_hold_in_local_time_across_daylight_saving(client, env, monkeypatch, local, reached):
    agent = create(client, businessHours=hours("voicemail"))
    at(monkeypatch, local)

    sid = env.twilio.place_call(CALLER, agent["phoneNumber"])
    log = env.twilio.wait_for_call(sid, until="settled", timeout_s=20)
    if log["state"] == "with_agent":
        env.retell.end_call(retell_call_id(env), 10).join()
        log = env.twilio.wait_for_call(sid)

    assert log["reached"] == reached
    assert history(client, agent)["businessOpen"] is (reached == "agent")


def test_a_closed_date_forwards_after_hours_calls(client, env, monkeypatch):
    agent = create(
        client, transferNumber=FRONT_DESK, businessHours=hours("forward", closedDates=["2026-12-25"])
    )
    env.twilio.set_dial_outcome(FRONT_DESK, "answered")
    at(monkeypatch, "2026-12-25 11:00")  # a Friday, inside the weekly hours

    log = play(env, agent)

    assert log["reached"] == "person"
    assert env.retell.calls_registered == {}
    assert history(client, agent)["forward"]["reason"] == "after_hours"


def test_after_hours_agent_is_told_the_business_is_closed(client, env, monkeypatch):
    agent = create(client, businessHours=hours("agent"))
    at(monkeypatch, "2026-12-05 20:00")  # Saturday evening
    place(env, agent)

    [registered] = env.retell.calls_registered.values()
    variables = registered["retell_llm_dynamic_variables"]
    assert variables["business_open"] == "false"
    assert variables["local_time"].startswith("Saturday 05 December 2026, 20:00")


# --- the settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("routing", "field"),
    [
        ({"transferNumber": "12345"}, "transferNumber"),
        ({"transferNumber": "+61 2 9374 40000"}, "transferNumber"),
        ({"fallback": {"action": "forward", "number": "call me"}}, "fallback.number"),
        ({"businessHours": hours("voicemail", timezone="Mars/Olympus")}, "businessHours"),
        (
            {
                "businessHours": {
                    **hours("voicemail"),
                    "weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]},
                }
            },
            "businessHours",
        ),
        ({"businessHours": {**hours("voicemail"), "weekly": {"mon": [["17:00", "09:00"]]}}}, "businessHours"),
        ({"answerMode": "person_first"}, "answerMode"),
        ({"ringSeconds": 61}, "ringSeconds"),
    ],
)
def test_bad_routing_settings_are_a_400_naming_the_field_and_buy_nothing(client, env, routing, field):
    response = client.post("/api/agents", json={**BODY, **routing}, headers=bearer())

    assert response.status_code == 400, response.text
    assert field in {each["field"] for each in response.json()["fields"]}
    assert env.twilio.owned == {}


def test_numbers_are_stored_as_e164_and_the_recording_route_is_owner_scoped(client, env):
    agent = create(client, transferNumber="(02) 9374 4000".replace("(02)", "+61 2"))
    assert agent["transferNumber"] == FRONT_DESK
    path = f"/api/agents/{agent['id']}/calls/CA{'0' * 32}/recording"
    assert client.get(path, headers=bearer()).status_code == 404
    assert client.get(path, headers=bearer("someone-else")).status_code == 404
    assert client.get(urllib.parse.quote(path), headers={}).status_code == 401


@pytest.fixture(autouse=True)
def _no_leftover_calls(env: LocalStack) -> Iterator[None]:
    yield
    for call_id in list(env.retell.calls_registered):
        with contextlib.suppress(ValueError):
            env.retell.end_call(call_id, 0)
