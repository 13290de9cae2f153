"""Fake Retell AI API: Retell LLMs, agents and registered phone calls, held in memory.

Shapes follow the Retell OpenAPI spec (3.0.3, Aug 2026) and, for `POST /v2/list-agents` (newer than
that spec), the SDK and the deprecation notice. Every error body is `{"status": "error", "message"}`;
unknown or deleted ids answer 422 "Cannot find requested asset under given api key.", as Retell does.

Operations (the fault-injection keys): create_llm, get_llm, update_llm, delete_llm, list_llms,
create_agent, get_agent, get_agent_versions, update_agent, create_agent_version, publish_agent_version,
delete_agent_version, delete_agent, list_agents (POST /v2/list-agents and the older GET /list-agents),
register_call, get_call, get_recording.

Versions, as Retell documents them: an agent and its Retell LLM share version numbers. Create makes
version 0, a draft. `create-agent-version` copies a base version of both into a new draft numbered
latest + 1; `publish-agent-version` publishes a draft in place; updates change one version (the
latest when none is named), never a published one; a call runs the version it names, else the
latest. `agents` and `llms` hold each resource's latest version, `agent_versions` and `llm_versions`
every version. Retell's documents do not say what a PATCH of a published version answers: this fake
answers 400, as it does for deleting or publishing a published version.

Call events: a registered call keeps its agent's `webhook_url`. `end_call(call_id, after_ms)` (or
`POST /__control/calls/{call_id}/end {"after_ms", "disconnection_reason"?, "connected"?,
"conversation"?, "answers"?}`) plays the call out as Retell does: `call_started` at once, then after
`after_ms` `call_ended` and `call_analyzed`, each POSTed to that URL with `x-retell-signature`
(HMAC-SHA256 of body + timestamp under the fake's API key), retried up to 3 times without a 2xx;
`connected: false` sends only a `call_ended` whose status is `not_connected`. `event_deliveries` in
the state lists each attempt.

The ended call carries what Retell's does (spec, V2CallBase): `transcript` and `transcript_object`
(and `transcript_with_tool_calls`) of `conversation` (`[[role, text], ...]`, role `agent` or `user`;
a short exchange by default), its words timed evenly over the call; `recording_url`, a WAV of the
call's length served by this fake on loopback without credentials (`GET /recordings/{call_id}/
recording.wav`, operation get_recording: a fault such as 403 plays an expired signed link);
`call_cost` (per-second products, fractions of cents included); and in `call_analyzed`,
`call_analysis.custom_analysis_data`: `answers` when given, else an answer of the right type to each
item of the agent version's `post_call_analysis_data`. Agents take `post_call_analysis_data` on create
and update, checked against the spec's `PostCallAnalysisData` items (400 otherwise).

The call path (the fake Twilio plays inbound calls through to this fake; see `local.fakes.voice`):

SIP legs. When a played call `<Dial>`s `sip:{call_id}@sip.retellai.com`, the fake Twilio asks this fake
(`sip_dial`, in process, or `POST /__control/sip/{call_id}/dial {"call_sid"}` from another process)
whether the leg connects. A registered call connects by default: it turns `ongoing`, `call_started`
is sent, and the caller is "with the agent" until `end_call` ends it (no second `call_started`) or the
fake Twilio hangs the leg up (`sip_hang_up`, or `POST /__control/sip/{call_id}/hangup`: the call ends
as a `user_hangup`, as Retell sees a SIP BYE). An unknown call id, or one dialled before, fails.
`set_sip_outcome(outcome, call_id=None)` (or `POST /__control/sip {"outcome", "call_id"?}`) steers it:
`connected`, `failed`, `busy` or `no-answer`, for one call id or, without one, for every call without
its own setting (the ids are made at registration, so a test that cannot know the id sets the
default). A leg that does not connect sends no events and leaves the call `registered`.
`GET /__control/sip/{call_id}` answers `{"status": "ongoing" | "ended" | "registered" | "unknown"}`.

Custom tools. `general_tools` (and `states[*].tools`) are validated as the spec's `Tool` on create and
update (`local.fakes.retell_tools`; an invalid tool is a 400). `invoke_tool(call_id, name, args)` (or
`POST /__control/calls/{call_id}/tool {"name", "args"?}`) makes the call's agent, at the version the
call was registered with, call its custom tool `name` as Retell calls custom functions, synchronously,
and answers `{call_id, name, url, method, args, status, body, attempts}` (`status` None when no answer
came); `tool_calls` (`GET /__control/tool_calls`) lists every invocation. An unknown call or tool is a
404 from the control endpoint (LookupError in Python).

A Retell outage for register-phone-call needs no knob of its own: queue a fault on `register_call`,
e.g. `inject("register_call", 503)` / `FakeControl.fail("register_call", 503)` (answered without
registering), `delay("register_call", 5000)` (slow), or `drop("register_call")` (registered, answer
lost). `state()` keeps its shape; the call path's state is read through `tool_calls`, `sip_outcomes`
and the endpoints above.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from local.fakes.retell_call_data import (
    DEFAULT_CONVERSATION,
    Script,
    call_cost,
    check_post_call_analysis_data,
    is_conversation,
    sample_answers,
    transcript,
    utterances,
)
from local.fakes.retell_tools import (
    TOOL_RETRIES,
    check_llm_tools,
    find_custom_tool,
    retry_pause,
    send_tool_request,
    succeeded,
    tool_request_body,
    tool_url,
)
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
    now_ms,
    route,
    silent_wav,
)

ASSET_NOT_FOUND = "Cannot find requested asset under given api key."

# The spec's example message for each error response it declares (components/responses).
_DEFAULT_MESSAGES = {
    400: "Invalid request format, please check API reference.",
    401: "API key is missing or invalid.",
    402: "Trial has ended, please add payment method.",
    403: "Forbidden",
    404: "The requested resource was not found.",
    409: "Resource update conflict.",
    412: "Precondition failed for conditional update.",
    422: ASSET_NOT_FOUND,
    429: "Account rate limited, please throttle your requests.",
    500: "An unexpected server error occurred.",
}

# What Retell fills in when the request leaves a field out (docs and spec defaults).
_LLM_DEFAULTS: JsonObject = {
    "model": "gpt-4.1",
    "model_temperature": 0,
    "begin_message": None,
    "general_prompt": None,
    "general_tools": None,
    "states": None,
    "starting_state": None,
    "knowledge_base_ids": None,
    "default_dynamic_variables": None,
}
_AGENT_DEFAULTS: JsonObject = {
    "agent_name": None,
    "language": "en-US",
    "webhook_url": None,
    "webhook_timeout_ms": 10_000,
    "end_call_after_silence_ms": 600_000,
    "max_call_duration_ms": 3_600_000,
    "base_version": None,
    "post_call_analysis_data": None,
}

_DEFAULT_PAGE_LIMIT = 50
_LEGACY_LIST_AGENTS_LIMIT = 1000
_MAX_PAGE_LIMIT = 1000
_VERSION_TAG = re.compile(r"[a-z0-9_-]{1,20}")
# Retell waits 10 s for a 2xx and sends an event up to 3 more times.
_EVENT_TIMEOUT_SECONDS = 10.0
_EVENT_RETRIES = 3
_EVENT_RETRY_PAUSE_SECONDS = 0.2
SIP_OUTCOMES = ("connected", "failed", "busy", "no-answer")
# Where an ended call's recording is served (Retell's are storage URLs that need no API key).
_RECORDING_PATH = "/recordings/{call_id}/recording.wav"


def retell_signature(body: bytes, api_key: str, timestamp_ms: int | None = None) -> str:
    """`x-retell-signature` for `body`: `v={timestamp_ms},d={HMAC-SHA256(api_key, body + timestamp)}`."""
    timestamp = now_ms() if timestamp_ms is None else timestamp_ms
    digest = hmac.new(api_key.encode(), body + str(timestamp).encode(), hashlib.sha256).hexdigest()
    return f"v={timestamp},d={digest}"


class FakeRetell(FakeServer):
    """In-memory Retell: `POST /create-retell-llm` → `POST /create-agent` → `POST /v2/register-phone-call`."""

    def __init__(self, api_key: str = "key_test", *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key
        self._llms: dict[str, JsonObject] = {}
        self._agents: dict[str, JsonObject] = {}
        self._calls_registered: dict[str, JsonObject] = {}
        self._call_webhooks: dict[str, str | None] = {}  # call id -> its agent's webhook_url
        self._event_deliveries: list[JsonObject] = []
        self._tool_calls: list[JsonObject] = []
        # How the next SIP legs end: per call id, and the default ("*") for the others.
        self._sip_outcomes: dict[str, str] = {}
        # Every version of each agent and LLM; _agents and _llms hold the latest of each.
        self._agent_versions: dict[str, dict[int, JsonObject]] = {}
        self._llm_versions: dict[str, dict[int, JsonObject]] = {}
        self._llm_ids = IdFactory("llm_", 28)
        self._agent_ids = IdFactory("agent_", 28)
        self._call_ids = IdFactory("call_", 28)

    # -- state, as deep copies taken under the lock ------------------------------------------------

    @property
    def llms(self) -> dict[str, JsonObject]:
        with self._lock:
            return copy.deepcopy(self._llms)

    @property
    def agents(self) -> dict[str, JsonObject]:
        with self._lock:
            return copy.deepcopy(self._agents)

    @property
    def agent_versions(self) -> dict[str, dict[int, JsonObject]]:
        with self._lock:
            return copy.deepcopy(self._agent_versions)

    @property
    def llm_versions(self) -> dict[str, dict[int, JsonObject]]:
        with self._lock:
            return copy.deepcopy(self._llm_versions)

    @property
    def calls_registered(self) -> dict[str, JsonObject]:
        with self._lock:
            return copy.deepcopy(self._calls_registered)

    @property
    def event_deliveries(self) -> list[JsonObject]:
        """Every attempt to deliver a call event: {call_id, event, url, status (None: no answer)}."""
        with self._lock:
            return copy.deepcopy(self._event_deliveries)

    @property
    def tool_calls(self) -> list[JsonObject]:
        """Every custom tool invocation: {call_id, name, url, method, args, status, body, attempts}."""
        with self._lock:
            return copy.deepcopy(self._tool_calls)

    @property
    def sip_outcomes(self) -> dict[str, str]:
        """The SIP leg settings: call id (or "*", every other call) -> outcome."""
        with self._lock:
            return {"*": "connected", **self._sip_outcomes}

    def _state_snapshot(self) -> JsonObject:
        return {
            "llms": self._llms,
            "agents": self._agents,
            # JSON keys are strings: the version numbers become "0", "1"...
            "agent_versions": _string_keys(self._agent_versions),
            "llm_versions": _string_keys(self._llm_versions),
            "calls_registered": self._calls_registered,
            "event_deliveries": self._event_deliveries,
        }

    def _clear_state(self) -> None:
        self._llms.clear()
        self._agents.clear()
        self._agent_versions.clear()
        self._llm_versions.clear()
        self._calls_registered.clear()
        self._call_webhooks.clear()
        self._event_deliveries.clear()
        self._tool_calls.clear()
        self._sip_outcomes.clear()

    # -- call events ----------------------------------------------------------------------------------

    def end_call(
        self,
        call_id: str,
        after_ms: float,
        *,
        disconnection_reason: str = "user_hangup",
        connected: bool = True,
        conversation: Sequence[tuple[str, str]] | None = None,
        answers: JsonObject | None = None,
    ) -> threading.Thread:
        """Play a registered call out in the background (module docstring); the thread is returned."""
        with self._lock:
            if call_id not in self._calls_registered:
                raise ValueError(f"no registered call {call_id!r}")
        if after_ms < 0:
            raise ValueError("after_ms cannot be negative")
        script = Script(
            disconnection_reason=disconnection_reason,
            connected=connected,
            conversation=tuple(conversation) if conversation is not None else DEFAULT_CONVERSATION,
            answers=answers,
        )
        if not is_conversation([list(turn) for turn in script.conversation]):
            raise ValueError("a conversation is [(role, text), ...], its roles agent and user")
        thread = threading.Thread(
            target=self._play_call,
            args=(call_id, after_ms, script),
            name=f"FakeRetell-call-{call_id}",
            daemon=True,
        )
        thread.start()
        return thread

    def _play_call(self, call_id: str, after_ms: float, script: Script) -> None:
        with self._lock:
            call = self._calls_registered.get(call_id) or {}
            # A connected SIP leg already started the call and sent call_started.
            ongoing = call.get("call_status") == "ongoing"
            started = int(call.get("start_timestamp") or now_ms()) if ongoing else now_ms()
        if script.connected and not ongoing:
            self._update_call(call_id, call_status="ongoing", start_timestamp=started)
            self._send_event(call_id, "call_started")
        time.sleep(after_ms / 1000)
        ended = now_ms()
        if not script.connected:
            self._update_call(call_id, call_status="not_connected", disconnection_reason="dial_failed")
            self._send_event(call_id, "call_ended")
            return
        duration_ms = ended - started
        spoken = utterances(script.conversation, duration_ms / 1000)
        self._update_call(
            call_id,
            call_status="ended",
            end_timestamp=ended,
            duration_ms=duration_ms,
            disconnection_reason=script.disconnection_reason,
            transcript=transcript(spoken),
            transcript_object=spoken,
            transcript_with_tool_calls=spoken,
            recording_url=f"{self.base_url}{_RECORDING_PATH.format(call_id=call_id)}",
            call_cost=call_cost(duration_ms),
        )
        self._send_event(call_id, "call_ended")
        with self._lock:
            answers = script.answers if script.answers is not None else self._default_answers(call_id)
        self._update_call(
            call_id,
            call_analysis={
                "call_summary": "The caller asked about opening hours and was told them.",
                "user_sentiment": "Positive",
                "call_successful": True,
                "in_voicemail": False,
                "custom_analysis_data": answers,
            },
        )
        self._send_event(call_id, "call_analyzed")

    def _default_answers(self, call_id: str) -> JsonObject:
        """An answer of the right type to each post_call_analysis_data item of the call's version."""
        call = self._calls_registered.get(call_id) or {}
        agent = self._agent_versions.get(str(call.get("agent_id")), {}).get(call.get("agent_version", -1))
        return sample_answers((agent or {}).get("post_call_analysis_data") or [])

    def _update_call(self, call_id: str, **fields: Any) -> None:
        with self._lock:
            call = self._calls_registered.get(call_id)
            if call is not None:
                call.update(fields)

    def _send_event(self, call_id: str, event: str) -> None:
        with self._lock:
            call = copy.deepcopy(self._calls_registered.get(call_id))
            url = self._call_webhooks.get(call_id)
        if call is None:
            return  # reset meanwhile
        if event == "call_ended":
            call.pop("call_analysis", None)  # Retell sends the analysis with call_analyzed only
        body = json.dumps({"event": event, "call": call}, separators=(",", ":")).encode()
        for _ in range(1 + _EVENT_RETRIES):
            status = self._post_event(url, body) if url else None
            with self._lock:
                self._event_deliveries.append(
                    {"call_id": call_id, "event": event, "url": url, "status": status}
                )
            if url is None or (status is not None and 200 <= status < 300):
                return
            time.sleep(_EVENT_RETRY_PAUSE_SECONDS)

    def _post_event(self, url: str, body: bytes) -> int | None:
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "x-retell-signature": retell_signature(body, self.api_key),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=_EVENT_TIMEOUT_SECONDS) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except (urllib.error.URLError, OSError):
            return None

    # -- SIP legs (the fake Twilio dials registered calls) -------------------------------------------

    def set_sip_outcome(self, outcome: str, call_id: str | None = None) -> None:
        """How SIP legs to `call_id` (None: every call without its own setting) end; see the docstring."""
        if outcome not in SIP_OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(SIP_OUTCOMES)}")
        with self._lock:
            self._sip_outcomes[call_id or "*"] = outcome

    def sip_dial(self, call_id: str, call_sid: str) -> str:
        """The SIP leg Twilio's `call_sid` opens to `call_id`: its outcome ("connected" starts the call)."""
        with self._lock:
            call = self._calls_registered.get(call_id)
            if call is None or call.get("call_status") != "registered":
                return "failed"  # Retell knows no such registered call: the INVITE is refused
            outcome = self._sip_outcomes.get(call_id, self._sip_outcomes.get("*", "connected"))
            if outcome != "connected":
                return outcome
            call.update(call_status="ongoing", start_timestamp=now_ms())
        threading.Thread(
            target=self._send_event,
            args=(call_id, "call_started"),
            name=f"FakeRetell-sip-{call_id}",
            daemon=True,
        ).start()
        return "connected"

    def sip_leg_status(self, call_id: str) -> str:
        """ "ongoing" while the agent talks, "ended" once it ended; "registered" or "unknown" otherwise."""
        with self._lock:
            call = self._calls_registered.get(call_id)
            if call is None:
                return "unknown"
            status = call.get("call_status")
        return "ongoing" if status == "ongoing" else "registered" if status == "registered" else "ended"

    def sip_hang_up(self, call_id: str) -> None:
        """Twilio hung the leg up (the live call was redirected): the call ends as the user's hangup."""
        if self.sip_leg_status(call_id) == "ongoing":
            self.end_call(call_id, 0, disconnection_reason="user_hangup")

    # -- custom tools ------------------------------------------------------------------------------

    def invoke_tool(self, call_id: str, name: str, args: JsonObject | None = None) -> JsonObject:
        """The call's agent calls its custom tool `name` (module docstring); LookupError when unknown."""
        with self._lock:
            call = self._calls_registered.get(call_id)
            if call is None:
                raise LookupError(f"no registered call {call_id!r}")
            tool = self._custom_tool_of(call, name)
            call_snapshot = copy.deepcopy(call)
        arguments = dict(args or {})
        body = tool_request_body(tool, call_snapshot, arguments)
        attempts: list[JsonObject] = []
        for attempt in range(1 + TOOL_RETRIES):
            if attempt:
                retry_pause()
            attempts.append(send_tool_request(tool, body, retell_signature(body, self.api_key)))
            if succeeded(attempts[-1]):
                break
        record = {
            "call_id": call_id,
            "name": name,
            "url": tool_url(tool),
            "method": tool.get("method") or "POST",
            "args": arguments,
            "status": attempts[-1]["status"],
            "body": attempts[-1]["body"],
            "attempts": attempts,
        }
        with self._lock:
            self._tool_calls.append(record)
        return copy.deepcopy(record)

    def _custom_tool_of(self, call: JsonObject, name: str) -> JsonObject:
        """The tool of the agent version the call was registered with, through its Retell LLM version."""
        agent = self._agent_versions.get(call["agent_id"], {}).get(call["agent_version"])
        engine: JsonObject = (agent or {}).get("response_engine") or {}
        llm = None
        if engine.get("type") == "retell-llm":
            llm = self._llm_versions.get(str(engine.get("llm_id")), {}).get(engine.get("version", -1))
        tool = find_custom_tool(llm or {}, name)
        if tool is None:
            raise LookupError(f"call {call['call_id']!r}: its agent version has no custom tool {name!r}")
        return tool

    # -- control endpoints -------------------------------------------------------------------------

    def _control_routes(self) -> list[Route]:
        sip_call = r"/__control/sip/(?P<call_id>[^/]+)"
        return [
            route("POST", r"/__control/calls/(?P<call_id>[^/]+)/end", "control_end_call", self._control_end),
            route("POST", r"/__control/calls/(?P<call_id>[^/]+)/tool", "control_tool", self._control_tool),
            route(
                "GET",
                r"/__control/tool_calls",
                "control_tool_calls",
                lambda _: json_response(200, self.tool_calls),
            ),
            route("POST", r"/__control/sip", "control_sip_outcome", self._control_sip_outcome),
            route("POST", rf"{sip_call}/dial", "control_sip_dial", self._control_sip_dial),
            route(
                "GET",
                sip_call,
                "control_sip_status",
                lambda request: json_response(
                    200, {"status": self.sip_leg_status(request.path_params["call_id"])}
                ),
            ),
            route("POST", rf"{sip_call}/hangup", "control_sip_hangup", self._control_sip_hang_up),
        ]

    def _control_tool(self, request: Request) -> Response:
        """`{name, args?}`: the call's agent calls its custom tool; the tool's answer comes back."""
        options = request.json_object()
        name, args = options.get("name"), options.get("args") or {}
        if set(options) - {"name", "args"} or not isinstance(name, str) or not isinstance(args, dict):
            raise ValueError("tool takes name (a string) and args (an object)")
        try:
            return json_response(200, self.invoke_tool(request.path_params["call_id"], name, args))
        except LookupError as error:
            return json_response(404, {"error": str(error.args[0])})

    def _control_sip_outcome(self, request: Request) -> Response:
        options = request.json_object()
        call_id = options.get("call_id")
        if set(options) - {"outcome", "call_id"} or not isinstance(call_id, str | None):
            raise ValueError("sip takes outcome and call_id (a string, or null for every call)")
        self.set_sip_outcome(str(options.get("outcome")), call_id)
        return json_response(200, self.sip_outcomes)

    def _control_sip_dial(self, request: Request) -> Response:
        call_sid = request.json_object().get("call_sid")
        if not isinstance(call_sid, str):
            raise ValueError("dial takes call_sid (the Twilio leg's CallSid)")
        return json_response(200, {"outcome": self.sip_dial(request.path_params["call_id"], call_sid)})

    def _control_sip_hang_up(self, request: Request) -> Response:
        self.sip_hang_up(request.path_params["call_id"])
        return json_response(202, {"status": self.sip_leg_status(request.path_params["call_id"])})

    def _control_end(self, request: Request) -> Response:
        """`{after_ms, disconnection_reason?, connected?, conversation?, answers?}`: end a registered
        call, its events sent."""
        options = request.json_object()
        unknown = set(options) - {"after_ms", "disconnection_reason", "connected", "conversation", "answers"}
        after_ms = options.get("after_ms")
        conversation = options.get("conversation")
        if (
            unknown
            or not isinstance(after_ms, int | float)
            or isinstance(after_ms, bool)
            or not (conversation is None or is_conversation(conversation))
            or not isinstance(options.get("answers") or {}, dict)
        ):
            raise ValueError(
                "end takes after_ms (a number), disconnection_reason, connected, conversation "
                "([[role, text], ...]) and answers (an object)"
            )
        call_id = request.path_params["call_id"]
        self.end_call(
            call_id,
            after_ms,
            disconnection_reason=str(options.get("disconnection_reason") or "user_hangup"),
            connected=bool(options.get("connected", True)),
            conversation=[(role, text) for role, text in conversation] if conversation else None,
            answers=options.get("answers"),
        )
        return json_response(202, {"call_id": call_id, "after_ms": after_ms})

    # -- provider plumbing -----------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        return [
            route("POST", r"/create-retell-llm", "create_llm", self._create_llm),
            route("GET", r"/get-retell-llm/(?P<llm_id>[^/]+)", "get_llm", self._get_llm),
            route("PATCH", r"/update-retell-llm/(?P<llm_id>[^/]+)", "update_llm", self._update_llm),
            route("DELETE", r"/delete-retell-llm/(?P<llm_id>[^/]+)", "delete_llm", self._delete_llm),
            route("GET", r"/v2/list-retell-llms", "list_llms", self._list_llms),
            route("POST", r"/create-agent", "create_agent", self._create_agent),
            route("GET", r"/get-agent/(?P<agent_id>[^/]+)", "get_agent", self._get_agent),
            route(
                "GET",
                r"/get-agent-versions/(?P<agent_id>[^/]+)",
                "get_agent_versions",
                self._get_agent_versions,
            ),
            route("PATCH", r"/update-agent/(?P<agent_id>[^/]+)", "update_agent", self._update_agent),
            route(
                "POST",
                r"/create-agent-version/(?P<agent_id>[^/]+)",
                "create_agent_version",
                self._create_agent_version,
            ),
            route(
                "POST",
                r"/publish-agent-version/(?P<agent_id>[^/]+)",
                "publish_agent_version",
                self._publish_agent_version,
            ),
            route(
                "DELETE",
                r"/delete-agent-version/(?P<agent_id>[^/]+)",
                "delete_agent_version",
                self._delete_agent_version,
            ),
            route("DELETE", r"/delete-agent/(?P<agent_id>[^/]+)", "delete_agent", self._delete_agent),
            route("POST", r"/v2/list-agents", "list_agents", self._list_agents),
            route("GET", r"/list-agents", "list_agents", self._list_agents_legacy),
            route("POST", r"/v2/register-phone-call", "register_call", self._register_call),
            route("GET", r"/v2/get-call/(?P<call_id>[^/]+)", "get_call", self._get_call),
            route(
                "GET", _RECORDING_PATH.format(call_id="(?P<call_id>[^/]+)"), "get_recording", self._recording
            ),
        ]

    def _check_access(self, request: Request) -> Response | None:
        # A recording link is a storage URL, public or signed in itself: Retell's API key is no part of it.
        recording = request.path.startswith(_RECORDING_PATH.split("{", 1)[0])
        if recording or request.header("Authorization") == f"Bearer {self.api_key}":
            return None
        return self._error(401, None, None, request)

    def _error(self, status: int, message: str | None, code: int | None, request: Request) -> Response:
        return json_response(status, {"status": "error", "message": message or _default_message(status)})

    # -- Retell LLMs -------------------------------------------------------------------------------

    def _create_llm(self, request: Request) -> Response:
        body = request.json_object()
        _require(body.get("start_speaker") in ("user", "agent"), "start_speaker must be 'user' or 'agent'.")
        for name in ("general_prompt", "begin_message", "starting_state"):
            _require(_is_optional(body.get(name), str), f"{name} must be a string or null.")
        _require(
            body.get("default_dynamic_variables") is None
            or _is_string_map(body["default_dynamic_variables"]),
            "default_dynamic_variables must map strings to strings.",
        )
        check_llm_tools(body)
        llm = {
            **_LLM_DEFAULTS,
            **body,
            "llm_id": self._llm_ids.new(),
            "version": 0,
            "is_published": False,
            "last_modification_timestamp": now_ms(),
        }
        self._llms[llm["llm_id"]] = llm
        self._llm_versions[llm["llm_id"]] = {0: llm}
        return json_response(201, llm)

    def _get_llm(self, request: Request) -> Response:
        llm_id = request.path_params["llm_id"]
        return json_response(200, _version(self._llms, self._llm_versions, llm_id, request))

    def _update_llm(self, request: Request) -> Response:
        llm_id = request.path_params["llm_id"]
        llm = _draft(_version(self._llms, self._llm_versions, llm_id, request))
        body = request.json_object()
        for name in ("general_prompt", "begin_message"):
            _require(_is_optional(body.get(name), str), f"{name} must be a string or null.")
        _require("llm_id" not in body and "version" not in body, "llm_id and version cannot be changed.")
        check_llm_tools(body)
        llm.update(body, last_modification_timestamp=now_ms())
        return json_response(200, llm)

    def _delete_llm(self, request: Request) -> Response:
        _find(self._llms, request.path_params["llm_id"])
        del self._llms[request.path_params["llm_id"]]
        self._llm_versions.pop(request.path_params["llm_id"], None)
        return no_content()

    def _list_llms(self, request: Request) -> Response:
        limit = _limit(request.query_value("limit"), _DEFAULT_PAGE_LIMIT)
        descending = _is_descending(request.query_value("sort_order"))
        items, next_key = _page(self._llms, limit, request.query_value("pagination_key"), descending)
        return json_response(200, _paginated(items, next_key))

    # -- agents ------------------------------------------------------------------------------------

    def _create_agent(self, request: Request) -> Response:
        body = request.json_object()
        voice_id = body.get("voice_id")
        _require(isinstance(voice_id, str) and bool(voice_id), "voice_id is required.")
        _require(_is_optional(body.get("agent_name"), str), "agent_name must be a string or null.")
        check_post_call_analysis_data(body)
        agent = {
            **_AGENT_DEFAULTS,
            **body,
            "response_engine": self._attach_response_engine(body.get("response_engine")),
            "agent_id": self._agent_ids.new(),
            "version": 0,
            "is_published": False,
            "last_modification_timestamp": now_ms(),
        }
        self._agents[agent["agent_id"]] = agent
        self._agent_versions[agent["agent_id"]] = {0: agent}
        return json_response(201, agent)

    def _attach_response_engine(self, engine: Any) -> JsonObject:
        """The response engine as the agent will keep it; 422 when it names an asset we do not have."""
        _require(isinstance(engine, dict), "response_engine is required.")
        engine_type = engine.get("type")
        if engine_type == "retell-llm":
            _require(isinstance(engine.get("llm_id"), str), "response_engine.llm_id is required.")
            llm = _find(self._llms, engine["llm_id"])
            version = engine.get("version")
            if version is not None and version != llm["version"]:
                raise ProviderError(422, ASSET_NOT_FOUND)
            return {**engine, "version": llm["version"]}
        if engine_type == "custom-llm":
            url = engine.get("llm_websocket_url")
            _require(isinstance(url, str) and bool(url), "response_engine.llm_websocket_url is required.")
            return dict(engine)
        if engine_type == "conversation-flow":
            raise ProviderError(422, ASSET_NOT_FOUND)  # this fake keeps no conversation flows
        raise ProviderError(400, "response_engine.type must be retell-llm, custom-llm or conversation-flow.")

    def _get_agent(self, request: Request) -> Response:
        agent_id = request.path_params["agent_id"]
        return json_response(200, _version(self._agents, self._agent_versions, agent_id, request))

    def _get_agent_versions(self, request: Request) -> Response:
        agent_id = request.path_params["agent_id"]
        _find(self._agents, agent_id)
        return json_response(
            200, [self._agent_versions[agent_id][n] for n in sorted(self._agent_versions[agent_id])]
        )

    def _update_agent(self, request: Request) -> Response:
        agent_id = request.path_params["agent_id"]
        agent = _draft(_version(self._agents, self._agent_versions, agent_id, request))
        body = request.json_object()
        _require(_is_optional(body.get("agent_name"), str), "agent_name must be a string or null.")
        _require(_is_optional(body.get("voice_id"), str), "voice_id must be a string.")
        _require(_is_optional(body.get("webhook_url"), str), "webhook_url must be a string or null.")
        _require(
            not {"agent_id", "version", "response_engine"} & body.keys(),
            "agent_id, version and response_engine cannot be changed here.",
        )
        check_post_call_analysis_data(body)
        agent.update(body, last_modification_timestamp=now_ms())
        return json_response(200, agent)

    def _create_agent_version(self, request: Request) -> Response:
        agent_id = request.path_params["agent_id"]
        _find(self._agents, agent_id)
        base = request.json_object().get("base_version")
        _require(isinstance(base, int) and not isinstance(base, bool), "base_version must be an integer.")
        versions = self._agent_versions[agent_id]
        if base not in versions:
            raise ProviderError(404, _DEFAULT_MESSAGES[404])
        number = max(versions) + 1
        draft = {
            **copy.deepcopy(versions[base]),
            "version": number,
            "is_published": False,
            "base_version": base,
            "last_modification_timestamp": now_ms(),
        }
        engine: JsonObject = draft.get("response_engine") or {}
        llm_versions = (
            self._llm_versions.get(str(engine.get("llm_id")), {})
            if engine.get("type") == "retell-llm"
            else {}
        )
        if llm_versions:
            # The LLM gets the same new version, copied from the version the base agent used.
            llm_base = llm_versions.get(engine.get("version", -1), llm_versions[max(llm_versions)])
            llm = {**copy.deepcopy(llm_base), "version": number, "is_published": False}
            llm["last_modification_timestamp"] = now_ms()
            llm_versions[number] = llm
            self._llms[engine["llm_id"]] = llm
            draft["response_engine"] = {**engine, "version": number}
        versions[number] = draft
        self._agents[agent_id] = draft
        return json_response(201, draft)

    def _publish_agent_version(self, request: Request) -> Response:
        agent_id = request.path_params["agent_id"]
        _find(self._agents, agent_id)
        body = request.json_object()
        number = body.get("version")
        _require(isinstance(number, int) and not isinstance(number, bool), "version must be an integer.")
        _require(_is_optional(body.get("version_description"), str), "version_description must be a string.")
        agent = self._agent_versions[agent_id].get(int(number or 0))
        if agent is None:
            raise ProviderError(404, _DEFAULT_MESSAGES[404])
        _draft(agent)
        agent["is_published"] = True
        if body.get("version_description") is not None:
            agent["version_description"] = body["version_description"]
        llm = self._engine_llm_version(agent)
        if llm is not None:
            llm["is_published"] = True
        return Response(200)

    def _delete_agent_version(self, request: Request) -> Response:
        agent_id = request.path_params["agent_id"]
        _find(self._agents, agent_id)
        raw = request.query_value("version")
        _require(raw is not None and raw.isdigit(), "version must be a non-negative integer.")
        assert raw is not None
        versions = self._agent_versions[agent_id]
        agent = versions.get(int(raw))
        if agent is None:
            raise ProviderError(404, _DEFAULT_MESSAGES[404])
        _require(not agent["is_published"], "Published versions cannot be deleted.")
        _require(len(versions) > 1, "The only version of an agent cannot be deleted; delete the agent.")
        llm = self._engine_llm_version(agent)
        del versions[int(raw)]
        self._agents[agent_id] = versions[max(versions)]
        if llm is not None:
            llm_versions = self._llm_versions[agent["response_engine"]["llm_id"]]
            if len(llm_versions) > 1:
                del llm_versions[llm["version"]]
                self._llms[agent["response_engine"]["llm_id"]] = llm_versions[max(llm_versions)]
        return no_content()

    def _engine_llm_version(self, agent: JsonObject) -> JsonObject | None:
        """The version of its Retell LLM an agent version uses, when the fake holds it."""
        engine: JsonObject = agent.get("response_engine") or {}
        if engine.get("type") != "retell-llm":
            return None
        return self._llm_versions.get(str(engine.get("llm_id")), {}).get(engine.get("version", -1))

    def _delete_agent(self, request: Request) -> Response:
        _find(self._agents, request.path_params["agent_id"])
        del self._agents[request.path_params["agent_id"]]
        self._agent_versions.pop(request.path_params["agent_id"], None)
        return no_content()

    def _list_agents(self, request: Request) -> Response:
        body = request.json_object(required=False)
        limit = _limit(body.get("limit"), _DEFAULT_PAGE_LIMIT)
        pagination_key = body.get("pagination_key")
        _require(_is_optional(pagination_key, str), "pagination_key must be a string.")
        descending = _is_descending(body.get("sort_order"))
        items, next_key = _page(self._agents, limit, pagination_key, descending)
        return json_response(200, _paginated(items, next_key))

    def _list_agents_legacy(self, request: Request) -> Response:
        """GET /list-agents, as the stored spec has it: a bare array, oldest first."""
        limit = _limit(request.query_value("limit"), _LEGACY_LIST_AGENTS_LIMIT)
        items, _ = _page(self._agents, limit, request.query_value("pagination_key"), descending=False)
        return json_response(200, items)

    # -- calls -------------------------------------------------------------------------------------

    def _register_call(self, request: Request) -> Response:
        body = request.json_object()
        agent_id = body.get("agent_id")
        _require(isinstance(agent_id, str) and bool(agent_id), "agent_id is required.")
        agent = _find(self._agents, agent_id)
        direction = body.get("direction", "inbound")
        _require(direction in ("inbound", "outbound"), "direction must be 'inbound' or 'outbound'.")
        for name in ("from_number", "to_number"):
            _require(_is_optional(body.get(name), str), f"{name} must be a string.")
        _require(_is_optional(body.get("metadata"), dict), "metadata must be an object.")
        dynamic_variables = body.get("retell_llm_dynamic_variables")
        _require(
            dynamic_variables is None or _is_string_map(dynamic_variables),
            "retell_llm_dynamic_variables must map strings to strings.",
        )
        call: JsonObject = {
            "call_type": "phone_call",
            "call_id": self._call_ids.new(),
            "agent_id": agent_id,
            "agent_version": _resolve_agent_version(
                body.get("agent_version"), agent, self._agent_versions.get(str(agent_id), {})
            ),
            "call_status": "registered",
            # Optional in the request but required in the response; Retell only stores them.
            "from_number": body.get("from_number") or "",
            "to_number": body.get("to_number") or "",
            "direction": direction,
        }
        if isinstance(agent.get("agent_name"), str):
            call["agent_name"] = agent["agent_name"]
        # telephony_identifier stays out: Retell fills it from the SIP leg, which does not exist yet.
        for name in ("metadata", "retell_llm_dynamic_variables"):
            if body.get(name) is not None:
                call[name] = body[name]
        self._calls_registered[call["call_id"]] = call
        self._call_webhooks[call["call_id"]] = agent.get("webhook_url")
        return json_response(201, call)

    def _get_call(self, request: Request) -> Response:
        return json_response(200, _find(self._calls_registered, request.path_params["call_id"]))

    def _recording(self, request: Request) -> Response:
        """The call's recording: silence as long as the call, once it ended (S3's 403 before, as for a
        key that does not exist)."""
        call = self._calls_registered.get(request.path_params["call_id"])
        if call is None or "recording_url" not in call:
            return Response(403, b"<Error><Code>AccessDenied</Code></Error>", "application/xml")
        return Response(200, silent_wav(call["duration_ms"] / 1000), "audio/wav")


def _default_message(status: int) -> str:
    if status in _DEFAULT_MESSAGES:
        return _DEFAULT_MESSAGES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ProviderError(400, message)


def _is_optional(value: Any, kind: type) -> bool:
    return value is None or isinstance(value, kind)


def _is_string_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(each, str) for each in value.values())


def _find(resources: dict[str, JsonObject], resource_id: Any) -> JsonObject:
    resource = resources.get(resource_id) if isinstance(resource_id, str) else None
    if resource is None:
        raise ProviderError(422, ASSET_NOT_FOUND)
    return resource


def _version(
    latest: dict[str, JsonObject],
    versions: dict[str, dict[int, JsonObject]],
    resource_id: str,
    request: Request,
) -> JsonObject:
    """The version `?version=N` names (404 when there is none), else the latest; 422 for an unknown id."""
    newest = _find(latest, resource_id)
    raw = request.query_value("version")
    if raw is None:
        return newest
    _require(raw.isdigit(), "version must be a non-negative integer.")
    found = versions.get(resource_id, {}).get(int(raw))
    if found is None:
        raise ProviderError(404, _DEFAULT_MESSAGES[404])
    return found


def _draft(resource: JsonObject) -> JsonObject:
    """Only a draft can change: "Published versions cannot be changed." (answered 400 here)."""
    _require(not resource.get("is_published"), "Published versions cannot be changed.")
    return resource


def _string_keys(versions: dict[str, dict[int, JsonObject]]) -> dict[str, dict[str, JsonObject]]:
    return {
        key: {str(number): each for number, each in numbered.items()} for key, numbered in versions.items()
    }


def _resolve_agent_version(requested: Any, agent: JsonObject, versions: dict[int, JsonObject]) -> int:
    """An integer names a version; a tag (e.g. "prod") resolves to the latest, as an unassigned tag does."""
    if requested is None:
        return int(agent["version"])
    if isinstance(requested, int) and not isinstance(requested, bool):
        if requested not in versions:
            raise ProviderError(422, ASSET_NOT_FOUND)
        return requested
    _require(
        isinstance(requested, str) and _VERSION_TAG.fullmatch(requested) is not None,
        "agent_version must be a version number or a tag.",
    )
    return int(agent["version"])


def _limit(raw: Any, default: int) -> int:
    if raw is None:
        return default
    if isinstance(raw, str):
        _require(raw.isdigit(), "limit must be an integer.")
        raw = int(raw)
    _require(isinstance(raw, int) and not isinstance(raw, bool), "limit must be an integer.")
    _require(1 <= raw <= _MAX_PAGE_LIMIT, f"limit must be between 1 and {_MAX_PAGE_LIMIT}.")
    return int(raw)


def _is_descending(sort_order: Any) -> bool:
    if sort_order is None:
        return True  # the spec's default
    _require(sort_order in ("ascending", "descending"), "sort_order must be 'ascending' or 'descending'.")
    return bool(sort_order == "descending")


def _page(
    resources: dict[str, JsonObject], limit: int, pagination_key: str | None, descending: bool
) -> tuple[list[JsonObject], str | None]:
    """One page, and the key of the next one (None on the last page).

    Ids sort in creation order (IdFactory), so "after the key" stays well defined even when the item
    the key names has been deleted meanwhile.
    """
    ids = sorted(resources, reverse=descending)
    if pagination_key:
        ids = [each for each in ids if (each < pagination_key if descending else each > pagination_key)]
    page_ids = ids[:limit]
    next_key = page_ids[-1] if len(ids) > limit else None
    return [resources[each] for each in page_ids], next_key


def _paginated(items: list[JsonObject], next_key: str | None) -> JsonObject:
    """PaginatedResponseBase: `pagination_key` is a non-nullable string, so the last page leaves it out."""
    page: JsonObject = {"items": items, "has_more": next_key is not None}
    if next_key is not None:
        page["pagination_key"] = next_key
    return page
