"""MongoDB access: agent records, the saga journal, leases for repair work, registered calls.

The domain changes a record only through the named operations below (``journal``,
``record_resource``, ``activate``, ``mark_failed``, ``begin_delete``, ``soft_delete``,
``claim_due_repairs``...) and reads it as an ``agent_record.AgentRecord``: the record's field names and
every query stay in this module and ``agent_record`` (docs/architecture.md, "The agent record").

Every driver error leaves this module as a StoreError. Only single-document atomic operations are
used, because FerretDB (tests) has no transactions and Atlas (production) must behave the same.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import OperationFailure

from voice_agents.core.clock import now, object_id
from voice_agents.core.errors import StoreError
from voice_agents.core.observability import logger
from voice_agents.core.statuses import AgentStatus
from voice_agents.data.agent_record import DELETED, RESOURCE_FIELDS, AgentRecord, stored_fields
from voice_agents.data.calls import CallStore
from voice_agents.data.database import (
    AGENTS,
    CALLS,
    IDEMPOTENCY,
    LEASES,
    NOT_IMPLEMENTED,
    NOTIFICATION_DELIVERIES,
    PURCHASES,
    RECORDINGS,
    REQUEST_COUNTS,
    translate_errors,
)
from voice_agents.data.leases import Leases
from voice_agents.data.notifications import NotificationStore
from voice_agents.data.purchases import Purchases
from voice_agents.data.recordings import RecordingStore
from voice_agents.data.request_counts import RequestCounts

CLAIM_CANDIDATES = 5  # records tried per claim when others hold the first ones
# The records that hold or will hold paid resources (a number, so calls): not failed, not deleted.
HOLDING = (AgentStatus.PROVISIONING.value, AgentStatus.ACTIVE.value, AgentStatus.DELETING.value)


class AgentStore:
    def __init__(self, database: Database[dict[str, Any]]) -> None:
        self.database = database
        self.agents: Collection[dict[str, Any]] = database[AGENTS]
        self.leases = Leases(database[LEASES])
        self.calls = CallStore(database[CALLS])
        self.purchases = Purchases(database[PURCHASES])
        self.request_counts = RequestCounts(database[REQUEST_COUNTS])
        self.notifications = NotificationStore(database)
        self.recordings = RecordingStore(database[RECORDINGS])

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
        self.calls.ensure_indexes()
        self.purchases.ensure_indexes()
        self.recordings.ensure_indexes()
        # Documents that carry their own expiry (checked in code; a rate window is never read once it
        # has ended): a TTL index only cleans them up.
        try:
            for name in (IDEMPOTENCY, CALLS, PURCHASES, REQUEST_COUNTS, NOTIFICATION_DELIVERIES, RECORDINGS):
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
    def get_for_owner(
        self, agent_id: str, owner_id: str, *, include_deleted: bool = False
    ) -> AgentRecord | None:
        """The owner's agent by its id as the API spells it (None for an id that is not one)."""
        oid = object_id(agent_id)
        if oid is None:
            return None
        query: dict[str, Any] = {"_id": oid, "ownerId": owner_id}
        if not include_deleted:
            query["status"] = {"$ne": DELETED}
        return _wrap(self.agents.find_one(query))

    @translate_errors
    def list_for_owner(self, owner_id: str, *, limit: int, after: str | None) -> list[AgentRecord]:
        query: dict[str, Any] = {"ownerId": owner_id, "status": {"$ne": DELETED}}
        cursor_id = object_id(after) if after else None
        if cursor_id is not None:
            query["_id"] = {"$lt": cursor_id}
        return [
            AgentRecord(document) for document in self.agents.find(query).sort("_id", DESCENDING).limit(limit)
        ]

    @translate_errors
    def count_holding(self, owner_id: str, *, up_to: int) -> int:
        """The owner's agents that hold or will hold paid resources, counted up to ``up_to``."""
        return self.agents.count_documents({"ownerId": owner_id, "status": {"$in": HOLDING}}, limit=up_to)

    @translate_errors
    def holding_for_owner(self, owner_id: str, *, limit: int) -> list[AgentRecord]:
        """The owner's agents that hold or will hold a number (so may have calls), newest first, at
        most ``limit`` (the per-owner quota keeps them far fewer)."""
        query = {"ownerId": owner_id, "status": {"$in": list(HOLDING)}}
        return [
            AgentRecord(document) for document in self.agents.find(query).sort("_id", DESCENDING).limit(limit)
        ]

    @translate_errors
    def find_many(self, agent_ids: list[ObjectId]) -> dict[ObjectId, AgentRecord]:
        return {
            document["_id"]: AgentRecord(document)
            for document in self.agents.find({"_id": {"$in": agent_ids}})
        }

    def get_record(self, agent_id: ObjectId) -> AgentRecord | None:
        return _wrap(self.get(agent_id))

    def count_records(self, *, tagged: str | None = None) -> int:
        """All records, or (with ``tagged``, a tag prefix) those whose tag starts with it."""
        return self.count(_tagged(tagged))

    @translate_errors
    def count(self, query: dict[str, Any]) -> int:
        return self.agents.count_documents(query)

    @translate_errors
    def server_time(self) -> datetime:
        """The database server's clock: what a process checks its own clock against."""
        moment: datetime = self.database.client.admin.command("hello")["localTime"]
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    # --- the create saga's writes -------------------------------------------------------------------

    def journal(
        self,
        agent_id: ObjectId,
        *,
        owner_id: str,
        request: dict[str, Any],
        tag: str,
        webhook_url: str,
        deadline: datetime,
        lease_until: datetime,
        worker: str,
        created: datetime,
        fallback_url: str | None = None,
    ) -> None:
        """The record as 'provisioning', before anything is bought; the request holds its lease until
        it must be dead, then the reconciler may take over (``repairAfter``). ``webhook_url`` and
        ``fallback_url`` are what the number will be bought with."""
        self.insert(
            {
                "_id": agent_id,
                "ownerId": owner_id,
                **stored_fields(request),
                "status": AgentStatus.PROVISIONING.value,
                "tag": tag,
                "webhookUrl": webhook_url,
                **({"fallbackUrl": fallback_url} if fallback_url is not None else {}),
                "deadline": deadline,
                "repairAfter": lease_until,
                "leaseOwner": worker,
                "leaseUntil": lease_until,
                "createdAt": created,
                "updatedAt": created,
            }
        )

    def record_resource(
        self, agent_id: ObjectId, resource: str, resource_id: str, *, phone_number: str | None = None
    ) -> None:
        """Journal a created resource's id (a number with its phone number) the moment it exists."""
        fields = {"phoneNumber": phone_number} if phone_number is not None else {}
        self.record(agent_id, **fields, **{RESOURCE_FIELDS[resource]: resource_id})

    def record_unknown_outcomes(self, agent_id: ObjectId, resources: list[str]) -> None:
        self.record(agent_id, unknownOutcomes=resources)

    def activate(
        self,
        agent_id: ObjectId,
        worker: str,
        *,
        phone_number: str,
        number_sid: str,
        retell_llm_id: str | None,
        retell_agent_id: str | None,
        retell_agent_version: int | None = None,
    ) -> AgentRecord | None:
        """One update makes the record active, if it is still this worker's provisioning record."""
        fields = {
            "status": AgentStatus.ACTIVE.value,
            "phoneNumber": phone_number,
            "twilioPhoneNumberSid": number_sid,
            "retellLlmId": retell_llm_id,
            "retellAgentId": retell_agent_id,
            "retellAgentVersion": retell_agent_version,
        }
        unset = ("repairAfter", "leaseOwner", "leaseUntil", "deadline", "unknownOutcomes")
        return _wrap(self.update(agent_id, fields, unset=unset, expect=_provisioning_by(worker)))

    def fence_activation(self, agent_id: ObjectId, worker: str) -> bool:
        """Move the lease to a name a pending activation does not expect: True if it moved (then that
        activation can never apply)."""
        moved = self.update(
            agent_id, {"leaseOwner": f"{worker}:rolling-back"}, expect=_provisioning_by(worker)
        )
        return moved is not None

    def mark_failed(self, agent_id: ObjectId, *, step: str, message: str, pending: list[str]) -> None:
        """A rolled-back create; with something pending, the reconciler repairs it at once."""
        fields: dict[str, Any] = {
            "status": AgentStatus.FAILED.value,
            "failure": {"step": step, "message": message},
            "cleanupPending": pending,
        }
        unset: tuple[str, ...] = ("leaseOwner", "leaseUntil")
        if pending:
            fields["repairAfter"] = now()
        else:
            unset += ("repairAfter",)
        self.update(agent_id, fields, unset=unset)

    # --- delete ---------------------------------------------------------------------------------------

    def begin_delete(
        self, agent_id: ObjectId, owner_id: str, *, worker: str, lease: timedelta, statuses: list[str]
    ) -> AgentRecord | None:
        """Journal 'deleting' under the record's lease; None when another worker holds it."""
        moment = now()
        return _wrap(
            self.claim(
                {"_id": agent_id, "ownerId": owner_id, "status": {"$in": statuses}},
                worker=worker,
                lease=lease,
                changes={
                    "status": AgentStatus.DELETING.value,
                    "repairAfter": moment + lease,
                    "deleteRequestedAt": moment,
                },
            )
        )

    def leave_pending(
        self, agent_id: ObjectId, worker: str, pending: list[str], *, retry_after: timedelta
    ) -> None:
        """Some removal failed: the record stays 'deleting' and the reconciler retries it later."""
        self.release_lease(agent_id, worker, {"cleanupPending": pending, "repairAfter": now() + retry_after})

    def soft_delete(self, agent_id: ObjectId, worker: str) -> None:
        self.release_lease(
            agent_id,
            worker,
            {"status": DELETED, "deletedAt": now()},
            unset=("repairAfter", "cleanupPending", "unknownOutcomes", "pendingUpdate"),
        )

    # --- update -------------------------------------------------------------------------------------

    def begin_update(
        self,
        agent_id: ObjectId,
        owner_id: str,
        *,
        revision: int,
        worker: str,
        lease: timedelta,
        pending: dict[str, Any],
    ) -> AgentRecord | None:
        """Journal the requested change under the record's lease, only if the agent is active, still
        at ``revision`` and has no other update in flight; None otherwise. The reconciler may take it
        over once the lease has lapsed (``repairAfter``)."""
        moment = now()
        query = {
            "_id": agent_id,
            "ownerId": owner_id,
            "status": AgentStatus.ACTIVE.value,
            "pendingUpdate": {"$exists": False},
            **_at_revision(revision),
        }
        journal = {**pending, "startedAt": moment}
        if isinstance(pending.get("changes"), dict):
            journal["changes"] = stored_fields(pending["changes"])
        changes = {"pendingUpdate": journal, "repairAfter": moment + lease}
        return _wrap(self.claim(query, worker=worker, lease=lease, changes=changes))

    def record_agent_version(self, agent_id: ObjectId, worker: str, version: int) -> None:
        """An older record's calls are pinned to ``version`` from now on (it is published)."""
        self._under_lease(agent_id, worker, {"retellAgentVersion": version})

    def record_update_draft(self, agent_id: ObjectId, worker: str, version: int) -> None:
        """Journal the draft version the update writes to, the moment it exists."""
        self._under_lease(agent_id, worker, {"pendingUpdate.draftVersion": version})

    def commit_update(
        self, record: AgentRecord, worker: str, *, changes: dict[str, Any], version: int | None
    ) -> AgentRecord | None:
        """The switch: the record shows the change and calls run ``version``, in one write, only if
        ``worker`` still holds the lease; the update's journal and the lease are dropped. A change
        that made no Retell version commits with ``version`` None: the pinned version stays."""
        fields = {**stored_fields(changes), "revision": record.revision + 1}
        if version is not None:
            fields["retellAgentVersion"] = version
        committed = self.update(
            record.id,
            fields,
            unset=(
                "pendingUpdate",
                "repairAfter",
                "leaseOwner",
                "leaseUntil",
                "repairAttempts",
                "repairError",
            ),
            expect={"leaseOwner": worker, "pendingUpdate": {"$exists": True}},
        )
        if committed is not None:
            self.leases.release(str(record.id), worker)
        return _wrap(committed)

    def abandon_update(self, agent_id: ObjectId, worker: str) -> None:
        """The change was undone: drop its journal and the lease; the record is as before."""
        self.release_lease(
            agent_id, worker, unset=("pendingUpdate", "repairAfter", "repairAttempts", "repairError")
        )

    def leave_update_pending(self, agent_id: ObjectId, worker: str) -> None:
        """The undo could not finish: the reconciler takes the update over at its next run."""
        self.release_lease(agent_id, worker, {"repairAfter": now()})

    def _under_lease(self, agent_id: ObjectId, worker: str, fields: dict[str, Any]) -> None:
        if self.update(agent_id, fields, expect={"leaseOwner": worker}) is None:
            raise StoreError("the record's lease was lost (the update ran past its deadline)")

    # --- the reconciler -----------------------------------------------------------------------------

    def claim_due_repairs(self, *, worker: str, lease: timedelta, tagged: str | None) -> AgentRecord | None:
        """One record whose ``repairAfter`` has passed (only those tagged with ``tagged``, a tag
        prefix, when given), under its lease."""
        return _wrap(
            self.claim({"repairAfter": {"$lte": now()}, **_tagged(tagged)}, worker=worker, lease=lease)
        )

    def claim_unchanged(
        self, agent_id: ObjectId, *, status: Any, since: datetime, worker: str, lease: timedelta
    ) -> AgentRecord | None:
        """The record under its lease, only if it still has ``status`` and was not written since
        ``since`` (records of old shapes may lack the date)."""
        query = {"_id": agent_id, "status": status, "updatedAt": {"$not": {"$gte": since}}}
        return _wrap(self.claim(query, worker=worker, lease=lease))

    def settle_active(self, agent_id: ObjectId, worker: str) -> None:
        """Nothing to repair on an active record: drop its repair state and the lease."""
        self.release_lease(agent_id, worker, unset=("repairAfter", "repairAttempts", "repairError"))

    def settle_repair(
        self,
        record: AgentRecord,
        worker: str,
        *,
        pending: list[str],
        failed: bool,
        interrupted: bool,
        retry_at: datetime | None,
    ) -> None:
        """The outcome of repairing a record: what is still pending (retried at ``retry_at``, counted
        as another attempt), 'failed' unless it was deleted, and why when the create was interrupted."""
        fields: dict[str, Any] = {"cleanupPending": pending}
        if failed:
            fields["status"] = AgentStatus.FAILED.value
        if interrupted:
            fields["failure"] = {"step": "interrupted", "message": "the request stopped before finishing"}
        if retry_at is not None:
            fields |= {"repairAttempts": record.repair_attempts + 1, "repairAfter": retry_at}
        settled = () if retry_at else ("repairAfter", "unknownOutcomes", "repairAttempts", "repairError")
        self.release_lease(record.id, worker, fields, unset=("deadline", *settled))

    def record_repair_failure(
        self, agent_id: ObjectId, worker: str, *, attempts: int, retry_at: datetime, error: str
    ) -> None:
        self.release_lease(
            agent_id, worker, {"repairAttempts": attempts, "repairAfter": retry_at, "repairError": error}
        )

    def record_webhook(
        self, agent_id: ObjectId, url: str | None, *, repaired: bool, fallback_url: str | None = None
    ) -> None:
        """The webhook URL (and ``fallback_url``, the VoiceFallbackUrl, when given) the number now
        points at, or (not ``repaired``) a flag that it drifted."""
        if repaired:
            fallback = {"fallbackUrl": fallback_url} if fallback_url is not None else {}
            self.record(agent_id, webhookUrl=url, webhookRepairFailed=False, **fallback)
        else:
            self.record(agent_id, webhookRepairFailed=True)

    def record_fallback_url(self, agent_id: ObjectId, url: str, *, revision: int) -> bool:
        """The VoiceFallbackUrl the number now points at, written only while the record is still at
        ``revision`` (a later update's URL is never overwritten by an earlier one's); False if not."""
        return self.update(agent_id, {"fallbackUrl": url}, expect=_at_revision(revision)) is not None

    def count_stuck(self, *, in_flight_since: datetime, attempts: int, tagged: str | None) -> int:
        """Records in flight since before ``in_flight_since``, or failing repair ``attempts`` times."""
        stuck: dict[str, Any] = {
            "$or": [
                {"status": AgentStatus.PROVISIONING.value, "deadline": {"$lt": in_flight_since}},
                {"status": AgentStatus.DELETING.value, "deleteRequestedAt": {"$lt": in_flight_since}},
                {"pendingUpdate.startedAt": {"$lt": in_flight_since}},
                {"repairAttempts": {"$gte": attempts}, "repairAfter": {"$exists": True}},
            ]
        }
        return self.count({**stuck, **_tagged(tagged)})

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


def _wrap(document: dict[str, Any] | None) -> AgentRecord | None:
    return AgentRecord(document) if document is not None else None


def _at_revision(revision: int) -> dict[str, Any]:
    """A record still at ``revision`` (a record no update has changed may lack the field)."""
    if revision == 0:
        return {"$or": [{"revision": 0}, {"revision": {"$exists": False}}]}
    return {"revision": revision}


def _provisioning_by(worker: str) -> dict[str, Any]:
    """The create's own record, still provisioning under its lease."""
    return {"status": AgentStatus.PROVISIONING.value, "leaseOwner": worker}


def _tagged(prefix: str | None) -> dict[str, Any]:
    """Records whose tag starts with ``prefix`` (everything when None)."""
    return {"tag": {"$regex": f"^{re.escape(prefix)}"}} if prefix is not None else {}
