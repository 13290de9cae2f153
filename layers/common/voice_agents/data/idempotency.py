"""Powertools idempotency backed by MongoDB (the database the project already has).

Records: ``_id`` = the hashed key, ``status``, ``expiration`` (epoch seconds, checked in code),
``expiresAt`` (the same instant as a BSON Date, for a TTL index where the server has one),
``inProgressExpiration`` (epoch ms: a crashed request's lock lapses when its Lambda would have died),
``validation`` (hash of the request body), ``data`` (the stored response).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

INPROGRESS = STATUS_CONSTANTS["INPROGRESS"]


class MongoPersistenceLayer(BasePersistenceLayer):
    def __init__(self, collection: Callable[[], Collection[dict[str, Any]]]) -> None:
        """``collection`` is called on first use, so importing this module opens no connection."""
        super().__init__()
        self._collection_factory = collection

    @property
    def _collection(self) -> Collection[dict[str, Any]]:
        return self._collection_factory()

    def _get_record(self, idempotency_key: str) -> DataRecord:
        document = self._collection.find_one({"_id": idempotency_key})
        if document is None:
            raise IdempotencyItemNotFoundError
        return _to_record(document)

    def _put_record(self, data_record: DataRecord) -> None:
        document = _to_document(data_record)
        try:
            self._collection.insert_one(document)
            return
        except DuplicateKeyError:
            pass
        # The key exists: it may be taken over only when expired, or when it is in progress and
        # its holder's Lambda must be dead by now (the same conditions as Powertools' DynamoDB layer).
        now_seconds = int(time.time())
        replaced = self._collection.find_one_and_replace(
            {
                "_id": data_record.idempotency_key,
                "$or": [
                    {"expiration": {"$lt": now_seconds}},
                    {"status": INPROGRESS, "inProgressExpiration": {"$lt": now_seconds * 1000}},
                ],
            },
            document,
        )
        if replaced is not None:
            return
        existing = self._collection.find_one({"_id": data_record.idempotency_key})
        if existing is None:  # deleted between our two reads (the holder failed): take it now
            self._put_record(data_record)
            return
        old_record = _to_record(existing)
        self._validate_payload(data_payload=data_record, stored_data_record=old_record)
        raise IdempotencyItemAlreadyExistsError(old_data_record=old_record)

    def _update_record(self, data_record: DataRecord) -> None:
        self._collection.update_one(
            {"_id": data_record.idempotency_key},
            {
                "$set": {
                    "status": data_record.status,
                    "data": data_record.response_data,
                    "expiration": data_record.expiry_timestamp,
                    "expiresAt": _as_date(data_record.expiry_timestamp),
                    "validation": data_record.payload_hash,
                }
            },
        )

    def _delete_record(self, data_record: DataRecord) -> None:
        self._collection.delete_one({"_id": data_record.idempotency_key})


def _as_date(epoch_seconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch_seconds, UTC) if epoch_seconds is not None else None


def _to_document(record: DataRecord) -> dict[str, Any]:
    return {
        "_id": record.idempotency_key,
        "status": record.status,
        "expiration": record.expiry_timestamp,
        "expiresAt": _as_date(record.expiry_timestamp),
        "inProgressExpiration": record.in_progress_expiry_timestamp,
        "validation": record.payload_hash,
        "data": record.response_data,
    }


def _to_record(document: dict[str, Any]) -> DataRecord:
    return DataRecord(
        idempotency_key=document["_id"],
        status=document["status"],
        expiry_timestamp=document.get("expiration"),
        in_progress_expiry_timestamp=document.get("inProgressExpiration"),
        response_data=document.get("data") or "",
        payload_hash=document.get("validation") or "",
    )
