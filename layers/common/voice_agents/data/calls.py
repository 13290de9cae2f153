"""The call record's schema (collection ``calls``, one document per Twilio CallSid) and its reading.

Written by the Twilio webhook when it hands a call to Retell (``CallStore.remember``), or when it
sends the caller elsewhere (``open_call``), and completed by Retell's call events
(``flows/calls/events.py``). Fields: ``_id`` (CallSid), ``retellCallId``, ``agentId`` (ObjectId),
``ownerId``, ``from``, ``to``, ``businessOpen``, ``progress`` (see below), ``createdAt`` (its first
webhook), ``orderId`` (an ObjectId drawn then: the calls route's sort key and cursor), ``expiresAt``,
and from the events ``startedAt``, ``endedAt``, ``durationMs``, ``disconnectionReason``, ``summary``,
``sentiment``. What the call path learns (``outcome``, ``transfer``, ``forward``, ``voicemail``,
``messageReason``) is in a document of its own beside it, ``{CallSid}#route`` (``CallStore.note``).

The status is kept as ``progress``, a number that only grows (``$max``): events arrive in any order
and more than once, and a status that never goes backwards is then one atomic update per event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from voice_agents.core.statuses import CallStatus
from voice_agents.data.database import translate_errors

PROGRESS: dict[CallStatus, int] = {
    CallStatus.REGISTERED: 0,
    CallStatus.ONGOING: 1,
    CallStatus.ENDED: 2,
    # Retell sends not_connected instead of ended (never after it): either one is final.
    CallStatus.NOT_CONNECTED: 3,
}
STATUS_BY_PROGRESS = {rank: status for status, rank in PROGRESS.items()}
OUTCOMES = ("agent", "person", "voicemail", "message", "missed")
# The call path's facts of a call live beside it, in a document of their own (``CallStore.note``).
ROUTE_SUFFIX = "#route"
# A route is only read with its call; its own expiry (the longest retention) only cleans it up.
ROUTE_RETENTION = timedelta(days=365)


def _unexpired(document: dict[str, Any], moment: datetime) -> bool:
    expires = document.get("expiresAt")
    return isinstance(expires, datetime) and expires > moment


class CallRecord:
    """A read of one call record (with its route, when it has one): a record of an unknown shape
    reads as registered, and a field of the wrong type as missing."""

    def __init__(self, document: dict[str, Any], route: dict[str, Any] | None = None) -> None:
        routed = {key: value for key, value in (route or {}).items() if key not in ("_id", "expiresAt")}
        self.document = {**document, **routed}

    @property
    def call_sid(self) -> str:
        return str(self.document["_id"])

    @property
    def retell_call_id(self) -> str:
        return str(self.document.get("retellCallId") or "")

    @property
    def agent_id(self) -> str:
        return str(self.document.get("agentId") or "")

    @property
    def agent_object_id(self) -> ObjectId | None:
        agent = self.document.get("agentId")
        return agent if isinstance(agent, ObjectId) else None

    @property
    def owner_id(self) -> str | None:
        owner = self.document.get("ownerId")
        return owner if isinstance(owner, str) else None

    @property
    def order_id(self) -> ObjectId | None:
        order = self.document.get("orderId")
        return order if isinstance(order, ObjectId) else None

    @property
    def status(self) -> CallStatus:
        progress = self.document.get("progress")
        status = STATUS_BY_PROGRESS.get(progress) if isinstance(progress, int) else None
        return status or CallStatus.REGISTERED

    @property
    def registered_at(self) -> datetime:
        registered: datetime = self.document["createdAt"]
        return registered

    def text(self, name: str) -> str | None:
        """``from``, ``to``, ``disconnectionReason``, ``summary``, ``sentiment``: None when empty."""
        value = self.document.get(name)
        return value if isinstance(value, str) and value else None

    def mapping(self, name: str) -> dict[str, Any] | None:
        """``customAnalysisData`` (the answers to the owner's post-call fields, once stored): None when
        absent or not a map."""
        value = self.document.get(name)
        return value if isinstance(value, dict) and value else None

    def moment(self, name: str) -> datetime | None:
        """``startedAt``, ``endedAt``."""
        value = self.document.get(name)
        return value if isinstance(value, datetime) else None

    @property
    def outcome(self) -> Any:
        """Where the call ended up: agent, person, voicemail, message or missed (None in progress)."""
        outcome = self.document.get("outcome")
        return outcome if outcome in OUTCOMES else None

    @property
    def business_open(self) -> bool | None:
        value = self.document.get("businessOpen")
        return value if isinstance(value, bool) else None

    def leg(self, name: str) -> dict[str, Any] | None:
        """``transfer``, ``forward`` or ``voicemail``, as stored."""
        value = self.document.get(name)
        return value if isinstance(value, dict) else None

    @property
    def duration_ms(self) -> int | None:
        duration = self.document.get("durationMs")
        return duration if isinstance(duration, int) and not isinstance(duration, bool) else None


class CallStore:
    """Inbound calls registered with Retell, by Twilio CallSid: a replay registers nothing, and the
    record is the call's history (this module's docstring has its fields), completed by Retell's events.

    Every read checks the expiry in code: the same on Atlas, and FerretDB has no TTL index (where the
    server has one, it only cleans up).
    """

    def __init__(self, collection: Collection[dict[str, Any]]) -> None:
        self.collection = collection

    def ensure_indexes(self) -> None:
        # The calls route: one owner's calls of one agent, newest first.
        self.collection.create_index(
            [("ownerId", ASCENDING), ("agentId", ASCENDING), ("orderId", DESCENDING)], name="agent_calls"
        )
        # Retell's events name the call by its Retell id.
        self.collection.create_index([("retellCallId", ASCENDING)], name="retell_call")

    @translate_errors
    def registered(self, call_sid: str, moment: datetime) -> str | None:
        """The Retell call id registered for ``call_sid``, unless it expired before ``moment``."""
        existing = self.collection.find_one({"_id": call_sid})
        if existing and existing.get("retellCallId") and existing["expiresAt"] > moment:
            return str(existing["retellCallId"])
        return None

    @translate_errors
    def open_call(
        self,
        call_sid: str,
        *,
        agent_id: ObjectId,
        owner_id: str | None,
        from_number: str,
        to_number: str,
        moment: datetime,
        retention: timedelta,
        facts: dict[str, Any] | None = None,
    ) -> None:
        """The call's record from its first webhook on (kept whether or not Retell ever takes it), with
        ``facts`` (businessOpen...); a retry or replay of the same CallSid only sets ``facts``. An
        expired record of the same CallSid is replaced whole."""
        base = {
            "agentId": agent_id,
            "ownerId": owner_id,
            "from": from_number,
            "to": to_number,
            "progress": 0,
            "orderId": ObjectId(),
            "createdAt": moment,
            "expiresAt": moment + retention,
        }
        change: dict[str, Any] = {"$setOnInsert": base}
        if facts:
            change["$set"] = facts
        try:
            self.collection.update_one({"_id": call_sid, "expiresAt": {"$gt": moment}}, change, upsert=True)
        except DuplicateKeyError:
            # Expired (the filter missed it, the insert met it), or a concurrent retry inserted first.
            self.collection.replace_one(
                {"_id": call_sid, "expiresAt": {"$lte": moment}}, {**base, **(facts or {})}
            )
            if facts:
                self.collection.update_one({"_id": call_sid}, {"$set": facts})

    @translate_errors
    def remember(
        self,
        call_sid: str,
        *,
        retell_call_id: str,
        agent_id: ObjectId,
        owner_id: str | None,
        from_number: str,
        to_number: str,
        moment: datetime,
        retention: timedelta,
        facts: dict[str, Any] | None = None,
    ) -> None:
        """The call as registered with Retell, with ``facts`` (the record is made if the call had none)."""
        self.open_call(
            call_sid,
            agent_id=agent_id,
            owner_id=owner_id,
            from_number=from_number,
            to_number=to_number,
            moment=moment,
            retention=retention,
            facts={**(facts or {}), "retellCallId": retell_call_id},
        )

    @translate_errors
    def note(self, call_sid: str, facts: dict[str, Any], moment: datetime) -> None:
        """Set what the call path learnt (``outcome``, ``transfer``, ``forward``, ``voicemail``...) on
        the call's route: a document of its own (``{CallSid}#route``), so that these writes and Retell's
        events, which arrive at the same moments, never write the same document. FerretDB applies an
        update as a read then a write of the whole document: two writers of one document could lose
        one's change. Made on first use; read with the call."""
        self.collection.update_one(
            {"_id": call_sid + ROUTE_SUFFIX},
            {"$set": facts, "$setOnInsert": {"expiresAt": moment + ROUTE_RETENTION}},
            upsert=True,
        )

    @translate_errors
    def find(self, call_sid: str, moment: datetime) -> CallRecord | None:
        """The unexpired call with its route: one query, by ``_id``."""
        found = {
            each["_id"]: each
            for each in self.collection.find({"_id": {"$in": [call_sid, call_sid + ROUTE_SUFFIX]}})
        }
        document = found.get(call_sid)
        if document is None or not _unexpired(document, moment):
            return None
        return CallRecord(document, found.get(call_sid + ROUTE_SUFFIX))

    @translate_errors
    def apply_event(
        self,
        retell_call_id: str,
        *,
        call_sid: str | None,
        progress: int,
        facts: dict[str, Any],
        moment: datetime,
    ) -> bool:
        """Raise the call's progress to at least ``progress`` and set ``facts``, in one update: a
        replayed or late event changes nothing. False when no unexpired record has this call id.

        With the CallSid the event names, the record is found by ``_id`` (FerretDB scans for any
        other filter), and it must still carry this Retell call id.
        """
        change: dict[str, Any] = {"$max": {"progress": progress}}
        if facts:
            change["$set"] = facts
        query: dict[str, Any] = {"retellCallId": retell_call_id, "expiresAt": {"$gt": moment}}
        if call_sid is not None:
            query["_id"] = call_sid
        result = self.collection.update_one(query, change)
        return result.matched_count > 0

    @translate_errors
    def find_by_retell_call(self, retell_call_id: str, moment: datetime) -> CallRecord | None:
        """The unexpired call Retell knows by ``retell_call_id``, with its route (for an event that
        did not name the CallSid: a scan on FerretDB, the ``retell_call`` index on Atlas)."""
        document = self.collection.find_one({"retellCallId": retell_call_id, "expiresAt": {"$gt": moment}})
        if document is None:
            return None
        return self.find(str(document["_id"]), moment)

    @translate_errors
    def list_for_agent(
        self, owner_id: str, agent_id: ObjectId, *, limit: int, after: ObjectId | None, moment: datetime
    ) -> list[CallRecord]:
        """The owner's unexpired calls of the agent, newest first, after the cursor ``after``."""
        query: dict[str, Any] = {"ownerId": owner_id, "agentId": agent_id, "expiresAt": {"$gt": moment}}
        if after is not None:
            query["orderId"] = {"$lt": after}
        calls = list(self.collection.find(query).sort("orderId", DESCENDING).limit(limit))
        wanted = [str(each["_id"]) + ROUTE_SUFFIX for each in calls]
        routes = (
            {each["_id"]: each for each in self.collection.find({"_id": {"$in": wanted}})} if calls else {}
        )
        return [CallRecord(each, routes.get(str(each["_id"]) + ROUTE_SUFFIX)) for each in calls]
