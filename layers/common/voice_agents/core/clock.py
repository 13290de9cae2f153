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


def ordered_id(moment: datetime) -> ObjectId:
    """A new ObjectId whose time is ``moment`` (to the second): ids drawn this way sort by the moment
    they name, so a range of times is a range of ids. The other 8 bytes are a fresh ObjectId's (this
    process's random value and its counter), which keeps them unique."""
    seconds = int(moment.timestamp()).to_bytes(4, "big")
    return ObjectId(seconds + ObjectId().binary[4:])


def first_id_at(moment: datetime) -> ObjectId:
    """The smallest ObjectId of ``moment``'s second: ids at or after ``moment`` (a whole second) are
    ``>=`` it, ids before it ``<`` it."""
    return ObjectId.from_datetime(moment)
