"""Per-owner rate limits (http/rate_limit.py) through the local API over HTTP, counted in FerretDB:
an owner past a budget is answered 429 ``rate_limited`` with ``Retry-After`` before any other work,
while other owners, and its other budget, go on; the next minute starts afresh; a database that
cannot count lets requests through (docs/architecture.md, "Per-owner rate limits").

The limiter's clock is pinned in the past, half a minute into a minute: no test straddles a minute
by chance, and what an API instance remembers of an owner over its budget has expired in real time
for any later test. Owners are new in each test, for the same reason.
"""

from __future__ import annotations

import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.integration.emf import emitted_metrics
from tests.integration.test_http_api import CREATE_BODY, bearer
from voice_agents import runtime
from voice_agents.core.errors import StoreError
from voice_agents.data.request_counts import RequestCounts
from voice_agents.http import rate_limit

pytestmark = pytest.mark.integration

READS, WRITES = 3, 2
HALF_PAST = datetime(2024, 5, 4, 9, 30, 30, tzinfo=UTC)
UNKNOWN_AGENT = "0123456789abcdef01234567"


class PinnedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> PinnedClock:
    pinned = PinnedClock(HALF_PAST)
    monkeypatch.setattr(rate_limit, "now", pinned)
    return pinned


@pytest.fixture
def limits(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> httpx.Client:
    """The local API's client, with budgets small enough to spend in a test."""
    monkeypatch.setenv("OWNER_READS_PER_MINUTE", str(READS))
    monkeypatch.setenv("OWNER_WRITES_PER_MINUTE", str(WRITES))
    runtime.reset()
    return client


def new_owner(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def read(client: httpx.Client, owner: str) -> httpx.Response:
    return client.get("/api/agents", headers=bearer(owner))


def assert_rate_limited(response: httpx.Response, budget: str, limit: int, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["Retry-After"] == str(retry_after)
    body = response.json()
    assert body["error"] == "rate_limited"
    assert body["limit"] == limit
    assert body["requestId"] == response.headers["apigw-requestid"]
    assert f"at most {limit} {budget} a minute" in body["message"]
    assert f"retry in {retry_after} s" in body["message"]


def counted(db: Any, owner: str, budget: str) -> list[int]:
    """The owner's count in each window of ``budget``, oldest first."""
    windows = db.request_counts.find({"_id": {"$regex": f"^{owner}#{budget}#"}}).sort("_id")
    return [window["count"] for window in windows]


def test_an_owner_past_its_reads_is_refused_while_another_owner_and_its_own_writes_go_on(limits, db, clock):
    flooder, neighbour = new_owner("flooder"), new_owner("neighbour")

    # Given an owner who has spent its reads of this minute
    assert [read(limits, flooder).status_code for _ in range(READS)] == [200] * READS

    # When it reads again, Then it is refused until its minute ends, half a minute from now
    assert_rate_limited(read(limits, flooder), "reads", READS, retry_after=30)
    # And so are the other read routes, which share the budget
    agent_read = limits.get(f"/api/agents/{UNKNOWN_AGENT}", headers=bearer(flooder))
    assert_rate_limited(agent_read, "reads", READS, retry_after=30)
    # While another owner reads as usual
    assert [read(limits, neighbour).status_code for _ in range(READS)] == [200] * READS
    # And the flooder's writes have a budget of their own (a 404: the delete ran)
    deleted = limits.delete(f"/api/agents/{UNKNOWN_AGENT}", headers=bearer(flooder))
    assert deleted.status_code == 404, deleted.text
    # And once refused, the instance refuses its next reads without counting them in the database
    assert counted(db, flooder, "reads") == [READS + 1]
    assert counted(db, neighbour, "reads") == [READS]


def test_the_next_minute_starts_afresh(limits, db, clock):
    owner = new_owner("patient")
    for _ in range(READS):
        read(limits, owner)
    assert_rate_limited(read(limits, owner), "reads", READS, retry_after=30)

    # Given 20 s later, the minute is not over yet
    clock.advance(20)
    assert_rate_limited(read(limits, owner), "reads", READS, retry_after=10)

    # When the next minute starts, Then the owner has its whole budget again
    clock.advance(10)
    assert [read(limits, owner).status_code for _ in range(READS)] == [200] * READS
    assert_rate_limited(read(limits, owner), "reads", READS, retry_after=60)
    # counted in a window of its own
    assert counted(db, owner, "reads") == [READS + 1, READS + 1]


def test_a_write_past_the_budget_is_refused_before_its_body_is_read_or_anything_is_bought(
    limits, env, db, clock
):
    owner = new_owner("writer")
    for _ in range(WRITES):
        assert limits.delete(f"/api/agents/{UNKNOWN_AGENT}", headers=bearer(owner)).status_code == 404

    # When the owner creates an agent past its writes, with a valid body or with one that is not JSON
    created = limits.post("/api/agents", json=CREATE_BODY, headers=bearer(owner))
    garbled = limits.post(
        "/api/agents", content=b"{not json", headers={**bearer(owner), "Content-Type": "application/json"}
    )

    # Then both are refused for the rate, before the body is read, and nothing is bought
    assert_rate_limited(created, "writes", WRITES, retry_after=30)
    assert_rate_limited(garbled, "writes", WRITES, retry_after=30)
    assert env.twilio.call_count("search_numbers") == env.twilio.call_count("buy_number") == 0
    assert env.retell.call_count("create_llm") == 0
    assert db.agents.count_documents({}) == 0


def test_a_count_that_fails_lets_the_request_through_logged_and_counted(
    limits, clock, monkeypatch, log_lines, capsys
):
    # Given a database that cannot count (its other collections answer)
    def refuse(*args: Any, **kwargs: Any) -> int:
        raise StoreError("injected: the count timed out", outcome_unknown=True)

    monkeypatch.setattr(RequestCounts, "count", refuse)
    capsys.readouterr()

    # When an owner reads, Then the read is answered: the limiter fails open
    response = read(limits, new_owner("unchecked"))
    assert response.status_code == 200, response.text
    # And says so, in the log under the request's id and as a metric
    [warning] = [
        line
        for line in log_lines.of_request(response.headers["apigw-requestid"])
        if line["message"] == "rate limit not checked; the request goes on"
    ]
    assert warning["level"] == "WARNING"
    assert warning["budget"] == "reads" and warning["error_type"] == "StoreError"
    assert emitted_metrics(capsys.readouterr().out)["RateLimitUnchecked"] == [1]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_database_is_the_routes_503_and_the_limiter_waits_half_a_second_of_it(
    limits, clock, monkeypatch, log_lines
):
    # Given a database nobody answers at (pymongo waits 5 s to select a server)
    monkeypatch.setenv("MONGODB_URI", f"mongodb://127.0.0.1:{closed_port()}/?serverSelectionTimeoutMS=5000")
    runtime.reset()

    # When an owner reads
    started = time.monotonic()
    response = read(limits, new_owner("stranded"))
    elapsed = time.monotonic() - started

    # Then the limiter gives up after its 0.5 s and lets the request through, and the route meets
    # the outage and answers it as it always did
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "database_unavailable"
    lines = log_lines.of_request(response.headers["apigw-requestid"])
    assert [line["error_type"] for line in lines if line["message"].startswith("rate limit not checked")] == [
        "StoreError"
    ]
    # The route's own 5 s and the limiter's 0.5 s: not two server selections of 5 s
    assert 5 <= elapsed < 5 + rate_limit.CHECK_TIMEOUT_SECONDS + 1.5, elapsed
