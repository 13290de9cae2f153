"""A voicemail's recording (``POST /api/webhooks/twilio/{agentId}/recording``, the <Record>'s
recordingStatusCallback, Twilio-signed): its SID and duration go on the call record, where the call
history shows them and the recording route finds the audio. 204 once stored (or for a status other
than ``completed``); 403 for a bad signature; 503 when the database is down (Twilio retries)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from voice_agents.core.clock import now
from voice_agents.core.errors import DomainError, StoreError
from voice_agents.core.observability import count, logger
from voice_agents.flows.calls.twilio_request import TwilioRequest, TwimlAnswer, verified

if TYPE_CHECKING:
    from voice_agents.runtime import Runtime

RECORDING_SID_PATTERN = r"^RE[0-9a-fA-F]{32}$"


def handle_recording(request: TwilioRequest, process: Runtime) -> TwimlAnswer:
    if request.params is None:
        return TwimlAnswer(400, "not a form", "text/plain")
    try:
        settings = verified(request, process)
    except DomainError as exc:
        logger.error("cannot check the recording callback's signature", error=str(exc))
        return TwimlAnswer(500, "misconfigured", "text/plain")
    if settings is None:
        count("WebhookSignatureRejected")
        return TwimlAnswer(403, "invalid signature", "text/plain")
    call_sid, recording_sid = request.param("CallSid"), request.param("RecordingSid")
    logger.append_keys(agent_id=request.agent_id, call_sid=call_sid)
    if request.param("RecordingStatus") not in ("", "completed") or not _is_recording_sid(recording_sid):
        logger.info("recording callback ignored", status=request.param("RecordingStatus")[:20])
        return TwimlAnswer(204, "", "text/plain")
    duration = request.param("RecordingDuration")
    facts = {
        "outcome": "voicemail",
        "voicemail.recordingSid": recording_sid,
        "voicemail.durationSeconds": int(duration) if duration.isdigit() else None,
    }
    try:
        process.store().calls.note(call_sid, facts, now())
    except StoreError as exc:
        logger.error("voicemail not stored: database error; Twilio retries", error=str(exc))
        return TwimlAnswer(503, "database unavailable", "text/plain")
    count("VoicemailsRecorded")
    return TwimlAnswer(204, "", "text/plain")


def _is_recording_sid(value: str) -> bool:
    return re.fullmatch(RECORDING_SID_PATTERN, value) is not None
