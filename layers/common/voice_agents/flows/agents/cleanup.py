"""Removing an agent's paid resources: shared by the saga's compensation, delete and the reconciler.

Order matters: the number goes first because it is what bills every month, then the Retell agent,
then its LLM (an agent must not outlive its LLM). Every removal is idempotent, so running it again
after a crash or alongside a retry is harmless.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from voice_agents.core.errors import DomainError
from voice_agents.core.observability import count, logger
from voice_agents.core.tags import agent_tag, llm_tag, tag_for
from voice_agents.data.agent_record import NUMBER, RETELL_AGENT, RETELL_LLM, AgentRecord

if TYPE_CHECKING:
    from voice_agents.providers.retell import RetellClient
    from voice_agents.providers.twilio import TwilioNumbers


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
    def from_record(cls, record: AgentRecord, *, prefix: str) -> AgentResources:
        """Read defensively, for records of older shapes: a missing tag is derived from the id and
        the deployment's ``prefix``, and an id of the wrong type is ignored with a warning (the tag
        still finds the resource)."""
        tag = record.tag
        if tag is None:
            tag = tag_for(prefix, record.id)
            logger.warning("record has no tag; derived from its id", tag=tag)
        return cls(
            tag=tag,
            number_sid=record.resource_id(NUMBER),
            retell_agent_id=record.resource_id(RETELL_AGENT),
            retell_llm_id=record.resource_id(RETELL_LLM),
            unknown=record.unknown_outcomes,
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
    for resource, known_id in (
        (RETELL_AGENT, resources.retell_agent_id),
        (RETELL_LLM, resources.retell_llm_id),
    ):
        attempt(resource, functools.partial(_delete_retell, resource, known_id, resources, retell, twilio))
    return pending


def remover(resource: str, retell: RetellClient, twilio: TwilioNumbers) -> Callable[[str], bool]:
    """How one kind of resource is removed by its id: True if removed now, False if already gone."""
    if resource == NUMBER:
        return twilio.release
    return retell.delete_agent if resource == RETELL_AGENT else retell.delete_llm


def retell_tags(resource: str, retell: RetellClient) -> Iterator[tuple[str, str | None]]:
    """(id, tag) of every Retell agent (``RETELL_AGENT``) or LLM (``RETELL_LLM``)."""
    if resource == RETELL_AGENT:
        return ((agent["agent_id"], agent_tag(agent)) for agent in retell.list_agents())
    return ((llm["llm_id"], llm_tag(llm)) for llm in retell.list_llms())


def _release_numbers(resources: AgentResources, twilio: TwilioNumbers) -> bool:
    sids = {resources.number_sid} if resources.number_sid else set()
    # The number's tag is the FriendlyName, which Twilio filters on exactly: a cheap lookup, so it
    # is always done; it finds a purchase whose response was lost or never journaled.
    sids.update(number.sid for number in twilio.find_by_tag(resources.tag))
    released = [twilio.release(sid) for sid in sorted(sids)]
    return any(released)


def _delete_retell(
    resource: str,
    known_id: str | None,
    resources: AgentResources,
    retell: RetellClient,
    twilio: TwilioNumbers,
) -> bool:
    """Delete the known id, plus (when the create's outcome is unknown) whatever carries the tag."""
    ids = {known_id} if known_id else set()
    if resource in resources.unknown:
        ids.update(found for found, tag in retell_tags(resource, retell) if tag == resources.tag)
    delete = remover(resource, retell, twilio)
    return any([delete(resource_id) for resource_id in sorted(ids)])
