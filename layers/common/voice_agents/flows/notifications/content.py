"""What the business is told of an analysed call: the webhook's JSON event and the email's plain text,
both from the call as the API shows it (``models.calls.Call``), the agent's name and the answers to
the owner's post-call fields; and the sample a test delivery sends."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from voice_agents.core.statuses import CallStatus
from voice_agents.data.calls import CallRecord
from voice_agents.models.calls import Call
from voice_agents.models.notifications import AnalysedCallData, CallAnalyzedEvent

# The stored field the answers to the agent's postCallFields (Retell's custom_analysis_data) are kept in.
FIELD_ANSWERS = "postCallAnswers"
SUBJECT_MAX = 150
ANSWER_MAX = 1000
UNKNOWN_CALLER = "an unknown number"


@dataclass(frozen=True)
class AnalysedCall:
    """One analysed call, as both channels tell it."""

    call: Call
    agent_name: str | None
    answers: dict[str, Any]

    @classmethod
    def from_record(cls, record: CallRecord, agent_name: str | None) -> AnalysedCall:
        return cls(Call.from_record(record), agent_name, record.mapping(FIELD_ANSWERS) or {})


def webhook_body(analysed: AnalysedCall, occurred_at: datetime) -> str:
    data = AnalysedCallData(
        **analysed.call.model_dump(), agentName=analysed.agent_name, customAnalysisData=analysed.answers
    )
    return CallAnalyzedEvent(timestamp=occurred_at, data=data).model_dump_json(by_alias=True)


def email_subject(analysed: AnalysedCall) -> str:
    caller = analysed.call.from_ or UNKNOWN_CALLER
    to = f" to {analysed.agent_name}" if analysed.agent_name else ""
    return _one_line(f"Call from {caller}{to}")[:SUBJECT_MAX]


def email_text(analysed: AnalysedCall) -> str:
    """Plain text: who called, when and for how long, the summary and the answers."""
    call = analysed.call
    lines = [
        f"A call{f' to {analysed.agent_name}' if analysed.agent_name else ''} has been analysed.",
        "",
        f"Caller: {call.from_ or UNKNOWN_CALLER}",
    ]
    if call.to:
        lines.append(f"Called: {call.to}")
    when = call.startedAt or call.registeredAt
    lines.append(f"Time: {when.strftime('%Y-%m-%d %H:%M')} UTC")
    if call.durationMs is not None:
        lines.append(f"Duration: {_duration(call.durationMs)}")
    if call.outcome:
        lines.append(f"Outcome: {call.outcome}")
    if call.sentiment:
        lines.append(f"Caller sentiment: {call.sentiment}")
    lines += ["", "Summary:", call.summary or "(no summary)"]
    if analysed.answers:
        lines += ["", "Answers:"]
        for name, value in sorted(analysed.answers.items()):
            lines.append(f"- {_one_line(str(name))}: {_answer(value)}")
    lines += ["", f"Call {call.callSid}"]
    return "\n".join(lines) + "\n"


def sample(moment: datetime) -> AnalysedCall:
    """What a test delivery sends: a made-up call, marked as such in its summary."""
    started = moment - timedelta(minutes=3)
    call = Call(
        callSid="CA" + "0" * 32,
        retellCallId="call_test_notification",
        agentId="0" * 24,
        from_="+61298765432",
        to="+61255501234",
        status=CallStatus.ENDED,
        registeredAt=started,
        startedAt=started,
        endedAt=started + timedelta(seconds=73),
        durationMs=73_000,
        disconnectionReason="user_hangup",
        summary="This is a test notification: the caller asked for the opening hours and was told them.",
        sentiment="Positive",
        outcome="agent",
    )
    answers = {"reason_for_call": "opening hours", "callback_requested": False}
    return AnalysedCall(call, "Sample agent", answers)


def _duration(milliseconds: int) -> str:
    minutes, seconds = divmod(round(milliseconds / 1000), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def _answer(value: Any) -> str:
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, str | int | float) or value is None:
        text = "-" if value is None else str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return _one_line(text)[:ANSWER_MAX]


def _one_line(text: str) -> str:
    """No line breaks or other control characters: a subject is a header, an answer one line."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
