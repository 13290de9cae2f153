"""The ``sweep_state`` collection: where each of the sweep's provider listings stopped, so the next
reconciler run resumes the pass there. One document; read defensively (anything but a mapping of
strings is the first page)."""

from __future__ import annotations

from voice_agents.core.clock import now
from voice_agents.core.observability import logger
from voice_agents.data.agent_record import NUMBER, RETELL_AGENT, RETELL_LLM
from voice_agents.data.agents import AgentStore
from voice_agents.data.database import SWEEP_STATE, translate_errors

COLLECTION = SWEEP_STATE
STATE_ID = "cursors"
# The sweep's listings, in the order a run takes them.
LISTINGS = (NUMBER, RETELL_AGENT, RETELL_LLM)
# A provider's cursor: the query parameters of its next page.
Cursor = dict[str, str]


@translate_errors
def read_cursors(store: AgentStore) -> dict[str, Cursor | None]:
    """The stored cursors, read defensively: anything but a mapping of strings is the first page."""
    document = store.database[COLLECTION].find_one({"_id": STATE_ID}) or {}
    cursors: dict[str, Cursor | None] = {}
    for resource in LISTINGS:
        value = document.get(resource)
        if isinstance(value, dict) and value and all(isinstance(v, str) for v in value.values()):
            cursors[resource] = dict(value)
            continue
        if value is not None:
            logger.warning("stored listing cursor unreadable; listing from the first page", resource=resource)
        cursors[resource] = None
    return cursors


@translate_errors
def save_cursors(store: AgentStore, cursors: dict[str, Cursor | None]) -> None:
    document = {resource: cursors.get(resource) for resource in LISTINGS}
    store.database[COLLECTION].replace_one({"_id": STATE_ID}, {**document, "updatedAt": now()}, upsert=True)
