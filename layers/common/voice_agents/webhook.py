"""The Twilio voice webhook: verify the signature, hand the caller to the Retell agent over SIP.

Imports only ``twilio.request_validator`` (not ``twilio.rest``): this runs while a caller waits
and Twilio gives up after 15 s in all. Whatever goes wrong after the signature check, the caller
hears a polite message instead of Twilio's generic error.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import urllib.parse
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from xml.sax.saxutils import escape

from pymongo.errors import DuplicateKeyError
from twilio.request_validator import RequestValidator

from voice_agents import runtime
from voice_agents.errors import DomainError
from voice_agents.observability import count, logger
from voice_agents.store import CALLS, now, object_id, translate_errors

CALL_RECORD_TTL = timedelta(hours=6)  # Twilio retries within seconds; hours is plenty
REGISTER_TIMEOUT_SECONDS = 4.0
SORRY = "Sorry, this agent cannot take your call right now. Please try again later."


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    body: str
    content_type: str = "text/xml"


def handle_voice_webhook(
    agent_id: str, body: str | None, is_base64: bool, headers: dict[str, str]
) -> WebhookResponse:
    signature = next((value for key, value in headers.items() if key.lower() == "x-twilio-signature"), None)
    if not signature:
        return WebhookResponse(403, "missing signature", "text/plain")
    params = _form_params(body, is_base64)
    if params is None:
        return WebhookResponse(400, "malformed form body", "text/plain")
    oid = object_id(agent_id)
    try:
        settings = runtime.settings()
        auth_token = settings.require("TWILIO_AUTH_TOKEN")
        record = runtime.store().get(oid) if oid else None
    except DomainError as exc:  # misconfigured or the database is down: Twilio retries or falls back
        logger.error("cannot check the webhook", error=str(exc))
        return WebhookResponse(503, "temporarily unavailable", "text/plain")
    # Validate against the exact URL configured as the number's VoiceUrl, never one rebuilt from the event.
    url = (record or {}).get("webhookUrl")
    if not url or not RequestValidator(auth_token).validate(url, params, signature):
        logger.warning("rejected webhook with a bad signature", agent_id=agent_id)
        return WebhookResponse(403, "invalid signature", "text/plain")
    assert record is not None
    if record.get("status") != "active" or not record.get("retellAgentId"):
        return _say_sorry("agent not active", agent_id)
    call_sid = params.get("CallSid", "")
    try:
        call_id = _registered_call(call_sid, record, params)
    except DomainError as exc:
        return _say_sorry(str(exc), agent_id)
    count("CallsConnected")
    sip = f"sip:{call_id}@{settings.retell_sip_domain}"
    return WebhookResponse(
        200,
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Sip>{escape(sip)}</Sip></Dial></Response>',
    )


@translate_errors
def _registered_call(call_sid: str, record: dict[str, Any], params: dict[str, str]) -> str:
    """The Retell call id for this CallSid, registering it once even when Twilio retries."""
    calls = runtime.store().database[CALLS]
    moment = now()
    # By _id only, expiry checked here: the same on Atlas, and FerretDB scans for any other filter.
    existing = calls.find_one({"_id": call_sid})
    if existing and existing.get("retellCallId") and existing["expiresAt"] > moment:
        logger.info("Twilio retried a call; reusing its registration", call_sid=call_sid)
        return str(existing["retellCallId"])
    call_id = runtime.retell().register_phone_call(
        agent_id=record["retellAgentId"],
        from_number=params.get("From", ""),
        to_number=params.get("To", ""),
        metadata={"twilio_call_sid": call_sid, "agent_id": str(record["_id"])},
        timeout_seconds=REGISTER_TIMEOUT_SECONDS,
    )
    document = {
        "retellCallId": call_id,
        "agentId": record["_id"],
        "createdAt": moment,
        "expiresAt": moment + CALL_RECORD_TTL,
    }
    # A concurrent retry may have stored its registration first; either call id works.
    with contextlib.suppress(DuplicateKeyError):
        calls.update_one({"_id": call_sid}, {"$set": document}, upsert=True)
    return call_id


def _form_params(body: str | None, is_base64: bool) -> dict[str, str] | None:
    text = body or ""
    if is_base64:
        try:
            text = base64.b64decode(text).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    # Blank values are part of what Twilio signed (CalledZip=&...): keep them.
    return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))


def _say_sorry(reason: str, agent_id: str) -> WebhookResponse:
    logger.warning("call not connected", reason=reason, agent_id=agent_id)
    count("CallsNotConnected")
    return WebhookResponse(
        200, f'<?xml version="1.0" encoding="UTF-8"?><Response><Say>{escape(SORRY)}</Say><Hangup/></Response>'
    )
