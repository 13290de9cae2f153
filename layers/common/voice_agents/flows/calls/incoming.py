"""The Twilio voice webhook: verify the signature, then send the caller where the agent's routing
says (``core.routing``): the Retell agent over SIP, the business's own phone first (person-first), or
while closed the after-hours choice. Every <Dial> has an action (``dial_status``) that learns how its
leg ended, so no caller is left on a dead line.

Imports only ``twilio.request_validator`` and the TwiML writer (not ``twilio.rest``): this runs while
a caller waits and Twilio gives up after 15 s in all.

Answers: 403 for a missing or bad signature (counted as WebhookSignatureRejected), 400 for a body
that is not a form; TwiML otherwise. When Retell cannot take the call, the caller goes to the
agent's fallback at once. When the agent's record cannot be read (the database down) or anything
unexpected fails, the answer is a 5xx on purpose: Twilio then requests the number's VoiceFallbackUrl
(``fallback``), which forwards the caller or takes a message without the database or Retell. An agent
that does not exist or is not active gets the apology (a deleted agent's number is released).

With WEBHOOK_BASE_URL set, the signature is checked against ``{WEBHOOK_BASE_URL}/api/webhooks/twilio/
{agentId}`` before anything is read, so a forged request costs no database read. Without it, the
agent's stored webhookUrl (the number's VoiceUrl) is read first and checked against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from voice_agents.core.clock import now, object_id
from voice_agents.core.errors import DomainError, StoreError
from voice_agents.core.observability import count, logger
from voice_agents.core.settings import Settings
from voice_agents.core.statuses import AgentStatus
from voice_agents.core.tags import base_url_of, webhook_url
from voice_agents.data.agent_record import RETELL_AGENT, AgentRecord
from voice_agents.flows.calls import twiml
from voice_agents.flows.calls.destinations import PERSON_LEG, Call, connect_agent, note, open_record, send_to
from voice_agents.flows.calls.twilio_request import TwimlAnswer, form_params, signed_by_twilio

if TYPE_CHECKING:
    from voice_agents.runtime import Runtime

APOLOGY = twiml.APOLOGY


WebhookResponse = TwimlAnswer


class _CallNotConnected(Exception):
    """An expected reason not to connect the call (the agent is missing or not active)."""


@dataclass(frozen=True)
class _Verified:
    settings: Settings
    url: str
    record: AgentRecord | None
    record_read: bool


def handle_voice_webhook(
    agent_id: str, body: str | None, is_base64: bool, headers: dict[str, str], process: Runtime
) -> WebhookResponse:
    """``process`` holds the settings and clients, and re-reads the secret when a signature fails."""
    try:
        return _answer(agent_id, body, is_base64, headers, process)
    except StoreError as exc:
        logger.error("agent unreadable; Twilio takes the fallback URL", agent_id=agent_id, error=str(exc))
        count("WebhookFailures")
        return WebhookResponse(503, "database unavailable", "text/plain")
    except Exception:  # a bug: Twilio takes the number's fallback URL, never silence
        logger.exception("webhook failed unexpectedly; Twilio takes the fallback URL", agent_id=agent_id)
        count("WebhookFailures")
        return WebhookResponse(500, "internal error", "text/plain")


def _answer(
    agent_id: str, body: str | None, is_base64: bool, headers: dict[str, str], process: Runtime
) -> WebhookResponse:
    signature = next((value for key, value in headers.items() if key.lower() == "x-twilio-signature"), None)
    if not signature:
        return _refuse(403, "missing signature", agent_id)
    params = form_params(body, is_base64)
    if params is None:
        return _refuse(400, "malformed form body", agent_id)
    try:
        verified = _verify(agent_id, params, signature, process)
    except StoreError:
        raise
    except DomainError as exc:  # misconfigured: no token to check the signature with
        logger.error("cannot check the webhook signature", agent_id=agent_id, error=str(exc))
        return _apologise()
    if verified is None:
        return _refuse(403, "invalid signature", agent_id)
    # Only now, verified: every later line of this invocation names the call.
    logger.append_keys(agent_id=agent_id, call_sid=params.get("CallSid", ""))
    try:
        return WebhookResponse(200, _route(agent_id, verified, params, process))
    except _CallNotConnected as exc:
        logger.warning("call not connected", agent_id=agent_id, reason=str(exc))
        return _apologise()


def _verify(agent_id: str, params: dict[str, str], signature: str, process: Runtime) -> _Verified | None:
    """The settings, the URL Twilio signed and (when it had to be read first) the record, if the
    signature is Twilio's. A failed check re-reads the secret once and checks again."""
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
    signed = signed_by_twilio(url, params, signature, process)
    return _Verified(signed, url, record, record_read=not base_url) if signed else None


def _route(agent_id: str, verified: _Verified, params: dict[str, str], process: Runtime) -> str:
    record = verified.record
    if not verified.record_read:
        oid = object_id(agent_id)
        record = process.store().get_record(oid) if oid else None
    if record is None:
        raise _CallNotConnected("no such agent")
    if record.status != AgentStatus.ACTIVE.value or not record.stored_resource_id(RETELL_AGENT):
        raise _CallNotConnected(f"agent is {record.status}, not active")
    call = Call(
        agent_id=agent_id,
        call_sid=params.get("CallSid", ""),
        caller=params.get("From", ""),
        agent_number=params.get("To", ""),
        base_url=base_url_of(verified.url, agent_id) or verified.url,
    )
    moment = now()
    routing = record.routing
    opening = {"businessOpen": routing.is_open(moment)}
    closed = None if opening["businessOpen"] else routing.after_hours()
    if closed is not None:
        open_record(record, call, process, opening)
        return send_to(closed, call, reason="after_hours", process=process)
    if routing.rings_person_first(moment):
        person = routing.transfer_number
        assert person is not None
        open_record(record, call, process, opening)
        note(process, call, {"transfer": {"to": person, "reason": "person_first", "answered": None}})
        return twiml.dial_number(
            person,
            caller_id=call.agent_number or None,
            action=call.dial_action(PERSON_LEG, routing.fallback(not_to=person), dialled=person),
            ring_seconds=routing.ring_seconds,
        )
    # The registration writes the call's record: no write of its own on the path most calls take.
    return connect_agent(record, call, process, moment=moment, opening=opening)


def _refuse(status: int, reason: str, agent_id: str) -> WebhookResponse:
    logger.warning("webhook refused", reason=reason, agent_id=agent_id)
    count("WebhookSignatureRejected")
    return WebhookResponse(status, reason, "text/plain")


def _apologise() -> WebhookResponse:
    """The apology TwiML: what the caller hears when no agent of ours can take the call at all."""
    count("WebhookFailures")
    count("CallsNotConnected")
    return WebhookResponse(200, APOLOGY)
