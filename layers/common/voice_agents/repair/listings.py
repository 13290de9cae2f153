"""The sweep's provider listings, a page at a time, resumed across reconciler runs.

An account with many numbers and agents cannot always be listed in one run. The sweep takes pages
from the three listings in turn (Twilio numbers, Retell agents, Retell LLMs) while the run has time
for them, and keeps where each listing stopped (its cursor) in the ``sweep_state`` collection: the
next run resumes there, and a listing that reached its last page starts a new pass from its first
page. A run plans and acts only on what it listed itself. A stored cursor the provider no longer
accepts (an expired page token) makes that listing start again from its first page, in the same run:
listing again is all a refused cursor costs, it never removes anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bson import ObjectId

from voice_agents.core.errors import DeadlineExceeded, DomainError, UpstreamError
from voice_agents.core.observability import count, logger
from voice_agents.core.tags import agent_id_from_tag, agent_tag, llm_tag, tag_for, tag_prefix
from voice_agents.data.agent_record import NUMBER, RETELL_AGENT
from voice_agents.data.sweep_cursors import LISTINGS, Cursor

if TYPE_CHECKING:
    from voice_agents.runtime import Services

PAGE_SIZE = 1000  # the most either provider answers in one page
# A page answered 4xx for one of these reasons is about the request, not the cursor.
_NOT_ABOUT_THE_CURSOR = {401, 402, 403, 429}


@dataclass(frozen=True)
class Tagged:
    """A provider resource carrying this deployment's tag, and the agent id the tag names."""

    resource: str  # NUMBER, RETELL_AGENT or RETELL_LLM
    resource_id: str
    agent_id: ObjectId
    tag: str
    voice_url: str | None = None  # a number's voice webhook
    fallback_url: str | None = None  # a number's VoiceFallbackUrl (None: it has none)
    events_url: str | None = None  # a Retell agent's webhook_url, in the listed version
    version: int | None = None  # the Retell agent version the listing shows

    def age(self, moment: datetime) -> timedelta:
        # The agent id is generated when its create starts, just before anything is bought.
        return moment - self.agent_id.generation_time

    def describe(self, moment: datetime) -> dict[str, Any]:
        age = int(self.age(moment).total_seconds())
        return {"resource": self.resource, "id": self.resource_id, "tag": self.tag, "ageSeconds": age}


@dataclass
class Listed:
    """What one run listed, and where each listing resumes on the next run (None: its first page)."""

    items: list[Tagged] = field(default_factory=list)
    cursors: dict[str, Cursor | None] = field(default_factory=dict)
    pages: int = 0
    ended: list[str] = field(default_factory=list)  # reached their last page: a pass is complete
    restarted: list[str] = field(default_factory=list)  # their stored cursor was refused
    out_of_time: bool = False

    @property
    def unfinished(self) -> list[str]:
        """Listings whose pass goes on in the next run."""
        return [resource for resource in LISTINGS if resource not in self.ended]


def fetch_page(
    resource: str, services: Services, cursor: Cursor | None
) -> tuple[list[Tagged], Cursor | None]:
    """One page of one listing from ``cursor``: the resources carrying this deployment's tag, and
    the next page's cursor (None after the last page)."""
    prefix = services.settings.resource_tag

    def tagged(resource_id: Any, text: str | None, **listed: Any) -> list[Tagged]:
        agent_id = agent_id_from_tag(prefix, text)
        if agent_id is None or not isinstance(resource_id, str) or not resource_id:
            return []  # not ours, or nothing to act on by id
        return [Tagged(resource, resource_id, agent_id, tag_for(prefix, agent_id), **listed)]

    if resource == NUMBER:
        numbers, next_cursor = services.twilio.tagged_numbers_page(
            tag_prefix(prefix), cursor, page_size=PAGE_SIZE
        )
        found = [
            item
            for n in numbers
            for item in tagged(
                n.sid, n.friendly_name, voice_url=n.voice_url, fallback_url=n.voice_fallback_url or None
            )
        ]
        return found, next_cursor
    key = (cursor or {}).get("pagination_key")
    if resource == RETELL_AGENT:
        agents, next_key = services.retell.agents_page(key, limit=PAGE_SIZE)
        found = [
            item
            for agent in agents
            for item in tagged(
                agent.get("agent_id"),
                agent_tag(agent),
                events_url=_text(agent.get("webhook_url")),
                version=_number(agent.get("version")),
            )
        ]
    else:
        llms, next_key = services.retell.llms_page(key, limit=PAGE_SIZE)
        found = [item for llm in llms for item in tagged(llm.get("llm_id"), llm_tag(llm))]
    return found, ({"pagination_key": next_key} if next_key else None)


def tagged_resources(services: Services) -> list[Tagged]:
    """Every tagged number, Retell agent and LLM, every page (the operator's commands: no budget)."""
    found: list[Tagged] = []
    for resource in LISTINGS:
        cursor: Cursor | None = None
        while True:
            items, cursor = fetch_page(resource, services, cursor)
            found += items
            if cursor is None:
                break
    return found


def list_while(services: Services, cursors: dict[str, Cursor | None], has_time: Callable[[], bool]) -> Listed:
    """Pages of the three listings in turn, from ``cursors``, while ``has_time()``; each listing at
    most to its last page (a new pass starts in the next run)."""
    listed = Listed(cursors=dict(cursors))
    going = list(LISTINGS)
    while going:
        for resource in list(going):
            if not has_time():
                listed.out_of_time = True
                return listed
            cursor = listed.cursors.get(resource)
            try:
                items, next_cursor = fetch_page(resource, services, cursor)
            except DeadlineExceeded:
                listed.out_of_time = True
                return listed
            except DomainError as exc:
                if cursor is None or not _refuses_cursor(exc):
                    raise
                logger.warning(
                    "the provider refused the stored listing cursor; listing again from the first page",
                    resource=resource,
                    error=str(exc)[:300],
                )
                count("SweepCursorRefused", resource=resource)
                listed.restarted.append(resource)
                listed.cursors[resource] = None
                continue
            listed.items += items
            listed.pages += 1
            listed.cursors[resource] = next_cursor
            if next_cursor is None:
                going.remove(resource)
                listed.ended.append(resource)
    return listed


def _refuses_cursor(exc: DomainError) -> bool:
    status = exc.status if isinstance(exc, UpstreamError) else None
    return status is not None and 400 <= status < 500 and status not in _NOT_ABOUT_THE_CURSOR


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
