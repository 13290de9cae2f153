"""The entry module of the agent routes: create, get, list, update and delete, and an agent's calls.
Handlers fetch the services and pass them in. Create's idempotency machinery (Powertools' idempotency
utility, boto3) is imported on its first use only, so the read path stays light at cold start."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voice_agents.call_records import to_call
from voice_agents.deletion import delete_agent
from voice_agents.errors import AgentNotFound, InvalidRequest
from voice_agents.models import Agent, AgentPage, CallPage
from voice_agents.records import AgentRecord
from voice_agents.store import AgentStore, now, object_id

if TYPE_CHECKING:
    from voice_agents.creation import create_agent
    from voice_agents.updating import update_agent

__all__ = [
    "create_agent",
    "delete_agent",
    "get_agent",
    "get_versioned_agent",
    "list_agents",
    "list_calls",
    "update_agent",
]


def __getattr__(name: str) -> Any:
    if name == "create_agent":
        from voice_agents.creation import create_agent

        return create_agent
    if name == "update_agent":
        from voice_agents.updating import update_agent

        return update_agent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class VersionedAgent:
    """An agent and its ETag (the ``If-Match`` of an update)."""

    agent: Agent
    etag: str

    @classmethod
    def of(cls, record: AgentRecord) -> VersionedAgent:
        return cls(record.to_agent(), record.entity_tag)


def get_versioned_agent(agent_id: str, *, owner_id: str, store: AgentStore) -> VersionedAgent:
    record = store.get_for_owner(agent_id, owner_id)
    if record is None:
        raise AgentNotFound(f"agent {agent_id} not found")
    return VersionedAgent.of(record)


def get_agent(agent_id: str, *, owner_id: str, store: AgentStore) -> Agent:
    record = store.get_for_owner(agent_id, owner_id)
    if record is None:
        raise AgentNotFound(f"agent {agent_id} not found")
    return record.to_agent()


def list_agents(*, owner_id: str, limit: int, cursor: str | None, store: AgentStore) -> AgentPage:
    after = _decode_cursor(cursor) if cursor else None
    records = store.list_for_owner(owner_id, limit=limit + 1, after=after)
    items = [record.to_agent() for record in records[:limit]]
    next_cursor = _encode_cursor(items[-1].id) if len(records) > limit else None
    return AgentPage(items=items, nextCursor=next_cursor)


def list_calls(
    agent_id: str, *, owner_id: str, limit: int, cursor: str | None, store: AgentStore
) -> CallPage:
    """The agent's calls, newest first; another owner's agent, or a deleted one, is not found."""
    after = _decode_cursor(cursor) if cursor else None
    record = store.get_for_owner(agent_id, owner_id)
    if record is None:
        raise AgentNotFound(f"agent {agent_id} not found")
    documents = store.calls.list_for_agent(
        owner_id, record.id, limit=limit + 1, after=object_id(after) if after else None, moment=now()
    )
    items = [to_call(document) for document in documents[:limit]]
    next_cursor = _encode_cursor(str(documents[limit - 1]["orderId"])) if len(documents) > limit else None
    return CallPage(items=items, nextCursor=next_cursor)


# A cursor is the id of the last agent (of a call: its orderId) of the page: a format the OpenAPI
# document can declare exactly (every string of it is a cursor this API accepts), where base64 of an
# id could not be.
CURSOR_PATTERN = r"^[0-9a-fA-F]{24}$"


def _encode_cursor(agent_id: str) -> str:
    return agent_id


def _decode_cursor(cursor: str) -> str:
    if not re.fullmatch(CURSOR_PATTERN, cursor) or object_id(cursor) is None:
        raise InvalidRequest("cursor", "cursor is not one this API returned")
    return cursor
