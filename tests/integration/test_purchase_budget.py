"""The per-owner purchase budget (PURCHASE_BUDGET_PER_DAY): numbers bought in 24 hours count whatever
became of their agents, and past the budget a create answers 429 and buys nothing."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from bson import ObjectId

from local.invoke import http_event, invoke, json_body
from tests.integration.workers import run_in_processes
from voice_agents import runtime
from voice_agents.core.clock import now
from voice_agents.data.agents import AgentStore
from voice_agents.data.database import connect

pytestmark = pytest.mark.integration

BUDGET = 3
DAY = timedelta(hours=24)


@pytest.fixture
def budget(env, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("PURCHASE_BUDGET_PER_DAY", str(BUDGET))
    runtime.reset()
    return BUDGET


def create(key: str, owner: str | None = None) -> dict:
    return invoke(
        "create_agent", http_event("create_agent.json", owner=owner, headers={"idempotency-key": key})
    )


def delete(agent_id: str) -> None:
    assert invoke("delete_agent", http_event("delete_agent.json", agent_id=agent_id))["statusCode"] == 200


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_loop_of_creates_and_deletes_stops_at_the_budget_until_the_first_purchase_leaves_the_day(
    env, db, budget
):
    # Given an owner who creates an agent and deletes it, again and again (never near the agent quota)
    for n in range(budget):
        answer = create(f"loop-{n}")
        assert answer["statusCode"] == 201, answer["body"]
        delete(json_body(answer)["id"])
    first_purchase = db.purchases.find_one(sort=[("at", 1)])["at"]

    # When the owner creates once more
    refused = create("loop-more")

    # Then the create is refused, naming the limit and when the oldest purchase leaves the 24 hours
    assert refused["statusCode"] == 429, refused["body"]
    body = json_body(refused)
    assert body["error"] == "purchase_limit" and body["limit"] == budget
    assert body["requestId"] and "24 hours" in body["message"] and "deleted" in body["message"]
    retry_at = parse_time(body["retryAt"])
    assert abs(retry_at - (first_purchase + DAY)) < timedelta(seconds=1)
    retry_after = int(refused["headers"]["Retry-After"])
    assert DAY.total_seconds() - 120 < retry_after <= DAY.total_seconds()
    # And nothing was bought, asked of Retell, journaled or reserved
    assert env.twilio.call_count("buy_number") == budget
    assert env.retell.call_count("create_llm") == budget
    assert db.agents.count_documents({}) == budget
    assert db.purchases.count_documents({}) == budget
    # While another owner's budget is their own
    assert create("elsewhere", owner="another-owner")["statusCode"] == 201

    # When the first purchase is more than 24 hours old
    db.purchases.update_one({"at": first_purchase}, {"$set": {"at": now() - DAY - timedelta(seconds=1)}})
    # Then the refused key was not used up: it creates, and the one after it is refused again
    assert create("loop-more")["statusCode"] == 201
    assert create("loop-after")["statusCode"] == 429
    assert env.twilio.call_count("buy_number") == budget + 2  # elsewhere, loop-more


def test_a_rolled_back_create_counts_when_it_bought_a_number_and_not_when_it_bought_nothing(env, db, budget):
    # Given a create that bought its number before Retell failed (rolled back: the number was released)
    env.retell.inject(
        "publish_agent_version", status=400, message="Invalid request format", delay_ms=1500, times=1
    )
    bought_then_failed = create("bought-then-failed")
    assert bought_then_failed["statusCode"] == 502, bought_then_failed["body"]
    assert env.twilio.call_count("buy_number") == 1 and env.twilio.owned == {}
    # And a create that failed before it asked for a number (Retell refused while Twilio searched)
    env.twilio.inject("search_numbers", delay_ms=1500, times=1)
    env.retell.inject("create_llm", status=400, message="Invalid request format", times=1)
    assert create("failed-early")["statusCode"] == 502
    assert env.twilio.call_count("buy_number") == 1

    # Then only the purchase counts: two more creates fit the budget of three, the next does not
    assert db.purchases.count_documents({}) == 1
    assert [create(key)["statusCode"] for key in ("two", "three", "four")] == [201, 201, 429]
    assert env.twilio.call_count("buy_number") == budget


def test_creates_racing_for_the_last_purchase_buy_it_once(env, db, budget):
    # Given an owner with one purchase left
    for n in range(budget - 1):
        assert create(f"before-{n}")["statusCode"] == 201
    # When four creates arrive at once, each in its own Lambda instance
    jobs = [
        ("create_agent", http_event("create_agent.json", headers={"idempotency-key": f"race-{n}"}))
        for n in range(4)
    ]
    answers = run_in_processes(jobs)

    # Then at most one of them bought a number; the others were refused for the budget
    statuses = sorted(answer["statusCode"] for answer in answers)
    assert statuses.count(201) <= 1 and set(statuses) <= {201, 429}, [a["body"] for a in answers]
    assert all(json_body(a)["error"] == "purchase_limit" for a in answers if a["statusCode"] == 429)
    assert env.twilio.call_count("buy_number") == budget - 1 + statuses.count(201)
    assert db.purchases.count_documents({}) <= budget


class _CountAfterBoth:
    """Holds each count until both racers have inserted, and each answer until both have counted:
    the interleaving that breaks a check made before the insert. (Without the second hold, one racer
    can give its place back before the other counts, and the other rightly takes it.)"""

    def __init__(self, collection) -> None:
        self.collection = collection
        self.both_inserted = threading.Barrier(2, timeout=10)
        self.both_counted = threading.Barrier(2, timeout=10)

    def __getattr__(self, name: str):
        return getattr(self.collection, name)

    def count_documents(self, *args, **kwargs):
        self.both_inserted.wait()
        counted = self.collection.count_documents(*args, **kwargs)
        self.both_counted.wait()
        return counted


def test_two_reservations_counted_after_both_inserts_are_not_both_accepted(env, db, monkeypatch):
    # Given an owner with one purchase left of two
    store = AgentStore(connect(env.mongodb_uri, env.database, 4))
    assert store.purchases.reserve(ObjectId(), "owner", budget=2) is None
    monkeypatch.setattr(store.purchases, "collection", _CountAfterBoth(store.purchases.collection))

    # When two creates reserve at the same moment, each counting after both inserted
    verdicts: list[object] = []
    racers = [
        threading.Thread(
            target=lambda: verdicts.append(store.purchases.reserve(ObjectId(), "owner", budget=2))
        )
        for _ in range(2)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()

    # Then neither goes on (each saw three), and neither reservation stays behind
    assert len(verdicts) == 2 and None not in verdicts
    assert db.purchases.count_documents({"ownerId": "owner"}) == 1
    store.database.client.close()
