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

The signature is checked before anything is read, so a forged request costs no database read: against
``{WEBHOOK_BASE_URL}/api/webhooks/twilio/{agentId}`` when WEBHOOK_BASE_URL is set, else against the
URL API Gateway reports it was called on (``twilio_request``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voice_agents.core.clock import now, object_id
from voice_agents.core.errors import DomainError, StoreError
from voice_agents.core.observability import count, logger
from voice_agents.core.statuses import AgentStatus
from voice_agents.data.agent_record import RETELL_AGENT
from voice_agents.flows.calls import twiml
from voice_agents.flows.calls.destinations import PERSON_LEG, Call, connect_agent, note, open_record, send_to
from voice_agents.flows.calls.twilio_request import TwilioRequest, TwimlAnswer, verified

if TYPE_CHECKING:
    from voice_agents.runtime import Runtime

APOLOGY = twiml.APOLOGY


WebhookResponse = TwimlAnswer


class _CallNotConnected(Exception):
    """An expected reason not to connect the call (the agent is missing or not active)."""


def handle_voice_webhook(request: TwilioRequest, process: Runtime) -> WebhookResponse:
    """``process`` holds the settings and clients, and re-reads the secret when a signature fails."""
    agent_id = request.agent_id
    try:
        return _answer(request, process)
    except StoreError as exc:
        logger.error("agent unreadable; Twilio takes the fallback URL", agent_id=agent_id, error=str(exc))
        count("WebhookFailures")
        return WebhookResponse(503, "database unavailable", "text/plain")
    except Exception:  # a bug: Twilio takes the number's fallback URL, never silence
        logger.exception("webhook failed unexpectedly; Twilio takes the fallback URL", agent_id=agent_id)
        count("WebhookFailures")
        return WebhookResponse(500, "internal error", "text/plain")


def _answer(request: TwilioRequest, process: Runtime) -> WebhookResponse:
    agent_id = request.agent_id
    if not request.signature:
        return _refuse(403, "missing signature", agent_id)
    if request.params is None:
        return _refuse(400, "malformed form body", agent_id)
    try:
        settings = verified(request, process)
    except DomainError as exc:  # misconfigured: no token to check the signature with
        logger.error("cannot check the webhook signature", agent_id=agent_id, error=str(exc))
        return _apologise()
    if settings is None:
        return _refuse(403, "invalid signature", agent_id)
    # Only now, verified: every later line of this invocation names the call.
    logger.append_keys(agent_id=agent_id, call_sid=request.param("CallSid"))
    try:
        return WebhookResponse(200, _route(request, request.base_url(settings), process))
    except _CallNotConnected as exc:
        logger.warning("call not connected", agent_id=agent_id, reason=str(exc))
        return _apologise()


def _route(request: TwilioRequest, base_url: str, process: Runtime) -> str:
    agent_id = request.agent_id
    oid = object_id(agent_id)
    record = process.store().get_record(oid) if oid else None
    if record is None:
        raise _CallNotConnected("no such agent")
    if record.status != AgentStatus.ACTIVE.value or not record.stored_resource_id(RETELL_AGENT):
        raise _CallNotConnected(f"agent is {record.status}, not active")
    call = Call(
        agent_id=agent_id,
        call_sid=request.param("CallSid"),
        caller=request.param("From"),
        agent_number=request.param("To"),
        base_url=base_url,
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
