"""Fake Twilio REST API 2010-04-01: available numbers, the account's IncomingPhoneNumbers, and calls.

Shapes follow twilio-oai `twilio_api_v2010.json`. One account, HTTP Basic auth (account SID + auth
token). Every error body is `{code, message, more_info, status}`. The fake offers a fixed inventory per
country and number type (`local.fakes.twilio_numbers`; AU mobile: 200 numbers from +61480000000), and
answers 404 for a type Twilio does not sell in a country; numbers the account owns are not offered,
released numbers are offered again.

Operations (the fault-injection keys): search_numbers, buy_number, list_numbers, fetch_number,
update_number, release_number, fetch_call, list_calls, update_call, fetch_recording,
fetch_recording_media.

Played inbound calls (the call path; how a call is played is in `local.fakes.voice`). A test places a
call from a caller to a number the account owns; it plays in a background thread, so the test can
act while the caller is with the agent:

    place_call(from, to, message_seconds=5) -> CallSid   POST /__control/calls/place
        {"from", "to", "message_seconds"?, "wait"?: "none" | "settled" | "finished", "timeout_ms"?}
        -> 201 the log (at once, or once the call is settled / finished: see wait)
    call_log(sid) -> log                                  GET  /__control/calls/{CallSid}/log
    wait_for_call(sid, timeout_s, until) -> log           POST /__control/calls/{CallSid}/wait
        {"until": "finished" | "settled", "timeout_ms"?}: until the call finished, or ("settled") is
        finished or with the agent, or the timeout (10 s by default) passed
    play_call(from, to, timeout_s) -> log                 place, then wait until finished
    set_dial_outcome(address, outcome, talk_seconds)      POST /__control/dial_outcomes
        {"number", "outcome": answered | no-answer | busy | failed, "talk_seconds"?}: how a dialled
        <Number> (or non-Retell SIP address) answers; numbers default to no-answer
    configure_voice(webhook_timeout_ms, sip_peer_url, price_delay_ms)  POST /__control/voice_config
        how long a webhook may take (15,000 ms as at Twilio); how long after a call ends its price
        appears (0 by default; read when the call is placed); the fake Retell's base URL, whose
        /__control/sip/* endpoints decide SIP legs (`connect_sip_peer(fake_retell)` links one in the
        same process instead, and survives reset(); a configured URL wins over it)
    voice() -> {calls, recordings, dial_outcomes, config} GET  /__control/voice

A log is {call_sid, from, to, status, state: playing | with_agent | finished, finished, reached,
steps}; an unknown CallSid is a 404 from the control endpoints. The REST side: fetch a call (or one
of its `<Dial>` legs), list calls (`ParentCallSid` lists a call's legs; one page), update a live one
(`Twiml`, `Url`, `Method`, `Status`, `FallbackUrl`, `FallbackMethod`: the spec's UpdateCall),
and the recordings <Record> made (`.json`, and the media at the bare URL, `.wav` and `.mp3`).
`state()` keeps its shape ({owned, config}); the call path's state is read through `voice()`.

Error codes it answers with:
    20003 401  wrong or missing credentials
    20008 403  Twilio's test credentials on anything but a purchase (local/fakes/twilio_test_credentials.py)
    20404 404  unknown route, foreign AccountSid in the path, unknown or released number SID
    21421 400  PhoneNumber missing or not E.164 (Twilio's "PhoneNumber is invalid"; the fake has no
               AreaCode purchase, and the stored material names no separate "missing" code)
    21422 400  PhoneNumber not in the inventory, or already owned
    21649 400  configure(require_bundle=True) and no BundleSid; with configure(regulations=True), a
               number whose country needs a bundle bought without a twilio-approved one of its
               country and type (local.fakes.twilio_numbers has the rules and the registry)
    21631 400  configure(require_address=True) and no AddressSid; with regulations, a number that needs
               an address bought without one of the account's
    21615 400  with regulations, a number that needs an address in its country bought with another
    20002 400  FriendlyName longer than 64 characters
    20001 400  any other malformed parameter (bad SID, method, boolean, URL, page size, pattern);
               a call update with both Twiml and Url, or with none of Twiml, Url and Status
    21220 400  a call update for a call that is no longer live ("Call is not in-progress. Cannot
               redirect.")
    12100 400  a call update whose Twiml is not a document the fake plays
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from local.fakes.server import (
    FakeServer,
    IdFactory,
    JsonObject,
    ProviderError,
    Request,
    Response,
    Route,
    json_response,
    no_content,
    route,
    silent_wav,
)
from local.fakes.twilio_numbers import BLOCK_OF_NUMBER, INVENTORY, SOLD, NumberBlock, RegulatoryRegistry
from local.fakes.twilio_test_credentials import answer_test_request, is_test_pair
from local.fakes.twiml import DOCUMENT_PARSE_FAILURE, TwimlError, parse
from local.fakes.voice import (
    DEFAULT_MESSAGE_SECONDS,
    DEFAULT_WEBHOOK_TIMEOUT_MS,
    CallNotLive,
    DialOutcome,
    HttpSipPeer,
    Line,
    PlayedCall,
    SipPeer,
    Update,
)

API_VERSION = "2010-04-01"

AUTHENTICATE = 20003
INVALID_PARAMETER = 20001
INVALID_FRIENDLY_NAME = 20002
NOT_FOUND = 20404
TOO_MANY_REQUESTS = 20429
PHONE_NUMBER_INVALID = 21421
PHONE_NUMBER_NOT_AVAILABLE = 21422
ADDRESS_REQUIRED = 21631
BUNDLE_REQUIRED = 21649
CALL_NOT_IN_PROGRESS = 21220

_DEFAULT_CODES = {401: AUTHENTICATE, 404: NOT_FOUND, 429: TOO_MANY_REQUESTS}
_FRIENDLY_NAME_MAX = 64
_DEFAULT_PAGE_SIZE = 50
_MAX_PAGE_SIZE = 1000
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_ACCOUNT = r"/2010-04-01/Accounts/(?P<account_sid>[^/]+)"
_KEYPAD = {
    letter: digit
    for digit, letters in enumerate(("ABC", "DEF", "GHI", "JKL", "MNO", "PQRS", "TUV", "WXYZ"), 2)
    for letter in letters
}


@dataclass
class VoiceConfig:
    """How played calls reach the outside: the webhook timeout, and where SIP legs to Retell go."""

    webhook_timeout_ms: float = DEFAULT_WEBHOOK_TIMEOUT_MS
    sip_peer_url: str | None = None
    price_delay_ms: float = 0.0


@dataclass
class TwilioConfig:
    """Account-level rules the tests switch on: regulated numbers need a Bundle and/or an Address."""

    require_bundle: bool = False
    require_address: bool = False
    # Each country's rules, against the seeded bundles and addresses (twilio_numbers).
    regulations: bool = False


class FakeTwilio(FakeServer):
    """In-memory Twilio account: search AU mobile numbers, buy one, point its VoiceUrl at us, release it."""

    def __init__(
        self,
        account_sid: str = "AC" + "a" * 32,
        auth_token: str = "token_test",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._owned: dict[str, JsonObject] = {}
        self._config = TwilioConfig()
        self._number_sids = IdFactory("PN", 32)
        self._call_sids = IdFactory("CA", 32)
        self._recording_sids = IdFactory("RE", 32)
        self._played: dict[str, PlayedCall] = {}
        self._recordings: dict[str, JsonObject] = {}
        self._dial_outcomes: dict[str, DialOutcome] = {}
        self._voice_config = VoiceConfig()
        self._sip_peer: SipPeer | None = None  # wiring, not state: reset() keeps it
        self._regulatory = RegulatoryRegistry()  # wiring too: the local stack seeds it once

    # -- state and configuration ---------------------------------------------------------------------

    @property
    def owned(self) -> dict[str, JsonObject]:
        """The account's IncomingPhoneNumbers by SID, as served (a deep copy)."""
        with self._lock:
            return copy.deepcopy(self._owned)

    def configure(
        self, require_bundle: bool = False, require_address: bool = False, regulations: bool = False
    ) -> None:
        with self._lock:
            self._config = TwilioConfig(require_bundle, require_address, regulations)

    def seed_regulatory(self, bundles: list[JsonObject], addresses: list[JsonObject]) -> None:
        """The account's bundles and addresses (``twilio_numbers.RegulatoryRegistry.seed``)."""
        with self._lock:
            self._regulatory.seed(bundles, addresses)

    def _state_snapshot(self) -> JsonObject:
        return {"owned": self._owned, "config": asdict(self._config)}

    def _clear_state(self) -> None:
        self._owned.clear()
        self._config = TwilioConfig()
        for played in self._played.values():
            played.cancel()
        self._played.clear()
        self._recordings.clear()
        self._dial_outcomes.clear()
        self._voice_config = VoiceConfig()

    def stop(self) -> None:
        with self._lock:
            for played in self._played.values():
                played.cancel()
        super().stop()

    # -- played calls (module docstring) ---------------------------------------------------------------

    def connect_sip_peer(self, peer: SipPeer | None) -> None:
        """The fake Retell (or any SipPeer) that answers `<Sip>` legs to retellai.com, in this process."""
        with self._lock:
            self._sip_peer = peer

    def configure_voice(
        self,
        webhook_timeout_ms: float | None = None,
        sip_peer_url: str | None = None,
        price_delay_ms: float | None = None,
    ) -> JsonObject:
        """Change the given settings (None keeps one); `sip_peer_url=""` forgets the URL."""
        if webhook_timeout_ms is not None and webhook_timeout_ms <= 0:
            raise ValueError("webhook_timeout_ms must be positive")
        if price_delay_ms is not None and price_delay_ms < 0:
            raise ValueError("price_delay_ms cannot be negative")
        with self._lock:
            if price_delay_ms is not None:
                self._voice_config.price_delay_ms = price_delay_ms
            if webhook_timeout_ms is not None:
                self._voice_config.webhook_timeout_ms = webhook_timeout_ms
            if sip_peer_url is not None:
                self._voice_config.sip_peer_url = sip_peer_url or None
            return asdict(self._voice_config)

    def set_dial_outcome(self, address: str, outcome: str, talk_seconds: int = 30) -> None:
        """How a dialled `<Number>` (or SIP address not at Retell) ends: answered, no-answer, busy, failed."""
        setting = DialOutcome(outcome, talk_seconds if outcome == "answered" else 0)
        with self._lock:
            self._dial_outcomes[address] = setting

    def place_call(
        self, from_number: str, to_number: str, *, message_seconds: int = DEFAULT_MESSAGE_SECONDS
    ) -> str:
        """Start playing a call from `from_number` to the account's number `to_number`; its CallSid."""
        if message_seconds < 0:
            raise ValueError("message_seconds cannot be negative")
        with self._lock:
            number = next((each for each in self._owned.values() if each["phone_number"] == to_number), None)
            if number is None:
                raise ValueError(f"{to_number} is not a number of this account")
            block = BLOCK_OF_NUMBER.get(to_number)
            played = PlayedCall(
                sid=self._call_sids.new(),
                caller=from_number,
                number=copy.deepcopy(number),
                to_country=block.iso_country if block else "",
                line=self._line(),
                message_seconds=message_seconds,
            )
            self._played[played.sid] = played
        played.start()
        return played.sid

    def call_log(self, call_sid: str) -> JsonObject:
        return self._played_call(call_sid).log()

    def wait_for_call(self, call_sid: str, timeout_s: float = 10.0, until: str = "finished") -> JsonObject:
        """The log once the call finished (`until="settled"`: or is with the agent), or at the timeout."""
        return self._played_call(call_sid).wait(timeout_s, until)

    def play_call(
        self,
        from_number: str,
        to_number: str,
        *,
        message_seconds: int = DEFAULT_MESSAGE_SECONDS,
        timeout_s: float = 10.0,
    ) -> JsonObject:
        """Place a call and wait until it finished: its log (unfinished if the timeout came first)."""
        sid = self.place_call(from_number, to_number, message_seconds=message_seconds)
        return self.wait_for_call(sid, timeout_s)

    def voice(self) -> JsonObject:
        """The call path's state: played calls' logs, recordings, dial settings, voice configuration."""
        with self._lock:
            played = list(self._played.values())
            snapshot = {
                "recordings": copy.deepcopy(self._recordings),
                "dial_outcomes": {address: asdict(each) for address, each in self._dial_outcomes.items()},
                "config": asdict(self._voice_config),
            }
        return {"calls": {each.sid: each.log() for each in played}, **snapshot}

    def _played_call(self, call_sid: str) -> PlayedCall:
        with self._lock:
            played = self._played.get(call_sid)
        if played is None:
            raise LookupError(f"no played call {call_sid!r}")
        return played

    def _line(self) -> Line:
        return Line(
            account_sid=self.account_sid,
            auth_token=self.auth_token,
            base_url=self.base_url,
            webhook_timeout_seconds=self._voice_config.webhook_timeout_ms / 1000,
            dial_outcome=self._dial_outcome_of,
            sip_peer=self._current_sip_peer,
            new_call_sid=self._call_sids.new,
            new_recording=self._new_recording,
            price_delay_seconds=self._voice_config.price_delay_ms / 1000,
        )

    def _dial_outcome_of(self, address: str) -> DialOutcome | None:
        with self._lock:
            return self._dial_outcomes.get(address)

    def _current_sip_peer(self) -> SipPeer | None:
        with self._lock:
            url = self._voice_config.sip_peer_url
            return HttpSipPeer(url) if url else self._sip_peer

    def _new_recording(self, call_sid: str, seconds: int) -> str:
        sid = self._recording_sids.new()
        now = _rfc2822_now()
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{sid}"
        with self._lock:
            if call_sid not in self._played:
                return sid  # the call was reset away while it played: keep the fresh state clean
            self._recordings[sid] = {
                "account_sid": self.account_sid,
                "api_version": API_VERSION,
                "call_sid": call_sid,
                "conference_sid": None,
                "date_created": now,
                "date_updated": now,
                "start_time": now,
                "duration": str(seconds),
                "sid": sid,
                "price": None,
                "price_unit": "USD",
                "status": "completed",
                "channels": 1,
                "source": "RecordVerb",
                "error_code": None,
                "uri": f"{base}.json",
                "encryption_details": None,
                "subresource_uris": {
                    "add_on_results": f"{base}/AddOnResults.json",
                    "transcriptions": f"{base}/Transcriptions.json",
                },
                "media_url": f"{self.base_url}{base}",
            }
        return sid

    # -- control endpoints ---------------------------------------------------------------------------

    def _control_routes(self) -> list[Route]:
        call = r"/__control/calls/(?P<sid>[^/]+)"
        return [
            route("POST", r"/__control/config", "control_config", self._control_config),
            route("POST", r"/__control/regulatory", "control_regulatory", self._control_regulatory),
            route("GET", r"/__control/regulatory", "control_regulatory", self._control_regulatory),
            route("POST", r"/__control/voice_config", "control_voice_config", self._control_voice_config),
            route("POST", r"/__control/dial_outcomes", "control_dial_outcomes", self._control_dial_outcome),
            route("GET", r"/__control/voice", "control_voice", lambda _: json_response(200, self.voice())),
            route("POST", r"/__control/calls/place", "control_place_call", self._control_place_call),
            route("GET", rf"{call}/log", "control_call_log", self._control_call_log),
            route("POST", rf"{call}/wait", "control_wait_call", self._control_wait_call),
        ]

    def _control_voice_config(self, request: Request) -> Response:
        """`{webhook_timeout_ms?, sip_peer_url?, price_delay_ms?}`: the keys given change, the others stay."""
        changes = request.json_object()
        timeout, url = changes.get("webhook_timeout_ms"), changes.get("sip_peer_url")
        delay = changes.get("price_delay_ms")
        if (
            set(changes) - {"webhook_timeout_ms", "sip_peer_url", "price_delay_ms"}
            or not all(isinstance(each, int | float | None) for each in (timeout, delay))
            or any(isinstance(each, bool) for each in (timeout, delay))
            or not isinstance(url, str | None)
        ):
            raise ValueError(
                "voice_config takes webhook_timeout_ms and price_delay_ms (numbers), sip_peer_url (a string)"
            )
        return json_response(200, self.configure_voice(timeout, url, delay))

    def _control_dial_outcome(self, request: Request) -> Response:
        """`{number, outcome, talk_seconds?}`: how that dialled number answers from now on."""
        options = request.json_object()
        number, talk = options.get("number"), options.get("talk_seconds", 30)
        if (
            set(options) - {"number", "outcome", "talk_seconds"}
            or not isinstance(number, str)
            or not isinstance(talk, int)
            or isinstance(talk, bool)
        ):
            raise ValueError("dial_outcomes takes number (a string), outcome and talk_seconds (an integer)")
        self.set_dial_outcome(number, str(options.get("outcome")), talk)
        return json_response(200, self.voice()["dial_outcomes"])

    def _control_place_call(self, request: Request) -> Response:
        """`{from, to, message_seconds?, wait?, timeout_ms?}`: place a call; its log (see the docstring)."""
        options = request.json_object()
        unknown = set(options) - {"from", "to", "message_seconds", "wait", "timeout_ms"}
        caller, called = options.get("from"), options.get("to")
        seconds = options.get("message_seconds", DEFAULT_MESSAGE_SECONDS)
        wait = options.get("wait", "none")
        if (
            unknown
            or not isinstance(caller, str)
            or not isinstance(called, str)
            or not isinstance(seconds, int)
            or wait not in ("none", "settled", "finished")
        ):
            raise ValueError(
                "place takes from and to (strings), message_seconds (an integer), "
                "wait (none, settled or finished) and timeout_ms"
            )
        sid = self.place_call(caller, called, message_seconds=seconds)
        if wait == "none":
            return json_response(201, self.call_log(sid))
        return json_response(201, self.wait_for_call(sid, _timeout_seconds(options), wait))

    def _control_call_log(self, request: Request) -> Response:
        try:
            return json_response(200, self.call_log(request.path_params["sid"]))
        except LookupError as error:
            return json_response(404, {"error": str(error.args[0])})

    def _control_wait_call(self, request: Request) -> Response:
        """`{until?: finished | settled, timeout_ms?}`: the log once there, or at the timeout."""
        options = request.json_object(required=False)
        until = options.get("until", "finished")
        if set(options) - {"until", "timeout_ms"} or until not in ("finished", "settled"):
            raise ValueError("wait takes until (finished or settled) and timeout_ms")
        try:
            return json_response(
                200, self.wait_for_call(request.path_params["sid"], _timeout_seconds(options), until)
            )
        except LookupError as error:
            return json_response(404, {"error": str(error.args[0])})

    def _control_regulatory(self, request: Request) -> Response:
        """POST `{bundles?: [{sid, iso_country, number_type, status?}], addresses?: [{sid, iso_country}]}`
        adds to the registry; GET reads it."""
        if request.method == "POST":
            seed = request.json_object()
            self.seed_regulatory(seed.get("bundles") or [], seed.get("addresses") or [])
        with self._lock:
            return json_response(200, self._regulatory.snapshot())

    def _control_config(self, request: Request) -> Response:
        """`{require_bundle?, require_address?}`: the keys given change, the others stay."""
        changes = request.json_object()
        unknown = set(changes) - {"require_bundle", "require_address", "regulations"}
        if unknown or not all(isinstance(value, bool) for value in changes.values()):
            raise ValueError("config takes booleans require_bundle, require_address and regulations")
        with self._lock:
            self._config = TwilioConfig(**{**asdict(self._config), **changes})
            return json_response(200, asdict(self._config))

    # -- provider plumbing -----------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        numbers = f"{_ACCOUNT}/IncomingPhoneNumbers"
        number = rf"{numbers}/(?P<sid>[^/]+)\.json"
        number_type = r"(?P<number_type>Mobile|Local|TollFree)"
        available = rf"{_ACCOUNT}/AvailablePhoneNumbers/(?P<country>[^/]+)/{number_type}\.json"
        recording = rf"{_ACCOUNT}/Recordings/(?P<sid>[^/.]+)"
        return [
            route("GET", available, "search_numbers", self._search_numbers),
            route("POST", rf"{numbers}\.json", "buy_number", self._buy_number),
            route("GET", rf"{numbers}\.json", "list_numbers", self._list_numbers),
            route("GET", number, "fetch_number", self._fetch_number),
            route("POST", number, "update_number", self._update_number),
            route("DELETE", number, "release_number", self._release_number),
            route("GET", rf"{_ACCOUNT}/Calls\.json", "list_calls", self._list_calls),
            route("GET", rf"{_ACCOUNT}/Calls/(?P<sid>[^/]+)\.json", "fetch_call", self._fetch_call),
            route("POST", rf"{_ACCOUNT}/Calls/(?P<sid>[^/]+)\.json", "update_call", self._update_call),
            route("GET", rf"{recording}\.json", "fetch_recording", self._fetch_recording),
            route(
                "GET",
                rf"{recording}(?P<extension>\.wav|\.mp3)?",
                "fetch_recording_media",
                self._recording_media,
            ),
        ]

    def _check_access(self, request: Request) -> Response | None:
        credentials = _basic_credentials(request.header("Authorization"))
        if is_test_pair(credentials):  # Twilio's test credentials: local/fakes/twilio_test_credentials.py
            return self._answer_test_credentials(request)
        if credentials != (self.account_sid, self.auth_token):
            return self._error(401, None, None, request)
        if request.path_params.get("account_sid") != self.account_sid:
            return self._error(404, None, None, request)
        return None

    def _answer_test_credentials(self, request: Request) -> Response:
        test_block = NumberBlock("US", "Local", 1_500_555_0000, 10, "none", sms=True)
        try:
            with self._lock:
                return answer_test_request(
                    request,
                    lambda phone: self._new_number(test_block, phone),
                    lambda: _number_settings(request.form()),
                )
        except ProviderError as error:
            return self._error(error.status, error.message, error.code, request)

    def _error(self, status: int, message: str | None, code: int | None, request: Request) -> Response:
        code = code if code is not None else _DEFAULT_CODES.get(status, status)
        return json_response(
            status,
            {
                "code": code,
                "message": message or _default_message(status, request),
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )

    # -- AvailablePhoneNumbers -----------------------------------------------------------------------------

    def _search_numbers(self, request: Request) -> Response:
        country = request.path_params["country"].upper()
        number_type = request.path_params["number_type"]
        if (country, number_type) not in SOLD:  # Twilio's answer for a type it does not sell there
            return self._error(404, None, None, request)
        page_size = _page_size(request)
        keep = _search_filter(request)
        owned = {resource["phone_number"] for resource in self._owned.values()}
        offered = [
            _available_number(block, number)
            for block in INVENTORY
            if (block.iso_country, block.number_type) == (country, number_type)
            for number in block.numbers()
            if number not in owned and keep(block, number)
        ]
        # Twilio answers one page of candidates; there is no next page to walk to.
        return json_response(
            200,
            _page_body(
                "available_phone_numbers", offered[:page_size], request=request, page=0, page_size=page_size
            ),
        )

    # -- IncomingPhoneNumbers ----------------------------------------------------------------------------

    def _buy_number(self, request: Request) -> Response:
        form = request.form()
        phone_number = _plus_restored(form.get("PhoneNumber", "")).strip()
        if not phone_number:
            raise ProviderError(400, "A 'PhoneNumber' is required.", PHONE_NUMBER_INVALID)
        if not _E164.fullmatch(phone_number):
            raise ProviderError(400, f"PhoneNumber {phone_number} is invalid.", PHONE_NUMBER_INVALID)
        settings = _number_settings(form)
        block = BLOCK_OF_NUMBER.get(phone_number)
        owned = any(resource["phone_number"] == phone_number for resource in self._owned.values())
        if block is None or owned:
            raise ProviderError(400, "PhoneNumber is not available", PHONE_NUMBER_NOT_AVAILABLE)
        if self._config.regulations:
            self._regulatory.refuse_purchase(block, settings.get("bundle_sid"), settings.get("address_sid"))
        if self._config.require_bundle and not settings.get("bundle_sid"):
            raise ProviderError(
                400,
                f"Bundle required and not provided for country: [{block.iso_country}] "
                f"and numberType: [{block.number_type.upper()}]",
                BUNDLE_REQUIRED,
            )
        if self._config.require_address and not settings.get("address_sid"):
            raise ProviderError(
                400,
                'Phone number Requires an Address but the "AddressSid" parameter was empty.',
                ADDRESS_REQUIRED,
            )
        resource = self._new_number(block, phone_number)
        resource.update(settings)
        self._owned[resource["sid"]] = resource
        return json_response(201, resource)

    def _new_number(self, block: NumberBlock, phone_number: str) -> JsonObject:
        """Every property of the spec's incoming_phone_number, with what Twilio sets by default."""
        sid = self._number_sids.new()
        now = _rfc2822_now()
        return {
            "account_sid": self.account_sid,
            "address_sid": None,
            "address_requirements": block.address_requirements,
            "api_version": API_VERSION,
            "beta": False,
            "capabilities": block.capabilities,
            "date_created": now,
            "date_updated": now,
            "friendly_name": phone_number,
            "identity_sid": None,
            "phone_number": phone_number,
            "origin": "twilio",
            "sid": sid,
            "sms_application_sid": None,
            "sms_fallback_method": "POST",
            "sms_fallback_url": "",
            "sms_method": "POST",
            "sms_url": "",
            "status_callback": "",
            "status_callback_method": "POST",
            "trunk_sid": None,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/IncomingPhoneNumbers/{sid}.json",
            "voice_receive_mode": "voice",
            "voice_application_sid": None,
            "voice_caller_id_lookup": False,
            "voice_fallback_method": "POST",
            "voice_fallback_url": None,
            "voice_method": "POST",
            "voice_url": None,
            "emergency_status": "Inactive",
            "emergency_address_sid": None,
            "emergency_address_status": "unregistered",
            "bundle_sid": None,
            "status": "in-use",
            "type": block.resource_type,
        }

    def _list_numbers(self, request: Request) -> Response:
        page_size = _page_size(request)
        page = _non_negative_int(request.query_value("Page") or "0", "Page")
        friendly_name = request.query_value("FriendlyName")
        phone_pattern = _phone_number_filter(request.query_value("PhoneNumber"))
        origin = request.query_value("Origin")
        matching = [
            self._owned[sid]
            for sid in sorted(self._owned)  # SIDs sort in purchase order (IdFactory)
            if (friendly_name is None or self._owned[sid]["friendly_name"] == friendly_name)
            and (phone_pattern is None or phone_pattern.search(self._owned[sid]["phone_number"]))
            and (origin is None or self._owned[sid]["origin"] == origin)
        ]
        page_token = request.query_value("PageToken")
        if page_token:
            # The token names the last SID already served: stable even if numbers were released since.
            # One the fake did not issue is refused, as an expired or foreign token would be (the
            # stored contract names no code for it: the fake's 20001).
            if not _ISSUED_PAGE_TOKEN.fullmatch(page_token):
                raise _invalid(f"PageToken {page_token!r} is not valid")
            remaining = [resource for resource in matching if resource["sid"] > page_token[2:]]
        else:
            remaining = matching[page * page_size :]
        records = remaining[:page_size]
        next_token = f"PA{records[-1]['sid']}" if len(remaining) > page_size else None
        return json_response(
            200,
            _page_body(
                "incoming_phone_numbers",
                records,
                request=request,
                page=page,
                page_size=page_size,
                next_page_token=next_token,
            ),
        )

    def _fetch_number(self, request: Request) -> Response:
        return json_response(200, self._find_number(request))

    def _update_number(self, request: Request) -> Response:
        resource = self._find_number(request)
        resource.update(_number_settings(request.form()))
        resource["date_updated"] = _rfc2822_now()
        return json_response(200, resource)

    def _release_number(self, request: Request) -> Response:
        del self._owned[self._find_number(request)["sid"]]
        return no_content()

    def _find_number(self, request: Request) -> JsonObject:
        resource = self._owned.get(request.path_params["sid"])
        if resource is None:
            raise ProviderError(404, _default_message(404, request), NOT_FOUND)
        return resource

    # -- Calls -------------------------------------------------------------------------------------------

    def _fetch_call(self, request: Request) -> Response:
        sid = request.path_params["sid"]
        with self._lock:
            played = list(self._played.values())
        for call in played:
            found = (
                call.resource(self.account_sid)
                if call.sid == sid
                else call.leg_resource(self.account_sid, sid)
            )
            if found is not None:
                return json_response(200, found)
        raise ProviderError(404, _default_message(404, request), NOT_FOUND)

    def _list_calls(self, request: Request) -> Response:
        """The account's calls and their legs, newest first; `ParentCallSid` keeps one call's legs.
        One page (the fake's calls are few): no next page."""
        page_size = _page_size(request)
        parent = request.query_value("ParentCallSid")
        with self._lock:
            played = list(self._played.values())
        records: list[JsonObject] = []
        for call in reversed(played):
            if parent is None:
                records.append(call.resource(self.account_sid))
            if parent in (None, call.sid):
                records += call.leg_resources(self.account_sid)
        body = _page_body("calls", records[:page_size], request=request, page=0, page_size=page_size)
        return json_response(200, body)

    def _update_call(self, request: Request) -> Response:
        """The spec's UpdateCall: redirect a live call to new TwiML or a URL, or end it."""
        played = self._find_call(request)
        update = _call_update(request.form())
        try:
            played.request_update(update)
        except CallNotLive as error:
            raise ProviderError(
                400, "Call is not in-progress. Cannot redirect.", CALL_NOT_IN_PROGRESS
            ) from error
        return json_response(200, played.resource(self.account_sid))

    def _find_call(self, request: Request) -> PlayedCall:
        played = self._played.get(request.path_params["sid"])
        if played is None:
            raise ProviderError(404, _default_message(404, request), NOT_FOUND)
        return played

    # -- Recordings --------------------------------------------------------------------------------------

    def _fetch_recording(self, request: Request) -> Response:
        return json_response(200, self._find_recording(request))

    def _recording_media(self, request: Request) -> Response:
        """The audio: WAV at the bare URL and `.wav`. `.mp3` answers the same WAV bytes as audio/mpeg:
        the fake has no MP3 encoder, and a test reads the type and the length, not the codec."""
        recording = self._find_recording(request)
        audio = silent_wav(int(recording["duration"]))
        mp3 = request.path_params.get("extension") == ".mp3"
        return Response(200, audio, "audio/mpeg" if mp3 else "audio/x-wav")

    def _find_recording(self, request: Request) -> JsonObject:
        recording = self._recordings.get(request.path_params["sid"])
        if recording is None:
            raise ProviderError(404, _default_message(404, request), NOT_FOUND)
        return recording


def _default_message(status: int, request: Request) -> str:
    if status == 401:
        return "Authenticate"
    if status == 404:
        return f"The requested resource {request.path} was not found"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header.removeprefix("Basic "), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, separator, password = decoded.partition(":")
    return (username, password) if separator else None


def _rfc2822_now() -> str:
    return format_datetime(datetime.now(UTC).replace(microsecond=0))


def _plus_restored(value: str) -> str:
    """An unencoded '+' in a query or form decodes to a space; phone numbers never hold spaces."""
    return value.replace(" ", "+")


_ISSUED_PAGE_TOKEN = re.compile(r"PAPN[0-9a-f]{32}")


def _invalid(message: str) -> ProviderError:
    return ProviderError(400, message, INVALID_PARAMETER)


def _non_negative_int(raw: str, name: str) -> int:
    if not raw.isdigit():
        raise _invalid(f"{name} must be a non-negative integer")
    return int(raw)


def _page_size(request: Request) -> int:
    raw = request.query_value("PageSize")
    size = _DEFAULT_PAGE_SIZE if raw is None else _non_negative_int(raw, "PageSize")
    if not 1 <= size <= _MAX_PAGE_SIZE:
        raise _invalid(f"PageSize must be between 1 and {_MAX_PAGE_SIZE}")
    return size


def _boolean(raw: str | None, name: str) -> bool | None:
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise _invalid(f"{name} must be true or false")
    return raw.lower() == "true"


def _contains_pattern(raw: str) -> re.Pattern[str]:
    """Twilio's `Contains`: digits, letters (as on a keypad), `*` one digit, `%` any run of digits,
    a leading `+` anchors at the start and a trailing `$` at the end of the number."""
    pattern = _plus_restored(raw)
    core = pattern.removeprefix("+").removesuffix("$")
    if not 2 <= len(pattern) <= 16 or not core:
        raise _invalid(f"Contains must be 2 to 16 characters, got {raw!r}")
    parts = []
    for char in core.upper():
        if char.isdigit():
            parts.append(char)
        elif char in _KEYPAD:
            parts.append(str(_KEYPAD[char]))
        elif char in "*%":
            parts.append(r"\d" if char == "*" else r"\d*")
        else:
            raise _invalid(f"Contains may hold digits, letters and * % + $, got {raw!r}")
    start = "^" if pattern.startswith("+") else ""
    end = "$" if pattern.endswith("$") else ""
    return re.compile(start + "".join(parts) + end)


def _search_filter(request: Request) -> Callable[[NumberBlock, str], bool]:
    """The AvailablePhoneNumbers query filters this fake understands, as one predicate."""
    wanted = {
        capability: _boolean(request.query_value(name), name)
        for capability, name in (
            ("voice", "VoiceEnabled"),
            ("sms", "SmsEnabled"),
            ("mms", "MmsEnabled"),
            ("fax", "FaxEnabled"),
        )
    }
    excluded_requirements = {
        requirement
        for requirement, name in (
            ("any", "ExcludeAllAddressRequired"),
            ("local", "ExcludeLocalAddressRequired"),
            ("foreign", "ExcludeForeignAddressRequired"),
        )
        if _boolean(request.query_value(name), name)
    }
    if "any" in excluded_requirements:  # "all address required" covers every kind of requirement
        excluded_requirements |= {"local", "foreign"}
    contains = request.query_value("Contains")
    digits_pattern = _contains_pattern(contains) if contains else None
    locality = request.query_value("InLocality")

    def keep(block: NumberBlock, number: str) -> bool:
        capabilities = block.capabilities
        return (
            all(want is None or capabilities[capability] == want for capability, want in wanted.items())
            and block.address_requirements not in excluded_requirements
            and (digits_pattern is None or digits_pattern.search(number.removeprefix("+")) is not None)
            and (locality is None or (block.locality or "").lower() == locality.lower())
        )

    return keep


def _phone_number_filter(raw: str | None) -> re.Pattern[str] | None:
    """IncomingPhoneNumbers' `PhoneNumber`: exact or partial, with `*` standing for any digit."""
    if not raw:
        return None
    pattern = _plus_restored(raw)
    return re.compile("".join(r"\d" if char == "*" else re.escape(char) for char in pattern))


def _available_number(block: NumberBlock, number: str) -> JsonObject:
    return {
        "friendly_name": number,
        "phone_number": number,
        "lata": None,
        "locality": block.locality,
        "rate_center": None,
        "latitude": None,
        "longitude": None,
        "region": block.region,
        "postal_code": None,
        "iso_country": block.iso_country,
        "address_requirements": block.address_requirements,
        "beta": False,
        "capabilities": block.capabilities,
    }


# Form parameter → (resource field, parser of the raw form value).
_SettingParser = Callable[[str, str], Any]


def _text(_: str, raw: str) -> str:
    return raw


def _friendly_name(name: str, raw: str) -> str:
    if len(raw) > _FRIENDLY_NAME_MAX:
        raise ProviderError(
            400, f"{name} must be at most {_FRIENDLY_NAME_MAX} characters", INVALID_FRIENDLY_NAME
        )
    return raw


def _method(name: str, raw: str) -> str:
    if raw.upper() not in ("GET", "POST"):
        raise _invalid(f"{name} must be GET or POST")
    return raw.upper()


def _url(name: str, raw: str) -> str:
    if raw and not raw.startswith(("http://", "https://")):
        raise _invalid(f"{name} must be an http(s) URL")
    return raw


def _flag(name: str, raw: str) -> bool:
    value = _boolean(raw, name)
    return bool(value)


def _sid(prefix: str) -> _SettingParser:
    pattern = re.compile(rf"{prefix}[0-9a-fA-F]{{32}}")

    def parse(name: str, raw: str) -> str | None:
        if not raw:
            return None  # an empty value detaches the resource
        if not pattern.fullmatch(raw):
            raise _invalid(f"{name} must be a {prefix} SID")
        return raw

    return parse


def _choice(*allowed: str) -> _SettingParser:
    def parse(name: str, raw: str) -> str:
        if raw not in allowed:
            raise _invalid(f"{name} must be one of {', '.join(allowed)}")
        return raw

    return parse


_SETTINGS: Mapping[str, tuple[str, _SettingParser]] = {
    "ApiVersion": ("api_version", _text),
    "FriendlyName": ("friendly_name", _friendly_name),
    "SmsApplicationSid": ("sms_application_sid", _sid("AP")),
    "SmsFallbackMethod": ("sms_fallback_method", _method),
    "SmsFallbackUrl": ("sms_fallback_url", _url),
    "SmsMethod": ("sms_method", _method),
    "SmsUrl": ("sms_url", _url),
    "StatusCallback": ("status_callback", _url),
    "StatusCallbackMethod": ("status_callback_method", _method),
    "VoiceApplicationSid": ("voice_application_sid", _sid("AP")),
    "VoiceCallerIdLookup": ("voice_caller_id_lookup", _flag),
    "VoiceFallbackMethod": ("voice_fallback_method", _method),
    "VoiceFallbackUrl": ("voice_fallback_url", _url),
    "VoiceMethod": ("voice_method", _method),
    "VoiceUrl": ("voice_url", _url),
    "EmergencyStatus": ("emergency_status", _choice("Active", "Inactive")),
    "EmergencyAddressSid": ("emergency_address_sid", _sid("AD")),
    "TrunkSid": ("trunk_sid", _sid("TK")),
    "IdentitySid": ("identity_sid", _sid("RI")),
    "AddressSid": ("address_sid", _sid("AD")),
    "VoiceReceiveMode": ("voice_receive_mode", _choice("voice", "fax")),
    "BundleSid": ("bundle_sid", _sid("BU")),
}


def _number_settings(form: Mapping[str, str]) -> JsonObject:
    """The resource fields a create/update form sets; unknown parameters are ignored, as Twilio does."""
    return {field: parse(name, form[name]) for name, (field, parse) in _SETTINGS.items() if name in form}


def _page_body(
    records_key: str,
    records: list[JsonObject],
    *,
    request: Request,
    page: int,
    page_size: int,
    next_page_token: str | None = None,
) -> JsonObject:
    """A 2010-API list page: the records under one key plus the paging keys the SDK follows."""
    filters = [
        (name, values[0])
        for name, values in request.query.items()
        if name not in ("Page", "PageSize", "PageToken")
    ]

    def page_uri(number: int, token: str | None = None) -> str:
        query = [*filters, ("PageSize", str(page_size)), ("Page", str(number))]
        if token:
            query.append(("PageToken", token))
        return f"{request.path}?{urlencode(query)}"

    start = page * page_size
    return {
        records_key: records,
        "uri": page_uri(page),
        "first_page_uri": page_uri(0),
        "next_page_uri": page_uri(page + 1, next_page_token) if next_page_token else None,
        "previous_page_uri": page_uri(page - 1) if page > 0 else None,
        "page": page,
        "page_size": page_size,
        "start": start,
        "end": start + len(records) - 1 if records else start,
    }


def _call_update(form: Mapping[str, str]) -> Update:
    """The UpdateCall form as an Update; Twiml and Url are exclusive, and one of them or Status is needed."""
    twiml_text, url = form.get("Twiml"), form.get("Url")
    status = form.get("Status")
    if twiml_text is not None and url is not None:
        raise _invalid("Twiml and Url are mutually exclusive")
    if twiml_text is None and url is None and status is None:
        raise _invalid("One of Twiml, Url or Status is required")
    if status is not None:
        _choice("completed", "canceled")("Status", status)
    twiml = None
    if twiml_text is not None:
        try:
            twiml = parse(twiml_text)
        except TwimlError as error:
            raise ProviderError(400, str(error), DOCUMENT_PARSE_FAILURE) from error
    if url is not None:
        _url("Url", url)
    fallback_url = form.get("FallbackUrl")
    if fallback_url is not None:
        _url("FallbackUrl", fallback_url)
    return Update(
        twiml=twiml,
        twiml_text=twiml_text,
        url=url,
        method=_method("Method", form.get("Method", "POST")),
        status=status,
        fallback_url=fallback_url or None,
        fallback_method=_method("FallbackMethod", form.get("FallbackMethod", "POST")),
    )


def _timeout_seconds(options: Mapping[str, Any]) -> float:
    timeout_ms = options.get("timeout_ms", 10_000)
    if not isinstance(timeout_ms, int | float) or isinstance(timeout_ms, bool) or timeout_ms < 0:
        raise ValueError("timeout_ms must be a non-negative number")
    return float(timeout_ms) / 1000
