"""The per-owner rate limit's decisions (http/rate_limit.py), counted in memory: the budget a method
spends, the fixed minute and its Retry-After, what an instance remembers of an owner over a budget,
failing open, and the resolver answering before anything else. The same limiter counting in FerretDB,
over HTTP: tests/integration/test_owner_rate_limit.py."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest

from local.invoke import LambdaContext, http_event
from voice_agents.core.errors import ConfigurationError, StoreError
from voice_agents.core.settings import Settings, load_settings
from voice_agents.http import rate_limit
from voice_agents.http.rate_limit import OwnerRateLimit, RateLimited
from voice_agents.http.resolver import ApiResolver

OWNER = "owner-1"
HALF_PAST = datetime(2024, 5, 4, 9, 30, 30, tzinfo=UTC)


class Counts:
    """Stands in for data/request_counts.RequestCounts: a count per owner, budget and window."""

    def __init__(self) -> None:
        self.windows: Counter[tuple[str, str, datetime]] = Counter()
        self.calls = 0
        self.failure: Exception | None = None

    def count(self, owner: str, budget: str, window: tuple[datetime, datetime], *, within: float) -> int:
        self.calls += 1
        assert within == rate_limit.CHECK_TIMEOUT_SECONDS
        assert window[1] - window[0] == rate_limit.WINDOW
        if self.failure is not None:
            raise self.failure
        self.windows[(owner, budget, window[0])] += 1
        return self.windows[(owner, budget, window[0])]


class Process:
    """Stands in for runtime.Runtime: the settings of ``environ`` and a store holding ``Counts``."""

    def __init__(self, **environ: str) -> None:
        self.environ = environ
        self.counts = Counts()

    def settings(self) -> Settings:
        return load_settings(environ=self.environ)

    def store(self) -> Any:
        return SimpleNamespace(request_counts=self.counts)


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    pinned = Clock(HALF_PAST)
    monkeypatch.setattr(rate_limit, "now", pinned)
    return pinned


def limiter(process: Process) -> OwnerRateLimit:
    return OwnerRateLimit(cast(Any, process))


def test_gets_spend_the_reads_and_every_other_method_the_writes(clock):
    limit = limiter(Process(OWNER_READS_PER_MINUTE="2", OWNER_WRITES_PER_MINUTE="1"))

    assert limit.check(OWNER, "GET") is None
    assert limit.check(OWNER, "get") is None
    assert limit.check(OWNER, "GET") == RateLimited("reads", 2, retry_after=30)
    assert limit.check(OWNER, "POST") is None
    assert limit.check(OWNER, "PATCH") == RateLimited("writes", 1, retry_after=30)
    assert limit.check(OWNER, "DELETE") == RateLimited("writes", 1, retry_after=30)
    # Another owner has budgets of its own
    assert limit.check("owner-2", "GET") is None


@pytest.mark.parametrize(
    ("into_the_minute", "retry_after"),
    [(timedelta(0), 60), (timedelta(seconds=29, milliseconds=500), 31), (timedelta(seconds=59.999), 1)],
)
def test_retry_after_is_the_rest_of_the_minute_rounded_up(clock, into_the_minute, retry_after):
    clock.moment = HALF_PAST.replace(second=0) + into_the_minute
    limit = limiter(Process(OWNER_READS_PER_MINUTE="1"))
    limit.check(OWNER, "GET")

    assert limit.check(OWNER, "GET") == RateLimited("reads", 1, retry_after)


def test_an_owner_over_a_budget_is_refused_without_a_count_until_its_minute_ends(clock):
    process = Process(OWNER_READS_PER_MINUTE="1")
    limit = limiter(process)
    limit.check(OWNER, "GET")
    assert limit.check(OWNER, "GET") is not None
    assert process.counts.calls == 2

    # Refused again within the minute, with no count (a window's count only grows)
    clock.moment += timedelta(seconds=29)
    assert limit.check(OWNER, "GET") == RateLimited("reads", 1, retry_after=1)
    assert process.counts.calls == 2
    # Counted afresh in the next minute
    clock.moment += timedelta(seconds=1)
    assert limit.check(OWNER, "GET") is None
    assert process.counts.calls == 3


def test_a_budget_of_zero_is_no_limit_and_costs_no_count(clock):
    process = Process(OWNER_READS_PER_MINUTE="0", OWNER_WRITES_PER_MINUTE="1")
    limit = limiter(process)

    assert all(limit.check(OWNER, "GET") is None for _ in range(5))
    assert process.counts.calls == 0


@pytest.mark.parametrize(
    "failure",
    [StoreError("database count failed: timed out"), ConfigurationError("MONGODB_URI is not set")],
    ids=["database", "settings"],
)
def test_a_count_that_cannot_be_had_lets_the_request_through(clock, failure):
    process = Process(OWNER_READS_PER_MINUTE="1")
    process.counts.failure = failure
    limit = limiter(process)

    assert [limit.check(OWNER, "GET") for _ in range(3)] == [None] * 3


def test_unreadable_settings_let_the_request_through(clock):
    limit = limiter(Process(OWNER_READS_PER_MINUTE="lots"))

    assert limit.check(OWNER, "GET") is None


def test_the_resolver_answers_a_limited_owner_before_the_body_or_any_route(clock):
    limit = limiter(Process(OWNER_WRITES_PER_MINUTE="1"))
    app = ApiResolver(limit, enable_validation=True)
    routed: list[str] = []

    @app.post("/api/agents")
    def create() -> dict[str, str]:
        routed.append("create")
        return {}

    def post(body: str) -> dict[str, Any]:
        event = http_event("create_agent.json", body=body, owner=OWNER)
        return app.resolve(event, cast(Any, LambdaContext()))

    assert post("{}")["statusCode"] == 200
    refused = post("{not json")

    assert refused["statusCode"] == 429, refused["body"]
    assert refused["headers"]["Retry-After"] == "30"
    body = json.loads(refused["body"])
    assert body["error"] == "rate_limited" and body["limit"] == 1
    assert body["message"] == "too many requests: at most 1 writes a minute per user; retry in 30 s"
    assert routed == ["create"]


def test_a_request_without_an_owner_is_not_counted(clock):
    process = Process()
    app = ApiResolver(limiter(process), enable_validation=True)
    event = http_event("get_agents.json")
    del event["requestContext"]["authorizer"]

    app.resolve(event, cast(Any, LambdaContext()))

    assert process.counts.calls == 0
