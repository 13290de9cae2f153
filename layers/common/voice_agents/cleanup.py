"""Removing an agent's paid resources: shared by the saga's compensation, delete and the reconciler.

Order matters: the number goes first because it is what bills every month, then the Retell agent,
then its LLM (an agent must not outlive its LLM). Every removal is idempotent, so running it again
after a crash or alongside a retry is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from voice_agents.errors import DomainError
from voice_agents.observability import count, logger
from voice_agents.retell import LLM_TAG_VARIABLE

if TYPE_CHECKING:
    from voice_agents.retell import RetellClient
    from voice_agents.twilio_numbers import TwilioNumbers

# Names of the resources, as they appear in ``pending`` lists and metrics.
NUMBER = "twilio_number"
RETELL_AGENT = "retell_agent"
RETELL_LLM = "retell_llm"


@dataclass
class AgentResources:
    """What is known to exist (ids) or may exist without an id (a create whose response was lost)."""

    tag: str
    number_sid: str | None = None
    retell_agent_id: str | None = None
    retell_llm_id: str | None = None
    # Resources whose create outcome is unknown: found by tag before removal.
    unknown: set[str] = field(default_factory=set)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> AgentResources:
        return cls(
            tag=record["tag"],
            number_sid=record.get("twilioPhoneNumberSid"),
            retell_agent_id=record.get("retellAgentId"),
            retell_llm_id=record.get("retellLlmId"),
            unknown=set(record.get("unknownOutcomes") or ()),
        )


def remove_resources(
    resources: AgentResources, retell: RetellClient, twilio: TwilioNumbers, *, reason: str
) -> list[str]:
    """Release the number, delete the Retell agent and LLM. Returns what could not be removed."""
    pending: list[str] = []

    def attempt(resource: str, action: Any) -> None:
        try:
            removed = action()
        except DomainError as exc:
            logger.warning(
                "could not remove resource, left for the reconciler", resource=resource, error=str(exc)
            )
            pending.append(resource)
            return
        if removed:
            count("CompensationsRun", resource=resource, reason=reason)
            if resource == NUMBER:
                count("NumbersReleased", reason=reason)
            logger.info("resource removed", resource=resource, reason=reason)

    attempt(NUMBER, lambda: _release_numbers(resources, twilio))
    attempt(RETELL_AGENT, lambda: _delete_retell_agents(resources, retell))
    attempt(RETELL_LLM, lambda: _delete_llms(resources, retell))
    return pending


def _release_numbers(resources: AgentResources, twilio: TwilioNumbers) -> bool:
    sids = {resources.number_sid} if resources.number_sid else set()
    # The number's tag is the FriendlyName, which Twilio filters on exactly: a cheap lookup, so it
    # is always done; it finds a purchase whose response was lost or never journaled.
    sids.update(number.sid for number in twilio.find_by_tag(resources.tag))
    released = [twilio.release(sid) for sid in sorted(sids)]
    return any(released)


def _delete_retell_agents(resources: AgentResources, retell: RetellClient) -> bool:
    ids = {resources.retell_agent_id} if resources.retell_agent_id else set()
    if RETELL_AGENT in resources.unknown:
        ids.update(
            agent["agent_id"]
            for agent in retell.list_agents()
            if (agent.get("agent_name") or "").split(" ", 1)[0] == resources.tag
        )
    return any([retell.delete_agent(agent_id) for agent_id in sorted(ids)])


def _delete_llms(resources: AgentResources, retell: RetellClient) -> bool:
    ids = {resources.retell_llm_id} if resources.retell_llm_id else set()
    if RETELL_LLM in resources.unknown:
        ids.update(
            llm["llm_id"]
            for llm in retell.list_llms()
            if (llm.get("default_dynamic_variables") or {}).get(LLM_TAG_VARIABLE) == resources.tag
        )
    return any([retell.delete_llm(llm_id) for llm_id in sorted(ids)])
