"""The API's shapes of a call: one inbound call as the call history keeps it, and a page of them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from voice_agents.core.statuses import CallStatus
from voice_agents.data.calls import CallRecord


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
        )


class CallPage(BaseModel):
    """One page of an agent's calls, newest first; pass ``nextCursor`` back as ``cursor`` for the next."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    items: list[Call]
    nextCursor: str | None = None
