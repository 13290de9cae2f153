"""What the business is told after a call, and what was told: two collections.

``notification_settings``, one document per owner (``_id`` the owner's id): ``webhookUrl``,
``email``, ``secret`` (the Standard Webhooks signing secret, ``whsec_...``) and ``secretCreatedAt``;
after a rotation ``previousSecret`` and ``previousSecretUntil`` (deliveries are signed with both until
then); ``updatedAt``.

``notification_deliveries``, one document per notification and channel (``_id``
``{eventId}#{channel}``, channel ``webhook`` or ``email``): ``eventId``, ``channel``, ``ownerId``,
``callSid``, ``status``, ``attempts``, ``lastAttemptAt``, ``lastStatus`` (the endpoint's HTTP
status), ``lastError``, ``deliveredAt``, ``heldUntil`` (a consumer is at it), ``createdAt``,
``expiresAt``. The record is what makes a notification go out once:

    queuing ──(the queue refused it)──▶ unqueued ──(the event again)──▶ queuing
       │ a consumer holds it (heldUntil), attempts + 1
       ▼
    delivered │ retrying (back to a consumer) │ dead (the last try failed; a message redriven from the
    dead-letter queue takes it again) │ refused (a target we may not send to) │ skipped (nowhere to
    send it any more)

It is inserted (a unique ``_id``, which excludes on FerretDB and Atlas alike) before the message is
queued, so a repeated event queues nothing; a consumer takes it with a filtered update and settles
it after its try, so a message SQS delivers twice is sent once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError
from pymongo.results import UpdateResult

from voice_agents.core.clock import now
from voice_agents.data.database import NOTIFICATION_DELIVERIES, NOTIFICATION_SETTINGS, translate_errors

QUEUING = "queuing"
UNQUEUED = "unqueued"
RETRYING = "retrying"
DELIVERED = "delivered"
DEAD = "dead"
REFUSED = "refused"
SKIPPED = "skipped"
# A consumer may take a delivery in these; the others are final.
CLAIMABLE = (QUEUING, UNQUEUED, RETRYING, DEAD)
FINAL = (DELIVERED, REFUSED, SKIPPED)
# Longer than a message can live (SQS keeps it 14 days, the dead-letter queue 14 more): a message
# redriven from the dead-letter queue still finds its record.
DELIVERY_RETENTION = timedelta(days=30)


def delivery_id(event_id: str, channel: str) -> str:
    return f"{event_id}#{channel}"


def _moment_or_none(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class NotificationSettingsRecord:
    """A read of one owner's settings; a field of the wrong type reads as missing."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    @property
    def webhook_url(self) -> str | None:
        return _text_or_none(self.document.get("webhookUrl"))

    @property
    def email(self) -> str | None:
        return _text_or_none(self.document.get("email"))

    @property
    def secret(self) -> str | None:
        return _text_or_none(self.document.get("secret"))

    @property
    def secret_created_at(self) -> datetime | None:
        return _moment_or_none(self.document.get("secretCreatedAt"))

    def previous_secret_until(self, moment: datetime) -> datetime | None:
        """When the rotated-out secret stops signing, while it still does."""
        until = _moment_or_none(self.document.get("previousSecretUntil"))
        return until if until is not None and until > moment and self._previous_secret else None

    def signing_secrets(self, moment: datetime) -> list[str]:
        """The secrets a delivery is signed with now: the current one, and the previous one while it lasts."""
        current = [self.secret] if self.secret else []
        previous = self._previous_secret if self.previous_secret_until(moment) else None
        return current + ([previous] if previous else [])

    @property
    def updated_at(self) -> datetime | None:
        return _moment_or_none(self.document.get("updatedAt"))

    @property
    def _previous_secret(self) -> str | None:
        return _text_or_none(self.document.get("previousSecret"))


class DeliveryRecord:
    """A read of one delivery record."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    @property
    def status(self) -> str:
        return str(self.document.get("status") or QUEUING)

    @property
    def attempts(self) -> int:
        attempts = self.document.get("attempts")
        return attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else 0

    @property
    def final(self) -> bool:
        return self.status in FINAL

    def held_at(self, moment: datetime) -> bool:
        held = _moment_or_none(self.document.get("heldUntil"))
        return held is not None and held > moment

    @property
    def last_status(self) -> int | None:
        status = self.document.get("lastStatus")
        return status if isinstance(status, int) and not isinstance(status, bool) else None

    @property
    def last_error(self) -> str | None:
        return _text_or_none(self.document.get("lastError"))


class NotificationStore:
    def __init__(self, database: Database[dict[str, Any]]) -> None:
        self.settings: Collection[dict[str, Any]] = database[NOTIFICATION_SETTINGS]
        self.deliveries: Collection[dict[str, Any]] = database[NOTIFICATION_DELIVERIES]

    # --- each owner's settings ----------------------------------------------------------------------

    @translate_errors
    def settings_of(self, owner_id: str) -> NotificationSettingsRecord | None:
        document = self.settings.find_one({"_id": owner_id})
        return NotificationSettingsRecord(document) if document else None

    @translate_errors
    def save_settings(
        self, owner_id: str, *, webhook_url: str | None, email: str | None, moment: datetime
    ) -> None:
        """Where the owner's notifications go (None: not there); the secret is left as it is."""
        self.settings.update_one(
            {"_id": owner_id},
            {"$set": {"webhookUrl": webhook_url, "email": email, "updatedAt": moment}},
            upsert=True,
        )

    @translate_errors
    def issue_first_secret(self, owner_id: str, secret: str, moment: datetime) -> bool:
        """Store ``secret`` as the owner's first; False when the owner already has one (a concurrent
        request made it), which is then kept."""
        result = self.settings.update_one(
            {"_id": owner_id, "secret": {"$exists": False}},
            {"$set": {"secret": secret, "secretCreatedAt": moment, "updatedAt": moment}},
        )
        return result.modified_count > 0

    @translate_errors
    def rotate_secret(
        self, owner_id: str, *, expected: str | None, secret: str, moment: datetime, previous_until: datetime
    ) -> bool:
        """Replace the secret ``expected`` (None: the owner has none) by ``secret``; the old one keeps
        signing until ``previous_until``. False when another rotation came first."""
        if expected is None:
            try:
                self.settings.update_one(
                    {"_id": owner_id, "secret": {"$exists": False}},
                    {"$set": {"secret": secret, "secretCreatedAt": moment, "updatedAt": moment}},
                    upsert=True,
                )
            except DuplicateKeyError:
                return False  # the document has a secret now
            return True
        result = self.settings.update_one(
            {"_id": owner_id, "secret": expected},
            {
                "$set": {
                    "secret": secret,
                    "secretCreatedAt": moment,
                    "previousSecret": expected,
                    "previousSecretUntil": previous_until,
                    "updatedAt": moment,
                }
            },
        )
        return result.modified_count > 0

    # --- deliveries ---------------------------------------------------------------------------------

    @translate_errors
    def open_delivery(
        self, event_id: str, channel: str, *, owner_id: str, call_sid: str, moment: datetime
    ) -> bool:
        """The delivery's record, before its message is queued. True when it is to be queued now: a
        new record, or one whose earlier queuing failed; False when the event was queued before."""
        record_id = delivery_id(event_id, channel)
        try:
            self.deliveries.insert_one(
                {
                    "_id": record_id,
                    "eventId": event_id,
                    "channel": channel,
                    "ownerId": owner_id,
                    "callSid": call_sid,
                    "status": QUEUING,
                    "attempts": 0,
                    "createdAt": moment,
                    "expiresAt": moment + DELIVERY_RETENTION,
                }
            )
            return True
        except DuplicateKeyError:
            retried: UpdateResult = self.deliveries.update_one(
                {"_id": record_id, "status": UNQUEUED}, {"$set": {"status": QUEUING}}
            )
            return retried.modified_count > 0

    @translate_errors
    def mark_unqueued(self, record_ids: list[str], error: str) -> None:
        """The queue did not take these: the event, when it comes again, queues them again."""
        self.deliveries.update_many(
            {"_id": {"$in": record_ids}, "status": QUEUING},
            {"$set": {"status": UNQUEUED, "lastError": error[:500]}},
        )

    @translate_errors
    def claim_delivery(self, record_id: str, *, moment: datetime, hold: timedelta) -> DeliveryRecord | None:
        """The delivery, held by this consumer until ``moment + hold`` and counted as an attempt;
        None when it is final, held by another consumer, or unknown (``find_delivery`` tells which)."""
        document = self.deliveries.find_one_and_update(
            {
                "_id": record_id,
                "status": {"$in": list(CLAIMABLE)},
                "$or": [{"heldUntil": {"$exists": False}}, {"heldUntil": {"$lte": moment}}],
            },
            {"$set": {"heldUntil": moment + hold, "lastAttemptAt": moment}, "$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
        )
        return DeliveryRecord(document) if document else None

    @translate_errors
    def find_delivery(self, record_id: str) -> DeliveryRecord | None:
        document = self.deliveries.find_one({"_id": record_id})
        return DeliveryRecord(document) if document else None

    @translate_errors
    def settle_delivery(
        self,
        record_id: str,
        *,
        status: str,
        http_status: int | None = None,
        error: str | None = None,
        moment: datetime | None = None,
    ) -> None:
        """The outcome of the held attempt; the hold is released."""
        fields: dict[str, Any] = {"status": status, "lastStatus": http_status, "lastError": error}
        if status == DELIVERED:
            fields["deliveredAt"] = moment or now()
        self.deliveries.update_one({"_id": record_id}, {"$set": fields, "$unset": {"heldUntil": ""}})
