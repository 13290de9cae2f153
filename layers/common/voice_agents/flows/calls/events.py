"""Retell's call events (``POST /api/webhooks/retell``): verify the signature, complete the call record.

Retell signs each event (``retell_signature``): a missing, malformed, wrong or stale signature is a
401 that costs no database read.

``call_started``, ``call_ended`` and ``call_analyzed`` update the call by its Retell id (and by its
CallSid, from the metadata it was registered with, when the event carries it), in one update
whose outcome does not depend on order or repetition (``data/calls.py``): Retell retries an event up to
three times and may deliver them out of order. Other event types, and events for calls we never
registered, are acknowledged (204) and change nothing. A signed body that is not an event is a 400.
An applied ``call_analyzed`` queues the owner's notifications (``flows/notifications/enqueue.py``).
The database down is a 503 (Retell retries); no answer carries internals.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from voice_agents.core.clock import now
from voice_agents.core.errors import ConfigurationError, StoreError
from voice_agents.core.observability import count, logger
from voice_agents.core.statuses import CallStatus
from voice_agents.core.tags import CALL_SID_METADATA
from voice_agents.data.calls import PROGRESS
from voice_agents.flows.calls.retell_signature import signed_body
from voice_agents.flows.notifications.enqueue import queue_call_analyzed

if TYPE_CHECKING:
    from voice_agents.runtime import Runtime


# What each handled event means when its call object carries no (known) call_status.
EVENT_STATUS = {
    "call_started": CallStatus.ONGOING,
    "call_ended": CallStatus.ENDED,
    "call_analyzed": CallStatus.ENDED,
}
# Retell's call_status values; "error" is a call that ended in an error (disconnectionReason says why).
RETELL_STATUS = {
    "registered": CallStatus.REGISTERED,
    "ongoing": CallStatus.ONGOING,
    "ended": CallStatus.ENDED,
    "error": CallStatus.ENDED,
    "not_connected": CallStatus.NOT_CONNECTED,
}

# Epoch milliseconds up to the last one a datetime holds (9999-12-31).
MAX_EPOCH_MS = 253_402_300_799_999
SHORT_TEXT = 200
SUMMARY_TEXT = 20_000


@dataclass(frozen=True)
class _RetellCall:
    """The fields of Retell's call object the call record keeps; the rest is ignored. Read by hand,
    not by a pydantic model: this is every event's path, and pydantic's model machinery would double
    the function's cold start."""

    call_id: str
    call_status: str | None = None
    start_timestamp: int | None = None
    end_timestamp: int | None = None
    duration_ms: int | None = None
    disconnection_reason: str | None = None
    call_summary: str | None = None
    user_sentiment: str | None = None
    metadata: dict[str, Any] | None = None

    @classmethod
    def read(cls, call: Any) -> _RetellCall | list[str]:
        """The call, or the names of the fields that are not as Retell documents them."""
        if not isinstance(call, dict):
            return ["call"]
        invalid: list[str] = []

        def text(source: dict[str, Any], name: str, limit: int, *, path: str = "") -> str | None:
            value = source.get(name)
            if value is None or (isinstance(value, str) and len(value) <= limit):
                return value
            invalid.append(path + name)
            return None

        def epoch_ms(name: str) -> int | None:
            value = call.get(name)
            valid = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_EPOCH_MS
            if value is None or valid:
                return value
            invalid.append(name)
            return None

        call_id = call.get("call_id")
        if not isinstance(call_id, str) or not 1 <= len(call_id) <= SHORT_TEXT:
            invalid.append("call_id")
        analysis = call.get("call_analysis")
        if analysis is not None and not isinstance(analysis, dict):
            invalid.append("call_analysis")
        analysis = analysis if isinstance(analysis, dict) else {}
        metadata = call.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            invalid.append("metadata")
        read = cls(
            call_id=call_id if isinstance(call_id, str) else "",
            call_status=text(call, "call_status", SHORT_TEXT),
            start_timestamp=epoch_ms("start_timestamp"),
            end_timestamp=epoch_ms("end_timestamp"),
            duration_ms=epoch_ms("duration_ms"),
            disconnection_reason=text(call, "disconnection_reason", SHORT_TEXT),
            call_summary=text(analysis, "call_summary", SUMMARY_TEXT, path="call_analysis."),
            user_sentiment=text(analysis, "user_sentiment", SHORT_TEXT, path="call_analysis."),
            metadata=metadata if isinstance(metadata, dict) else None,
        )
        return sorted(invalid) if invalid else read

    def call_sid(self) -> str | None:
        """The Twilio CallSid the webhook registered the call with (its metadata comes back)."""
        value = (self.metadata or {}).get(CALL_SID_METADATA)
        return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class EventAnswer:
    status: int
    body: str = ""
    content_type: str = "application/json"


def handle_call_event(
    body: str | None,
    is_base64: bool,
    headers: dict[str, str],
    process: Runtime,
    clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
) -> EventAnswer:
    """``process`` holds the settings and the store, and re-reads the secret when a signature fails."""
    try:
        return _answer(body, is_base64, headers, process, clock_ms())
    except StoreError as exc:
        logger.error("call event not stored: database error", error=str(exc))
        return _error(503, "database_unavailable", "the database is unavailable; retry shortly")
    except ConfigurationError as exc:
        logger.error("call event not checked: configuration error", setting=exc.setting, error=str(exc))
        return _error(500, "configuration_error", "the service is misconfigured")
    except Exception:
        logger.exception("call event failed unexpectedly")
        return _error(500, "internal_error", "unexpected error; it has been logged")


def _answer(
    body: str | None, is_base64: bool, headers: dict[str, str], process: Runtime, now_ms: int
) -> EventAnswer:
    raw = signed_body(body, is_base64, headers, process, now_ms)
    if raw is None:
        return _error(401, "unauthorized", "the request is not signed by Retell")
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        return _malformed("the body is not JSON")
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, str):
        return _malformed("the body is not an event (no 'event' string)")
    if event not in EVENT_STATUS:
        logger.info("call event ignored", event=event[:50])
        return EventAnswer(204)
    call = _RetellCall.read(payload.get("call"))
    if isinstance(call, list):
        return _malformed(f"the call object is not valid ({', '.join(call)})")
    logger.append_keys(retell_call_id=call.call_id, event=event)
    applied = process.store().calls.apply_event(
        call.call_id,
        call_sid=call.call_sid(),
        progress=PROGRESS[_status(event, call)],
        facts=_facts(call),
        moment=now(),
    )
    if not applied:
        logger.warning("call event for a call we did not register (or whose record expired); ignored")
        count("CallEventsUnknown")
        return EventAnswer(204)
    count("CallEventsApplied")
    if event == "call_analyzed":
        # The business is told (bounded; answered 204 whatever the queue does: enqueue's docstring).
        queue_call_analyzed(process, call_sid=call.call_sid(), retell_call_id=call.call_id)
    return EventAnswer(204)


def _status(event: str, call: _RetellCall) -> CallStatus:
    return RETELL_STATUS.get(call.call_status or "", EVENT_STATUS[event])


def _facts(call: _RetellCall) -> dict[str, Any]:
    """What the event tells of the call; only what it carries, so a sparser event erases nothing."""
    duration = call.duration_ms
    if duration is None and call.start_timestamp is not None and call.end_timestamp is not None:
        duration = max(call.end_timestamp - call.start_timestamp, 0)
    facts = {
        "startedAt": _moment(call.start_timestamp),
        "endedAt": _moment(call.end_timestamp),
        "durationMs": duration,
        "disconnectionReason": call.disconnection_reason,
        "summary": call.call_summary,
        "sentiment": call.user_sentiment,
    }
    return {name: value for name, value in facts.items() if value is not None}


def _moment(epoch_ms: int | None) -> datetime | None:
    if epoch_ms is None:
        return None
    seconds, milliseconds = divmod(epoch_ms, 1000)  # exact: a float would round the milliseconds
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=milliseconds * 1000)


def _malformed(reason: str) -> EventAnswer:
    logger.warning("call event malformed", reason=reason)
    return _error(400, "validation_error", reason)


def _error(status: int, error: str, message: str) -> EventAnswer:
    return EventAnswer(status, json.dumps({"error": error, "message": message}))
