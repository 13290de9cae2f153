"""MongoDB access: agent records, the saga journal, leases for repair work.

Every driver error leaves this module as a StoreError. Only single-document atomic operations are
used, because FerretDB (tests) has no transactions and Atlas (production) must behave the same.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING, MongoClient, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    InvalidURI,
    NetworkTimeout,
    OperationFailure,
    PyMongoError,
    WTimeoutError,
)

from voice_agents.errors import ConfigurationError, StoreError
from voice_agents.models import AgentStatus
from voice_agents.observability import logger

P = ParamSpec("P")
T = TypeVar("T")

AGENTS = "agents"
IDEMPOTENCY = "idempotency"
CALLS = "calls"  # inbound calls already registered with Retell, by Twilio CallSid
LEASES = "leases"
CLAIM_CANDIDATES = 5  # records tried per claim when others hold the first ones
DELETED = "deleted"  # soft-deleted records keep the audit trail of what was bought and released
NOT_IMPLEMENTED = 238  # FerretDB's answer to TTL and partial indexes


def now() -> datetime:
    # Mongo keeps milliseconds; truncating here keeps values equal after a round trip.
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def connect(uri: str, database: str, max_pool_size: int) -> Database[dict[str, Any]]:
    """One client per process (created at cold start): a small pool, short timeouts, tz-aware dates.

    A ``mongodb+srv`` URI is resolved here, in the constructor: a host that DNS cannot resolve is a
    StoreError like any other unreachable database, not a driver error.
    """
    try:
        client: MongoClient[dict[str, Any]] = MongoClient(
            uri,
            maxPoolSize=max_pool_size,
            serverSelectionTimeoutMS=5000,
            connectTimeoutMS=3000,
            socketTimeoutMS=10000,
            tz_aware=True,
            appname="voice-agents",
        )
    except InvalidURI as exc:  # its text may quote the URI, password included: keep it out
        raise ConfigurationError(
            "MONGODB_URI is not a valid MongoDB connection string", "MONGODB_URI"
        ) from exc
    except PyMongoError as exc:
        raise StoreError(f"database connect failed: {exc}") from exc
    return client[database]


def translate_errors(method: Callable[P, T]) -> Callable[P, T]:
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except PyMongoError as exc:
            unknown = isinstance(exc, AutoReconnect | NetworkTimeout | WTimeoutError)
            raise StoreError(f"database {method.__name__} failed: {exc}", outcome_unknown=unknown) from exc

    return wrapper


def object_id(agent_id: str) -> ObjectId | None:
    try:
        return ObjectId(agent_id)
    except (InvalidId, TypeError):
        return None


class AgentStore:
    def __init__(self, database: Database[dict[str, Any]]) -> None:
        self.database = database
        self.agents: Collection[dict[str, Any]] = database[AGENTS]
        self.leases = Leases(database[LEASES])

    @translate_errors
    def ensure_indexes(self) -> None:
        """Idempotent; called by every reconciler run, never on a request's path."""
        self.agents.create_index([("ownerId", ASCENDING), ("_id", DESCENDING)], name="owner_list")
        self.agents.create_index([("repairAfter", ASCENDING)], name="repair_queue")
        self.agents.create_index([("phoneNumber", ASCENDING)], name="phone_number")
        self.agents.create_index([("status", ASCENDING)], name="status")
        self.leases.collection.create_index(
            [("key", ASCENDING), ("generation", DESCENDING)], name="latest_lease"
        )
        # Records that carry their own expiry (checked in code): a TTL index only cleans them up.
        try:
            for name in (IDEMPOTENCY, CALLS):
                self.database[name].create_index("expiresAt", expireAfterSeconds=0, name="expiry_ttl")
        except OperationFailure as exc:
            if exc.code != NOT_IMPLEMENTED:
                raise
            logger.info("TTL indexes not supported by this server; expiry is enforced in code only")

    # --- the saga journal ---------------------------------------------------------------------

    @translate_errors
    def insert(self, document: dict[str, Any]) -> None:
        self.agents.insert_one(document)

    @translate_errors
    def record(self, agent_id: ObjectId, **fields: Any) -> None:
        """Journal an effect the moment it exists (a created id, the failure...)."""
        self.agents.update_one({"_id": agent_id}, {"$set": {**fields, "updatedAt": now()}})

    @translate_errors
    def update(
        self,
        agent_id: ObjectId,
        fields: dict[str, Any],
        *,
        unset: tuple[str, ...] = (),
        expect: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Set ``fields`` and drop ``unset`` if the record still matches ``expect``; returns it or None."""
        change: dict[str, Any] = {"$set": {**fields, "updatedAt": now()}}
        if unset:
            change["$unset"] = dict.fromkeys(unset, "")
        return self.agents.find_one_and_update(
            {"_id": agent_id, **(expect or {})}, change, return_document=ReturnDocument.AFTER
        )

    @translate_errors
    def get(self, agent_id: ObjectId) -> dict[str, Any] | None:
        return self.agents.find_one({"_id": agent_id})

    # --- reads for the API --------------------------------------------------------------------

    @translate_errors
    def get_for_owner(self, agent_id: str, owner_id: str) -> dict[str, Any] | None:
        oid = object_id(agent_id)
        if oid is None:
            return None
        return self.agents.find_one({"_id": oid, "ownerId": owner_id, "status": {"$ne": DELETED}})

    @translate_errors
    def list_for_owner(self, owner_id: str, *, limit: int, after: str | None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"ownerId": owner_id, "status": {"$ne": DELETED}}
        cursor_id = object_id(after) if after else None
        if cursor_id is not None:
            query["_id"] = {"$lt": cursor_id}
        return list(self.agents.find(query).sort("_id", DESCENDING).limit(limit))

    @translate_errors
    def count_holding(self, owner_id: str, *, up_to: int) -> int:
        """The owner's agents that hold or will hold paid resources, counted up to ``up_to``."""
        holding = [AgentStatus.PROVISIONING.value, AgentStatus.ACTIVE.value, AgentStatus.DELETING.value]
        return self.agents.count_documents({"ownerId": owner_id, "status": {"$in": holding}}, limit=up_to)

    @translate_errors
    def get_active(self, agent_id: str) -> dict[str, Any] | None:
        oid = object_id(agent_id)
        if oid is None:
            return None
        return self.agents.find_one({"_id": oid, "status": AgentStatus.ACTIVE.value})

    @translate_errors
    def find_many(self, agent_ids: list[ObjectId]) -> dict[ObjectId, dict[str, Any]]:
        return {document["_id"]: document for document in self.agents.find({"_id": {"$in": agent_ids}})}

    @translate_errors
    def count(self, query: dict[str, Any]) -> int:
        return self.agents.count_documents(query)

    @translate_errors
    def server_time(self) -> datetime:
        """The database server's clock: what a process checks its own clock against."""
        moment: datetime = self.database.client.admin.command("hello")["localTime"]
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    # --- leases: one worker at a time on a record -----------------------------------------------

    @translate_errors
    def claim(
        self, query: dict[str, Any], *, worker: str, lease: timedelta, changes: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Take the lease on one record matching ``query`` and apply ``changes``; None if none is free.

        The record's leaseOwner/leaseUntil only mirror the lease (to find free candidates cheaply);
        the lease itself is taken in ``Leases``, which stays exclusive on FerretDB too.
        """
        moment = now()
        free = {
            "$or": [{"leaseUntil": {"$exists": False}}, {"leaseUntil": None}, {"leaseUntil": {"$lt": moment}}]
        }
        for candidate in self.agents.find({"$and": [query, free]}, {"_id": 1}).limit(CLAIM_CANDIDATES):
            agent_id = candidate["_id"]
            if not self.leases.acquire(str(agent_id), worker, lease):
                continue
            # Under the lease now: check the record still matches before acting on it.
            claimed = self.agents.find_one_and_update(
                {"$and": [query, {"_id": agent_id}]},
                {
                    "$set": {
                        **(changes or {}),
                        "leaseOwner": worker,
                        "leaseUntil": moment + lease,
                        "updatedAt": moment,
                    }
                },
                return_document=ReturnDocument.AFTER,
            )
            if claimed is not None:
                return claimed
            self.leases.release(str(agent_id), worker)
        return None

    @translate_errors
    def release_lease(
        self,
        agent_id: ObjectId,
        worker: str,
        fields: dict[str, Any] | None = None,
        unset: tuple[str, ...] = (),
    ) -> dict[str, Any] | None:
        """Write the outcome and drop the lease, only if ``worker`` still holds it."""
        change: dict[str, Any] = {
            "$set": {**(fields or {}), "updatedAt": now()},
            "$unset": dict.fromkeys(("leaseOwner", "leaseUntil", *unset), ""),
        }
        document = self.agents.find_one_and_update(
            {"_id": agent_id, "leaseOwner": worker}, change, return_document=ReturnDocument.AFTER
        )
        self.leases.release(str(agent_id), worker)
        return document


class Leases:
    """Mutual exclusion that holds on Atlas and on FerretDB alike.

    FerretDB v1 evaluates an update's filter and writes the document in two steps, so two
    ``find_one_and_update`` calls racing on one document can both match. An insert of an
    existing ``_id`` fails on both servers, so a lease is taken by inserting its next generation,
    ``{key}#{n+1}``, when generation n has expired: of two racers, one insert fails.
    """

    def __init__(self, collection: Collection[dict[str, Any]]) -> None:
        self.collection = collection

    @translate_errors
    def acquire(self, key: str, worker: str, duration: timedelta) -> bool:
        moment = now()
        latest = self.collection.find_one({"key": key}, sort=[("generation", DESCENDING)])
        if latest is not None and latest["until"] > moment:
            return False
        generation = (latest["generation"] + 1) if latest else 1
        try:
            self.collection.insert_one(
                {
                    "_id": f"{key}#{generation}",
                    "key": key,
                    "generation": generation,
                    "owner": worker,
                    "until": moment + duration,
                }
            )
        except DuplicateKeyError:
            return False
        self.collection.delete_many({"key": key, "generation": {"$lt": generation}})
        return True

    @translate_errors
    def release(self, key: str, worker: str) -> None:
        self.collection.update_many(
            {"key": key, "owner": worker, "until": {"$gt": now()}}, {"$set": {"until": now()}}
        )
