"""Which deployment a database serves: one marker document naming the resource tag prefix.

A reconciler pointed at the wrong database (a misspelled ``MONGODB_DATABASE``, another stack's)
would see live resources without records and take them for orphans. The marker makes the database's
identity explicit: the create path writes it when absent and refuses a database that names another
tag; the reconciler only reads it and sweeps nothing unless it names this deployment's tag. An
operator writes it for an existing database with ``python -m voice_agents.repair.operate mark``.
"""

from __future__ import annotations

import weakref
from enum import StrEnum
from typing import Any

from pymongo.errors import DuplicateKeyError

from voice_agents.core.clock import now
from voice_agents.core.errors import ConfigurationError
from voice_agents.core.observability import logger
from voice_agents.data.agents import AgentStore
from voice_agents.data.database import translate_errors

COLLECTION = "deployment"
MARKER_ID = "deployment"


class MarkerState(StrEnum):
    OURS = "ours"  # the marker names this deployment's tag
    ABSENT = "absent"  # no marker: a new, misspelled or not yet marked database
    FOREIGN = "foreign"  # the marker names another deployment's tag


# Stores whose marker this process has already confirmed: one round trip per cold start.
_confirmed: weakref.WeakKeyDictionary[AgentStore, str] = weakref.WeakKeyDictionary()


@translate_errors
def read_marker(store: AgentStore) -> dict[str, Any] | None:
    return store.database[COLLECTION].find_one({"_id": MARKER_ID})


def marker_state(marker: dict[str, Any] | None, resource_tag: str) -> MarkerState:
    if marker is None:
        return MarkerState.ABSENT
    return MarkerState.OURS if marker.get("resourceTag") == resource_tag else MarkerState.FOREIGN


def ensure_marker(store: AgentStore, resource_tag: str) -> None:
    """Before anything is bought: mark the database as this deployment's, or refuse another's."""
    if _confirmed.get(store) == resource_tag:
        return
    # One read in the usual case (the marker is there); the insert only on the first create.
    marker = read_marker(store) or _insert_marker(store, resource_tag, written_by="create_agent")
    if marker_state(marker, resource_tag) is MarkerState.FOREIGN:
        raise _foreign(store, marker, resource_tag)
    _confirmed[store] = resource_tag


def write_marker(store: AgentStore, resource_tag: str, *, replace: bool = False) -> dict[str, Any]:
    """The operator's command: mark an existing database; another tag's marker only with ``replace``."""
    marker = _insert_marker(store, resource_tag, written_by="operator")
    if marker_state(marker, resource_tag) is MarkerState.FOREIGN:
        if not replace:
            raise _foreign(store, marker, resource_tag)
        marker = _replace_marker(store, resource_tag, previous=marker)
    return marker or {}


def describe_foreign(store: AgentStore, marker: dict[str, Any] | None, resource_tag: str) -> str:
    other = (marker or {}).get("resourceTag")
    return (
        f"database '{store.database.name}' serves the deployment tagged '{other}', "
        f"not RESOURCE_TAG '{resource_tag}': check MONGODB_DATABASE and RESOURCE_TAG"
    )


def _foreign(store: AgentStore, marker: dict[str, Any] | None, resource_tag: str) -> ConfigurationError:
    return ConfigurationError(describe_foreign(store, marker, resource_tag), "MONGODB_DATABASE")


@translate_errors
def _insert_marker(store: AgentStore, resource_tag: str, *, written_by: str) -> dict[str, Any] | None:
    """Insert the marker unless one exists (of two racers one insert fails); return what is there."""
    collection = store.database[COLLECTION]
    document = {"_id": MARKER_ID, "resourceTag": resource_tag, "createdAt": now(), "writtenBy": written_by}
    try:
        collection.insert_one(document)
    except DuplicateKeyError:
        return collection.find_one({"_id": MARKER_ID})
    logger.info("deployment marker written", database=store.database.name, resource_tag=resource_tag)
    return document


@translate_errors
def _replace_marker(
    store: AgentStore, resource_tag: str, *, previous: dict[str, Any] | None
) -> dict[str, Any]:
    document = {
        "_id": MARKER_ID,
        "resourceTag": resource_tag,
        "createdAt": now(),
        "writtenBy": "operator",
        "replaced": (previous or {}).get("resourceTag"),
    }
    store.database[COLLECTION].replace_one({"_id": MARKER_ID}, document, upsert=True)
    logger.warning(
        "deployment marker replaced", database=store.database.name, resource_tag=resource_tag,
        previous=document["replaced"],
    )  # fmt: skip
    return document
