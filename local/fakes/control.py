"""Client for a fake's `/__control/*` surface, for tests running in another process than the fake."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self, cast

import httpx

JsonObject = dict[str, Any]


class FakeControl:
    """Set faults, read state and counters, reset a fake (Retell or Twilio) over HTTP.

    Every method raises `httpx.HTTPStatusError` when the fake refuses (e.g. an unknown operation, or
    404 for an unknown call or tool).

    The call path (see `local.fakes.voice` for how a call plays). On the fake Twilio, a played call
    runs in the background, so a test can act while the caller is with the agent:

        sid = twilio.place_call("+61298765432", "+61480000000")["call_sid"]
        twilio.wait_for_call(sid, until="settled")   # finished, or with the agent
        retell.invoke_tool(call_id, "transfer", {"reason": "asked for a person"})
        log = twilio.wait_for_call(sid)              # {call_sid, status, state, reached, steps, ...}

    `play_call` places and waits for the end in one request. On the fake Retell, `set_sip_outcome`
    makes SIP legs fail (or ring out, or be busy) instead of connecting; `invoke_tool` answers
    {call_id, name, url, method, args, status, body, attempts}.
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout)
        self._timeout = timeout

    def inject(
        self,
        operation: str,
        status: int | None = None,
        *,
        code: int | None = None,
        message: str | None = None,
        delay_ms: float = 0,
        drop: bool = False,
        hold_ms: float = 3000,
        times: int | None = None,
        body: str | None = None,
    ) -> JsonObject:
        """Queue any fault, combinations included; returns the fault as the fake stored it."""
        fault = {
            "operation": operation,
            "status": status,
            "code": code,
            "message": message,
            "delay_ms": delay_ms,
            "drop": drop,
            "hold_ms": hold_ms,
            "times": times,
            "body": body,
        }
        return cast(JsonObject, self._send("POST", "/__control/faults", fault))

    def fail(
        self,
        operation: str,
        status: int,
        code: int | None = None,
        message: str | None = None,
        times: int | None = None,
    ) -> JsonObject:
        """Answer `status` with the provider's error body, without acting."""
        return self.inject(operation, status=status, code=code, message=message, times=times)

    def delay(self, operation: str, ms: float, times: int | None = None) -> JsonObject:
        return self.inject(operation, delay_ms=ms, times=times)

    def drop(self, operation: str, hold_ms: float = 3000, times: int | None = None) -> JsonObject:
        """Act, then hold the connection `hold_ms` and close it without answering."""
        return self.inject(operation, drop=True, hold_ms=hold_ms, times=times)

    def faults(self) -> dict[str, list[JsonObject]]:
        return cast(dict[str, list[JsonObject]], self._send("GET", "/__control/faults"))

    def clear_faults(self) -> None:
        self._send("DELETE", "/__control/faults")

    def reset(self) -> None:
        """Clear state, faults, counters and configuration."""
        self._send("POST", "/__control/reset")

    def state(self) -> JsonObject:
        return cast(JsonObject, self._send("GET", "/__control/state"))

    def calls(self) -> dict[str, int]:
        return cast(dict[str, int], self._send("GET", "/__control/calls"))

    def configure(
        self, require_bundle: bool = False, require_address: bool = False, regulations: bool = False
    ) -> JsonObject:
        """Twilio only: whether buying a number needs a BundleSid / an AddressSid, or (regulations)
        what its country's rules need, checked against the seeded bundles and addresses."""
        config = {
            "require_bundle": require_bundle,
            "require_address": require_address,
            "regulations": regulations,
        }
        return cast(JsonObject, self._send("POST", "/__control/config", config))

    def seed_regulatory(self, bundles: list[JsonObject], addresses: list[JsonObject]) -> JsonObject:
        """Twilio only: add bundles {sid, iso_country, number_type, status?} and addresses {sid,
        iso_country} to the account's registry; the registry after."""
        seed = {"bundles": bundles, "addresses": addresses}
        return cast(JsonObject, self._send("POST", "/__control/regulatory", seed))

    def end_call(
        self,
        call_id: str,
        after_ms: float,
        *,
        disconnection_reason: str = "user_hangup",
        connected: bool = True,
    ) -> JsonObject:
        """Retell only: end a registered call after `after_ms`, sending its signed call events."""
        options = {"after_ms": after_ms, "disconnection_reason": disconnection_reason, "connected": connected}
        return cast(JsonObject, self._send("POST", f"/__control/calls/{call_id}/end", options))

    # -- the call path: fake Twilio ---------------------------------------------------------------------

    def place_call(
        self,
        from_number: str,
        to_number: str,
        *,
        message_seconds: int = 5,
        wait: str = "none",
        timeout_ms: float = 10_000,
    ) -> JsonObject:
        """Twilio only: place a call to an owned number; its log at once (wait "none"), or once it is
        "settled" (finished or with the agent) or "finished", or at the timeout."""
        options = {
            "from": from_number,
            "to": to_number,
            "message_seconds": message_seconds,
            "wait": wait,
            "timeout_ms": timeout_ms,
        }
        return cast(JsonObject, self._send("POST", "/__control/calls/place", options, timeout_ms))

    def play_call(
        self, from_number: str, to_number: str, *, message_seconds: int = 5, timeout_ms: float = 10_000
    ) -> JsonObject:
        """Twilio only: place a call and wait until it finished; its log."""
        return self.place_call(
            from_number, to_number, message_seconds=message_seconds, wait="finished", timeout_ms=timeout_ms
        )

    def call_log(self, call_sid: str) -> JsonObject:
        """Twilio only: {call_sid, from, to, status, state, finished, reached, steps} so far."""
        return cast(JsonObject, self._send("GET", f"/__control/calls/{call_sid}/log"))

    def wait_for_call(
        self, call_sid: str, *, until: str = "finished", timeout_ms: float = 10_000
    ) -> JsonObject:
        """Twilio only: the log once the call is `until` ("finished" or "settled"), or at the timeout."""
        options = {"until": until, "timeout_ms": timeout_ms}
        return cast(JsonObject, self._send("POST", f"/__control/calls/{call_sid}/wait", options, timeout_ms))

    def set_dial_outcome(self, number: str, outcome: str, talk_seconds: int = 30) -> JsonObject:
        """Twilio only: how a dialled number answers (answered, no-answer, busy, failed)."""
        options = {"number": number, "outcome": outcome, "talk_seconds": talk_seconds}
        return cast(JsonObject, self._send("POST", "/__control/dial_outcomes", options))

    def configure_voice(
        self, *, webhook_timeout_ms: float | None = None, sip_peer_url: str | None = None
    ) -> JsonObject:
        """Twilio only: the webhook timeout, and the fake Retell whose /__control/sip/* decides SIP legs."""
        changes = {"webhook_timeout_ms": webhook_timeout_ms, "sip_peer_url": sip_peer_url}
        payload = {name: value for name, value in changes.items() if value is not None}
        return cast(JsonObject, self._send("POST", "/__control/voice_config", payload))

    def voice(self) -> JsonObject:
        """Twilio only: {calls: {sid: log}, recordings, dial_outcomes, config}."""
        return cast(JsonObject, self._send("GET", "/__control/voice"))

    # -- the call path: fake Retell ----------------------------------------------------------------------

    def invoke_tool(
        self, call_id: str, name: str, args: JsonObject | None = None, *, timeout: float = 400.0
    ) -> JsonObject:
        """Retell only: the call's agent calls its custom tool; the tool's answer and every attempt."""
        payload = {"name": name, "args": args or {}}
        return cast(
            JsonObject, self._send("POST", f"/__control/calls/{call_id}/tool", payload, timeout * 1000)
        )

    def tool_calls(self) -> list[JsonObject]:
        """Retell only: every custom tool invocation so far."""
        return cast(list[JsonObject], self._send("GET", "/__control/tool_calls"))

    def set_sip_outcome(self, outcome: str, call_id: str | None = None) -> dict[str, str]:
        """Retell only: SIP legs to `call_id` (None: every other call) end connected, failed, busy or
        no-answer."""
        return cast(
            dict[str, str], self._send("POST", "/__control/sip", {"outcome": outcome, "call_id": call_id})
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, method: str, path: str, payload: JsonObject | None = None, waits_ms: float = 0) -> Any:
        """One control request; one the fake holds (a wait, a tool call) gets `waits_ms` more time."""
        response = self._http.request(method, path, json=payload, timeout=self._timeout + waits_ms / 1000)
        response.raise_for_status()
        return response.json() if response.content else None
