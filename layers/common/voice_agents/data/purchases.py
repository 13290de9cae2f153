"""The ``purchases`` collection: one document per create that may buy a number, kept whatever becomes
of the agent (deleted, rolled back), so the owner's purchase budget (PURCHASE_BUDGET_PER_DAY) counts
what was bought rather than what is held.

A create reserves its purchase before anything is bought (``reserve``): it inserts its document,
then counts the owner's documents of the last 24 hours, and over the budget removes its own and is
refused. Of two creates racing for the last place, the one inserted second counts both, so they
cannot both go on (both may be refused, which is the safe side). Only inserts, a count and deletes:
FerretDB's non-atomic ``findAndModify`` plays no part (docs/architecture.md, "FerretDB facts").

Fields: ``_id`` (the agent's id), ``ownerId``, ``at`` (the reservation; what the window reads) and
``expiresAt`` (for a TTL index's cleanup only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING
from pymongo.collection import Collection

from voice_agents.core.clock import now
from voice_agents.data.database import translate_errors

WINDOW = timedelta(hours=24)
# A day past the window: the count reads ``at``, so a server without TTL indexes only keeps more.
RETENTION = timedelta(hours=48)


@dataclass(frozen=True)
class BudgetSpent:
    """A refused reservation: the owner's purchases fill the window until ``frees_at``, when the
    oldest of them leaves it."""

    frees_at: datetime


class Purchases:
    def __init__(self, collection: Collection[dict[str, Any]]) -> None:
        self.collection = collection

    @translate_errors
    def ensure_indexes(self) -> None:
        """The window's count and its oldest purchase read this index alone."""
        self.collection.create_index([("ownerId", ASCENDING), ("at", ASCENDING)], name="owner_window")

    @translate_errors
    def reserve(self, purchase_id: ObjectId, owner_id: str, *, budget: int) -> BudgetSpent | None:
        """Count a purchase against the owner's budget before it is made: None when it fits, else
        when a place frees (and nothing stays reserved). A failure after the insert leaves the
        reservation counted: the budget errs on the side of buying less."""
        moment = now()
        self.collection.insert_one(
            {"_id": purchase_id, "ownerId": owner_id, "at": moment, "expiresAt": moment + RETENTION}
        )
        window = {"ownerId": owner_id, "at": {"$gt": moment - WINDOW}}
        if self.collection.count_documents(window, limit=budget + 1) <= budget:
            return None
        self.collection.delete_one({"_id": purchase_id})
        oldest = self.collection.find_one(window, sort=[("at", ASCENDING)], projection={"at": True})
        return BudgetSpent(frees_at=oldest["at"] + WINDOW if oldest else moment)

    @translate_errors
    def release(self, purchase_id: ObjectId) -> None:
        """Give back a reservation whose create certainly bought nothing."""
        self.collection.delete_one({"_id": purchase_id})
