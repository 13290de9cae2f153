"""pymongo against the local MongoDB-compatible server (FerretDB over TCP, or the MONGODB_URI given):
the operations the domain code relies on, AgentStore.ensure_indexes and the idempotency layer."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyItemAlreadyExistsError
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from bson import ObjectId
from pymongo import ASCENDING, MongoClient, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, OperationFailure

from voice_agents.core.clock import now
from voice_agents.data.agents import AgentStore
from voice_agents.data.calls import CallCost, CallFacts, Turn
from voice_agents.data.database import IDEMPOTENCY
from voice_agents.data.idempotency import MongoPersistenceLayer

pytestmark = pytest.mark.integration


@pytest.fixture
def database(stack) -> Iterator[Database[dict[str, Any]]]:
    """A database of this test's own on the stack's server, dropped afterwards."""
    client: MongoClient[dict[str, Any]] = MongoClient(stack.mongodb_uri, tz_aware=True)
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield client[name]
    client.drop_database(name)
    client.close()


def is_ferretdb(database: Database[dict[str, Any]]) -> bool:
    return "ferretdbVersion" in database.client.admin.command("buildInfo")


# --- basic CRUD over the wire -----------------------------------------------------------------


def test_insert_find_and_update_round_trip(database):
    # Given a document with the types the agent record uses
    agent_id = ObjectId()
    created = now()
    database.agents.insert_one(
        {"_id": agent_id, "name": "Northstar", "status": "provisioning", "createdAt": created, "tags": ["a"]}
    )

    # When it is updated and read back
    result = database.agents.update_one(
        {"_id": agent_id}, {"$set": {"status": "active"}, "$push": {"tags": "b"}, "$inc": {"version": 1}}
    )
    found = database.agents.find_one({"_id": agent_id})

    # Then the values survived the round trip, dates included (millisecond precision, tz-aware)
    assert result.matched_count == 1 and result.modified_count == 1
    assert found == {
        "_id": agent_id,
        "name": "Northstar",
        "status": "active",
        "createdAt": created,
        "tags": ["a", "b"],
        "version": 1,
    }
    assert database.agents.count_documents({"status": "active"}) == 1
    assert database.agents.find_one({"status": "provisioning"}) is None


def test_a_calls_whole_call_round_trips_lists_of_documents_and_an_array_in_an_array_is_refused(database):
    # Given what Retell's events leave on a call record: lists of documents (turns, cost products),
    # an enum field's choices (a list inside a document inside a list), answers by name
    turns = [Turn("agent", "Hello.", 0.5, 0.9), Turn("caller", "Hi, a check-up please.", 1.2, 2.4)]
    facts = CallFacts(
        transcript=turns,
        cost=CallCost(total_cents=14, billed_seconds=72.5, products=(("elevenlabs_tts", 8), ("gpt_4_1", 5))),
        post_call_answers={"booked": True, "party_size": 2, "reason": "booking"},
    )
    database.calls.insert_one({"_id": "CA1", "progress": 0})
    database.agents.insert_one(
        {"_id": "a1", "postCallFields": [{"name": "reason", "type": "enum", "choices": ["booking", "other"]}]}
    )

    # When the event's update applies them (and the stored answers are queried by name)
    database.calls.update_one({"_id": "CA1"}, {"$set": facts.stored(), "$max": {"progress": 2}})

    # Then they read back as written, and a page of calls can leave the transcript out
    stored = database.calls.find_one({"_id": "CA1"})
    assert stored["transcript"] == facts.stored()["transcript"]
    assert stored["cost"]["products"] == [
        {"product": "elevenlabs_tts", "cents": 8},
        {"product": "gpt_4_1", "cents": 5},
    ]
    assert database.agents.find_one({"_id": "a1"})["postCallFields"][0]["choices"] == ["booking", "other"]
    assert [each["_id"] for each in database.calls.find({"postCallAnswers.booked": True})] == ["CA1"]
    assert "transcript" not in database.calls.find_one({"_id": "CA1"}, {"transcript": 0})
    if is_ferretdb(database):
        # What FerretDB v1 refuses: an array directly inside an array, at any depth
        with pytest.raises(OperationFailure, match="nested arrays are not supported"):
            database.calls.update_one({"_id": "CA1"}, {"$set": {"turns": [{"words": [[0.5, 0.9]]}]}})


def test_find_one_and_update_returns_the_document_after_the_change(database):
    # Given a record without a lease
    agent_id = ObjectId()
    database.agents.insert_one({"_id": agent_id, "status": "provisioning"})

    # When a worker takes the lease atomically, asking for the document after the change
    claimed = database.agents.find_one_and_update(
        {"_id": agent_id, "leaseOwner": {"$exists": False}},
        {"$set": {"leaseOwner": "worker-1"}},
        return_document=ReturnDocument.AFTER,
    )
    # And a second worker tries the same
    second = database.agents.find_one_and_update(
        {"_id": agent_id, "leaseOwner": {"$exists": False}},
        {"$set": {"leaseOwner": "worker-2"}},
        return_document=ReturnDocument.AFTER,
    )

    # Then the first got the changed document, the second nothing
    assert claimed == {"_id": agent_id, "status": "provisioning", "leaseOwner": "worker-1"}
    assert second is None
    assert database.agents.find_one({"_id": agent_id})["leaseOwner"] == "worker-1"


def test_upsert_with_set_on_insert_creates_once(database):
    # When the same upsert runs twice
    for value in ("first", "second"):
        database.calls.update_one(
            {"_id": "CA1"}, {"$setOnInsert": {"first": value}, "$set": {"last": value}}, upsert=True
        )

    # Then one document holds the first insert's value and the last update's
    assert list(database.calls.find()) == [{"_id": "CA1", "first": "first", "last": "second"}]


def test_a_duplicate_id_raises_duplicate_key_error(database):
    # Given a document
    database.numbers.insert_one({"_id": "+61480000000", "agentId": "a"})

    # When another one with the same _id is inserted
    with pytest.raises(DuplicateKeyError):
        database.numbers.insert_one({"_id": "+61480000000", "agentId": "b"})

    # Then the first one is unchanged
    assert database.numbers.find_one({"_id": "+61480000000"})["agentId"] == "a"


def test_a_unique_index_violation_raises_duplicate_key_error(database):
    # Given a unique index over a field every document has
    database.owned.create_index([("phoneNumber", ASCENDING)], unique=True, name="phone_unique")
    database.owned.insert_one({"phoneNumber": "+61480000001", "agentId": "a"})

    # When a second document holds the same value
    with pytest.raises(DuplicateKeyError):
        database.owned.insert_one({"phoneNumber": "+61480000001", "agentId": "b"})

    # Then only the first one exists, and the index is reported as unique
    assert [d["agentId"] for d in database.owned.find()] == ["a"]
    index = next(i for i in database.owned.list_indexes() if i["name"] == "phone_unique")
    assert index["unique"] is True


def test_an_update_that_violates_a_unique_index_fails_without_changing_anything(database):
    # Given two documents under a unique index
    database.owned.create_index([("phoneNumber", ASCENDING)], unique=True, name="phone_unique")
    database.owned.insert_many(
        [{"phoneNumber": "+61480000001", "agentId": "a"}, {"phoneNumber": "+61480000002", "agentId": "c"}]
    )

    # When an update would duplicate a value
    # Then it fails. MongoDB raises DuplicateKeyError; FerretDB v1.24 answers InternalError (code 1),
    # so domain code must not count on DuplicateKeyError from an update of a secondary unique index.
    with pytest.raises(OperationFailure):
        database.owned.update_one({"agentId": "c"}, {"$set": {"phoneNumber": "+61480000001"}})
    assert sorted(d["phoneNumber"] for d in database.owned.find()) == ["+61480000001", "+61480000002"]


def test_an_upsert_that_would_insert_an_existing_id_raises_duplicate_key_error(database):
    # Given a lock document (the reconciler's lock is such an upsert)
    database.locks.insert_one({"_id": "sweep", "owner": "worker-1"})

    # When another worker upserts with a filter that does not match the existing document
    with pytest.raises(DuplicateKeyError):
        database.locks.update_one(
            {"_id": "sweep", "owner": "worker-2"}, {"$set": {"owner": "worker-2"}}, upsert=True
        )

    # Then the lock still belongs to the first worker
    assert database.locks.find_one({"_id": "sweep"})["owner"] == "worker-1"


# --- AgentStore.ensure_indexes --------------------------------------------------------------------


def test_ensure_indexes_is_idempotent_and_handles_the_missing_ttl_support(database):
    # Given a store on a fresh database
    store = AgentStore(database)

    # When the indexes are ensured twice (two cold starts)
    store.ensure_indexes()
    store.ensure_indexes()

    # Then the agent indexes exist, once each
    names = [index["name"] for index in database.agents.list_indexes()]
    assert sorted(names) == sorted(["_id_", "owner_list", "repair_queue", "phone_number", "status"])
    keys = {index["name"]: dict(index["key"]) for index in database.agents.list_indexes()}
    assert keys["owner_list"] == {"ownerId": 1, "_id": -1}
    assert keys["repair_queue"] == {"repairAfter": 1}
    # And the TTL index exists where the server supports one, and is skipped on FerretDB (NotImplemented)
    ttl = [index for index in database[IDEMPOTENCY].list_indexes() if index["name"] == "expiry_ttl"]
    if is_ferretdb(database):
        assert ttl == []
    else:
        assert [index.get("expireAfterSeconds") for index in ttl] == [0]


def test_ensure_indexes_logs_one_line_when_ttl_is_not_supported(database, caplog):
    # Given the stack's server
    ferretdb = is_ferretdb(database)

    # When the indexes are ensured
    with caplog.at_level(logging.INFO):
        AgentStore(database).ensure_indexes()

    # Then on FerretDB exactly one line says expiry is enforced in code only; elsewhere none does
    lines = [r for r in caplog.records if "TTL indexes not supported" in r.getMessage()]
    assert len(lines) == (1 if ferretdb else 0)


# --- the idempotency persistence layer ------------------------------------------------------------


@pytest.fixture
def layer(database) -> MongoPersistenceLayer:
    return MongoPersistenceLayer(lambda: database[IDEMPOTENCY])


def record(key: str, *, status: str = "INPROGRESS", expires_in: int = 3600, in_progress_ms: int = 60_000,
           payload_hash: str = "") -> DataRecord:  # fmt: skip
    now_seconds = int(time.time())
    return DataRecord(
        idempotency_key=key,
        status=status,
        expiry_timestamp=now_seconds + expires_in,
        in_progress_expiry_timestamp=int(time.time() * 1000) + in_progress_ms,
        payload_hash=payload_hash,
    )


def test_the_first_put_inserts_the_record(layer, database):
    # When a key is put for the first time
    layer._put_record(record("key-1"))

    # Then it is stored with its expiry both as epoch seconds and as a BSON date
    stored = database[IDEMPOTENCY].find_one({"_id": "key-1"})
    assert stored["status"] == "INPROGRESS"
    assert int(stored["expiresAt"].timestamp()) == stored["expiration"]
    assert layer._get_record("key-1").status == "INPROGRESS"


def test_a_second_put_of_an_unexpired_in_progress_key_is_refused(layer, database):
    # Given a request holding the key, in progress and not expired
    layer._put_record(record("key-2", payload_hash="first"))

    # When another request puts the same key
    with pytest.raises(IdempotencyItemAlreadyExistsError) as raised:
        layer._put_record(record("key-2", payload_hash="second"))

    # Then it is refused, is told about the holder's record, and the holder's record is intact
    assert raised.value.old_data_record is not None
    assert raised.value.old_data_record.status == "INPROGRESS"
    assert database[IDEMPOTENCY].find_one({"_id": "key-2"})["validation"] == "first"
    assert database[IDEMPOTENCY].count_documents({}) == 1


def test_a_second_put_of_an_unexpired_completed_key_is_refused(layer, database):
    # Given a completed record whose in-progress lock lapsed long ago but whose expiry has not
    layer._put_record(record("key-3", status="COMPLETED", in_progress_ms=-60_000, payload_hash="first"))

    # When the key is put again
    with pytest.raises(IdempotencyItemAlreadyExistsError) as raised:
        layer._put_record(record("key-3", payload_hash="second"))

    # Then the stored response wins (an in-progress lapse only frees INPROGRESS records)
    assert raised.value.old_data_record is not None
    assert raised.value.old_data_record.status == "COMPLETED"
    assert database[IDEMPOTENCY].find_one({"_id": "key-3"})["status"] == "COMPLETED"


def test_an_expired_record_is_replaced(layer, database):
    # Given a completed record whose expiry is in the past (the TTL index, if any, has not run yet)
    layer._put_record(record("key-4", status="COMPLETED", expires_in=-10, payload_hash="old"))

    # When the key is put again
    layer._put_record(record("key-4", payload_hash="new"))

    # Then the new request holds the key
    stored = database[IDEMPOTENCY].find_one({"_id": "key-4"})
    assert (stored["status"], stored["validation"]) == ("INPROGRESS", "new")
    assert stored["expiration"] > int(time.time())
    assert database[IDEMPOTENCY].count_documents({}) == 1


def test_an_in_progress_record_whose_lock_lapsed_is_replaced(layer, database):
    # Given a request that crashed holding the key: INPROGRESS, unexpired, in-progress expiry (ms) past
    layer._put_record(record("key-5", in_progress_ms=-1_000, payload_hash="crashed"))

    # When another request puts the key
    layer._put_record(record("key-5", payload_hash="retry"))

    # Then it takes the key over
    stored = database[IDEMPOTENCY].find_one({"_id": "key-5"})
    assert (stored["status"], stored["validation"]) == ("INPROGRESS", "retry")
    assert stored["inProgressExpiration"] > int(time.time() * 1000)


def test_update_and_delete_record(layer, database):
    # Given a key in progress
    layer._put_record(record("key-6"))

    # When the request completes
    layer._update_record(
        DataRecord(
            idempotency_key="key-6",
            status="COMPLETED",
            expiry_timestamp=int(time.time()) + 3600,
            response_data='{"statusCode": 201}',
            payload_hash="h",
        )
    )

    # Then the stored record carries the response
    stored = layer._get_record("key-6")
    assert (stored.status, stored.response_data, stored.payload_hash) == (
        "COMPLETED",
        '{"statusCode": 201}',
        "h",
    )

    # And when it is deleted, the key is free again
    layer._delete_record(stored)
    assert database[IDEMPOTENCY].count_documents({}) == 0
    layer._put_record(record("key-6"))
