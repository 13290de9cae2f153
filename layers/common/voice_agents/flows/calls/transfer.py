"""The agent's transfer tool (``POST /api/tools/transfer``): Retell calls it, as a custom function,
when the caller asks for a person. Calls handed to Retell over SIP cannot use Retell's own
transfer, so the live Twilio call is given new TwiML instead: a <Dial> of the agent's
``transferNumber`` showing the agent's number, whose action (``dial_status``, leg ``transfer``) takes
the caller back to the agent, told the transfer failed, when nobody answers.

Checked before anything is read: Retell's signature over the raw body (``retell_signature``): 401,
no database read, no Twilio request. Then the call must be one we registered, still this Retell
call, not over, of an active agent whose Retell agent is the one calling and whose owner owns the
call. The answer is Retell's tool result (``{"result": ...}``, what the agent may say), 200 whenever
the request was Retell's: a transfer that cannot happen is said, so the agent takes a message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voice_agents.core.clock import now
from voice_agents.core.errors import DomainError
from voice_agents.core.observability import count, logger
from voice_agents.core.statuses import AgentStatus, CallStatus
from voice_agents.core.tags import CALL_SID_METADATA, base_url_of
from voice_agents.data.agent_record import RETELL_AGENT
from voice_agents.flows.calls import twiml
from voice_agents.flows.calls.destinations import TRANSFER_LEG, Call, note
from voice_agents.flows.calls.retell_signature import signed_body

if TYPE_CHECKING:
    from voice_agents.runtime import Runtime

TRANSFERRING = "Transferring the caller to a person now."
UNAVAILABLE = "A transfer is not possible right now. Offer to take a message instead."


@dataclass(frozen=True)
class ToolAnswer:
    status: int
    body: str


def handle_transfer(
    body: str | None,
    is_base64: bool,
    headers: dict[str, str],
    process: Runtime,
    clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
) -> ToolAnswer:
    raw = signed_body(body, is_base64, headers, process, clock_ms())
    if raw is None:
        return ToolAnswer(401, json.dumps({"error": "unauthorized", "message": "not signed by Retell"}))
    try:
        request = json.loads(raw)
    except (ValueError, RecursionError):
        return ToolAnswer(400, json.dumps({"error": "validation_error", "message": "the body is not JSON"}))
    call = request.get("call") if isinstance(request, dict) else None
    if not isinstance(call, dict) or not isinstance(call.get("call_id"), str):
        return ToolAnswer(400, json.dumps({"error": "validation_error", "message": "no call in the body"}))
    logger.append_keys(retell_call_id=call["call_id"])
    try:
        result = _transfer(call, process)
    except DomainError as exc:
        logger.warning("transfer failed", error=str(exc), error_type=type(exc).__name__)
        count("TransfersFailed")
        result = UNAVAILABLE
    return ToolAnswer(200, json.dumps({"result": result}))


def _transfer(retell_call: dict[str, Any], process: Runtime) -> str:
    metadata = retell_call.get("metadata")
    call_sid = metadata.get(CALL_SID_METADATA) if isinstance(metadata, dict) else None
    if not isinstance(call_sid, str):
        return _refused("the call carries no CallSid of ours")
    store = process.store()
    record = store.calls.find(call_sid, now())
    if record is None or record.retell_call_id != retell_call["call_id"]:
        return _refused("no call of ours has this Retell call id")
    logger.append_keys(call_sid=call_sid, agent_id=record.agent_id)
    if record.status in (CallStatus.ENDED, CallStatus.NOT_CONNECTED):
        return _refused("the call is over")
    agent = store.get_record(record.agent_object_id) if record.agent_object_id else None
    if (
        agent is None
        or agent.status != AgentStatus.ACTIVE.value
        or agent.stored_resource_id(RETELL_AGENT) != retell_call.get("agent_id")
        or agent.owner_id != record.owner_id
    ):
        return _refused("the call is not this agent's")
    number = agent.routing.transfer_number
    if number is None:
        return _refused("the agent has no transfer number")
    base = process.settings().webhook_base_url or base_url_of(agent.webhook_url, agent.id)
    if base is None:
        return _refused("no base URL for the transfer's callback")
    call = Call(str(agent.id), call_sid, record.text("from") or "", agent.text("phoneNumber") or "", base)
    redirect = twiml.dial_number(
        number,
        caller_id=call.agent_number or None,
        action=call.dial_action(TRANSFER_LEG, agent.routing.fallback(not_to=number), dialled=number),
        ring_seconds=twiml.FORWARD_RING_SECONDS,
    )
    # Noted first: the new TwiML plays at once, and its dial status may come back before this returns.
    note(process, call, {"transfer": {"to": number, "reason": "asked_for_person", "answered": None}})
    try:
        process.twilio().update_call(call_sid, redirect)
    except DomainError:
        note(process, call, {"transfer.answered": False})
        raise
    count("TransfersStarted")
    logger.info("caller transferred", transfer_to=number)
    return TRANSFERRING


def _refused(reason: str) -> str:
    logger.warning("transfer refused", reason=reason)
    count("TransfersRefused")
    return UNAVAILABLE
