"""The API's shapes of a call: one inbound call as the call history keeps it, and a page of them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from voice_agents.core.statuses import CallStatus
from voice_agents.data.calls import CallRecord

CallOutcome = Literal["agent", "person", "voicemail", "message", "missed"]


class CallLeg(BaseModel):
    """A number the caller was put through to: by the agent's transfer, or forwarded when the agent
    could not take the call (``reason`` says why). ``answered`` is null while it rings."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    to: str
    answered: bool | None = None
    reason: str | None = None


class Voicemail(BaseModel):
    """A message the caller left; ``recordingUrl`` (this API's, owner only) plays it."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    durationSeconds: int | None = None
    recordingUrl: str | None = None
    reason: str | None = None


class Call(BaseModel):
    """One inbound call of an agent, as the call history keeps it (times in UTC, durations in ms)."""

    model_config = ConfigDict(
        frozen=True, populate_by_name=True, json_schema_serialization_defaults_required=True
    )

    callSid: str
    retellCallId: str
    agentId: str
    # `from` is a Python keyword: the field is from_ in code and "from" on the wire.
    from_: str | None = Field(None, alias="from")
    to: str | None = None
    status: CallStatus
    registeredAt: datetime
    startedAt: datetime | None = None
    endedAt: datetime | None = None
    durationMs: int | None = None
    disconnectionReason: str | None = None
    summary: str | None = None
    sentiment: str | None = None
    outcome: CallOutcome | None = None
    businessOpen: bool | None = None
    transfer: CallLeg | None = None
    forward: CallLeg | None = None
    voicemail: Voicemail | None = None

    @classmethod
    def from_record(cls, record: CallRecord) -> Call:
        """The API's view of a stored call."""
        return cls(
            callSid=record.call_sid,
            retellCallId=record.retell_call_id,
            agentId=record.agent_id,
            from_=record.text("from"),
            to=record.text("to"),
            status=record.status,
            registeredAt=record.registered_at,
            startedAt=record.moment("startedAt"),
            endedAt=record.moment("endedAt"),
            durationMs=record.duration_ms,
            disconnectionReason=record.text("disconnectionReason"),
            summary=record.text("summary"),
            sentiment=record.text("sentiment"),
            outcome=record.outcome,
            businessOpen=record.business_open,
            transfer=_leg(record.leg("transfer")),
            forward=_leg(record.leg("forward")),
            voicemail=_voicemail(record),
        )


class CallPage(BaseModel):
    """One page of an agent's calls, newest first; pass ``nextCursor`` back as ``cursor`` for the next."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    items: list[Call]
    nextCursor: str | None = None


def _leg(leg: dict[str, object] | None) -> CallLeg | None:
    if leg is None or not isinstance(leg.get("to"), str):
        return None
    answered, reason = leg.get("answered"), leg.get("reason")
    return CallLeg(
        to=str(leg["to"]),
        answered=answered if isinstance(answered, bool) else None,
        reason=reason if isinstance(reason, str) else None,
    )


def _voicemail(record: CallRecord) -> Voicemail | None:
    voicemail = record.leg("voicemail")
    if voicemail is None:
        return None
    duration, reason = voicemail.get("durationSeconds"), voicemail.get("reason")
    has_audio = isinstance(voicemail.get("recordingSid"), str)
    return Voicemail(
        durationSeconds=duration if isinstance(duration, int) and not isinstance(duration, bool) else None,
        recordingUrl=f"/api/agents/{record.agent_id}/calls/{record.call_sid}/recording"
        if has_audio
        else None,
        reason=reason if isinstance(reason, str) else None,
    )
