"""Client for a fake's `/__control/*` surface, for tests running in another process than the fake."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self, cast

import httpx

JsonObject = dict[str, Any]


class FakeControl:
    """Set faults, read state and counters, reset a fake (Retell or Twilio) over HTTP.

    Every method raises `httpx.HTTPStatusError` when the fake refuses (e.g. an unknown operation).
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout)

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

    def configure(self, require_bundle: bool = False, require_address: bool = False) -> JsonObject:
        """Twilio only: whether buying a number needs a BundleSid / an AddressSid."""
        config = {"require_bundle": require_bundle, "require_address": require_address}
        return cast(JsonObject, self._send("POST", "/__control/config", config))

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

    def _send(self, method: str, path: str, payload: JsonObject | None = None) -> Any:
        response = self._http.request(method, path, json=payload)
        response.raise_for_status()
        return response.json() if response.content else None
