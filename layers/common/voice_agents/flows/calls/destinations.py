"""Where a caller goes, as TwiML, and what the call record learns of it: the agent over SIP, a number
(forwarded or transferred), voicemail, or a spoken message. Every step of the call path (the voice
webhook, a <Dial>'s outcome, the fallback URL, the transfer tool) answers through here, so each
destination is built once and every <Dial> carries an ``action`` that learns how its leg ended.

A ``<Dial>``'s action URL carries the destination to use if its leg fails (``then``/``to``), signed
with the rest of the URL: the step that handles it can send the caller on even when the database
cannot be read. Writes to the call record are best effort and bounded: a caller never waits on one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from voice_agents.core.clock import now
from voice_agents.core.errors import DomainError
from voice_agents.core.observability import count, logger
from voice_agents.core.routing import FORWARD, MESSAGE, VOICEMAIL, Destination, Routing
from voice_agents.core.tags import CALL_SID_METADATA, DIAL_STATUS, RECORDING, call_step_url
from voice_agents.data.agent_record import RETELL_AGENT
from voice_agents.flows.calls import twiml

if TYPE_CHECKING:
    from voice_agents.data.agent_record import AgentRecord
    from voice_agents.runtime import Runtime

# The legs a <Dial> action names: how the step that learns its outcome knows what was dialled.
AGENT_LEG, PERSON_LEG, TRANSFER_LEG, FORWARD_LEG, VOICEMAIL_LEG = (
    "agent",
    "person",
    "transfer",
    "forward",
    "voicemail",
)
# A note to the call record never holds the caller up longer than this.
NOTE_TIMEOUT_SECONDS = 1.0
REGISTER_TIMEOUT_SECONDS = 4.0


@dataclass(frozen=True)
class Call:
    """The call a step acts on, as Twilio's request names it."""

    agent_id: str
    call_sid: str
    caller: str  # From
    agent_number: str  # To: the agent's own number, the caller ID of every number we dial
    base_url: str  # where this deployment's callbacks live

    def step_url(self, step: str, **query: str) -> str:
        return call_step_url(self.base_url, self.agent_id, step, **query)

    def dial_action(self, leg: str, then: Destination, *, dialled: str | None = None) -> str:
        """The <Dial> action for ``leg``, carrying where the caller goes if the leg fails and the
        number it rings (never rung again on this call if it does not answer)."""
        query = {"leg": leg, **destination_query(then)}
        if dialled:
            query["dialled"] = dialled
        return self.step_url(DIAL_STATUS, **query)


def destination_query(destination: Destination) -> dict[str, str]:
    query = {"then": destination.action}
    if destination.number:
        query["to"] = destination.number
    return query


def destination_from(query: Mapping[str, str]) -> Destination:
    """The destination a signed URL carries; voicemail when it carries none that can be used."""
    action = query.get("then")
    number = query.get("to") or None
    if action == FORWARD and number:
        return Destination(FORWARD, number)
    if action == MESSAGE:
        return Destination(MESSAGE)
    return Destination(VOICEMAIL)


def send_to(destination: Destination, call: Call, *, reason: str, process: Runtime | None) -> str:
    """The TwiML that takes the caller to ``destination``, noting it (and ``reason``) on the call
    record when ``process`` is given (the fallback URL gives none: it never touches the database)."""
    count("CallsRouted", destination=destination.action, reason=reason)
    logger.info("caller routed", destination=destination.action, reason=reason)
    if destination.action == FORWARD and destination.number:
        note(process, call, {"forward": {"to": destination.number, "reason": reason, "answered": None}})
        return twiml.dial_number(
            destination.number,
            caller_id=call.agent_number or None,
            action=call.dial_action(FORWARD_LEG, Destination(VOICEMAIL), dialled=destination.number),
            ring_seconds=twiml.FORWARD_RING_SECONDS,
        )
    if destination.action == MESSAGE:
        note(process, call, {"outcome": "message", "messageReason": reason})
        return twiml.message()
    note(process, call, {"outcome": "voicemail", "voicemail": {"reason": reason}})
    return voicemail(call)


def voicemail(call: Call) -> str:
    return twiml.voicemail(
        action=call.step_url(DIAL_STATUS, leg=VOICEMAIL_LEG), recording_callback=call.step_url(RECORDING)
    )


def connect_agent(
    record: AgentRecord,
    call: Call,
    process: Runtime,
    *,
    moment: datetime,
    not_to: str | None = None,
    transfer_failed: bool = False,
    opening: dict[str, Any] | None = None,
) -> str:
    """Register the call with Retell and dial the agent over SIP; when Retell cannot take it (down,
    slow, at its concurrency limit), the caller goes to the fallback at once instead. ``not_to`` is
    a number that has just not answered: the fallback never rings it again. ``opening``: what the
    call's record starts with, when this step makes it (the registration writes it)."""
    routing = record.routing
    fallback = routing.fallback(not_to=not_to)
    try:
        call_id = _register(
            record, call, process, routing, moment, transfer_failed=transfer_failed, opening=opening
        )
    except DomainError as exc:
        logger.warning("Retell could not take the call; the fallback takes it", error=str(exc))
        count("AgentUnreachable")
        if opening is not None:
            open_record(record, call, process, opening)
        return send_to(fallback, call, reason="agent_unreachable", process=process)
    count("CallsConnected")
    sip = f"sip:{call_id}@{process.settings().retell_sip_domain}"
    return twiml.dial_agent(sip, call.dial_action(AGENT_LEG, fallback))


def _register(
    record: AgentRecord,
    call: Call,
    process: Runtime,
    routing: Routing,
    moment: datetime,
    *,
    transfer_failed: bool,
    opening: dict[str, Any] | None,
) -> str:
    """The Retell call id for this call, registered once even when Twilio retries the webhook (a
    transfer that failed registers a new call: the first one ended when the caller was put through)."""
    calls = process.store().calls
    if not transfer_failed:
        registered = calls.registered(call.call_sid, moment)
        if registered is not None:
            logger.info("this CallSid was registered before; reusing its registration")
            return registered
    local = routing.hours.local_time(moment) if routing.hours else None
    variables = {
        "caller_number": call.caller,
        "business_open": "true" if routing.is_open(moment) else "false",
        "local_time": local.strftime("%A %d %B %Y, %H:%M") if local else "",
        "transfer_failed": "true" if transfer_failed else "false",
    }
    call_id = process.retell().register_phone_call(
        agent_id=record.stored_resource_id(RETELL_AGENT),
        from_number=call.caller,
        to_number=call.agent_number,
        metadata={CALL_SID_METADATA: call.call_sid, "agent_id": str(record.id)},
        timeout_seconds=REGISTER_TIMEOUT_SECONDS,
        agent_version=record.retell_agent_version,  # the published version (older records: the latest)
        dynamic_variables=variables,
    )
    owner = record.owner_id
    calls.remember(
        call.call_sid,
        retell_call_id=call_id,
        agent_id=record.id,
        owner_id=owner if isinstance(owner, str) else None,
        from_number=call.caller,
        to_number=call.agent_number,
        moment=moment,
        retention=timedelta(days=process.settings().call_record_retention_days),
        facts=opening,
    )
    return call_id


def open_record(record: AgentRecord, call: Call, process: Runtime, facts: dict[str, Any]) -> None:
    """The call's record from its first ring, for a call Retell does not take."""
    owner = record.owner_id
    _bounded(
        "call record not opened",
        lambda: process.store().calls.open_call(
            call.call_sid,
            agent_id=record.id,
            owner_id=owner if isinstance(owner, str) else None,
            from_number=call.caller,
            to_number=call.agent_number,
            moment=now(),
            retention=timedelta(days=process.settings().call_record_retention_days),
            facts=facts,
        ),
    )


def note(process: Runtime | None, call: Call, facts: dict[str, Any]) -> None:
    """What the call path learnt, on the call's route (none without ``process``: the fallback URL)."""
    if process is not None:
        _bounded("call record not updated", lambda: process.store().calls.note(call.call_sid, facts, now()))


def _bounded(failure: str, write: Callable[[], None]) -> None:
    """A write to the call record, best effort and bounded: it never holds the caller up."""
    import pymongo  # loaded already wherever the store is: not on the fallback URL's path

    try:
        with pymongo.timeout(NOTE_TIMEOUT_SECONDS):
            write()
    except Exception as exc:  # the caller goes on; the record misses this fact
        logger.warning(failure, error=str(exc))
        count("CallNotesLost")
