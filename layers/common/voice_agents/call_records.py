"""The call record's schema (collection ``calls``, one document per Twilio CallSid) and its reading.

Written by the Twilio webhook when it hands a call to Retell (``store.CallStore.remember``) and
completed by Retell's call events (``call_events``). Fields: ``_id`` (CallSid), ``retellCallId``,
``agentId`` (ObjectId), ``ownerId``, ``from``, ``to``, ``progress`` (see below), ``createdAt`` (when
it was registered), ``orderId`` (an ObjectId drawn then: the calls route's sort key and cursor),
``expiresAt``, and from the events ``startedAt``, ``endedAt``, ``durationMs``,
``disconnectionReason``, ``summary``, ``sentiment``.

The status is kept as ``progress``, a number that only grows (``$max``): events arrive in any order
and more than once, and a status that never goes backwards is then one atomic update per event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voice_agents.statuses import CallStatus

if TYPE_CHECKING:
    from voice_agents.models import Call

PROGRESS: dict[CallStatus, int] = {
    CallStatus.REGISTERED: 0,
    CallStatus.ONGOING: 1,
    CallStatus.ENDED: 2,
    # Retell sends not_connected instead of ended (never after it): either one is final.
    CallStatus.NOT_CONNECTED: 3,
}
STATUS_BY_PROGRESS = {rank: status for status, rank in PROGRESS.items()}


def to_call(document: dict[str, Any]) -> Call:
    """The API's view of a stored call; a record of an unknown shape reads as registered."""
    # The API's models only here: the Retell webhook imports this module for PROGRESS (cold start).
    from voice_agents.models import Call

    progress = document.get("progress")
    status = STATUS_BY_PROGRESS.get(progress) if isinstance(progress, int) else None
    duration = document.get("durationMs")
    return Call(
        callSid=str(document["_id"]),
        retellCallId=str(document.get("retellCallId") or ""),
        agentId=str(document.get("agentId") or ""),
        from_=_text(document.get("from")),
        to=_text(document.get("to")),
        status=status or CallStatus.REGISTERED,
        registeredAt=document["createdAt"],
        startedAt=document.get("startedAt"),
        endedAt=document.get("endedAt"),
        durationMs=duration if isinstance(duration, int) else None,
        disconnectionReason=_text(document.get("disconnectionReason")),
        summary=_text(document.get("summary")),
        sentiment=_text(document.get("sentiment")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
