"""Retell's call events (``POST /api/webhooks/retell``): verify the signature, complete the call record.

Retell signs each event (``retell_signature``): a missing, malformed, wrong or stale signature is a
401 that costs no database read.

``call_started``, ``call_ended`` and ``call_analyzed`` update the call by its Retell id (and by its
CallSid, from the metadata it was registered with, when the event carries it), in one update
whose outcome does not depend on order or repetition (``data/calls.py``): Retell retries an event up to
three times and may deliver them out of order. What the record keeps of Retell's call object (the
status and times, the transcript, the cost, the answers to the agent's postCallFields) is read by
``retell_call``. An event naming a recording files it (``data/recordings.py``) for the copy into the
stack's bucket, which the reconciler makes (``recording_copy``), never this answer within Retell's
10 s. Other event types, and events for calls we never registered, are acknowledged (204) and change
nothing. A signed body that is not an event is a 400. An applied ``call_analyzed`` queues the owner's
notifications (``flows/notifications/enqueue.py``). The database down is a 503 (Retell retries); no
answer carries internals.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from voice_agents.core.clock import now
from voice_agents.core.errors import ConfigurationError, StoreError
from voice_agents.core.observability import count, logger
from voice_agents.core.statuses import CallStatus
from voice_agents.data.calls import PROGRESS
from voice_agents.flows.calls.retell_call import RetellCall
from voice_agents.flows.calls.retell_signature import signed_body
from voice_agents.flows.notifications.enqueue import queue_call_analyzed

if TYPE_CHECKING:
    from voice_agents.data.agents import AgentStore
    from voice_agents.runtime import Runtime


# What each handled event means when its call object carries no (known) call_status.
EVENT_STATUS = {
    "call_started": CallStatus.ONGOING,
    "call_ended": CallStatus.ENDED,
    "call_analyzed": CallStatus.ENDED,
}
# The events that carry the whole call (transcript, cost, recording, analysis): a late call_started
# must not write what the call had at its start over what it had at its end.
ENDING_EVENTS = frozenset({"call_ended", "call_analyzed"})
# Retell's call_status values; "error" is a call that ended in an error (disconnectionReason says why).
RETELL_STATUS = {
    "registered": CallStatus.REGISTERED,
    "ongoing": CallStatus.ONGOING,
    "ended": CallStatus.ENDED,
    "error": CallStatus.ENDED,
    "not_connected": CallStatus.NOT_CONNECTED,
}


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
    call = RetellCall.read(payload.get("call"))
    if isinstance(call, list):
        return _malformed(f"the call object is not valid ({', '.join(call)})")
    logger.append_keys(retell_call_id=call.call_id, event=event)
    store, moment = process.store(), now()
    applied = store.calls.apply_event(
        call.call_id,
        call_sid=call.call_sid(),
        progress=PROGRESS[_status(event, call)],
        facts=call.facts(whole_call=event in ENDING_EVENTS),
        moment=moment,
    )
    if not applied:
        logger.warning("call event for a call we did not register (or whose record expired); ignored")
        count("CallEventsUnknown")
        return EventAnswer(204)
    if call.recording_url is not None and event in ENDING_EVENTS:
        _queue_recording_copy(store, call, call.recording_url, moment)
    count("CallEventsApplied")
    if event == "call_analyzed":
        # The business is told (bounded; answered 204 whatever the queue does: enqueue's docstring).
        queue_call_analyzed(process, call_sid=call.call_sid(), retell_call_id=call.call_id)
    return EventAnswer(204)


def _queue_recording_copy(store: AgentStore, call: RetellCall, url: str, moment: datetime) -> None:
    """File Retell's recording link for the reconciler to copy (Retell's link may expire)."""
    identity = store.calls.identify(call.call_id, call_sid=call.call_sid(), moment=moment)
    if identity is not None:
        store.recordings.expect(
            identity.call_sid,
            agent_id=identity.agent_id,
            source_url=url,
            expires_at=identity.expires_at,
            moment=moment,
        )


def _status(event: str, call: RetellCall) -> CallStatus:
    return RETELL_STATUS.get(call.call_status or "", EVENT_STATUS[event])


def _malformed(reason: str) -> EventAnswer:
    logger.warning("call event malformed", reason=reason)
    return _error(400, "validation_error", reason)


def _error(status: int, error: str, message: str) -> EventAnswer:
    return EventAnswer(status, json.dumps({"error": error, "message": message}))
