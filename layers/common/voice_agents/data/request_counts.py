"""The ``request_counts`` collection: the requests each owner sent in each window of the per-owner
rate limit (``http/rate_limit.py``). One document per owner, budget and window,
``{_id: "<owner>#<budget>#<window start, epoch seconds>", count, expiresAt}``, counted by one
upserting ``$inc`` that answers the new count: one round trip per request, and no read first.

Atomic on Atlas. FerretDB v1 applies an update as a read then a write of the whole document, so
increments racing on one document can be lost (measured: 10 threads of 20 increments counted 35 of
200); one request at a time is counted exactly. On FerretDB an owner's concurrent requests can thus
pass the limit; FerretDB serves only the local stack. Expired windows are removed by a TTL index
where the server has one (``AgentStore.ensure_indexes``); no window is read after it ends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pymongo
from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from voice_agents.data.database import translate_errors


class RequestCounts:
    def __init__(self, collection: Collection[dict[str, Any]]) -> None:
        self.collection = collection

    @translate_errors
    def count(self, owner: str, budget: str, window: tuple[datetime, datetime], *, within: float) -> int:
        """Count one more request of ``owner`` against ``budget`` in ``window`` (its start and end),
        waiting at most ``within`` seconds for the database; the window's count, this one included."""
        start, end = window
        key = f"{owner}#{budget}#{int(start.timestamp())}"
        change = {"$inc": {"count": 1}, "$setOnInsert": {"expiresAt": end}}
        with pymongo.timeout(within):
            try:
                counted = self._increment(key, change)
            except DuplicateKeyError:
                # Two first requests of a window both tried to insert it: count this one on the winner's.
                counted = self._increment(key, change)
        return counted

    def _increment(self, key: str, change: dict[str, Any]) -> int:
        # No projection: FerretDB v1 refuses one on findAndModify, and the document is three fields.
        counted = self.collection.find_one_and_update(
            {"_id": key}, change, upsert=True, return_document=ReturnDocument.AFTER
        )
        return int((counted or {}).get("count", 1))
