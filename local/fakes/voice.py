"""Inbound calls the fake Twilio plays to the end: webhooks, fallback, TwiML verb by verb, SIP legs.

A played call does what Twilio does when a caller dials a number of the account, so a test sees
whether the caller reached the agent, a person, voicemail, a message, or a dead line:

1. POST the voice webhook form (`CallSid`, `AccountSid`, `From`, `To`, `CallStatus=ringing`,
   `Direction=inbound`, `ApiVersion`, `Called`, `Caller` and the empty geo fields) to the number's
   `VoiceUrl`, signed with `X-Twilio-Signature` (HMAC-SHA1 of the URL and the sorted name+value
   pairs, base64, keyed by the auth token; a GET puts the form in the query and signs the URL alone).
2. The document fails when the answer is not 2xx (11200), no answer comes in time (11205: the
   connection is refused, or the wait, 15 s at Twilio, configurable here and read when the call is
   placed, runs out), the content type is not XML (12300), or the body is not TwiML the fake plays
   (12100, see `local.fakes.twiml`). Then the fallback URL is fetched the same way with `ErrorCode`
   and `ErrorUrl` added; if that fails too, the caller hears Twilio's application error: a
   `dead_line` step, and the call ends. Every document of the call (redirects, actions, an update's
   Url) falls back the same way.
3. Verbs run in order; time is not simulated (a `<Pause>` or a ringing timeout takes none), except
   while the caller is with the agent. `<Hangup/>` or the end of the document ends the call.
   `<Redirect>` fetches the next document. `<Dial>` (`action`, `method`, `timeout`, `callerId`,
   `answerOnBridge`) dials its nouns in order, each a child leg with its own CallSid, and keeps the
   first that answers: a `<Number>` ends as the fake's setting for that number says (`answered`
   with a talk time, `no-answer` (the default), `busy`, `failed`); a `<Sip>` to
   `sip:{call_id}@...retellai.com` asks the SIP peer (the fake Retell) whether the leg connects; any
   other SIP address ends as its setting says, `failed` by default. A connected agent leg holds the
   call (state `with_agent`) until the agent ends it (the fake Retell's `end_call`) or the call is
   updated through the REST API. With an `action`, the action is fetched with `DialCallStatus`
   (`completed` for an answered leg, else `busy`, `no-answer`, `failed`), `DialCallSid` and, when
   answered, `DialCallDuration`, and its document is played; without one, the next verb runs.
   With `answerOnBridge="true"` the call stays `ringing` until a leg answers.
   `<Record>` (`action`, `method`, `maxLength`, `playBeep`, `recordingStatusCallback`,
   `recordingStatusCallbackMethod`) takes a message of the placement's `message_seconds` (capped at
   `maxLength`), after which the caller hangs up: the action (or, as Twilio does without one, the
   current document's URL) gets `RecordingUrl`, `RecordingDuration`, `RecordingSid` and
   `Digits=hangup` (its answer is not played: the caller is gone), then the status callback gets
   `RecordingSid`, `RecordingUrl`, `RecordingStatus=completed`, `RecordingDuration`,
   `RecordingChannels`, `RecordingStartTime`, `RecordingSource=RecordVerb`, `CallSid`, `AccountSid`.
4. A REST update of the live call (`Twiml` or `Url`, or `Status=completed`) interrupts whatever
   plays, an agent leg included (the fake Retell is told the leg hung up; the Dial's action is not
   fetched), and plays the new document: that is how the agent's tool transfers a caller.

5. Prices: the call and each of its `<Dial>` legs (a child call of its own, `parent_call_sid` the
   call, `direction` `outbound-dial`, listed by `GET Calls.json?ParentCallSid=`) are priced when the
   call ends plus the fake's `price_delay_ms` (Twilio sets a price some time after the end: until
   then `price` is null): a charge per started minute of the leg's duration (PER_MINUTE_PRICES, in
   USD, written as Twilio writes a charge: `-0.02000`), `0.00000` for a leg never answered.

The log is a list of steps (`webhook`, `fallback_webhook`, `redirect`, `dial_action`,
`record_action`, `update_url` for documents fetched; `say`, `play`, `pause`, `dial_sip`,
`dial_number`, `record`, `recording_callback`, `updated`, `dead_line`, `hangup`) and `reached`, set
from the last meaningful step: `agent` (an agent leg connected), `person` (a dialled number or
other SIP address answered), `voicemail` (a recording was taken), `dead_line` (Twilio's application
error, or silence: nothing said and nothing answered), else `message` (something was said).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import math
import re
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime
from typing import Any, Protocol

from local.fakes.server import JsonObject
from local.fakes.twiml import Noun, TwimlError, Verb, check_content_type, parse

API_VERSION = "2010-04-01"
APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
INVALID_URL = 11100
HTTP_RETRIEVAL_FAILURE = 11200
HTTP_CONNECTION_FAILURE = 11205
DEFAULT_WEBHOOK_TIMEOUT_MS = 15_000
DEFAULT_MESSAGE_SECONDS = 5
DIAL_OUTCOMES = ("answered", "no-answer", "busy", "failed")
ENDED = ("completed", "busy", "failed", "no-answer", "canceled")
_MAX_RECORD_SECONDS = 3600  # maxLength 0 (or none) means an hour
_MAX_AGENT_SECONDS = 7200  # Retell's longest max_call_duration_ms
_AGENT_POLL_SECONDS = 0.05
_SIP_URI = re.compile(r"sips?:(?P<user>[^@;>]+)@(?P<host>[^;>:]+)")
_RETELL_SIP_HOST = re.compile(r"(?:.+\.)?retellai\.com")
_GEO_FIELDS = ("City", "State", "Zip", "Country")
# What the fake charges per started minute (USD): the inbound call, a <Dial><Number> leg, a
# <Dial><Sip> leg. Plausible, not Twilio's price list.
PER_MINUTE_PRICES = {"inbound": Decimal("0.0085"), "number": Decimal("0.0420"), "sip": Decimal("0.0040")}
PRICE_UNIT = "USD"


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """`X-Twilio-Signature` of a request to `url` with the form `params` (empty for a GET)."""
    data = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class SipPeer(Protocol):
    """The far end of `<Sip>` legs to Retell: the fake Retell itself, or `HttpSipPeer` to its control API."""

    def sip_dial(self, call_id: str, call_sid: str) -> str: ...

    def sip_leg_status(self, call_id: str) -> str: ...

    def sip_hang_up(self, call_id: str) -> None: ...


class HttpSipPeer:
    """A fake Retell in another process, through its `/__control/sip/*` endpoints."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout

    def sip_dial(self, call_id: str, call_sid: str) -> str:
        answer = self._send(
            "POST", f"/__control/sip/{urllib.parse.quote(call_id)}/dial", {"call_sid": call_sid}
        )
        return str(answer.get("outcome", "failed"))

    def sip_leg_status(self, call_id: str) -> str:
        return str(
            self._send("GET", f"/__control/sip/{urllib.parse.quote(call_id)}").get("status", "unknown")
        )

    def sip_hang_up(self, call_id: str) -> None:
        self._send("POST", f"/__control/sip/{urllib.parse.quote(call_id)}/hangup", {})

    def _send(self, method: str, path: str, payload: JsonObject | None = None) -> JsonObject:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                answer = json.loads(response.read() or b"{}")
        except (urllib.error.URLError, OSError, ValueError):
            return {}  # an unreachable Retell: the leg fails, or counts as ended
        return answer if isinstance(answer, dict) else {}


@dataclass(frozen=True)
class DialOutcome:
    """How a dialled `<Number>` (or non-Retell SIP address) leg ends."""

    outcome: str = "no-answer"  # answered | no-answer | busy | failed
    talk_seconds: int = 0  # how long the answered party talks

    def __post_init__(self) -> None:
        if self.outcome not in DIAL_OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(DIAL_OUTCOMES)}")
        if self.talk_seconds < 0:
            raise ValueError("talk_seconds cannot be negative")


@dataclass(frozen=True)
class Line:
    """What a played call needs from the fake Twilio playing it (read live, under the fake's lock)."""

    account_sid: str
    auth_token: str
    base_url: str
    webhook_timeout_seconds: float
    dial_outcome: Callable[[str], DialOutcome | None]
    sip_peer: Callable[[], SipPeer | None]
    new_call_sid: Callable[[], str]
    new_recording: Callable[[str, int], str]  # (call sid, seconds) -> recording sid
    price_delay_seconds: float = 0.0  # how long after the call's end its price (and its legs') appears


@dataclass(frozen=True)
class Update:
    """A REST update of the live call (the spec's UpdateCall form)."""

    twiml: tuple[Verb, ...] | None = None
    twiml_text: str | None = None
    url: str | None = None
    method: str = "POST"
    status: str | None = None  # completed | canceled
    fallback_url: str | None = None
    fallback_method: str = "POST"

    def summary(self) -> JsonObject:
        found = {"twiml": self.twiml_text, "url": self.url, "status": self.status}
        return {name: value for name, value in found.items() if value is not None}


@dataclass(frozen=True)
class _Document:
    verbs: tuple[Verb, ...]
    url: str | None  # None for TwiML given inline (an update's Twiml)


@dataclass(frozen=True)
class _Fetched:
    verbs: tuple[Verb, ...] | None
    status: int | None
    error_code: int | None
    error: str | None


class _CallOver(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Interrupted(Exception):
    def __init__(self, update: Update) -> None:
        super().__init__("updated")
        self.update = update


class _Cancelled(Exception):
    """The fake was reset or stopped: the play stops where it is."""


class CallNotLive(Exception):
    """An update for a call that already ended (Twilio's 21220)."""


class PlayedCall:
    """One inbound call, played in a background thread; its methods are safe from any thread."""

    def __init__(
        self,
        *,
        sid: str,
        caller: str,
        number: Mapping[str, Any],
        to_country: str,
        line: Line,
        message_seconds: int = DEFAULT_MESSAGE_SECONDS,
    ) -> None:
        self.sid = sid
        self.caller = caller
        self.called = str(number["phone_number"])
        self.number_sid = str(number["sid"])
        self._voice = (number.get("voice_url"), str(number.get("voice_method") or "POST"))
        self._fallback = (
            number.get("voice_fallback_url"),
            str(number.get("voice_fallback_method") or "POST"),
        )
        self._to_country = to_country
        self._line = line
        self.message_seconds = message_seconds
        self.created = _rfc2822_now()
        self._condition = threading.Condition()
        self._status = "ringing"
        self._state = "playing"  # playing | with_agent | finished
        self._steps: list[JsonObject] = []
        self._updated = self.created
        self._started: str | None = None
        self._ended: str | None = None
        self._answered_at: float | None = None
        self._duration: int | None = None
        self._update: Update | None = None
        self._cancelled = False
        self._thread: threading.Thread | None = None
        self._legs: list[_Leg] = []  # the <Dial>s' child calls
        self._priced_at: float | None = None  # monotonic time from which prices show

    # -- the test-facing side ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._play, name=f"FakeTwilio-call-{self.sid}", daemon=True)
        self._thread.start()

    def log(self) -> JsonObject:
        with self._condition:
            return self._log_locked()

    def wait(self, timeout_seconds: float, until: str = "finished") -> JsonObject:
        """The log once the call finished (or, `until="settled"`, is with the agent), or at the timeout."""
        if until not in ("finished", "settled"):
            raise ValueError("until must be 'finished' or 'settled'")
        deadline = time.monotonic() + timeout_seconds
        with self._condition:
            while not (self._state == "finished" or (until == "settled" and self._state == "with_agent")):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            return self._log_locked()

    def cancel(self) -> None:
        with self._condition:
            self._cancelled = True
            self._condition.notify_all()

    @property
    def finished(self) -> bool:
        with self._condition:
            return self._state == "finished"

    # -- the REST API's side ------------------------------------------------------------------------------

    def request_update(self, update: Update) -> None:
        """Queue a REST update; CallNotLive once the call ended. `canceled` only ends a ringing call."""
        with self._condition:
            if self._state == "finished" or self._status in ENDED:
                raise CallNotLive(self.sid)
            if update.status == "canceled" and self._status != "ringing":
                return  # "will not affect calls already in progress"
            if update.status is not None:
                self._status = update.status
            self._update = update
            if self._state == "with_agent":
                self._state = "playing"  # a waiter must not take the old leg for the new state
            self._updated = _rfc2822_now()
            self._condition.notify_all()

    def resource(self, account_sid: str) -> JsonObject:
        """The spec's `api.v2010.account.call`."""
        with self._condition:
            return self._resource_locked(
                account_sid,
                sid=self.sid,
                parent=None,
                direction="inbound",
                caller=self.caller,
                called=self.called,
                status=self._status,
                times=(self._started, self._ended, self._updated),
                duration=self._duration,
                kind="inbound",
            )

    def leg_resources(self, account_sid: str) -> list[JsonObject]:
        """This call's `<Dial>` legs as the spec's calls, in the order they were dialled."""
        with self._condition:
            sids = [leg.sid for leg in self._legs]
        return [leg for leg in (self.leg_resource(account_sid, sid) for sid in sids) if leg is not None]

    def leg_resource(self, account_sid: str, sid: str) -> JsonObject | None:
        """A `<Dial>` leg of this call as the spec's call (None: no leg of that sid)."""
        with self._condition:
            leg = next((each for each in self._legs if each.sid == sid), None)
            if leg is None:
                return None
            return self._resource_locked(
                account_sid,
                sid=leg.sid,
                parent=self.sid,
                direction="outbound-dial",
                caller=self.called,
                called=leg.to,
                status=leg.status,
                times=(leg.started, leg.ended, leg.ended or self.created),
                duration=leg.duration,
                kind=leg.kind,
            )

    def _resource_locked(
        self,
        account_sid: str,
        *,
        sid: str,
        parent: str | None,
        direction: str,
        caller: str,
        called: str,
        status: str,
        times: tuple[str | None, str | None, str],
        duration: int | None,
        kind: str,
    ) -> JsonObject:
        base = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{sid}"
        started, ended, updated = times
        priced = self._priced_at is not None and time.monotonic() >= self._priced_at
        return {
            "sid": sid,
            "date_created": self.created,
            "date_updated": updated,
            "parent_call_sid": parent,
            "account_sid": account_sid,
            "to": called,
            "to_formatted": called,
            "from": caller,
            "from_formatted": caller,
            "phone_number_sid": self.number_sid if parent is None else None,
            "status": status,
            "start_time": started,
            "end_time": ended,
            "duration": None if duration is None else str(duration),
            "price": _price(kind, duration) if priced else None,
            "price_unit": PRICE_UNIT,
            "direction": direction,
            "answered_by": None,
            "api_version": API_VERSION,
            "forwarded_from": None,
            "group_sid": None,
            "caller_name": None,
            "queue_time": "0",
            "trunk_sid": None,
            "uri": f"{base}.json",
            "subresource_uris": {
                name: f"{base}/{resource}.json"
                for name, resource in (
                    ("notifications", "Notifications"),
                    ("recordings", "Recordings"),
                    ("payments", "Payments"),
                    ("events", "Events"),
                    ("siprec", "Siprec"),
                    ("streams", "Streams"),
                    ("transcriptions", "Transcriptions"),
                    ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
                    ("user_defined_messages", "UserDefinedMessages"),
                )
            },
        }

    # -- the play -----------------------------------------------------------------------------------------

    def _play(self) -> None:
        try:
            url, method = self._voice
            document = self._fetch("webhook", url, method, {})
            while True:
                try:
                    document = self._execute(document)
                except _Interrupted as interrupt:
                    document = self._apply_update(interrupt.update)
        except _CallOver as over:
            self._finish(over.status, over.reason)
        except _Cancelled:
            self._finish("canceled", "fake reset")
        except Exception:
            traceback.print_exc()  # a bug in the fake: loud, and the call ends
            self._finish("failed", "fake error")

    def _execute(self, document: _Document) -> _Document:
        """Run a document's verbs; the next document to play, or _CallOver / _Interrupted."""
        for verb in document.verbs:
            self._check_interrupt()
            self._answer_unless_bridging(verb)
            following = self._run_verb(verb, document)
            if following is not None:
                return following
        raise _CallOver("completed", "end_of_twiml")

    def _run_verb(self, verb: Verb, document: _Document) -> _Document | None:
        if verb.name == "Say":
            self._step("say", text=verb.text, voice=verb.attributes.get("voice"))
        elif verb.name == "Play":
            self._step("play", url=verb.text)
        elif verb.name == "Pause":
            self._step("pause", length=int(verb.attribute("length", "1") or 1))
        elif verb.name == "Hangup":
            raise _CallOver("completed", "hangup_verb")
        elif verb.name == "Redirect":
            return self._fetch(
                "redirect", _resolve(document, verb.text), verb.attribute("method", "POST"), {}
            )
        elif verb.name == "Dial":
            return self._dial(verb, document)
        elif verb.name == "Record":
            self._record(verb, document)
        return None

    def _answer_unless_bridging(self, verb: Verb) -> None:
        """Twilio answers the call to run the first verb; with answerOnBridge, once a leg answers."""
        bridging = verb.name == "Dial" and verb.attribute("answerOnBridge").lower() == "true"
        if not bridging:
            self._answer()

    def _answer(self) -> None:
        with self._condition:
            if self._status == "ringing":
                self._status = "in-progress"
                self._started = self._updated = _rfc2822_now()
                self._answered_at = time.monotonic()

    # -- documents ------------------------------------------------------------------------------------------

    def _fetch(
        self,
        step: str,
        url: str | None,
        method: str,
        extra: Mapping[str, str],
        *,
        fallback: tuple[str | None, str] | None = None,
        note: Mapping[str, Any] | None = None,
    ) -> _Document:
        """The document at `url`; on failure the fallback's; if that fails too, the dead line."""
        params = {**self._params(), **extra}
        fetched = self._request(url, method, params, read_twiml=True)
        self._step(
            step, url=url, method=method, status=fetched.status, error_code=fetched.error_code, **(note or {})
        )
        if fetched.verbs is not None:
            return _Document(fetched.verbs, url)
        fallback_url, fallback_method = fallback or self._fallback
        error_code = fetched.error_code
        if fallback_url:
            failure = {"ErrorCode": str(error_code), "ErrorUrl": url or ""}
            rescued = self._request(fallback_url, fallback_method, {**params, **failure}, read_twiml=True)
            self._step(
                "fallback_webhook",
                url=fallback_url,
                method=fallback_method,
                status=rescued.status,
                error_code=rescued.error_code,
                sent_error_code=error_code,
            )
            if rescued.verbs is not None:
                return _Document(rescued.verbs, fallback_url)
            error_code = rescued.error_code
        self._answer()  # Twilio answers to play its message
        self._step("dead_line", message=APPLICATION_ERROR, error_code=error_code)
        raise _CallOver("completed", "application_error")

    def _request(
        self, url: str | None, method: str, params: Mapping[str, str], *, read_twiml: bool
    ) -> _Fetched:
        """One signed webhook request, as Twilio sends it."""
        if not url or urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            return _Fetched(None, None, INVALID_URL, f"not an http(s) URL: {url!r}")
        if method.upper() == "GET":
            separator = "&" if urllib.parse.urlsplit(url).query else "?"
            target, data, signed = f"{url}{separator}{urllib.parse.urlencode(params)}", None, {}
        else:
            target, data, signed = url, urllib.parse.urlencode(params).encode(), dict(params)
        headers = {
            "X-Twilio-Signature": twilio_signature(target, signed, self._line.auth_token),
            "User-Agent": "TwilioProxy/1.1",
        }
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(target, data=data, method=method.upper(), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self._line.webhook_timeout_seconds) as response:
                status, body = int(response.status), response.read()
                content_type = response.headers.get("Content-Type")
        except urllib.error.HTTPError as error:
            return _Fetched(None, int(error.code), HTTP_RETRIEVAL_FAILURE, f"HTTP {error.code}")
        except (urllib.error.URLError, OSError) as error:
            return _Fetched(None, None, HTTP_CONNECTION_FAILURE, f"{type(error).__name__}: {error}")
        if not read_twiml:
            return _Fetched((), status, None, None)
        try:
            check_content_type(content_type)
            return _Fetched(parse(body), status, None, None)
        except TwimlError as error:
            return _Fetched(None, status, error.code, str(error))

    def _post(self, step: str, url: str, method: str, params: Mapping[str, str], **details: Any) -> None:
        """A request whose answer is not played (callbacks, an action after the caller hung up)."""
        sent = self._request(url, method, params, read_twiml=False)
        self._step(step, url=url, method=method, status=sent.status, error_code=sent.error_code, **details)

    def _params(self) -> dict[str, str]:
        """The form Twilio sends to every document of an inbound call."""
        with self._condition:
            status = self._status
        params = {
            "AccountSid": self._line.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": self.sid,
            "CallStatus": status,
            "Called": self.called,
            "Caller": self.caller,
            "Direction": "inbound",
            "From": self.caller,
            "To": self.called,
        }
        for prefix in ("From", "Caller", "To", "Called"):
            for geo in _GEO_FIELDS:
                params[f"{prefix}{geo}"] = ""
        params["ToCountry"] = params["CalledCountry"] = self._to_country
        return params

    # -- <Dial> ---------------------------------------------------------------------------------------------

    def _dial(self, verb: Verb, document: _Document) -> _Document | None:
        # Each noun is a child leg of its own; the first to answer wins. When none does, the Dial
        # reports the first leg's status and sid (and a Dial with nothing to dial fails).
        legs: list[tuple[str, str, int | None]] = []  # (DialCallStatus, DialCallSid, duration)
        for noun in verb.nouns:
            legs.append(self._dial_noun(noun, _dial_details(verb, self._line.new_call_sid())))
            if legs[-1][0] == "completed":
                break
        answered = [leg for leg in legs if leg[0] == "completed"]
        dial_status, dial_sid, duration = (answered or legs or [("failed", self._line.new_call_sid(), None)])[
            0
        ]
        action = verb.attribute("action")
        if not action:
            return None
        extra = {"DialCallStatus": dial_status, "DialCallSid": dial_sid}
        if duration is not None:
            extra["DialCallDuration"] = str(duration)
        return self._fetch(
            "dial_action",
            _resolve(document, action),
            verb.attribute("method", "POST"),
            extra,
            note={"dial_call_status": dial_status, "dial_call_sid": dial_sid},
        )

    def _dial_noun(self, noun: Noun, details: Mapping[str, Any]) -> tuple[str, str, int | None]:
        """One leg: its DialCallStatus, its sid, and its duration when answered."""
        sid = str(details["dial_call_sid"])
        if noun.name == "Sip":
            found = _SIP_URI.match(noun.text)
            if found is not None and _RETELL_SIP_HOST.fullmatch(found.group("host")):
                status, duration = self._dial_agent(noun.text, found.group("user"), details)
                return status, sid, duration
        setting = self._line.dial_outcome(noun.text) or DialOutcome(
            "no-answer" if noun.name == "Number" else "failed"
        )
        kind = "dial_number" if noun.name == "Number" else "dial_sip"
        address = {"number": noun.text} if kind == "dial_number" else {"uri": noun.text, "call_id": None}
        answered = setting.outcome == "answered"
        duration = setting.talk_seconds if answered else None
        self._step(kind, **address, **details, outcome=setting.outcome, duration=duration)
        leg_kind = "number" if noun.name == "Number" else "sip"
        if not answered:
            self._add_leg(sid, noun.text, leg_kind, setting.outcome, None)
            return setting.outcome, sid, None
        self._answer()
        self._add_leg(sid, noun.text, leg_kind, "completed", duration)
        return "completed", sid, duration

    def _dial_agent(self, uri: str, call_id: str, details: Mapping[str, Any]) -> tuple[str, int | None]:
        """A SIP leg to Retell: connected, it holds the call until the agent ends or an update comes."""
        peer = self._line.sip_peer()
        outcome = peer.sip_dial(call_id, str(details["dial_call_sid"])) if peer is not None else "failed"
        step = self._step(
            "dial_sip", uri=uri, call_id=call_id, **details, outcome=outcome, ended_by=None, duration=None
        )
        sid = str(details["dial_call_sid"])
        if outcome != "connected" or peer is None:
            status = outcome if outcome in DIAL_OUTCOMES else "failed"
            self._add_leg(sid, uri, "sip", status, None)
            return status, None
        self._answer()
        began = time.monotonic()
        update = self._hold_with_agent(peer, call_id)
        duration = max(1, math.ceil(time.monotonic() - began))
        self._add_leg(sid, uri, "sip", "completed", duration)
        with self._condition:
            step.update(ended_by="agent" if update is None else "update", duration=duration)
        if update is not None:
            peer.sip_hang_up(call_id)
            raise _Interrupted(update)
        return "completed", duration

    def _hold_with_agent(self, peer: SipPeer, call_id: str) -> Update | None:
        """Wait while the caller talks to the agent; the update that interrupted it, or None."""
        deadline = time.monotonic() + _MAX_AGENT_SECONDS
        with self._condition:
            self._state = "with_agent"
            self._condition.notify_all()
        try:
            while time.monotonic() < deadline:
                with self._condition:
                    if self._cancelled:
                        raise _Cancelled
                    if self._update is not None:
                        update, self._update = self._update, None
                        return update
                    self._condition.wait(_AGENT_POLL_SECONDS)
                if peer.sip_leg_status(call_id) != "ongoing":
                    return None
            return None
        finally:
            with self._condition:
                if self._state == "with_agent":
                    self._state = "playing"

    # -- <Record> -------------------------------------------------------------------------------------------

    def _record(self, verb: Verb, document: _Document) -> None:
        """The caller leaves a message and hangs up; the action and the status callback are told."""
        max_length = int(verb.attribute("maxLength", "0") or 0) or _MAX_RECORD_SECONDS
        seconds = min(self.message_seconds, max_length)
        recording_sid = self._line.new_recording(self.sid, seconds)
        account = f"{self._line.base_url}/{API_VERSION}/Accounts/{self._line.account_sid}"
        recording_url = f"{account}/Recordings/{recording_sid}"
        self._step(
            "record",
            recording_sid=recording_sid,
            duration=seconds,
            max_length=max_length,
            play_beep=verb.attribute("playBeep", "true").lower() != "false",
        )
        with self._condition:
            self._status = "completed"  # the caller hung up to end the message
        action = _resolve(document, verb.attribute("action")) if verb.attribute("action") else document.url
        if action:
            heard = {
                "RecordingUrl": recording_url,
                "RecordingDuration": str(seconds),
                "RecordingSid": recording_sid,
            }
            self._post(
                "record_action",
                action,
                verb.attribute("method", "POST"),
                {**self._params(), **heard, "Digits": "hangup"},
            )
        callback = verb.attribute("recordingStatusCallback")
        if callback:
            self._post(
                "recording_callback",
                _resolve(document, callback),
                verb.attribute("recordingStatusCallbackMethod", "POST"),
                {
                    "AccountSid": self._line.account_sid,
                    "CallSid": self.sid,
                    "RecordingSid": recording_sid,
                    "RecordingUrl": recording_url,
                    "RecordingStatus": "completed",
                    "RecordingDuration": str(seconds),
                    "RecordingChannels": "1",
                    "RecordingStartTime": _rfc2822_now(),
                    "RecordingSource": "RecordVerb",
                },
                recording_sid=recording_sid,
            )
        raise _CallOver("completed", "caller_hung_up")

    # -- updates, steps, the end ---------------------------------------------------------------------------

    def _check_interrupt(self) -> None:
        with self._condition:
            if self._cancelled:
                raise _Cancelled
            update, self._update = self._update, None
        if update is not None:
            raise _Interrupted(update)

    def _apply_update(self, update: Update) -> _Document:
        self._step("updated", **update.summary())
        if update.status in ("completed", "canceled"):
            raise _CallOver(update.status, "updated")
        if update.twiml is not None:
            return _Document(update.twiml, None)
        fallback = (update.fallback_url, update.fallback_method) if update.fallback_url else None
        return self._fetch("update_url", update.url, update.method, {}, fallback=fallback)

    def _add_leg(self, sid: str, to: str, kind: str, status: str, duration: int | None) -> None:
        now = _rfc2822_now()
        with self._condition:
            self._legs.append(
                _Leg(
                    sid=sid,
                    to=to,
                    kind=kind,
                    status=status,
                    duration=duration,
                    started=now if duration else None,
                    ended=now if duration else None,
                )
            )

    def _step(self, kind: str, **details: Any) -> JsonObject:
        step = {"step": kind, **details}
        with self._condition:
            self._steps.append(step)
            self._condition.notify_all()
        return step

    def _finish(self, status: str, reason: str) -> None:
        with self._condition:
            self._steps.append({"step": "hangup", "reason": reason})
            if self._status not in ENDED or status == "canceled":
                self._status = status
            if self._answered_at is not None:
                self._duration = math.ceil(time.monotonic() - self._answered_at)
                self._ended = _rfc2822_now()
            self._updated = _rfc2822_now()
            self._state = "finished"
            self._priced_at = time.monotonic() + self._line.price_delay_seconds
            self._condition.notify_all()

    def _log_locked(self) -> JsonObject:
        finished = self._state == "finished"
        return {
            "call_sid": self.sid,
            "from": self.caller,
            "to": self.called,
            "status": self._status,
            "state": self._state,
            "finished": finished,
            "reached": _reached(self._steps, finished),
            "steps": copy.deepcopy(self._steps),
        }


@dataclass
class _Leg:
    """A `<Dial>` noun's child call."""

    sid: str
    to: str
    kind: str  # "number" | "sip": what it is priced as
    status: str
    duration: int | None
    started: str | None
    ended: str | None


def _price(kind: str, duration: int | None) -> str:
    """Twilio's price of a leg (a charge is negative): per started minute of its duration."""
    if not duration:
        return "0.00000"
    return f"{-PER_MINUTE_PRICES[kind] * math.ceil(duration / 60):.5f}"


def _reached(steps: list[JsonObject], finished: bool) -> str | None:
    """Who the caller reached, from the last meaningful step (module docstring)."""
    reached, said = None, False
    for step in steps:
        kind, outcome = step["step"], step.get("outcome")
        if kind == "dial_sip" and outcome == "connected":
            reached = "agent"
        elif kind in ("dial_number", "dial_sip") and outcome == "answered":
            reached = "person"
        elif kind == "record":
            reached = "voicemail"
        elif kind == "dead_line":
            reached = "dead_line"
        elif kind == "say":
            said = True
    if reached is None and finished:
        reached = "message" if said else "dead_line"
    return reached


def _dial_details(verb: Verb, dial_call_sid: str) -> JsonObject:
    """What a dial step logs of its <Dial>, beside the leg's own sid."""
    return {
        "dial_call_sid": dial_call_sid,
        "caller_id": verb.attributes.get("callerId"),
        "timeout": int(verb.attribute("timeout", "30") or 30),
        "answer_on_bridge": verb.attribute("answerOnBridge").lower() == "true",
    }


def _resolve(document: _Document, url: str) -> str:
    """An attribute's URL, relative ones against the document's own URL, as Twilio resolves them."""
    return urllib.parse.urljoin(document.url, url) if document.url else url


def _rfc2822_now() -> str:
    return format_datetime(datetime.now(UTC).replace(microsecond=0))
