"""POST /api/webhooks/twilio/{agentId} through the real handler (API Gateway REST API events, payload
1.0), on the local stack: the signature is checked over the URL Twilio was given (WEBHOOK_BASE_URL, or
the one API Gateway reports) before anything is read, the call is registered with Retell once per
CallSid, and the caller always hears TwiML (never a 500)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo import monitoring
from pymongo.errors import InvalidOperation
from twilio.request_validator import RequestValidator

from local.invoke import ROOT, http_event, invoke, json_body
from local.sample_events import load_event
from local.stack import TWILIO_AUTH_TOKEN, LocalStack
from tests.aws import Secret, SecretReads, secrets_manager
from tests.integration.emf import emitted_metrics
from voice_agents import runtime
from voice_agents.core.settings import SECRET_VARIABLES
from voice_agents.flows.calls import destinations

pytestmark = pytest.mark.integration

CALL_SID = "CA" + "1" * 32
OTHER_CALL_SID = "CA" + "2" * 32
CALLER = "+61298765432"
# Nothing listens on the discard port: connections are refused at once.
DEAD_MONGODB_URI = "mongodb://127.0.0.1:9/"
UNRESOLVABLE_SRV_URI = "mongodb+srv://cluster0.voice-agents.invalid/"
DEAD_HTTP_BASE = "http://127.0.0.1:9"


class DatabaseCommands(monitoring.CommandListener):
    """Every command any MongoClient sends while armed (registered before any client is built)."""

    def __init__(self) -> None:
        self.armed = False
        self.names: list[str] = []
        self.targets: list[tuple[str, str]] = []  # (command, collection)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.armed:
            self.names.append(event.command_name)
            self.targets.append((event.command_name, str(event.command.get(event.command_name, ""))))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


DATABASE_COMMANDS = DatabaseCommands()
monitoring.register(DATABASE_COMMANDS)


@pytest.fixture
def database_commands() -> Iterator[DatabaseCommands]:
    DATABASE_COMMANDS.names.clear()
    DATABASE_COMMANDS.targets.clear()
    DATABASE_COMMANDS.armed = True
    yield DATABASE_COMMANDS
    DATABASE_COMMANDS.armed = False


@pytest.fixture
def emitted(capsys: pytest.CaptureFixture[str]) -> Callable[[], Counter[str]]:
    """The EMF metrics printed since the last call, counted by name."""

    def read() -> Counter[str]:
        return Counter(
            {name: int(sum(values)) for name, values in emitted_metrics(capsys.readouterr().out).items()}
        )

    return read


@pytest.fixture
def agent(env) -> dict[str, Any]:
    """An active agent created through the create_agent handler."""
    response = invoke("create_agent", load_event("create_agent.json"))
    assert response["statusCode"] == 201, response["body"]
    created = json_body(response)
    assert created["status"] == "active"
    return created


def twilio_params(agent: dict[str, Any], call_sid: str = CALL_SID) -> dict[str, str]:
    """What Twilio posts for an inbound call to the agent's number, blank geo fields included."""
    sample = load_event("twilio_webhook.json")
    params = dict(urllib.parse.parse_qsl(sample["body"], keep_blank_values=True))
    params.update({"CallSid": call_sid, "To": agent["phoneNumber"], "Called": agent["phoneNumber"]})
    params.update({"From": CALLER, "Caller": CALLER})
    assert params["CalledZip"] == "" and params["FromCity"] == ""  # blank values are part of the signature
    return params


def sign(url: str, params: dict[str, str], token: str = TWILIO_AUTH_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, params))


def webhook_event(
    agent_id: str,
    params: dict[str, str],
    *,
    signature: str | None,
    base64_body: bool = False,
    signature_header: str = "X-Twilio-Signature",
) -> dict[str, Any]:
    """The sample webhook event (REST API, payload 1.0) for ``agent_id``, carrying ``params`` and
    ``signature``; ``base64_body`` as a REST API with binary media types would pass it."""
    event = load_event("twilio_webhook.json")
    path = f"/api/webhooks/twilio/{agent_id}"
    event["pathParameters"] = {"agentId": agent_id}
    event["path"] = path
    event["requestContext"]["path"] = f"/{event['requestContext']['stage']}{path}"
    body = urllib.parse.urlencode(params)
    event["body"] = base64.b64encode(body.encode()).decode() if base64_body else body
    event["isBase64Encoded"] = base64_body
    headers = {k: v for k, v in event["headers"].items() if k.lower() != "x-twilio-signature"}
    if signature is not None:
        headers[signature_header] = signature
    event["headers"] = headers
    return event


def signed_event(
    agent: dict[str, Any], call_sid: str = CALL_SID, token: str = TWILIO_AUTH_TOKEN, **options: Any
) -> dict[str, Any]:
    params = twilio_params(agent, call_sid)
    return webhook_event(agent["id"], params, signature=sign(agent["webhookUrl"], params, token), **options)


def twiml(response: dict[str, Any]) -> ET.Element:
    assert response["statusCode"] == 200, response
    assert response["headers"]["Content-Type"] == "text/xml"
    root = ET.fromstring(response["body"])
    assert root.tag == "Response"
    return root


def dialled_sip(response: dict[str, Any]) -> str:
    root = twiml(response)
    sip = root.find("./Dial/Sip")
    assert sip is not None, response["body"]
    return str(sip.text)


def takes_a_message(response: dict[str, Any]) -> bool:
    """The default fallback (no transfer number): the caller is asked for a voicemail."""
    root = twiml(response)
    record = root.find("Record")
    return (
        [child.tag for child in root][:2] == ["Say", "Record"]
        and record is not None
        and bool(record.get("action"))
    )


def is_polite_hangup(response: dict[str, Any]) -> bool:
    root = twiml(response)
    say = root.find("Say")
    return (
        [child.tag for child in root] == ["Say", "Hangup"]
        and say is not None
        and bool((say.text or "").strip())
    )


# --- a valid call ---------------------------------------------------------------------------------


def test_a_signed_call_is_registered_with_retell_and_dialled_over_sip(env, db, agent):
    # Given a call signed by Twilio over the agent's webhook URL
    event = signed_event(agent)

    # When the webhook runs
    response = invoke("twilio_webhook", event)

    # Then Retell registered exactly one inbound call for the agent, carrying the CallSid
    [call] = env.retell.calls_registered.values()
    record = db.agents.find_one({"_id": ObjectId(agent["id"])})
    assert call["agent_id"] == record["retellAgentId"]
    assert (call["from_number"], call["to_number"]) == (CALLER, agent["phoneNumber"])
    assert call["direction"] == "inbound"
    assert CALL_SID in call["metadata"].values()
    # And the caller is dialled into that call
    assert dialled_sip(response) == f"sip:{call['call_id']}@sip.retellai.com"
    assert env.retell.call_count("register_call") == 1


def test_a_retried_call_sid_gets_the_same_twiml_without_a_second_registration(env, agent):
    # Given a call the webhook already connected
    first = invoke("twilio_webhook", signed_event(agent))

    # When Twilio retries the same CallSid
    second = invoke("twilio_webhook", signed_event(agent))

    # Then the answer is the same, and Retell still has one call
    assert dialled_sip(second) == dialled_sip(first)
    assert len(env.retell.calls_registered) == 1
    assert env.retell.call_count("register_call") == 1


def test_every_log_line_after_the_form_is_read_names_the_call(env, agent, log_lines):
    # Given a signed call whose Retell registration fails (so the webhook logs why)
    env.retell.inject("register_call", status=500)

    # When it reaches the webhook
    invoke("twilio_webhook", signed_event(agent, call_sid="CA" + "9" * 32))

    # Then the lines it wrote can be found by CallSid (the README's Logs Insights query)
    lines = [entry for entry in log_lines.entries() if entry.get("call_sid") == "CA" + "9" * 32]
    assert lines, log_lines.entries()
    assert all(entry["agent_id"] == agent["id"] for entry in lines)


def test_two_different_calls_are_registered_separately(env, agent):
    first = dialled_sip(invoke("twilio_webhook", signed_event(agent, call_sid="CA" + "1" * 32)))
    second = dialled_sip(invoke("twilio_webhook", signed_event(agent, call_sid="CA" + "2" * 32)))

    assert first != second
    assert len(env.retell.calls_registered) == 2


def test_a_base64_encoded_body_is_still_valid(env, agent):
    # Given the same signed call with its form base64-encoded (a REST API with binary media types)
    event = signed_event(agent, base64_body=True)

    # When the webhook runs
    response = invoke("twilio_webhook", event)

    # Then the call is connected
    assert dialled_sip(response).startswith("sip:call_")
    assert env.retell.call_count("register_call") == 1


def test_the_signature_header_is_found_whatever_its_case(env, agent):
    # Given the header name in lower case (API Gateway's REST API passes the sender's case)
    event = signed_event(agent, signature_header="x-twilio-signature")

    # When the webhook runs
    response = invoke("twilio_webhook", event)

    # Then the signature was found and the call connected
    assert dialled_sip(response).startswith("sip:call_")


# --- signatures that must be refused ---------------------------------------------------------------


def assert_refused(env, response: dict[str, Any]) -> None:
    assert response["statusCode"] == 403, response
    assert env.retell.call_count("register_call") == 0
    assert env.retell.calls_registered == {}


def test_a_bad_signature_is_refused_with_no_registration(env, agent):
    # Given a call whose signature was made with another auth token
    params = twilio_params(agent)
    forged = RequestValidator("not-the-auth-token").compute_signature(agent["webhookUrl"], params)
    event = webhook_event(agent["id"], params, signature=forged)

    # When the webhook runs
    response = invoke("twilio_webhook", event)

    # Then it is refused and nothing else happened
    assert_refused(env, response)


def test_a_tampered_body_is_refused(env, agent):
    # Given a correctly signed call whose From was changed afterwards
    params = twilio_params(agent)
    signature = sign(agent["webhookUrl"], params)
    event = webhook_event(agent["id"], {**params, "From": "+61400000000"}, signature=signature)

    # When the webhook runs / Then it is refused
    assert_refused(env, invoke("twilio_webhook", event))


def test_a_missing_signature_is_refused(env, agent):
    event = webhook_event(agent["id"], twilio_params(agent), signature=None)

    assert_refused(env, invoke("twilio_webhook", event))


def test_an_empty_signature_is_refused(env, agent):
    event = webhook_event(agent["id"], twilio_params(agent), signature="")

    assert_refused(env, invoke("twilio_webhook", event))


def test_with_a_webhook_base_url_a_signature_over_the_url_the_request_arrived_on_is_refused(env, agent):
    # Given a request that arrived on another host, signed over the URL it arrived on, not over the
    # configured base (WEBHOOK_BASE_URL decides what Twilio was given)
    params = twilio_params(agent)
    event = webhook_event(agent["id"], params, signature=None)
    event["requestContext"]["domainName"] = "attacker.example.com"
    arrived_on = f"https://attacker.example.com{event['requestContext']['path']}"
    assert arrived_on != agent["webhookUrl"]
    event["headers"]["X-Twilio-Signature"] = sign(arrived_on, params)

    # When the webhook runs / Then it is refused
    assert_refused(env, invoke("twilio_webhook", event))


def test_a_signature_that_dropped_the_blank_values_is_refused(env, agent):
    # Given a signature computed without the blank fields Twilio sends (CalledZip=&...)
    params = twilio_params(agent)
    without_blanks = {name: value for name, value in params.items() if value != ""}
    event = webhook_event(agent["id"], params, signature=sign(agent["webhookUrl"], without_blanks))

    # When the webhook runs / Then it is refused: blank values are part of what Twilio signs
    assert_refused(env, invoke("twilio_webhook", event))


def test_without_a_webhook_base_url_the_signature_is_checked_over_the_url_api_gateway_reports(
    env, agent, monkeypatch
):
    # Given no WEBHOOK_BASE_URL: the URL Twilio signed is rebuilt from the domain and the path with its
    # stage (requestContext.domainName + requestContext.path), which is the number's VoiceUrl
    _use(monkeypatch, WEBHOOK_BASE_URL=None)
    event = signed_event(agent)
    context = event["requestContext"]
    assert f"https://{context['domainName']}{context['path']}" == agent["webhookUrl"]

    # When the webhook runs / Then the call is connected
    assert dialled_sip(invoke("twilio_webhook", event)).startswith("sip:call_")

    # And the same signature on a request that arrived on another host, or another stage, is refused
    for field, value in (("domainName", "attacker.example.com"), ("path", f"/prod{event['path']}")):
        moved = signed_event(agent, call_sid=OTHER_CALL_SID)
        moved["requestContext"][field] = value
        assert invoke("twilio_webhook", moved)["statusCode"] == 403, field
    assert env.retell.call_count("register_call") == 1


def test_an_agent_id_that_is_not_an_object_id_is_refused(env, agent):
    params = twilio_params(agent)
    event = webhook_event("not-an-id", params, signature=sign(agent["webhookUrl"], params))

    assert_refused(env, invoke("twilio_webhook", event))


def test_a_signature_for_another_agent_is_refused(env, db, agent):
    # Given a call signed over agent A's URL but posted to agent B's path
    other = invoke(
        "create_agent", http_event("create_agent.json", headers={"idempotency-key": "create-other-0002"})
    )
    assert other["statusCode"] == 201, other["body"]
    other_id = json_body(other)["id"]
    params = twilio_params(agent)
    event = webhook_event(other_id, params, signature=sign(agent["webhookUrl"], params))

    # When the webhook runs / Then it is refused
    assert_refused(env, invoke("twilio_webhook", event))


# --- whatever fails after the signature, the caller is never left on a dead line -------------------


def test_retell_failing_sends_the_caller_to_the_fallback_not_a_500(env, agent):
    # Given Retell failing to register calls
    env.retell.inject("register_call", status=500)

    # When a signed call arrives
    response = invoke("twilio_webhook", signed_event(agent))

    # Then the caller is asked for a message (the agent has no transfer number)
    assert takes_a_message(response)
    assert env.retell.call_count("register_call") == 1


def test_retell_too_slow_sends_the_caller_to_the_fallback_within_twilios_budget(env, agent, monkeypatch):
    # Given a register timeout that leaves room in Twilio's 15 s (shortened here to keep the test fast)
    assert destinations.REGISTER_TIMEOUT_SECONDS <= 5
    monkeypatch.setattr(destinations, "REGISTER_TIMEOUT_SECONDS", 0.3)
    # And Retell answering far too late
    env.retell.inject("register_call", delay_ms=1500, times=1)

    # When a signed call arrives
    started = time.monotonic()
    response = invoke("twilio_webhook", signed_event(agent))

    # Then the webhook gave up after its timeout and took a message instead
    assert takes_a_message(response)
    assert time.monotonic() - started < 1.2


def test_after_a_retell_failure_twilios_retry_connects_the_call(env, agent):
    # Given one failed registration
    env.retell.inject("register_call", status=503, times=1)
    assert takes_a_message(invoke("twilio_webhook", signed_event(agent)))

    # When Twilio retries the CallSid and Retell is back
    response = invoke("twilio_webhook", signed_event(agent))

    # Then the call is registered and dialled
    [call] = env.retell.calls_registered.values()
    assert dialled_sip(response) == f"sip:{call['call_id']}@sip.retellai.com"


@pytest.mark.parametrize("status", ["failed", "deleting", "provisioning"])
def test_an_agent_that_is_not_active_gives_a_polite_hangup(env, db, agent, status):
    # Given an agent that is no longer active, and a validly signed call to it
    db.agents.update_one({"_id": ObjectId(agent["id"])}, {"$set": {"status": status}})

    # When the webhook runs
    response = invoke("twilio_webhook", signed_event(agent))

    # Then the caller hears a message and no call is registered
    assert is_polite_hangup(response)
    assert env.retell.call_count("register_call") == 0


def test_a_deleted_retell_agent_sends_the_caller_to_the_fallback(env, agent):
    # Given the Retell agent gone behind our back (Retell answers 422 for it)
    env.retell.reset()

    # When a signed call arrives
    response = invoke("twilio_webhook", signed_event(agent))

    # Then the caller is asked for a message
    assert takes_a_message(response)


# --- cold start -------------------------------------------------------------------------------------


def test_the_webhook_function_never_imports_twilio_rest(env, agent):
    # Given a fresh interpreter that loads only the webhook function (as a Lambda cold start does)
    script = """
import json, sys
sys.path[:0] = ["layers/common", "."]
import importlib.util
spec = importlib.util.spec_from_file_location("webhook_app", "functions/twilio_webhook/app.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
after_import = "twilio.rest" in sys.modules
from local.invoke import LambdaContext
response = module.lambda_handler(json.loads(sys.stdin.read()), LambdaContext())
print(json.dumps({"after_import": after_import, "after_call": "twilio.rest" in sys.modules,
                  "status": response["statusCode"], "body": response["body"]}))
"""
    environment = {**os.environ, **env.environment()}

    # When it imports the function and answers a signed call
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        input=json.dumps(signed_event(agent)),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    # Then twilio.rest was never imported, neither by the import nor by the request
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["status"] == 200 and "<Sip>sip:call_" in result["body"]
    assert result["after_import"] is False
    assert result["after_call"] is False


# --- every failure mode: what the caller gets, a reason in the log, and its count ---------------------
# The agent cannot be read (the database down) or a bug: a 5xx, so Twilio requests the number's
# fallback URL (tests/integration/test_call_path.py plays it). Retell cannot take the call: the
# agent's fallback at once. No agent of ours, or no token to check the signature with: the apology.
APOLOGY, FALLBACK, TWILIO_FALLBACK = "apology", "fallback", "twilio's fallback URL"


@dataclass
class Case:
    """What breaks before a signed call arrives; ``expected`` False: a bug's stack trace is logged."""

    arrange: Callable[[LocalStack, Any, dict[str, Any], pytest.MonkeyPatch], Any]  # a dict: the event
    answer: str = FALLBACK
    expected: bool = True


def _use(monkeypatch: pytest.MonkeyPatch, **variables: str | None) -> None:
    for name, value in variables.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    runtime.reset()  # a cold start with these settings


def _unknown_agent(env, db, agent, monkeypatch) -> dict[str, Any]:
    unknown = str(ObjectId())
    params = twilio_params(agent)
    return webhook_event(
        unknown, params, signature=sign(agent["webhookUrl"].replace(agent["id"], unknown), params)
    )


def _retell_too_slow(env, db, agent, monkeypatch) -> None:
    monkeypatch.setattr(destinations, "REGISTER_TIMEOUT_SECONDS", 0.3)
    env.retell.inject("register_call", delay_ms=1500, times=1)


FAILURES = {
    "database down, no WEBHOOK_BASE_URL": Case(
        lambda env, db, agent, mp: _use(mp, WEBHOOK_BASE_URL=None, MONGODB_URI=DEAD_MONGODB_URI),
        TWILIO_FALLBACK,
    ),
    "database down, after the check": Case(
        lambda env, db, agent, mp: _use(mp, MONGODB_URI=DEAD_MONGODB_URI), TWILIO_FALLBACK
    ),
    "mongodb+srv host unresolvable, no WEBHOOK_BASE_URL": Case(
        lambda env, db, agent, mp: _use(mp, WEBHOOK_BASE_URL=None, MONGODB_URI=UNRESOLVABLE_SRV_URI),
        TWILIO_FALLBACK,
    ),
    "mongodb+srv host unresolvable, after the check": Case(
        lambda env, db, agent, mp: _use(mp, MONGODB_URI=UNRESOLVABLE_SRV_URI), TWILIO_FALLBACK
    ),
    "no auth token configured": Case(lambda env, db, agent, mp: _use(mp, TWILIO_AUTH_TOKEN=None), APOLOGY),
    "Retell unreachable": Case(lambda env, db, agent, mp: _use(mp, RETELL_BASE_URL=DEAD_HTTP_BASE)),
    "Retell 500": Case(lambda env, db, agent, mp: env.retell.inject("register_call", status=500)),
    "Retell 429": Case(lambda env, db, agent, mp: env.retell.inject("register_call", status=429)),
    "Retell too slow": Case(_retell_too_slow),
    "Retell 200, not JSON": Case(
        lambda env, db, agent, mp: env.retell.inject(
            "register_call", body="<html>bad gateway</html>", status=200
        ),
    ),
    "Retell 200, no call_id": Case(
        lambda env, db, agent, mp: env.retell.inject(
            "register_call", body='{"call_status": "registered"}', status=200
        ),
    ),
    "Retell agent gone": Case(lambda env, db, agent, mp: env.retell.reset()),
    "agent inactive": Case(
        lambda env, db, agent, mp: db.agents.update_one(
            {"_id": ObjectId(agent["id"])}, {"$set": {"status": "deleting"}}
        ),
        APOLOGY,
    ),
    "agent has no record": Case(_unknown_agent, APOLOGY),
    "agent record of an older shape": Case(
        lambda env, db, agent, mp: db.agents.update_one(
            {"_id": ObjectId(agent["id"])}, {"$set": {"retellAgentId": {"id": "agent_1"}}}
        )
    ),
    "call record malformed (a bug's path)": Case(
        lambda env, db, agent, mp: db.calls.insert_one(
            {"_id": CALL_SID, "retellCallId": "call_1", "expiresAt": "tomorrow"}
        ),
        TWILIO_FALLBACK,
        expected=False,
    ),
}


@pytest.mark.parametrize("name", list(FAILURES))
def test_every_failure_leaves_the_caller_somewhere_and_is_counted(
    name, env, db, agent, monkeypatch, emitted, caplog
):
    # Given a warm webhook, then something broken
    case = FAILURES[name]
    arranged = case.arrange(env, db, agent, monkeypatch)
    event = arranged if isinstance(arranged, dict) else signed_event(agent)
    emitted()
    caplog.clear()

    # When a signed call arrives
    response = invoke("twilio_webhook", event)

    # Then the caller is not left on a dead line, and nothing was registered
    if case.answer == APOLOGY:
        assert is_polite_hangup(response)
    elif case.answer == FALLBACK:
        assert takes_a_message(response)
    else:
        assert response["statusCode"] in (500, 503)
        assert "Traceback" not in response["body"]
    assert env.retell.calls_registered == {}
    # And it is counted, not as a rejected signature or a connected call
    counts = emitted()
    assert counts["AgentUnreachable" if case.answer == FALLBACK else "WebhookFailures"] == 1
    assert counts["WebhookSignatureRejected"] == counts["CallsConnected"] == 0
    # And the log says why: a stack trace only for what no code expected
    [why] = [r for r in caplog.records if r.name == "voice-agents" and r.levelname in ("WARNING", "ERROR")]
    assert (why.exc_info is None) is case.expected, why.getMessage()


def test_a_rejected_signature_is_counted(env, agent, emitted):
    params = twilio_params(agent)
    forged = RequestValidator("not-the-auth-token").compute_signature(agent["webhookUrl"], params)
    emitted()

    assert_refused(env, invoke("twilio_webhook", webhook_event(agent["id"], params, signature=forged)))
    assert_refused(env, invoke("twilio_webhook", webhook_event(agent["id"], params, signature=None)))

    counts = emitted()
    assert counts["WebhookSignatureRejected"] == 2
    assert counts["WebhookFailures"] == 0


# --- forged requests cost no database read --------------------------------------------------------------


@pytest.mark.parametrize("base_url", [True, False])
def test_a_forged_request_costs_no_database_command_with_or_without_the_base_url(
    env, agent, monkeypatch, database_commands, base_url
):
    # Given a warm webhook (its Mongo client connected), with or without WEBHOOK_BASE_URL
    if not base_url:
        _use(monkeypatch, WEBHOOK_BASE_URL=None)
    invoke("twilio_webhook", signed_event(agent, call_sid=OTHER_CALL_SID))
    database_commands.names.clear()

    # When a forged request arrives
    params = twilio_params(agent)
    forged = RequestValidator("not-the-auth-token").compute_signature(agent["webhookUrl"], params)
    response = invoke("twilio_webhook", webhook_event(agent["id"], params, signature=forged))

    # Then it is refused, and the database was asked nothing: the URL it was signed over comes from
    # WEBHOOK_BASE_URL or from what API Gateway reports, never from a record
    assert response["statusCode"] == 403
    assert database_commands.names == []


# --- replays --------------------------------------------------------------------------------------------


def _days_pass(db, call_sid: str, days: int) -> None:
    """The stored call record as it stands ``days`` after it was written."""
    record = db.calls.find_one({"_id": call_sid})
    shift = timedelta(days=days)
    db.calls.update_one(
        {"_id": call_sid},
        {"$set": {"createdAt": record["createdAt"] - shift, "expiresAt": record["expiresAt"] - shift}},
    )


def test_a_signed_request_replayed_days_later_registers_no_second_call(env, db, agent):
    # Given a connected call, whose record is kept for the retention period (90 days by default)
    first = dialled_sip(invoke("twilio_webhook", signed_event(agent)))
    record = db.calls.find_one({"_id": CALL_SID})
    assert record["expiresAt"] - record["createdAt"] == timedelta(days=90)

    # When the captured request is replayed five days later
    _days_pass(db, CALL_SID, 5)
    replay = invoke("twilio_webhook", signed_event(agent))

    # Then Retell registered nothing new: the replay gets the first call's TwiML
    assert dialled_sip(replay) == first
    assert env.retell.call_count("register_call") == 1


def test_the_retention_period_is_a_setting(env, db, agent, monkeypatch):
    # Given call records kept for 2 days, and a connected call
    _use(monkeypatch, CALL_RECORD_RETENTION_DAYS="2")
    dialled_sip(invoke("twilio_webhook", signed_event(agent)))

    # When the request comes again a day later, then three days later
    _days_pass(db, CALL_SID, 1)
    dialled_sip(invoke("twilio_webhook", signed_event(agent)))
    registered_within = env.retell.call_count("register_call")
    _days_pass(db, CALL_SID, 2)
    dialled_sip(invoke("twilio_webhook", signed_event(agent)))

    # Then within the retention nothing new was registered; past it the record had expired
    assert registered_within == 1
    assert env.retell.call_count("register_call") == 2


# --- secrets rotate --------------------------------------------------------------------------------------

NEW_AUTH_TOKEN = "rotated-auth-token"
NEW_RETELL_KEY = "key_rotated_retell"


@pytest.fixture
def secret(env, monkeypatch) -> Iterator[Secret]:
    """The stack's secret values in moto's Secrets Manager (SECRETS_ARN), none in the environment;
    forced re-reads not rate-limited."""
    with secrets_manager(monkeypatch) as client:
        stored = Secret(client, "voice-agents/local", {n: env.environment()[n] for n in SECRET_VARIABLES})
        _use(monkeypatch, SECRETS_ARN=stored.arn, SECRETS_REFRESH_INTERVAL_SECONDS="0")
        for name in SECRET_VARIABLES:
            monkeypatch.delenv(name)
        runtime.reset()
        yield stored
        runtime.reset()


def test_a_twilio_auth_token_rotation_heals_a_warm_webhook_after_one_failed_signature(
    env, secret, agent, monkeypatch, emitted
):
    # Given a warm webhook that read the secret and connected a call
    dialled_sip(invoke("twilio_webhook", signed_event(agent)))
    # And the auth token rotated: Twilio signs and authenticates with the new one only; the secret has it
    monkeypatch.setattr(env.twilio, "auth_token", NEW_AUTH_TOKEN)
    secret.rotate(TWILIO_AUTH_TOKEN=NEW_AUTH_TOKEN)
    emitted()

    # When the next call arrives, signed with the new token
    response = invoke("twilio_webhook", signed_event(agent, call_sid=OTHER_CALL_SID, token=NEW_AUTH_TOKEN))

    # Then the webhook re-read the secret once, checked again, and connected the call
    assert dialled_sip(response).startswith("sip:call_")
    counts = emitted()
    assert counts["SecretsRefreshed"] == 1
    assert counts["WebhookSignatureRejected"] == 0
    # And provider calls use the new token: deleting the agent releases its number at once
    deleted = invoke("delete_agent", http_event("delete_agent.json", agent_id=agent["id"]))
    assert deleted["statusCode"] == 200, deleted["body"]
    assert env.twilio.owned == {}


def test_a_retell_401_re_reads_the_secret_and_twilios_retry_connects(
    env, secret, agent, monkeypatch, emitted
):
    # Given a warm webhook, and then the Retell key rotated (Retell and the secret have the new one)
    dialled_sip(invoke("twilio_webhook", signed_event(agent)))
    monkeypatch.setattr(env.retell, "api_key", NEW_RETELL_KEY)
    secret.rotate(RETELL_API_KEY=NEW_RETELL_KEY)
    emitted()

    # When a call arrives: the registration with the old key is refused (401)
    assert takes_a_message(invoke("twilio_webhook", signed_event(agent, call_sid=OTHER_CALL_SID)))
    # Then that 401 re-read the secret
    assert emitted()["SecretsRefreshed"] == 1

    # And Twilio's retry of the call is registered with the new key and connected
    retry = invoke("twilio_webhook", signed_event(agent, call_sid=OTHER_CALL_SID))
    [call] = [c for c in env.retell.calls_registered.values() if OTHER_CALL_SID in c["metadata"].values()]
    assert dialled_sip(retry) == f"sip:{call['call_id']}@sip.retellai.com"


def test_a_twilio_401_on_a_provider_call_re_reads_the_secret(env, secret, agent, monkeypatch, emitted):
    # Given warm functions, and then the auth token rotated in Twilio and in the secret
    dialled_sip(invoke("twilio_webhook", signed_event(agent)))
    runtime.twilio()
    monkeypatch.setattr(env.twilio, "auth_token", NEW_AUTH_TOKEN)
    secret.rotate(TWILIO_AUTH_TOKEN=NEW_AUTH_TOKEN)
    emitted()

    # When a delete meets Twilio's 401 with the old token
    first = invoke("delete_agent", http_event("delete_agent.json", agent_id=agent["id"]))
    assert first["statusCode"] == 202, first["body"]
    assert emitted()["SecretsRefreshed"] == 1

    # Then the repeated delete, with the re-read token, releases the number
    again = invoke("delete_agent", http_event("delete_agent.json", agent_id=agent["id"]))
    assert again["statusCode"] == 200, again["body"]
    assert env.twilio.owned == {}


def test_a_flood_of_forged_signatures_reads_the_secret_at_most_once_per_interval(
    env, secret, agent, monkeypatch, emitted
):
    # Given the default interval between forced reads, and a warm webhook that has just read the secret
    _use(monkeypatch, SECRETS_REFRESH_INTERVAL_SECONDS=None)
    dialled_sip(invoke("twilio_webhook", signed_event(agent)))
    reads = SecretReads(monkeypatch)
    emitted()

    # When twenty forged requests arrive
    params = twilio_params(agent)
    forged = RequestValidator("not-the-auth-token").compute_signature(agent["webhookUrl"], params)
    for _ in range(20):
        assert (
            invoke("twilio_webhook", webhook_event(agent["id"], params, signature=forged))["statusCode"]
            == 403
        )

    # Then Secrets Manager was not asked again: it was read less than the interval ago
    assert reads.count == 0
    counts = emitted()
    assert counts["WebhookSignatureRejected"] == 20
    assert counts["SecretsRefreshed"] == 0


def test_a_rotated_mongodb_uri_rebuilds_the_mongo_client_and_closes_the_old_one(env, secret, monkeypatch):
    # Given settings re-read at every use, and a warm Mongo client
    _use(monkeypatch, SECRETS_MAX_AGE_SECONDS="0")
    before = runtime.store()
    before.agents.find_one({})

    # When the secret's MONGODB_URI changes (a new database user, here another option on the same server)
    separator = "&" if "?" in env.mongodb_uri else "/?"
    secret.rotate(MONGODB_URI=f"{env.mongodb_uri.rstrip('/')}{separator}appname=rotated")

    # Then the next use builds a new client, which works, and the old one is closed
    after = runtime.store()
    assert after is not before
    assert after.agents.find_one({}) is None
    with pytest.raises(InvalidOperation):
        before.agents.find_one({})
