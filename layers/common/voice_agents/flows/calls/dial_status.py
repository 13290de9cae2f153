"""How a <Dial> leg ended (``POST /api/webhooks/twilio/{agentId}/dial-status?leg=...``), Twilio-signed
like the voice webhook: the action of every <Dial> the call path answers with. What the caller gets
next, by the leg and its ``DialCallStatus``:

    agent      answered → hang up (the conversation is over); never connected → the fallback
    person     (person-first) answered → hang up; not answered → the agent answers
    transfer   (the agent's transfer) answered → hang up; not → back to the agent, told it failed
    forward    answered → hang up; not answered → voicemail
    voicemail  (the <Record>'s action) → thanks, hang up

The fallback a failed leg leads to travels in the signed URL (``then``/``to``): when the agent's
record cannot be read, the caller still goes there. Refused: 403 (bad or missing signature), 400
(not a form, or no leg).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voice_agents.core.clock import now, object_id
from voice_agents.core.errors import DomainError
from voice_agents.core.observability import count, logger
from voice_agents.core.routing import VOICEMAIL, Destination
from voice_agents.core.statuses import AgentStatus
from voice_agents.flows.calls import twiml
from voice_agents.flows.calls.destinations import (
    AGENT_LEG,
    FORWARD_LEG,
    PERSON_LEG,
    TRANSFER_LEG,
    VOICEMAIL_LEG,
    Call,
    connect_agent,
    destination_from,
    note,
    send_to,
)
from voice_agents.flows.calls.twilio_request import TwilioRequest, TwimlAnswer, verified

if TYPE_CHECKING:
    from voice_agents.runtime import Runtime

# Twilio's DialCallStatus values for a leg somebody picked up.
ANSWERED = frozenset({"completed", "answered"})
LEGS = frozenset({AGENT_LEG, PERSON_LEG, TRANSFER_LEG, FORWARD_LEG, VOICEMAIL_LEG})


def handle_dial_status(request: TwilioRequest, process: Runtime) -> TwimlAnswer:
    leg = request.query_params.get("leg", "")
    if request.params is None or leg not in LEGS:
        return _refuse(400, "not a dial status of ours")
    try:
        settings = verified(request, process)
    except DomainError as exc:  # misconfigured (no token): the caller still goes where the URL says
        logger.error("cannot check the dial status signature", error=str(exc))
        call = _call(request, request.base_url(process.settings()))
        return TwimlAnswer(
            200, send_to(destination_from(request.query_params), call, reason="error", process=None)
        )
    if settings is None:
        return _refuse(403, "invalid signature")
    call = _call(request, request.base_url(settings))
    logger.append_keys(agent_id=request.agent_id, call_sid=call.call_sid, leg=leg)
    try:
        return TwimlAnswer(200, _next(leg, request, call, process))
    except Exception:  # a bug: the caller still goes to the fallback this URL carries
        logger.exception("dial status failed; the caller goes to the fallback")
        fallback = destination_from(request.query_params)
        return TwimlAnswer(200, send_to(fallback, call, reason="error", process=None))


def _next(leg: str, request: TwilioRequest, call: Call, process: Runtime) -> str:
    status = request.param("DialCallStatus")
    answered = status in ANSWERED
    fallback = destination_from(request.query_params)
    logger.info("dial leg ended", dial_call_status=status)
    count("DialLegs", leg=leg, answered=str(answered).lower())
    if leg == VOICEMAIL_LEG:
        return twiml.message(twiml.THANKS)
    if leg == AGENT_LEG:
        if answered:
            note(process, call, {"outcome": "agent"})
            return twiml.hang_up()
        return send_to(fallback, call, reason="agent_leg_failed", process=process)
    number = request.query_params.get("dialled", "")
    if leg == FORWARD_LEG:
        note(process, call, {"forward.answered": answered, **({"outcome": "person"} if answered else {})})
        if answered:
            return twiml.hang_up()
        return send_to(Destination(VOICEMAIL), call, reason="forward_not_answered", process=process)
    # person-first, or the agent's transfer: answered, the caller talked to a person
    note(process, call, {"transfer.answered": answered, **({"outcome": "person"} if answered else {})})
    if answered:
        return twiml.hang_up()
    return _back_to_agent(call, process, fallback, transfer_failed=leg == TRANSFER_LEG, not_to=number)


def _back_to_agent(
    call: Call, process: Runtime, fallback: Destination, *, transfer_failed: bool, not_to: str
) -> str:
    """Nobody picked up: the agent takes the call (after a failed transfer, told so: it takes a
    message); when it cannot, the fallback (never the number that just did not answer)."""
    reason = "transfer_not_answered" if transfer_failed else "person_not_answered"
    oid = object_id(call.agent_id)
    try:
        record = process.store().get_record(oid) if oid else None
    except DomainError as exc:
        logger.warning("agent unreadable after an unanswered leg; the fallback takes it", error=str(exc))
        return send_to(_not_to(fallback, not_to), call, reason=reason, process=process)
    if record is None or record.status != AgentStatus.ACTIVE.value:
        return send_to(_not_to(fallback, not_to), call, reason=reason, process=process)
    return connect_agent(
        record, call, process, moment=now(), not_to=not_to or None, transfer_failed=transfer_failed
    )


def _not_to(destination: Destination, number: str) -> Destination:
    return Destination(VOICEMAIL) if destination.number and destination.number == number else destination


def _call(request: TwilioRequest, base_url: str) -> Call:
    return Call(
        agent_id=request.agent_id,
        call_sid=request.param("CallSid"),
        caller=request.param("From"),
        agent_number=request.param("To"),
        base_url=base_url,
    )


def _refuse(status: int, reason: str) -> TwimlAnswer:
    logger.warning("call path request refused", reason=reason)
    count("WebhookSignatureRejected")
    return TwimlAnswer(status, reason, "text/plain")
