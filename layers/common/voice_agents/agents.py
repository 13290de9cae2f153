"""The entry module of the agent routes: create, get, list and delete, and an agent's calls. Handlers
fetch the services and pass them in. Create's idempotency machinery (Powertools' idempotency utility,
boto3) is imported on its first use only, so the read path stays light at cold start."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from voice_agents.call_records import to_call
from voice_agents.deletion import delete_agent
from voice_agents.errors import AgentNotFound, InvalidRequest
from voice_agents.models import Agent, AgentPage, CallPage
from voice_agents.store import AgentStore, now, object_id

if TYPE_CHECKING:
    from voice_agents.creation import create_agent

__all__ = ["create_agent", "delete_agent", "get_agent", "list_agents", "list_calls"]


def __getattr__(name: str) -> Any:
    if name == "create_agent":
        from voice_agents.creation import create_agent

        return create_agent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
