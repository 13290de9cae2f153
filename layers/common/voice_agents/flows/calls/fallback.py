"""The number's VoiceFallbackUrl (``POST /api/webhooks/twilio/{agentId}/fallback?...``): what Twilio
requests when the voice webhook fails (a 5xx, a timeout, a crash, TwiML it cannot read). It answers
from its signed query alone (``forward`` and the number, or ``then``: voicemail or a message): no
database read, no Retell, so a database or Retell outage, or a broken deployment of the voice
webhook, still forwards the caller or takes a message. It runs as a function of its own.

Twilio adds ``ErrorCode`` and ``ErrorUrl`` to what it signs: logged, so an operator learns why the
voice webhook failed. A request whose signature does not check out is a 403."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voice_agents.core.errors import DomainError
from voice_agents.core.observability import count, logger
from voice_agents.core.routing import FORWARD, Destination
from voice_agents.flows.calls import twiml
from voice_agents.flows.calls.destinations import Call, destination_from, send_to
from voice_agents.flows.calls.twilio_request import TwilioRequest, TwimlAnswer, verified

if TYPE_CHECKING:
    from voice_agents.runtime import Runtime


def handle_fallback(request: TwilioRequest, process: Runtime) -> TwimlAnswer:
    if request.params is None:
        return TwimlAnswer(400, "not a form", "text/plain")
    try:
        settings = verified(request, process)
    except DomainError as exc:  # no token to check with: the apology rather than Twilio's error
        logger.error("cannot check the fallback signature", error=str(exc))
        return TwimlAnswer(200, twiml.APOLOGY)
    if settings is None:
        logger.warning("fallback refused", reason="invalid signature")
        count("WebhookSignatureRejected")
        return TwimlAnswer(403, "invalid signature", "text/plain")
    call = Call(
        agent_id=request.agent_id,
        call_sid=request.param("CallSid"),
        caller=request.param("From"),
        agent_number=request.param("To"),
        base_url=request.base_url(settings),
    )
    logger.append_keys(agent_id=request.agent_id, call_sid=call.call_sid)
    logger.warning(
        "the voice webhook failed; Twilio took the fallback URL",
        error_code=request.param("ErrorCode")[:10],
        error_url=request.param("ErrorUrl")[:200],
    )
    count("FallbackCalls")
    return TwimlAnswer(200, send_to(_destination(request), call, reason="webhook_failed", process=None))


def _destination(request: TwilioRequest) -> Destination:
    query = request.query_params
    if query.get("forward"):
        return Destination(FORWARD, query["forward"])
    return destination_from(query)
