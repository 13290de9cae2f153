"""The ``recordings`` collection: each call's recording, from Retell's link to our copy in the stack's
bucket (docs/decision_log.md, "Recordings are copied into the stack's bucket"). One document per call,
``_id`` its CallSid:

    agentId               the call's agent (ObjectId): the copy's key starts with it
    sourceUrl             Retell's recording_url, as the latest event named it; never leaves the backend
    state                 pending (to copy) | copied | lost (never copied: see ``give_up``)
    attempts, due, lastError   the copy's retries; ``due`` is when the next one may run
    giveUpAt              when a copy still failing is given up (Retell's signed links live 24 hours)
    key, contentType, bytes, copiedAt   the copy, once made
    createdAt, expiresAt  ``expiresAt`` is the call record's: both go at the end of the retention

Written by Retell's call events (``expect``: the document and the latest link) and by the copy
(``copied``, ``retry_later``, ``give_up``): a document beside the call's own, so that the copy never
writes the call record while an event does (FerretDB writes a whole document per update).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING
from pymongo.collection import Collection

from voice_agents.data.database import translate_errors

PENDING, COPIED, LOST = "pending", "copied", "lost"
# Retell's signed recording links expire 24 hours after they are made (specs/retell-openapi.yaml,
# V2CallBase.opt_in_signed_url): a copy still failing then is given up.
COPY_WINDOW = timedelta(hours=24)


class Recording:
    """A read of one recording's document; a field of the wrong type reads as missing."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    @property
    def call_sid(self) -> str:
        return str(self.document["_id"])

    @property
    def agent_id(self) -> ObjectId | None:
        agent = self.document.get("agentId")
        return agent if isinstance(agent, ObjectId) else None

    @property
    def state(self) -> str:
        state = self.document.get("state")
        return state if state in (PENDING, COPIED, LOST) else PENDING

    def text(self, name: str) -> str | None:
        """``sourceUrl``, ``key``, ``contentType``, ``lastError``."""
        value = self.document.get(name)
        return value if isinstance(value, str) and value else None

    @property
    def attempts(self) -> int:
        attempts = self.document.get("attempts")
        return attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else 0

    @property
    def give_up_at(self) -> datetime | None:
        moment = self.document.get("giveUpAt")
        return moment if isinstance(moment, datetime) else None

    @property
    def size_bytes(self) -> int | None:
        size = self.document.get("bytes")
        return size if isinstance(size, int) and not isinstance(size, bool) else None


class RecordingStore:
    def __init__(self, collection: Collection[dict[str, Any]]) -> None:
        self.collection = collection

    def ensure_indexes(self) -> None:
        # The copy's queue: pending recordings whose next attempt is due.
        self.collection.create_index([("state", ASCENDING), ("due", ASCENDING)], name="copy_queue")

    @translate_errors
    def expect(
        self,
        call_sid: str,
        *,
        agent_id: ObjectId | None,
        source_url: str,
        expires_at: datetime,
        moment: datetime,
    ) -> None:
        """Retell has a recording of the call at ``source_url``: queue its copy (once; a later event's
        link replaces the earlier one, which may expire first)."""
        self.collection.update_one(
            {"_id": call_sid},
            {
                "$set": {"sourceUrl": source_url},
                "$setOnInsert": {
                    "agentId": agent_id,
                    "state": PENDING,
                    "attempts": 0,
                    "due": moment,
                    "giveUpAt": moment + COPY_WINDOW,
                    "createdAt": moment,
                    "expiresAt": expires_at,
                },
            },
            upsert=True,
        )

    @translate_errors
    def due(self, moment: datetime, *, limit: int) -> list[Recording]:
        """Pending recordings whose next attempt is due, longest waiting first."""
        query = {"state": PENDING, "due": {"$lte": moment}, "expiresAt": {"$gt": moment}}
        return [Recording(each) for each in self.collection.find(query).sort("due", ASCENDING).limit(limit)]

    @translate_errors
    def copied(self, call_sid: str, *, key: str, content_type: str, size: int, moment: datetime) -> None:
        self.collection.update_one(
            {"_id": call_sid},
            {
                "$set": {
                    "state": COPIED,
                    "key": key,
                    "contentType": content_type,
                    "bytes": size,
                    "copiedAt": moment,
                },
                "$unset": {"due": "", "lastError": ""},
            },
        )

    @translate_errors
    def retry_later(self, call_sid: str, *, error: str, due: datetime) -> None:
        self.collection.update_one(
            {"_id": call_sid}, {"$set": {"due": due, "lastError": error[:200]}, "$inc": {"attempts": 1}}
        )

    @translate_errors
    def give_up(self, call_sid: str, *, error: str) -> None:
        """Never copied: Retell's link kept failing past ``giveUpAt``, or the recording is too large."""
        self.collection.update_one(
            {"_id": call_sid},
            {
                "$set": {"state": LOST, "lastError": error[:200]},
                "$unset": {"due": ""},
                "$inc": {"attempts": 1},
            },
        )

    @translate_errors
    def find(self, call_sid: str, moment: datetime) -> Recording | None:
        document = self.collection.find_one({"_id": call_sid, "expiresAt": {"$gt": moment}})
        return Recording(document) if document is not None else None
