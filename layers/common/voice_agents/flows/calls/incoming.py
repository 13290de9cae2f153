"""The Twilio voice webhook: verify the signature, hand the caller to the Retell agent over SIP.

Imports only ``twilio.request_validator`` and the TwiML builder ``twilio.twiml.voice_response`` (not
``twilio.rest``): this runs while a caller waits and Twilio gives up after 15 s in all.

Answers: 403 for a missing or bad signature (counted as WebhookSignatureRejected), 400 for a body
that is not a form; everything else is 200 TwiML. Whatever goes wrong once the signature checks out,
or keeps it from being checked at all (no auth token, the database down), the caller hears the
apology (counted as WebhookFailures): it registers nothing, so it is harmless to a forger too, and
it is never a 5xx.

With WEBHOOK_BASE_URL set, the signature is checked against ``{WEBHOOK_BASE_URL}/api/webhooks/twilio/
{agentId}`` before anything is read, so a forged request costs no database read. Without it, the
agent's stored webhookUrl (the number's VoiceUrl) is read first and checked against.
"""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from voice_agents.core.clock import now, object_id
from voice_agents.core.errors import DomainError
from voice_agents.core.observability import count, logger
from voice_agents.core.settings import Settings
from voice_agents.core.statuses import AgentStatus
from voice_agents.core.tags import webhook_url
from voice_agents.data.agent_record import RETELL_AGENT, AgentRecord

if TYPE_CHECKING:
    from voice_agents.runtime import Runtime

REGISTER_TIMEOUT_SECONDS = 4.0
SORRY = "Sorry, this agent cannot take your call right now. Please try again later."


def _apology_twiml() -> str:
    response = VoiceResponse()
    response.say(SORRY)
    response.hangup()
    return str(response)


def _dial_twiml(sip_uri: str) -> str:
    response = VoiceResponse()
    response.dial().sip(sip_uri)
    return str(response)


APOLOGY = _apology_twiml()


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    body: str
    content_type: str = "text/xml"


class _CallNotConnected(Exception):
    """An expected reason not to connect the call (the agent is missing or not active)."""


@dataclass(frozen=True)
class _Verified:
    settings: Settings
    record: AgentRecord | None
    record_read: bool


def handle_voice_webhook(
    agent_id: str, body: str | None, is_base64: bool, headers: dict[str, str], process: Runtime
) -> WebhookResponse:
    """``process`` holds the settings and clients, and re-reads the secret when a signature fails."""
    try:
        return _answer(agent_id, body, is_base64, headers, process)
    except Exception:  # a bug: the caller still hears the apology, never a 5xx
        logger.exception("webhook failed unexpectedly", agent_id=agent_id)
        return _apologise()


def _answer(
    agent_id: str, body: str | None, is_base64: bool, headers: dict[str, str], process: Runtime
) -> WebhookResponse:
    signature = next((value for key, value in headers.items() if key.lower() == "x-twilio-signature"), None)
    if not signature:
        return _refuse(403, "missing signature", agent_id)
    params = _form_params(body, is_base64)
    if params is None:
        return _refuse(400, "malformed form body", agent_id)
    # Every later line of this invocation names the call: Logs Insights finds a call by its CallSid.
    logger.append_keys(agent_id=agent_id, call_sid=params.get("CallSid", ""))
    try:
        verified = _verify(agent_id, params, signature, process)
    except DomainError as exc:  # misconfigured, or the database holding the URL is down
        logger.error("cannot check the webhook signature", agent_id=agent_id, error=str(exc))
        return _apologise()
    if verified is None:
        return _refuse(403, "invalid signature", agent_id)
    try:
        return _connect(agent_id, verified, params, process)
    except (DomainError, _CallNotConnected) as exc:
        logger.warning("call not connected", agent_id=agent_id, reason=str(exc))
        return _apologise()


def _verify(agent_id: str, params: dict[str, str], signature: str, process: Runtime) -> _Verified | None:
    """The settings and (when it had to be read first) the record, if the signature is Twilio's.

    A failed check re-reads the secret once (rate-limited) and checks again with a rotated token.
    """
    settings = process.settings()
    settings.require("TWILIO_AUTH_TOKEN")  # misconfigured: answered before any database read
    base_url = settings.webhook_base_url
    record: AgentRecord | None = None
    if base_url:
        url = webhook_url(base_url, agent_id)
    else:
        oid = object_id(agent_id)
        record = process.store().get_record(oid) if oid else None
        stored = record.webhook_url if record else None
        if not stored:
            return None  # nothing names the URL Twilio signed: nothing can verify this request
        url = stored
    signed = process.signed_with_secret(
        "TWILIO_AUTH_TOKEN", lambda token: RequestValidator(token).validate(url, params, signature)
    )
    return _Verified(signed, record, record_read=not base_url) if signed else None


def _connect(agent_id: str, verified: _Verified, params: dict[str, str], process: Runtime) -> WebhookResponse:
    record = verified.record
    if not verified.record_read:
        oid = object_id(agent_id)
        record = process.store().get_record(oid) if oid else None
    if record is None:
        raise _CallNotConnected("no such agent")
    if record.status != AgentStatus.ACTIVE.value or not record.stored_resource_id(RETELL_AGENT):
        raise _CallNotConnected(f"agent is {record.status}, not active")
    retention = timedelta(days=verified.settings.call_record_retention_days)
    call_id = _registered_call(params.get("CallSid", ""), record, params, retention, process)
    count("CallsConnected")
    sip = f"sip:{call_id}@{verified.settings.retell_sip_domain}"
    return WebhookResponse(200, _dial_twiml(sip))


def _registered_call(
    call_sid: str, record: AgentRecord, params: dict[str, str], retention: timedelta, process: Runtime
) -> str:
    """The Retell call id for this CallSid, registering it once even when the request comes again:
    a Twilio retry seconds later, or a captured request replayed within the retention period."""
    calls = process.store().calls
    moment = now()
    registered = calls.registered(call_sid, moment)
    if registered is not None:
        logger.info("this CallSid was registered before; reusing its registration", call_sid=call_sid)
        return registered
    call_id = process.retell().register_phone_call(
        agent_id=record.stored_resource_id(RETELL_AGENT),
        from_number=params.get("From", ""),
        to_number=params.get("To", ""),
        metadata={"twilio_call_sid": call_sid, "agent_id": str(record.id)},
        timeout_seconds=REGISTER_TIMEOUT_SECONDS,
        # The version the record published (older records have none: Retell runs the latest).
        agent_version=record.retell_agent_version,
    )
    owner = record.owner_id
    calls.remember(
        call_sid,
        retell_call_id=call_id,
        agent_id=record.id,
        owner_id=owner if isinstance(owner, str) else None,
        from_number=params.get("From", ""),
        to_number=params.get("To", ""),
        moment=moment,
        retention=retention,
    )
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


def _refuse(status: int, reason: str, agent_id: str) -> WebhookResponse:
    logger.warning("webhook refused", reason=reason, agent_id=agent_id)
    count("WebhookSignatureRejected")
    return WebhookResponse(status, reason, "text/plain")


def _apologise() -> WebhookResponse:
    """The apology TwiML: what the caller hears whenever the call cannot be connected."""
    count("WebhookFailures")
    count("CallsNotConnected")
    return WebhookResponse(200, APOLOGY)
