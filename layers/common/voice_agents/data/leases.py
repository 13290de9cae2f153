"""The ``leases`` collection: one worker at a time on a record, on Atlas and FerretDB alike."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pymongo import DESCENDING
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from voice_agents.core.clock import now
from voice_agents.data.database import translate_errors


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
