"""The clock and the ids every layer shares: times as MongoDB keeps them, ids as the API spells them."""

from __future__ import annotations

from datetime import UTC, datetime

from bson import ObjectId
from bson.errors import InvalidId


def now() -> datetime:
    # Mongo keeps milliseconds; truncating here keeps values equal after a round trip.
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def object_id(agent_id: str) -> ObjectId | None:
    try:
        return ObjectId(agent_id)
    except (InvalidId, TypeError):
        return None
