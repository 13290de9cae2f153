"""The API's shapes of a call: one inbound call as the call history keeps it, a page of them, and one
call in full (its transcript and recording)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from voice_agents.core.money import micros_as_cents, round_half_up
from voice_agents.core.statuses import CallStatus
from voice_agents.data.calls import COST_CURRENCY, CallRecord, Speaker
from voice_agents.data.recordings import COPIED, LOST, Recording

CallOutcome = Literal["agent", "person", "voicemail", "message", "missed"]
# An answer to one of the agent's postCallFields: text (string and enum), true/false, or a number.
PostCallAnswer = str | bool | int | float


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


class ProductCost(BaseModel):
    """One of Retell's products in the call's cost (e.g. the voice, the model, the telephony)."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    product: str
    cents: int


class CallCost(BaseModel):
    """What Retell charged for the call, in whole cents of ``currency`` (each amount rounded on its
    own from Retell's, so the products may not add up to the total exactly); ``billedSeconds`` is the
    duration Retell billed."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    currency: Literal[COST_CURRENCY]  # type: ignore[valid-type]
    totalCents: int
    billedSeconds: float | None = None
    products: list[ProductCost] = []


class TelephonyCost(BaseModel):
    """What Twilio charged for the call's minutes (the call and its ``<Dial>`` legs: to the agent over
    SIP, to a person), in whole cents of ``currency`` (Twilio's price unit for the account), rounded
    once from Twilio's exact prices; ``durationSeconds`` is the call's length as Twilio billed it.
    Twilio prices a call some minutes after it ends: the reconciler reads it then (null until)."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    currency: str
    cents: int
    durationSeconds: int | None = None


class Call(BaseModel):
    """One inbound call of an agent, as the call history keeps it (times in UTC, durations in ms).
    ``postCallAnswers`` holds Retell's answers to the agent's postCallFields, by field name (empty
    until the call is analysed, or when the agent asks none); ``cost`` is null until Retell reports it,
    ``twilioCost`` until the reconciler has read Twilio's price."""

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
    cost: CallCost | None = None
    twilioCost: TelephonyCost | None = None
    postCallAnswers: dict[str, PostCallAnswer] = {}

    @classmethod
    def from_record(cls, record: CallRecord) -> Call:
        """The API's view of a stored call."""
        return cls(**_call_fields(record))


class TranscriptTurn(BaseModel):
    """One turn of the conversation: ``agent``, ``caller``, or ``person`` (someone Retell's own
    transfer reached), with when it was said, in seconds from the call's start (null when unknown)."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    speaker: Speaker
    text: str
    startSeconds: float | None = None
    endSeconds: float | None = None


class CallRecording(BaseModel):
    """The recording of the caller's conversation with the agent: ``pending`` while it is copied from
    Retell (minutes after the call), ``available`` (``url``, this API's, answers a link to play it), or
    ``unavailable`` (it could not be copied in time)."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    status: Literal["pending", "available", "unavailable"]
    url: str | None = None


class RecordingLink(BaseModel):
    """A link to play a call's recording: the stack's own copy, signed for its owner. It stops working
    at ``expiresAt`` (ask again for a new one); put it in an ``<audio src>`` as it is."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    url: str
    expiresAt: datetime
    contentType: str
    sizeBytes: int | None = None


class CallDetail(Call):
    """One call in full: the call as the history lists it, with its transcript (capped: see
    ``transcriptTruncated``) and its recording (null when Retell made none)."""

    transcript: list[TranscriptTurn] = []
    transcriptTruncated: bool = False
    recording: CallRecording | None = None

    @classmethod
    def from_records(cls, record: CallRecord, recording: Recording | None) -> CallDetail:
        return cls(
            **_call_fields(record),
            transcript=[
                TranscriptTurn(
                    speaker=turn.speaker, text=turn.text, startSeconds=turn.start, endSeconds=turn.end
                )
                for turn in record.transcript
            ],
            transcriptTruncated=record.transcript_truncated,
            recording=_recording(record, recording),
        )


def _call_fields(record: CallRecord) -> dict[str, Any]:
    """The fields of ``Call`` for a stored call."""
    cost = record.cost
    return {
        "callSid": record.call_sid,
        "retellCallId": record.retell_call_id,
        "agentId": record.agent_id,
        "from_": record.text("from"),
        "to": record.text("to"),
        "status": record.status,
        "registeredAt": record.registered_at,
        "startedAt": record.moment("startedAt"),
        "endedAt": record.moment("endedAt"),
        "durationMs": record.duration_ms,
        "disconnectionReason": record.text("disconnectionReason"),
        "summary": record.text("summary"),
        "sentiment": record.text("sentiment"),
        "outcome": record.outcome,
        "businessOpen": record.business_open,
        "transfer": _leg(record.leg("transfer")),
        "forward": _leg(record.leg("forward")),
        "voicemail": _voicemail(record),
        "cost": CallCost(
            currency=COST_CURRENCY,
            totalCents=cost.total_cents,
            billedSeconds=cost.billed_seconds,
            products=[ProductCost(product=name, cents=cents) for name, cents in cost.products],
        )
        if cost is not None
        else None,
        "twilioCost": _telephony_cost(record),
        "postCallAnswers": record.post_call_answers,
    }


def _telephony_cost(record: CallRecord) -> TelephonyCost | None:
    cost = record.twilio_cost
    if cost is None:
        return None
    cents = round_half_up(micros_as_cents(cost.micros))
    return TelephonyCost(currency=cost.currency, cents=cents, durationSeconds=cost.seconds)


def _recording(record: CallRecord, recording: Recording | None) -> CallRecording | None:
    if recording is None:
        return None
    if recording.state == COPIED:
        url = f"/api/agents/{record.agent_id}/calls/{record.call_sid}/conversation-recording"
        return CallRecording(status="available", url=url)
    return CallRecording(status="unavailable" if recording.state == LOST else "pending")


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
