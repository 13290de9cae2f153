"""Finding the owner's calls, newest first, filtered (``filters``): one agent's (another owner's, an
unknown or a deleted agent is not found) or every agent's the owner holds, as a page of JSON or as
CSV (``export``). The cursor is the last call's ``orderId``, as for one agent's calls before."""

from __future__ import annotations

from collections.abc import Sequence

from voice_agents.core.clock import now, object_id
from voice_agents.data.agent_record import AgentRecord
from voice_agents.data.agents import AgentStore
from voice_agents.data.calls import CallRecord
from voice_agents.flows.agents.reads import decode_cursor, owned_record
from voice_agents.flows.history import export
from voice_agents.flows.history.filters import CallQuery, asked_fields, call_filter, day_range
from voice_agents.models.calls import Call, CallPage

# The owner's list merges one index scan per agent (MongoDB explodes at most 200 such points for a
# sort); the per-owner quota (AGENT_LIMIT_PER_OWNER, 25 by default) keeps owners far below it.
MAX_AGENTS_SEARCHED = 200


def one_agent(agent_id: str, owner_id: str, store: AgentStore) -> list[AgentRecord]:
    """The agent searched: the caller's, not deleted, else not found."""
    return [owned_record(store, agent_id, owner_id)]


def every_agent(owner_id: str, store: AgentStore) -> list[AgentRecord]:
    """Every agent of the owner that holds (or will hold) a number: the calls the owner can read
    agent by agent, all in one list."""
    return store.holding_for_owner(owner_id, limit=MAX_AGENTS_SEARCHED)


def calls_page(
    agents: Sequence[AgentRecord],
    *,
    owner_id: str,
    query: CallQuery,
    limit: int,
    cursor: str | None,
    store: AgentStore,
) -> CallPage:
    calls, more = _find(agents, owner_id=owner_id, query=query, limit=limit, cursor=cursor, store=store)
    last = calls[-1].order_id if more and calls else None
    return CallPage(
        items=[Call.from_record(call) for call in calls], nextCursor=str(last) if last is not None else None
    )


def calls_csv(
    agents: Sequence[AgentRecord], *, owner_id: str, query: CallQuery, cursor: str | None, store: AgentStore
) -> export.CsvExport:
    """Up to ``export.MAX_ROWS`` calls as CSV, one column per post-call field the agents ask."""
    calls, more = _find(
        agents, owner_id=owner_id, query=query, limit=export.MAX_ROWS, cursor=cursor, store=store
    )
    zone = day_range(None, None, query.timezone).zone
    return export.render(calls, fields=asked_fields(agents), zone=zone, more=more)


def _find(
    agents: Sequence[AgentRecord],
    *,
    owner_id: str,
    query: CallQuery,
    limit: int,
    cursor: str | None,
    store: AgentStore,
) -> tuple[list[CallRecord], bool]:
    """Up to ``limit`` calls and whether more follow (one more is read to know)."""
    after = object_id(decode_cursor(cursor)) if cursor else None
    found = store.calls.list_calls(
        owner_id,
        [agent.id for agent in agents],
        call_filter(query, agents),
        limit=limit + 1,
        after=after,
        moment=now(),
    )
    return found[:limit], len(found) > limit
