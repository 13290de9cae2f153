"""The call path in the fakes: the fake Twilio plays inbound calls to the end, the fake Retell takes SIP
legs and calls custom tools, and a REST update of a live call (a transfer) interrupts the agent.

The voice URLs are a tiny TwiML app on loopback (`TwimlApp`) that answers what each test chooses and
records every request, so each test checks what Twilio would send (forms, signatures, callbacks) and
what the caller would reach. Every new provider route's answer is validated against the stored spec,
as `test_fakes.py` does for the others.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from twilio.request_validator import RequestValidator
from twilio.rest import Client as TwilioClient

from local.fakes import FakeControl, FakeRetell, FakeTwilio
from tests.integration.faults import wait_until
from tests.integration.spec_schemas import OpenApiSpec, retell_spec, twilio_spec
from tests.integration.test_fakes import (
    LLM_REQUEST,
    RedirectingHttpClient,
    assert_retell_error,
    assert_twilio_error,
    body_of,
)
from voice_agents.flows.calls.retell_signature import SIGNATURE_FORMAT, signature_digest

pytestmark = pytest.mark.integration

RETELL_KEY = "key_call_path"
ACCOUNT_SID = "AC" + "fedcba9876543210" * 2
AUTH_TOKEN = "token_call_path"
ACCOUNT = f"/2010-04-01/Accounts/{ACCOUNT_SID}"
CALLER = "+61298765432"
PERSON = "+61400000009"
TW_CALL = "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json"
TW_RECORDING = "/2010-04-01/Accounts/{AccountSid}/Recordings/{Sid}.json"
TW_NUMBERS = "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json"
TW_NUMBER = "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{Sid}.json"
APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
CALL_PARAMS = {
    "AccountSid",
    "ApiVersion",
    "CallSid",
    "CallStatus",
    "Called",
    "Caller",
    "Direction",
    "From",
    "To",
    *(
        f"{who}{geo}"
        for who in ("From", "To", "Caller", "Called")
        for geo in ("City", "State", "Zip", "Country")
    ),
}
TRANSFER_TOOL: dict[str, Any] = {
    "type": "custom",
    "name": "transfer_to_owner",
    "description": "Transfer the caller to the business owner when they ask for a person.",
    "url": "to be replaced by the app's URL",
    "speak_during_execution": True,
    "speak_after_execution": False,
    "execution_message_description": "One moment, I will put you through.",
    "parameters": {
        "type": "object",
        "properties": {"reason": {"type": "string", "description": "Why the caller wants a person."}},
        "required": ["reason"],
    },
    "timeout_ms": 10_000,
}


# -- a TwiML app on loopback --------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One request the app got, with the URL as Twilio signed it."""

    method: str
    path: str
    url: str
    headers: dict[str, str]
    body: bytes
    form: dict[str, str] = field(default_factory=dict)


Answer = tuple[int, str, str]  # status, body, content type
Handler = Callable[[Received], Answer]


class TwimlApp:
    """Answers each path as the test sets it (`twiml`, `on`); 404 elsewhere; records every request."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._handlers: dict[str, Handler] = {}
        app = self

        class Requests(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path, _, query = self.path.partition("?")
                raw_form = query if self.command == "GET" else body.decode()
                received = Received(
                    self.command,
                    path,
                    app.base_url + self.path,
                    {name.lower(): value for name, value in self.headers.items()},
                    body,
                    dict(parse_qsl(raw_form, keep_blank_values=True))
                    if "json" not in (self.headers.get("Content-Type") or "")
                    else {},
                )
                app.received.append(received)
                handler = app._handlers.get(path)
                status, text, content_type = handler(received) if handler else (404, "not here", "text/plain")
                payload = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the fake Twilio gave up on a slow answer on purpose

        self._server = Server(("127.0.0.1", 0), Requests)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path: str) -> str:
        return self.base_url + path

    def twiml(self, path: str, document: str, *, status: int = 200, content_type: str = "text/xml") -> None:
        self.on(path, lambda _: (status, document, content_type))

    def slow(self, path: str, seconds: float, document: str = "<Response/>") -> None:
        def answer(_: Received) -> Answer:
            time.sleep(seconds)
            return 200, document, "text/xml"

        self.on(path, answer)

    def on(self, path: str, handler: Handler) -> None:
        self._handlers[path] = handler

    def requests(self, path: str) -> list[Received]:
        return [each for each in self.received if each.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def retell() -> Iterator[FakeRetell]:
    fake = FakeRetell(api_key=RETELL_KEY).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def twilio(retell: FakeRetell) -> Iterator[FakeTwilio]:
    fake = FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    fake.connect_sip_peer(retell)  # both in this process: SIP legs to retellai.com go to this fake Retell
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def fresh_fakes(retell: FakeRetell, twilio: FakeTwilio) -> None:
    retell.reset()
    twilio.reset()


@pytest.fixture
def app() -> Iterator[TwimlApp]:
    served = TwimlApp()
    yield served
    served.close()


@pytest.fixture
def twilio_http(twilio: FakeTwilio) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=twilio.base_url + ACCOUNT, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=10
    ) as client:
        yield client


@pytest.fixture
def retell_http(retell: FakeRetell) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=retell.base_url, headers={"Authorization": f"Bearer {RETELL_KEY}"}, timeout=10
    ) as client:
        yield client


@pytest.fixture(scope="module")
def tspec() -> OpenApiSpec:
    return twilio_spec()


@pytest.fixture(scope="module")
def rspec() -> OpenApiSpec:
    return retell_spec()


@pytest.fixture
def number(twilio_http: httpx.Client, app: TwimlApp) -> str:
    """An owned number whose voice URL is the app's /voice and fallback its /fallback."""
    return buy_number(twilio_http, VoiceUrl=app.url("/voice"), VoiceFallbackUrl=app.url("/fallback"))


# -- helpers ----------------------------------------------------------------------------------------


def buy_number(twilio_http: httpx.Client, **settings: str) -> str:
    offered = body_of(twilio_http.get("/AvailablePhoneNumbers/AU/Mobile.json", params={"PageSize": 1}), 200)
    phone_number = str(offered["available_phone_numbers"][0]["phone_number"])
    body_of(
        twilio_http.post("/IncomingPhoneNumbers.json", data={"PhoneNumber": phone_number, **settings}), 201
    )
    return phone_number


def kinds(log: dict[str, Any]) -> list[str]:
    return [step["step"] for step in log["steps"]]


def step(log: dict[str, Any], kind: str, index: int = 0) -> dict[str, Any]:
    return dict([each for each in log["steps"] if each["step"] == kind][index])


def response(*verbs: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


def assert_signed_by_twilio(requests: list[Received]) -> None:
    """Each request carries the X-Twilio-Signature the twilio SDK's validator accepts."""
    validator = RequestValidator(AUTH_TOKEN)
    assert requests
    for each in requests:
        params = each.form if each.method == "POST" else {}
        assert validator.validate(each.url, params, each.headers["x-twilio-signature"]), each.url
        assert not RequestValidator("another-token").validate(
            each.url, params, each.headers["x-twilio-signature"]
        )


def assert_signed_by_retell(received: Received) -> None:
    """Checked as the backend checks Retell's call events (the check `test_fakes.py` uses too)."""
    signed = SIGNATURE_FORMAT.fullmatch(received.headers["x-retell-signature"])
    assert signed is not None
    assert signature_digest(received.body, signed.group(1), RETELL_KEY) == signed.group(2)
    assert abs(int(signed.group(1)) - time.time() * 1000) < 60_000


def create_agent_with_tools(retell_http: httpx.Client, *tools: dict[str, Any]) -> dict[str, Any]:
    llm = body_of(
        retell_http.post("/create-retell-llm", json={**LLM_REQUEST, "general_tools": list(tools)}), 201
    )
    request = {"response_engine": {"type": "retell-llm", "llm_id": llm["llm_id"]}, "voice_id": "retell-Cimo"}
    return dict(body_of(retell_http.post("/create-agent", json=request), 201))


def register(retell_base_url: str, agent_id: str, form: dict[str, str]) -> dict[str, Any]:
    """What our webhook does: register the call with Retell, with the CallSid in its metadata."""
    request = {
        "agent_id": agent_id,
        "from_number": form["From"],
        "to_number": form["To"],
        "direction": "inbound",
        "metadata": {"twilio_call_sid": form["CallSid"]},
        "retell_llm_dynamic_variables": {"caller": form["From"]},
    }
    answer = httpx.post(
        f"{retell_base_url}/v2/register-phone-call",
        json=request,
        headers={"Authorization": f"Bearer {RETELL_KEY}"},
        timeout=5,
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def serve_agent(app: TwimlApp, retell: FakeRetell, agent_id: str, registered: list[dict[str, Any]]) -> None:
    """The app's /voice registers each call and dials the agent over SIP, as our webhook answers."""

    def voice(received: Received) -> Answer:
        call = register(retell.base_url, agent_id, received.form)
        registered.append(call)
        sip = f"sip:{call['call_id']}@sip.retellai.com;transport=tcp"
        dial = f'<Dial action="/after-agent" answerOnBridge="true" timeout="20"><Sip>{sip}</Sip></Dial>'
        return 200, response(dial), "text/xml"

    app.on("/voice", voice)


def refused_url() -> str:
    """A loopback URL on a port just freed: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/voice"


# -- numbers keep their voice fallback ------------------------------------------------------------------


def test_numbers_keep_voice_fallback_url_and_method(
    twilio: FakeTwilio, twilio_http: httpx.Client, tspec: OpenApiSpec
) -> None:
    # Given a number bought with a fallback
    phone_number = buy_number(
        twilio_http,
        VoiceUrl="https://api.example.com/voice",
        VoiceFallbackUrl="https://fallback.example.com/voice",
        VoiceFallbackMethod="GET",
    )
    sid, bought = next(iter(twilio.owned.items()))
    tspec.assert_valid(bought, tspec.response_schema(TW_NUMBERS, "post", 201))
    assert bought["phone_number"] == phone_number
    assert (bought["voice_fallback_url"], bought["voice_fallback_method"]) == (
        "https://fallback.example.com/voice",
        "GET",
    )

    # When the fallback is changed, Then the update keeps the new one
    updated = body_of(
        twilio_http.post(
            f"/IncomingPhoneNumbers/{sid}.json",
            data={"VoiceFallbackUrl": "https://other.example.com/f", "VoiceFallbackMethod": "POST"},
        ),
        200,
    )
    tspec.assert_valid(updated, tspec.response_schema(TW_NUMBER, "post", 200))
    assert (updated["voice_fallback_url"], updated["voice_fallback_method"]) == (
        "https://other.example.com/f",
        "POST",
    )
    assert_twilio_error(
        tspec,
        twilio_http.post(f"/IncomingPhoneNumbers/{sid}.json", data={"VoiceFallbackMethod": "PUT"}),
        400,
        20001,
    )


# -- what Twilio sends ----------------------------------------------------------------------------------


def test_the_voice_webhook_is_twilios_form_signed_as_twilio_signs(
    twilio: FakeTwilio, app: TwimlApp, number: str
) -> None:
    # Given a voice URL that says something and hangs up
    app.twiml("/voice", response("<Say>Thanks for calling.</Say>", "<Hangup/>", "<Say>never said</Say>"))

    # When a caller rings the number
    log = twilio.play_call(CALLER, number)

    # Then the webhook got Twilio's inbound form, signed as Twilio signs it
    (webhook,) = app.requests("/voice")
    assert set(webhook.form) == CALL_PARAMS
    form = webhook.form
    assert (form["From"], form["To"], form["Caller"], form["Called"]) == (CALLER, number, CALLER, number)
    assert (form["CallStatus"], form["Direction"], form["ApiVersion"]) == ("ringing", "inbound", "2010-04-01")
    assert (form["AccountSid"], form["CallSid"]) == (ACCOUNT_SID, log["call_sid"])
    assert len(form["CallSid"]) == 34 and int(form["CallSid"][2:], 16) >= 0
    assert form["FromCity"] == "" and form["ToCountry"] == "AU"
    assert webhook.headers["content-type"] == "application/x-www-form-urlencoded"
    assert_signed_by_twilio(app.received)

    # And the caller heard the message, then Twilio hung up (nothing after <Hangup/> ran)
    assert kinds(log) == ["webhook", "say", "hangup"]
    assert step(log, "say")["text"] == "Thanks for calling."
    assert (log["reached"], log["status"], log["state"], log["finished"]) == (
        "message",
        "completed",
        "finished",
        True,
    )


def test_a_get_voice_url_gets_the_form_in_its_query_signed_over_the_url(
    twilio: FakeTwilio, twilio_http: httpx.Client, app: TwimlApp
) -> None:
    phone_number = buy_number(twilio_http, VoiceUrl=app.url("/voice?agent=42"), VoiceMethod="GET")
    app.twiml("/voice", response("<Say>Hello</Say>"))

    log = twilio.play_call(CALLER, phone_number)

    (webhook,) = app.requests("/voice")
    assert webhook.method == "GET" and webhook.body == b""
    assert webhook.form["agent"] == "42" and webhook.form["CallSid"] == log["call_sid"]
    assert_signed_by_twilio([webhook])
    assert log["reached"] == "message"


def test_redirect_pause_and_play_run_in_order_and_relative_urls_resolve(
    twilio: FakeTwilio, app: TwimlApp, number: str
) -> None:
    app.twiml("/voice", response('<Pause length="2"/>', "<Redirect>next</Redirect>"))
    app.twiml("/next", response("<Play>https://cdn.example.com/hold.mp3</Play>", "<Say>Still here.</Say>"))

    log = twilio.play_call(CALLER, number)

    assert kinds(log) == ["webhook", "pause", "redirect", "play", "say", "hangup"]
    assert step(log, "pause")["length"] == 2
    assert step(log, "redirect")["url"] == app.url("/next")
    (redirected,) = app.requests("/next")
    assert redirected.form["CallStatus"] == "in-progress"  # answered when the first verb ran
    assert_signed_by_twilio(app.received)
    assert step(log, "hangup")["reason"] == "end_of_twiml"


@pytest.mark.parametrize("document", [response(), response('<Pause length="3"/>')])
def test_silence_then_hangup_is_a_dead_line(
    twilio: FakeTwilio, app: TwimlApp, number: str, document: str
) -> None:
    app.twiml("/voice", document)
    assert twilio.play_call(CALLER, number)["reached"] == "dead_line"


# -- <Dial> to numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "dial_call_status", "reached"),
    [
        ("answered", "completed", "person"),
        ("no-answer", "no-answer", "message"),
        ("busy", "busy", "message"),
        ("failed", "failed", "message"),
        (None, "no-answer", "message"),  # not set: a number rings out
    ],
)
def test_dial_a_number_each_outcome_reaches_the_action(
    twilio: FakeTwilio,
    app: TwimlApp,
    number: str,
    outcome: str | None,
    dial_call_status: str,
    reached: str,
) -> None:
    # Given a number to dial that ends as the case says, and an action that says goodbye
    if outcome is not None:
        twilio.set_dial_outcome(PERSON, outcome, talk_seconds=42)
    dial = (
        f'<Dial action="/dialled" method="POST" timeout="15" callerId="{number}">'
        f"<Number>{PERSON}</Number></Dial>"
    )
    app.twiml("/voice", response(dial, "<Say>unreachable after a Dial with an action</Say>"))
    app.twiml("/dialled", response("<Say>Goodbye.</Say>"))

    # When a caller rings
    log = twilio.play_call(CALLER, number)

    # Then the leg ended as set, and the action got DialCallStatus (and the duration when answered)
    dialled = step(log, "dial_number")
    assert (dialled["number"], dialled["caller_id"], dialled["timeout"]) == (PERSON, number, 15)
    assert dialled["outcome"] == (outcome or "no-answer")
    (action,) = app.requests("/dialled")
    assert action.form["DialCallStatus"] == dial_call_status
    assert action.form["DialCallSid"].startswith("CA") and len(action.form["DialCallSid"]) == 34
    assert action.form["DialCallSid"] != action.form["CallSid"]
    assert set(action.form) - CALL_PARAMS == (
        {"DialCallStatus", "DialCallSid", "DialCallDuration"}
        if outcome == "answered"
        else {"DialCallStatus", "DialCallSid"}
    )
    if outcome == "answered":
        assert action.form["DialCallDuration"] == "42"
    assert step(log, "dial_action")["dial_call_status"] == dial_call_status
    assert dialled["dial_call_sid"] == action.form["DialCallSid"]
    assert dialled["answer_on_bridge"] is False
    assert kinds(log) == ["webhook", "dial_number", "dial_action", "say", "hangup"]
    assert log["reached"] == reached
    assert_signed_by_twilio(app.received)


def test_dial_without_action_continues_and_a_bare_number_is_dialled(
    twilio: FakeTwilio, app: TwimlApp, number: str
) -> None:
    twilio.set_dial_outcome(PERSON, "busy")
    app.twiml("/voice", response(f"<Dial>{PERSON}</Dial>", "<Say>They are busy.</Say>"))

    log = twilio.play_call(CALLER, number)

    assert kinds(log) == ["webhook", "dial_number", "say", "hangup"]
    assert (step(log, "dial_number")["number"], step(log, "dial_number")["outcome"]) == (PERSON, "busy")
    assert log["reached"] == "message"


def test_the_first_leg_to_answer_wins_and_names_the_dial_call_sid(
    twilio: FakeTwilio, app: TwimlApp, number: str
) -> None:
    # Given a Dial of three legs: busy, answered, and one never rung (a leg answered first)
    backup = "+61400000008"
    twilio.set_dial_outcome(PERSON, "busy")
    twilio.set_dial_outcome(backup, "answered", talk_seconds=9)
    legs = f"<Number>{PERSON}</Number><Number>{backup}</Number><Number>+61400000007</Number>"
    app.twiml("/voice", response(f'<Dial action="/dialled">{legs}</Dial>'))
    app.twiml("/dialled", response())

    log = twilio.play_call(CALLER, number)

    busy, answered = (step(log, "dial_number", index) for index in (0, 1))
    assert [busy["outcome"], answered["outcome"]] == ["busy", "answered"]
    assert len([each for each in log["steps"] if each["step"] == "dial_number"]) == 2
    assert busy["dial_call_sid"] != answered["dial_call_sid"]
    (action,) = app.requests("/dialled")
    assert (action.form["DialCallStatus"], action.form["DialCallSid"]) == (
        "completed",
        answered["dial_call_sid"],
    )
    assert action.form["DialCallDuration"] == "9"
    assert log["reached"] == "person"


def test_a_person_who_answered_then_a_message_still_reached_a_person(
    twilio: FakeTwilio, app: TwimlApp, number: str
) -> None:
    twilio.set_dial_outcome(PERSON, "answered", talk_seconds=5)
    app.twiml("/voice", response(f"<Dial><Number>{PERSON}</Number></Dial>", "<Say>Bye.</Say>"))
    assert twilio.play_call(CALLER, number)["reached"] == "person"


# -- fallback and the dead line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("break_voice_url", "error_code", "status"),
    [
        (lambda app: app.twiml("/voice", "boom", status=500, content_type="text/plain"), 11200, 500),
        (lambda app: app.slow("/voice", 3), 11205, None),
        (lambda app: app.twiml("/voice", "<Response><Say>unclosed</Response>"), 12100, 200),
        (lambda app: app.twiml("/voice", "<Reply><Say>hi</Say></Reply>"), 12100, 200),
        (lambda app: app.twiml("/voice", response("<Gather/>")), 12100, 200),
        (lambda app: app.twiml("/voice", '{"twiml": false}', content_type="application/json"), 12300, 200),
    ],
    ids=["500", "timeout", "unparseable", "not-a-response", "unknown-verb", "not-xml"],
)
def test_the_fallback_url_takes_over_when_the_voice_url_fails(
    twilio: FakeTwilio,
    app: TwimlApp,
    number: str,
    break_voice_url: Callable[[TwimlApp], None],
    error_code: int,
    status: int | None,
) -> None:
    # Given a voice URL that fails (a short webhook timeout: Twilio waits 15 s; long enough that the
    # other answers come back within it on a loaded machine), and a working fallback
    twilio.configure_voice(webhook_timeout_ms=1000)
    break_voice_url(app)
    app.twiml(
        "/fallback",
        response("<Say>We are having trouble. Leave a message.</Say>", '<Record action="/done"/>'),
    )

    # When a caller rings
    log = twilio.play_call(CALLER, number)

    # Then the fallback got the call's form plus ErrorCode and ErrorUrl, and its TwiML played
    assert kinds(log)[:3] == ["webhook", "fallback_webhook", "say"]
    assert (step(log, "webhook")["error_code"], step(log, "webhook")["status"]) == (error_code, status)
    (fallback,) = app.requests("/fallback")
    assert fallback.form["ErrorCode"] == str(error_code)
    assert fallback.form["ErrorUrl"] == app.url("/voice")
    assert set(fallback.form) == CALL_PARAMS | {"ErrorCode", "ErrorUrl"}
    assert_signed_by_twilio(app.received)
    assert log["reached"] == "voicemail"


def test_an_unreachable_voice_url_falls_back(
    twilio: FakeTwilio, twilio_http: httpx.Client, app: TwimlApp
) -> None:
    dead_url = refused_url()
    phone_number = buy_number(twilio_http, VoiceUrl=dead_url, VoiceFallbackUrl=app.url("/fallback"))
    app.twiml("/fallback", response("<Say>Sorry.</Say>"))
    log = twilio.play_call(CALLER, phone_number)
    assert step(log, "webhook")["error_code"] == 11205
    assert app.requests("/fallback")[0].form["ErrorUrl"] == dead_url
    assert log["reached"] == "message"


@pytest.mark.parametrize("with_fallback", [True, False])
def test_when_the_fallback_fails_too_the_caller_hears_the_application_error(
    twilio: FakeTwilio, twilio_http: httpx.Client, app: TwimlApp, with_fallback: bool
) -> None:
    settings = {"VoiceUrl": app.url("/voice")}
    if with_fallback:
        settings["VoiceFallbackUrl"] = app.url("/fallback")
    phone_number = buy_number(twilio_http, **settings)
    app.twiml("/voice", "down", status=503, content_type="text/plain")
    app.twiml("/fallback", "also down", status=502, content_type="text/plain")

    log = twilio.play_call(CALLER, phone_number)

    expected = (
        ["webhook", "fallback_webhook", "dead_line", "hangup"]
        if with_fallback
        else ["webhook", "dead_line", "hangup"]
    )
    assert kinds(log) == expected
    dead = step(log, "dead_line")
    assert (dead["message"], dead["error_code"]) == (APPLICATION_ERROR, 11200)
    assert (log["reached"], log["status"]) == ("dead_line", "completed")


def test_a_failing_action_falls_back_too(twilio: FakeTwilio, app: TwimlApp, number: str) -> None:
    app.twiml("/voice", response(f'<Dial action="/dialled"><Number>{PERSON}</Number></Dial>'))
    app.twiml("/dialled", "oops", status=500, content_type="text/plain")
    app.twiml("/fallback", response("<Say>Sorry, nobody could take your call.</Say>"))

    log = twilio.play_call(CALLER, number)

    assert kinds(log) == ["webhook", "dial_number", "dial_action", "fallback_webhook", "say", "hangup"]
    assert app.requests("/fallback")[0].form["ErrorUrl"] == app.url("/dialled")
    assert log["reached"] == "message"


# -- <Record> -------------------------------------------------------------------------------------------


def test_record_posts_the_action_and_the_status_callback_and_serves_the_recording(
    twilio: FakeTwilio, twilio_http: httpx.Client, tspec: OpenApiSpec, app: TwimlApp, number: str
) -> None:
    # Given a voice URL that takes a message of at most 60 s
    record = (
        '<Record action="/recorded" maxLength="60" playBeep="false" '
        'recordingStatusCallback="/recording-status" recordingStatusCallbackMethod="POST"/>'
    )
    app.twiml("/voice", response("<Say>Leave a message after the tone.</Say>", record))
    app.twiml("/recorded", response("<Say>not played: the caller hung up</Say>"))
    app.twiml("/recording-status", "", status=204, content_type="text/plain")

    # When a caller leaves a 7-second message
    log = twilio.play_call(CALLER, number, message_seconds=7)

    # Then the log shows the recording, the action and the callback, and the caller reached voicemail
    assert kinds(log) == ["webhook", "say", "record", "record_action", "recording_callback", "hangup"]
    recorded = step(log, "record")
    sid = recorded["recording_sid"]
    assert sid.startswith("RE") and len(sid) == 34
    assert (recorded["duration"], recorded["max_length"], recorded["play_beep"]) == (7, 60, False)
    assert (log["reached"], log["status"]) == ("voicemail", "completed")
    recording_url = f"{twilio.base_url}{ACCOUNT}/Recordings/{sid}"

    # And the action got the recording and Digits=hangup with the call's form
    (action,) = app.requests("/recorded")
    assert set(action.form) == CALL_PARAMS | {"RecordingUrl", "RecordingDuration", "RecordingSid", "Digits"}
    assert (action.form["RecordingUrl"], action.form["RecordingDuration"]) == (recording_url, "7")
    assert (action.form["RecordingSid"], action.form["Digits"]) == (sid, "hangup")
    assert action.form["CallStatus"] == "completed"

    # And the status callback got Twilio's recording parameters
    (callback,) = app.requests("/recording-status")
    assert set(callback.form) == {
        "AccountSid",
        "CallSid",
        "RecordingSid",
        "RecordingUrl",
        "RecordingStatus",
        "RecordingDuration",
        "RecordingChannels",
        "RecordingStartTime",
        "RecordingSource",
    }
    assert callback.form["RecordingStatus"] == "completed"
    assert (callback.form["RecordingSource"], callback.form["RecordingChannels"]) == ("RecordVerb", "1")
    assert (callback.form["CallSid"], callback.form["AccountSid"]) == (log["call_sid"], ACCOUNT_SID)
    assert_signed_by_twilio(app.received)

    # And the recording is served: its resource per the spec, its audio at the bare URL, .wav and .mp3
    resource = body_of(twilio_http.get(f"/Recordings/{sid}.json"), 200)
    tspec.assert_valid(resource, tspec.response_schema(TW_RECORDING, "get", 200))
    assert (resource["sid"], resource["call_sid"], resource["duration"]) == (sid, log["call_sid"], "7")
    assert (resource["source"], resource["status"], resource["media_url"]) == (
        "RecordVerb",
        "completed",
        recording_url,
    )
    for suffix, content_type in (("", "audio/x-wav"), (".wav", "audio/x-wav"), (".mp3", "audio/mpeg")):
        media = httpx.get(recording_url + suffix, auth=(ACCOUNT_SID, AUTH_TOKEN))
        assert (media.status_code, media.headers["content-type"]) == (200, content_type)
        with wave.open(io.BytesIO(media.content)) as audio:
            assert audio.getnframes() / audio.getframerate() == 7
    assert httpx.get(recording_url + ".wav").status_code == 401
    assert_twilio_error(tspec, twilio_http.get("/Recordings/RE" + "0" * 32 + ".json"), 404, 20404)
    assert twilio.voice()["recordings"][sid] == resource


def test_record_without_action_posts_to_the_current_document_and_caps_at_max_length(
    twilio: FakeTwilio, app: TwimlApp, number: str
) -> None:
    app.twiml("/voice", response('<Record maxLength="3"/>'))

    log = twilio.play_call(CALLER, number, message_seconds=20)

    assert step(log, "record")["duration"] == 3
    second = app.requests("/voice")[1]  # Twilio requests the current document's URL again
    assert (second.form["Digits"], second.form["RecordingDuration"]) == ("hangup", "3")
    assert kinds(log)[-1] == "hangup" and log["reached"] == "voicemail"


# -- Calls: fetch and update ----------------------------------------------------------------------------


def test_calls_fetch_and_update_match_the_spec(
    twilio: FakeTwilio,
    twilio_http: httpx.Client,
    tspec: OpenApiSpec,
    retell: FakeRetell,
    retell_http: httpx.Client,
    app: TwimlApp,
    number: str,
) -> None:
    # Given a caller with the agent
    agent = create_agent_with_tools(retell_http)
    registered: list[dict[str, Any]] = []
    serve_agent(app, retell, agent["agent_id"], registered)
    sid = twilio.place_call(CALLER, number)
    assert twilio.wait_for_call(sid, until="settled")["state"] == "with_agent"

    # When the live call is fetched
    live = body_of(twilio_http.get(f"/Calls/{sid}.json"), 200)

    # Then it is the spec's call, in progress
    tspec.assert_valid(live, tspec.response_schema(TW_CALL, "get", 200))
    assert set(live) == tspec.property_names("api.v2010.account.call")
    assert (live["sid"], live["status"], live["direction"]) == (sid, "in-progress", "inbound")
    assert (live["from"], live["to"], live["account_sid"]) == (CALLER, number, ACCOUNT_SID)
    assert live["phone_number_sid"] == next(iter(twilio.owned))
    assert live["uri"] == f"{ACCOUNT}/Calls/{sid}.json"
    assert live["end_time"] is None and live["duration"] is None

    # When it is hung up through the API
    ended = body_of(twilio_http.post(f"/Calls/{sid}.json", data={"Status": "completed"}), 200)
    tspec.assert_valid(ended, tspec.response_schema(TW_CALL, "post", 200))
    log = twilio.wait_for_call(sid)

    # Then the call ended, the agent's leg with it, and the ended call is fetched with its times
    assert ended["status"] == "completed"
    assert kinds(log)[-2:] == ["updated", "hangup"]
    assert step(log, "dial_sip")["ended_by"] == "update"
    assert app.requests("/after-agent") == []  # an update replaces the Dial: its action is not fetched
    fetched = body_of(twilio_http.get(f"/Calls/{sid}.json"), 200)
    tspec.assert_valid(fetched, tspec.response_schema(TW_CALL, "get", 200))
    assert fetched["status"] == "completed" and fetched["end_time"] and int(fetched["duration"]) >= 1
    wait_until(lambda: retell.calls_registered[registered[0]["call_id"]]["call_status"] == "ended")
    assert retell.calls_registered[registered[0]["call_id"]]["disconnection_reason"] == "user_hangup"

    # And a call no longer live cannot be redirected; an unknown call is Twilio's 404
    body = assert_twilio_error(
        tspec, twilio_http.post(f"/Calls/{sid}.json", data={"Twiml": response("<Say>x</Say>")}), 400, 21220
    )
    assert body["message"] == "Call is not in-progress. Cannot redirect."
    unknown = "CA" + "0" * 32
    assert_twilio_error(tspec, twilio_http.get(f"/Calls/{unknown}.json"), 404, 20404)
    assert_twilio_error(
        tspec, twilio_http.post(f"/Calls/{unknown}.json", data={"Status": "completed"}), 404, 20404
    )
    assert twilio.call_count("update_call") == 3 and twilio.call_count("fetch_call") == 3


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"Twiml": response("<Say>a</Say>"), "Url": "https://example.com/t"}, 20001),
        ({"Method": "GET"}, 20001),
        ({"Twiml": "<Response><Say>unclosed</Response>"}, 12100),
        ({"Status": "paused"}, 20001),
        ({"Url": "ftp://example.com/t"}, 20001),
    ],
)
def test_bad_call_updates_are_refused_and_the_call_goes_on(
    twilio: FakeTwilio,
    twilio_http: httpx.Client,
    tspec: OpenApiSpec,
    retell: FakeRetell,
    retell_http: httpx.Client,
    app: TwimlApp,
    number: str,
    form: dict[str, str],
    code: int,
) -> None:
    serve_agent(app, retell, create_agent_with_tools(retell_http)["agent_id"], [])
    sid = twilio.place_call(CALLER, number)
    twilio.wait_for_call(sid, until="settled")

    assert_twilio_error(tspec, twilio_http.post(f"/Calls/{sid}.json", data=form), 400, code)

    assert twilio.call_log(sid)["state"] == "with_agent"
    twilio_http.post(f"/Calls/{sid}.json", data={"Status": "completed"})
    assert twilio.wait_for_call(sid)["finished"]


def test_canceling_an_in_progress_call_does_nothing(
    twilio: FakeTwilio,
    twilio_http: httpx.Client,
    retell: FakeRetell,
    retell_http: httpx.Client,
    app: TwimlApp,
    number: str,
) -> None:
    registered: list[dict[str, Any]] = []
    serve_agent(app, retell, create_agent_with_tools(retell_http)["agent_id"], registered)
    app.twiml("/after-agent", response())
    sid = twilio.place_call(CALLER, number)
    twilio.wait_for_call(sid, until="settled")

    answer = body_of(twilio_http.post(f"/Calls/{sid}.json", data={"Status": "canceled"}), 200)

    # "canceled ... will not affect calls already in progress"
    assert answer["status"] == "in-progress"
    assert twilio.wait_for_call(sid, until="settled", timeout_s=0.3)["state"] == "with_agent"
    retell.end_call(registered[0]["call_id"], 0)
    assert twilio.wait_for_call(sid)["reached"] == "agent"


# -- SIP legs to the agent ------------------------------------------------------------------------------


def test_the_caller_stays_with_the_agent_until_retell_ends_the_call(
    twilio: FakeTwilio, retell: FakeRetell, retell_http: httpx.Client, app: TwimlApp, number: str
) -> None:
    # Given a webhook that registers the call and dials the agent, and a Dial action that says goodbye
    agent = create_agent_with_tools(retell_http)
    registered: list[dict[str, Any]] = []
    serve_agent(app, retell, agent["agent_id"], registered)
    app.twiml("/after-agent", response("<Say>Thanks for calling.</Say>"))

    # When a caller rings and reaches the agent
    sid = twilio.place_call(CALLER, number)
    settled = twilio.wait_for_call(sid, until="settled")

    # Then the caller is with the agent: the SIP leg connected and the Retell call is ongoing
    call_id = registered[0]["call_id"]
    assert (settled["state"], settled["status"], settled["reached"]) == ("with_agent", "in-progress", "agent")
    leg = step(settled, "dial_sip")
    assert (leg["call_id"], leg["outcome"], leg["ended_by"]) == (call_id, "connected", None)
    assert leg["uri"] == f"sip:{call_id}@sip.retellai.com;transport=tcp"
    assert (leg["answer_on_bridge"], leg["timeout"]) == (True, 20)
    assert retell.sip_leg_status(call_id) == "ongoing"
    ongoing = retell.calls_registered[call_id]
    assert ongoing["metadata"] == {"twilio_call_sid": sid}
    assert ongoing["retell_llm_dynamic_variables"] == {"caller": CALLER}
    assert app.requests("/voice")[0].form["CallStatus"] == "ringing"

    # When the agent ends the call
    retell.end_call(call_id, 50)
    log = twilio.wait_for_call(sid)

    # Then the Dial completed, its action got the duration, and the caller reached the agent
    (action,) = app.requests("/after-agent")
    assert (action.form["DialCallStatus"], action.form["CallStatus"]) == ("completed", "in-progress")
    assert int(action.form["DialCallDuration"]) >= 1
    assert step(log, "dial_sip")["ended_by"] == "agent"
    assert kinds(log) == ["webhook", "dial_sip", "dial_action", "say", "hangup"]
    assert (log["reached"], log["status"]) == ("agent", "completed")
    assert_signed_by_twilio(app.received)
    # Retell sent call_started once (when the leg connected), then call_ended and call_analyzed
    wait_until(lambda: len(retell.event_deliveries) == 3)
    assert [each["event"] for each in retell.event_deliveries] == [
        "call_started",
        "call_ended",
        "call_analyzed",
    ]


def test_a_retell_outage_is_a_fault_on_register_call(
    twilio: FakeTwilio, retell: FakeRetell, retell_http: httpx.Client, app: TwimlApp, number: str
) -> None:
    # Given Retell answers register-phone-call 503 (the fault mechanism: no knob of its own needed)
    agent_id = create_agent_with_tools(retell_http)["agent_id"]
    with FakeControl(retell.base_url) as control:
        control.fail("register_call", 503, times=1)

    def voice(received: Received) -> Answer:
        # What our webhook must do when Retell is down: never a dead line, take a message instead
        try:
            call = register(retell.base_url, agent_id, received.form)
        except AssertionError:
            return (
                200,
                response("<Say>Sorry, please leave a message.</Say>", '<Record action="/done"/>'),
                "text/xml",
            )
        return 200, response(f"<Dial><Sip>sip:{call['call_id']}@sip.retellai.com</Sip></Dial>"), "text/xml"

    app.on("/voice", voice)
    app.twiml("/done", response())

    # When a caller rings, Then no call was registered and the caller reached voicemail
    log = twilio.play_call(CALLER, number)
    assert (retell.calls_registered, retell.call_count("register_call")) == ({}, 1)
    assert log["reached"] == "voicemail"


@pytest.mark.parametrize("outcome", ["failed", "busy", "no-answer"])
def test_a_sip_leg_that_does_not_connect_reports_its_dial_call_status(
    twilio: FakeTwilio,
    retell: FakeRetell,
    retell_http: httpx.Client,
    app: TwimlApp,
    number: str,
    outcome: str,
) -> None:
    # Given Retell registers calls but their SIP legs do not connect
    with FakeControl(retell.base_url) as control:
        assert control.set_sip_outcome(outcome) == {"*": outcome}
    registered: list[dict[str, Any]] = []
    serve_agent(app, retell, create_agent_with_tools(retell_http)["agent_id"], registered)
    app.twiml(
        "/after-agent", response("<Say>Sorry, please leave a message.</Say>", '<Record action="/done"/>')
    )
    app.twiml("/done", response())

    log = twilio.play_call(CALLER, number)

    (action,) = app.requests("/after-agent")
    assert action.form["DialCallStatus"] == outcome
    assert "DialCallDuration" not in action.form
    assert step(log, "dial_sip")["outcome"] == outcome
    assert log["reached"] == "voicemail"
    assert retell.calls_registered[registered[0]["call_id"]]["call_status"] == "registered"


def test_sip_outcome_per_call_and_unregistered_calls_fail(
    twilio: FakeTwilio, retell: FakeRetell, retell_http: httpx.Client, app: TwimlApp, number: str
) -> None:
    agent_id = create_agent_with_tools(retell_http)["agent_id"]
    call = register(retell.base_url, agent_id, {"From": CALLER, "To": number, "CallSid": "CA" + "1" * 32})
    retell.set_sip_outcome("busy", call["call_id"])
    legs = [
        f"<Sip>sip:{call['call_id']}@sip.retellai.com</Sip>",
        "<Sip>sip:call_never_registered@sip.retellai.com</Sip>",
        "<Sip>sip:reception@pbx.example.com</Sip>",
    ]
    app.twiml("/voice", response(*(f"<Dial>{leg}</Dial>" for leg in legs)))

    log = twilio.play_call(CALLER, number)

    assert [each["outcome"] for each in log["steps"] if each["step"] == "dial_sip"] == [
        "busy",
        "failed",
        "failed",
    ]
    assert retell.sip_outcomes == {"*": "connected", call["call_id"]: "busy"}
    assert log["reached"] == "dead_line"  # nothing answered, nothing said
    with pytest.raises(ValueError, match="outcome must be one of"):
        retell.set_sip_outcome("maybe")


# -- custom tools ---------------------------------------------------------------------------------------


def test_llms_accept_and_echo_custom_tools_per_the_spec(
    retell: FakeRetell, retell_http: httpx.Client, rspec: OpenApiSpec
) -> None:
    # Given an LLM created with a custom tool beside end_call
    tool = {**TRANSFER_TOOL, "url": "https://api.example.com/tools/transfer", "args_at_root": False}
    tools = [*LLM_REQUEST["general_tools"], tool]
    created = body_of(
        retell_http.post("/create-retell-llm", json={**LLM_REQUEST, "general_tools": tools}), 201
    )

    # Then it is echoed as sent, valid against the spec, and each tool against the spec's CustomTool
    rspec.assert_valid(created, rspec.response_schema("/create-retell-llm", "post", 201))
    rspec.assert_valid(created["general_tools"][1], rspec.component_schema("CustomTool"))
    assert created["general_tools"] == tools

    # When the tool is changed by an update, Then the LLM echoes the new tools
    changed = {**tool, "timeout_ms": 30_000, "method": "PUT", "headers": {"X-Tenant": "t_42"}}
    updated = body_of(
        retell_http.patch(f"/update-retell-llm/{created['llm_id']}", json={"general_tools": [changed]}), 200
    )
    rspec.assert_valid(updated, rspec.response_schema("/update-retell-llm/{llm_id}", "patch", 200))
    assert updated["general_tools"] == [changed]
    fetched = body_of(retell_http.get(f"/get-retell-llm/{created['llm_id']}"), 200)
    assert fetched["general_tools"] == [changed]


def _without(tool: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in tool.items() if key != name}


_TOOL: dict[str, Any] = {**TRANSFER_TOOL, "url": "https://api.example.com/tools/transfer"}


@pytest.mark.parametrize(
    "tools",
    [
        [_without(_TOOL, "url")],
        [{**_TOOL, "url": "not a url"}],
        [{**_TOOL, "name": "transfer to owner"}],
        [{**_TOOL, "name": "x" * 65}],
        [{**_TOOL, "type": "webhook"}],
        [{**_TOOL, "parameters": {"properties": {}}}],
        [{**_TOOL, "parameters": {"type": "object"}}],
        [{**_TOOL, "parameters": {**_TOOL["parameters"], "required": ["missing"]}}],
        [{**_TOOL, "timeout_ms": 999}],
        [{**_TOOL, "timeout_ms": 600_001}],
        [{**_TOOL, "speak_after_execution": "yes"}],
        [{**_TOOL, "method": "HEAD"}],
        [{**_TOOL, "headers": {"X-Count": 3}}],
        [_TOOL, {**_TOOL, "description": "the same name twice"}],
        [{"type": "transfer_call", "name": "transfer"}],  # transfer_destination and transfer_option missing
        {"type": "custom"},
    ],
)
def test_llms_refuse_invalid_tools_like_retell(
    retell: FakeRetell, retell_http: httpx.Client, rspec: OpenApiSpec, tools: Any
) -> None:
    created = retell_http.post("/create-retell-llm", json={**LLM_REQUEST, "general_tools": tools})
    assert_retell_error(rspec, created, 400, "/create-retell-llm", "post")
    assert retell.llms == {}

    llm = body_of(retell_http.post("/create-retell-llm", json=LLM_REQUEST), 201)
    updated = retell_http.patch(f"/update-retell-llm/{llm['llm_id']}", json={"general_tools": tools})
    assert_retell_error(rspec, updated, 400, "/update-retell-llm/{llm_id}", "patch")
    assert retell.llms[llm["llm_id"]]["general_tools"] == LLM_REQUEST["general_tools"]


def test_a_call_invokes_its_agents_custom_tool_signed_as_call_events_are(
    retell: FakeRetell, retell_http: httpx.Client, rspec: OpenApiSpec, app: TwimlApp
) -> None:
    # Given an agent whose transfer tool is the app's /tool, and a call registered for it
    app.on("/tool", lambda _: (200, json.dumps({"result": "transferring"}), "application/json"))
    tool = {
        **TRANSFER_TOOL,
        "url": app.url("/tool"),
        "query_params": {"tenant": "t_42"},
        "headers": {"X-Tenant": "t_42"},
    }
    agent = create_agent_with_tools(retell_http, tool)
    call = register(
        retell.base_url, agent["agent_id"], {"From": CALLER, "To": "+61480000000", "CallSid": "CA" + "2" * 32}
    )

    # When the agent calls the tool (over the control surface)
    with FakeControl(retell.base_url) as control:
        answer = control.invoke_tool(call["call_id"], "transfer_to_owner", {"reason": "asked for the owner"})

    # Then the tool got Retell's custom-function request, signed like call events
    (received,) = app.requests("/tool")
    assert received.method == "POST" and received.headers["content-type"] == "application/json"
    assert received.url == app.url("/tool?tenant=t_42") and received.headers["x-tenant"] == "t_42"
    assert_signed_by_retell(received)
    body = json.loads(received.body)
    assert set(body) == {"name", "call", "args"}
    assert (body["name"], body["args"]) == ("transfer_to_owner", {"reason": "asked for the owner"})
    assert body["call"] == call
    rspec.assert_valid(body["call"], rspec.response_schema("/v2/get-call/{call_id}", "get", 200))

    # And the control endpoint answered what the tool answered, and the fake keeps it
    assert (answer["status"], json.loads(answer["body"])) == (200, {"result": "transferring"})
    assert (answer["call_id"], answer["name"], answer["method"]) == (
        call["call_id"],
        "transfer_to_owner",
        "POST",
    )
    assert len(answer["attempts"]) == 1
    assert retell.tool_calls == [answer]
    with FakeControl(retell.base_url) as control:
        assert control.tool_calls() == [answer]


def test_a_tool_with_args_at_root_gets_the_args_alone(
    retell: FakeRetell, retell_http: httpx.Client, app: TwimlApp
) -> None:
    app.on("/tool", lambda _: (204, "", "text/plain"))
    agent = create_agent_with_tools(
        retell_http, {**TRANSFER_TOOL, "url": app.url("/tool"), "args_at_root": True}
    )
    call = register(
        retell.base_url, agent["agent_id"], {"From": CALLER, "To": "+61480000000", "CallSid": "CA" + "3" * 32}
    )

    answer = retell.invoke_tool(call["call_id"], "transfer_to_owner", {"reason": "urgent"})

    (received,) = app.requests("/tool")
    assert json.loads(received.body) == {"reason": "urgent"}
    assert_signed_by_retell(received)
    assert (answer["status"], answer["body"]) == (204, "")


def test_the_tool_is_the_one_of_the_agent_version_the_call_runs(
    retell: FakeRetell, retell_http: httpx.Client, app: TwimlApp
) -> None:
    # Given version 0 calls /tool-v0, and a draft version 1 calls /tool-v1
    for path in ("/tool-v0", "/tool-v1"):
        app.on(path, lambda _: (200, "{}", "application/json"))
    agent = create_agent_with_tools(retell_http, {**TRANSFER_TOOL, "url": app.url("/tool-v0")})
    agent_id, llm_id = agent["agent_id"], agent["response_engine"]["llm_id"]
    body_of(retell_http.post(f"/create-agent-version/{agent_id}", json={"base_version": 0}), 201)
    new_tools = {"general_tools": [{**TRANSFER_TOOL, "url": app.url("/tool-v1")}]}
    body_of(retell_http.patch(f"/update-retell-llm/{llm_id}", params={"version": 1}, json=new_tools), 200)
    form = {"From": CALLER, "To": "+61480000000", "CallSid": "CA" + "4" * 32}
    pinned = body_of(
        retell_http.post(
            "/v2/register-phone-call",
            json={"agent_id": agent_id, "agent_version": 0, "from_number": form["From"]},
        ),
        201,
    )
    latest = register(retell.base_url, agent_id, form)

    # When each call's agent calls the tool, Then each reaches its own version's URL
    retell.invoke_tool(pinned["call_id"], "transfer_to_owner", {"reason": "a"})
    retell.invoke_tool(latest["call_id"], "transfer_to_owner", {"reason": "b"})
    assert [(each.path, json.loads(each.body)["args"]["reason"]) for each in app.received] == [
        ("/tool-v0", "a"),
        ("/tool-v1", "b"),
    ]


def test_a_failing_tool_is_retried_twice_and_a_slow_one_times_out(
    retell: FakeRetell, retell_http: httpx.Client, app: TwimlApp
) -> None:
    # Given a tool that fails twice then answers, and one slower than its timeout
    answers = [500, 502, 200]
    app.on("/flaky", lambda _: (answers.pop(0), "{}", "application/json"))
    app.slow("/slow", 1.5)
    flaky = {**TRANSFER_TOOL, "name": "flaky", "url": app.url("/flaky")}
    slow = {**TRANSFER_TOOL, "name": "slow", "url": app.url("/slow"), "timeout_ms": 1000}
    agent = create_agent_with_tools(retell_http, flaky, slow)
    call = register(
        retell.base_url, agent["agent_id"], {"From": CALLER, "To": "+61480000000", "CallSid": "CA" + "5" * 32}
    )

    # Then the flaky one succeeds on its third attempt
    answer = retell.invoke_tool(call["call_id"], "flaky", {"reason": "x"})
    assert [each["status"] for each in answer["attempts"]] == [500, 502, 200]
    assert answer["status"] == 200
    bodies = [each.body for each in app.requests("/flaky")]
    assert bodies[0] == bodies[1] == bodies[2]  # the same request, each signed afresh
    for each in app.requests("/flaky"):
        assert_signed_by_retell(each)

    # And the slow one has no answer after three attempts of one second
    timed_out = retell.invoke_tool(call["call_id"], "slow", {"reason": "y"})
    assert timed_out["status"] is None and len(timed_out["attempts"]) == 3
    assert all(each["error"] for each in timed_out["attempts"])


def test_tool_control_answers_404_for_an_unknown_call_or_tool(
    retell: FakeRetell, retell_http: httpx.Client
) -> None:
    agent = create_agent_with_tools(retell_http, {**TRANSFER_TOOL, "url": "https://api.example.com/t"})
    call = register(
        retell.base_url, agent["agent_id"], {"From": CALLER, "To": "+61480000000", "CallSid": "CA" + "6" * 32}
    )
    with FakeControl(retell.base_url) as control:
        for call_id, name in (
            (call["call_id"], "no_such_tool"),
            ("call_unknown", "transfer_to_owner"),
            (call["call_id"], "end_call"),
        ):
            with pytest.raises(httpx.HTTPStatusError) as refused:
                control.invoke_tool(call_id, name, {})
            assert refused.value.response.status_code == 404
        bad = httpx.post(f"{retell.base_url}/__control/calls/{call['call_id']}/tool", json={"args": {}})
        assert bad.status_code == 400
    with pytest.raises(LookupError):
        retell.invoke_tool("call_unknown", "transfer_to_owner")
    assert retell.tool_calls == []


# -- the transfer: a tool updates the live call ---------------------------------------------------------


def transfer_tool_updates_the_call(twilio: FakeTwilio, twiml: str) -> Handler:
    """The tool handler our backend will have: read the CallSid from the call's metadata and redirect
    the live call through the twilio SDK."""

    def transfer(received: Received) -> Answer:
        call = json.loads(received.body)["call"]
        client = TwilioClient(
            ACCOUNT_SID,
            AUTH_TOKEN,
            http_client=RedirectingHttpClient(twilio.base_url, timeout=5),
            environment={},
        )
        updated = client.calls(call["metadata"]["twilio_call_sid"]).update(twiml=twiml)
        return 200, json.dumps({"transferred": updated.sid}), "application/json"

    return transfer


def test_a_transfer_tool_interrupts_the_agent_and_the_call_plays_the_new_twiml(
    twilio: FakeTwilio, retell: FakeRetell, retell_http: httpx.Client, app: TwimlApp, number: str
) -> None:
    # Given an agent with a transfer tool that redirects the live call to the owner's number
    twilio.set_dial_outcome(PERSON, "answered", talk_seconds=60)
    new_twiml = response(
        "<Say>Putting you through.</Say>", f'<Dial callerId="{number}"><Number>{PERSON}</Number></Dial>'
    )
    app.on("/tool", transfer_tool_updates_the_call(twilio, new_twiml))
    agent = create_agent_with_tools(retell_http, {**TRANSFER_TOOL, "url": app.url("/tool")})
    registered: list[dict[str, Any]] = []
    serve_agent(app, retell, agent["agent_id"], registered)

    # (a) a caller rings and reaches the agent
    sid = twilio.place_call(CALLER, number)
    assert twilio.wait_for_call(sid, until="settled")["state"] == "with_agent"
    call_id = registered[0]["call_id"]

    # (b) while with the agent, the agent calls the transfer tool, which updates the live call
    answer = retell.invoke_tool(call_id, "transfer_to_owner", {"reason": "wants the owner"})
    assert (answer["status"], json.loads(answer["body"])) == (200, {"transferred": sid})

    # (c) the call went on with the new TwiML: the agent's leg hung up, the owner answered
    log = twilio.wait_for_call(sid)
    assert kinds(log) == ["webhook", "dial_sip", "updated", "say", "dial_number", "hangup"]
    assert step(log, "dial_sip")["ended_by"] == "update"
    assert step(log, "updated") == {"step": "updated", "twiml": new_twiml}
    assert (step(log, "dial_number")["number"], step(log, "dial_number")["caller_id"]) == (PERSON, number)
    assert (log["reached"], log["status"]) == ("person", "completed")
    assert app.requests("/after-agent") == []
    wait_until(lambda: retell.sip_leg_status(call_id) == "ended")
    assert retell.calls_registered[call_id]["disconnection_reason"] == "user_hangup"


def test_an_update_to_a_url_fetches_it_signed_with_its_own_fallback(
    twilio: FakeTwilio,
    twilio_http: httpx.Client,
    retell: FakeRetell,
    retell_http: httpx.Client,
    app: TwimlApp,
    number: str,
) -> None:
    serve_agent(app, retell, create_agent_with_tools(retell_http)["agent_id"], [])
    app.twiml("/transfer", "broken", status=500, content_type="text/plain")
    app.twiml(
        "/transfer-fallback", response("<Say>The owner is unavailable. Leave a message.</Say>", "<Record/>")
    )
    sid = twilio.place_call(CALLER, number)
    twilio.wait_for_call(sid, until="settled")

    body_of(
        twilio_http.post(
            f"/Calls/{sid}.json",
            data={
                "Url": app.url("/transfer"),
                "Method": "POST",
                "FallbackUrl": app.url("/transfer-fallback"),
            },
        ),
        200,
    )
    log = twilio.wait_for_call(sid)

    assert kinds(log)[:6] == ["webhook", "dial_sip", "updated", "update_url", "fallback_webhook", "say"]
    assert app.requests("/transfer-fallback")[0].form["ErrorUrl"] == app.url("/transfer")
    assert app.requests("/fallback") == []  # the update's FallbackUrl, not the number's
    assert_signed_by_twilio(app.received)
    assert log["reached"] == "voicemail"


# -- the same over HTTP, as from another process --------------------------------------------------------


def test_the_call_path_over_the_control_surface(
    twilio: FakeTwilio, retell: FakeRetell, retell_http: httpx.Client, app: TwimlApp, number: str
) -> None:
    with FakeControl(twilio.base_url) as twilio_control, FakeControl(retell.base_url) as retell_control:
        # Given the fake Twilio reaches the fake Retell through its control URL, and a short timeout
        config = twilio_control.configure_voice(webhook_timeout_ms=2000, sip_peer_url=retell.base_url)
        assert config == {"webhook_timeout_ms": 2000, "sip_peer_url": retell.base_url, "price_delay_ms": 0.0}
        assert twilio_control.set_dial_outcome(PERSON, "answered", 12) == {
            PERSON: {"outcome": "answered", "talk_seconds": 12}
        }
        new_twiml = response(f"<Dial><Number>{PERSON}</Number></Dial>")
        app.on("/tool", transfer_tool_updates_the_call(twilio, new_twiml))
        agent = create_agent_with_tools(retell_http, {**TRANSFER_TOOL, "url": app.url("/tool")})
        registered: list[dict[str, Any]] = []
        serve_agent(app, retell, agent["agent_id"], registered)

        # When a call is placed and settles with the agent
        placed = twilio_control.place_call(CALLER, number, wait="settled")
        sid = placed["call_sid"]
        assert (placed["state"], placed["reached"]) == ("with_agent", "agent")
        assert twilio_control.call_log(sid)["state"] == "with_agent"

        # And the agent transfers the caller
        answer = retell_control.invoke_tool(
            registered[0]["call_id"], "transfer_to_owner", {"reason": "owner"}
        )
        assert answer["status"] == 200
        log = twilio_control.wait_for_call(sid)

        # Then the caller reached the owner, and the state shows it
        assert (log["reached"], log["finished"]) == ("person", True)
        voice = twilio_control.voice()
        assert voice["calls"][sid] == log
        assert set(voice) == {"calls", "recordings", "dial_outcomes", "config"}

        # And a played call, a 404 for an unknown sid, 400s for bad requests
        app.twiml("/voice", response("<Say>Closed.</Say>"))
        assert twilio_control.play_call(CALLER, number)["reached"] == "message"
        for request in (
            lambda: twilio_control.call_log("CA" + "0" * 32),
            lambda: twilio_control.wait_for_call("CA" + "0" * 32, timeout_ms=10),
        ):
            with pytest.raises(httpx.HTTPStatusError) as unknown:
                request()
            assert unknown.value.response.status_code == 404
        for path, payload in (
            ("/__control/calls/place", {"from": CALLER, "to": "+61499999999"}),
            ("/__control/calls/place", {"from": CALLER}),
            ("/__control/calls/place", {"from": CALLER, "to": number, "wait": "forever"}),
            ("/__control/dial_outcomes", {"number": PERSON, "outcome": "maybe"}),
            ("/__control/voice_config", {"webhook_timeout_ms": 0}),
            ("/__control/voice_config", {"colour": "red"}),
        ):
            assert httpx.post(twilio.base_url + path, json=payload).status_code == 400, payload
        assert httpx.post(retell.base_url + "/__control/sip", json={"outcome": "maybe"}).status_code == 400

        # And reset forgets played calls and the voice configuration
        twilio_control.reset()
        assert twilio_control.voice() == {
            "calls": {},
            "recordings": {},
            "dial_outcomes": {},
            "config": {"webhook_timeout_ms": 15_000, "sip_peer_url": None, "price_delay_ms": 0.0},
        }
        assert twilio_control.state() == {
            "owned": {},
            "config": {"require_bundle": False, "require_address": False, "regulations": False},
        }


def test_reset_ends_a_call_held_with_the_agent(
    twilio: FakeTwilio, retell: FakeRetell, retell_http: httpx.Client, app: TwimlApp, number: str
) -> None:
    serve_agent(app, retell, create_agent_with_tools(retell_http)["agent_id"], [])
    sid = twilio.place_call(CALLER, number)
    twilio.wait_for_call(sid, until="settled")
    played = twilio._played[sid]

    twilio.reset()

    wait_until(lambda: played.finished, seconds=2)
    with pytest.raises(LookupError):
        twilio.call_log(sid)


def test_placing_a_call_needs_an_owned_number(twilio: FakeTwilio) -> None:
    with pytest.raises(ValueError, match="not a number of this account"):
        twilio.place_call(CALLER, "+61480000000")
