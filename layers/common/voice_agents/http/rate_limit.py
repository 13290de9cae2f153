"""Per-owner rate limits on the API's routes (docs/architecture.md, "Per-owner rate limits").

Each owner (the JWT's ``sub``) has a budget of reads (GET) and one of writes (POST, PATCH, DELETE) per
minute, ``OWNER_READS_PER_MINUTE`` and ``OWNER_WRITES_PER_MINUTE``. The resolver checks it before
any other work (``ApiResolver.resolve``); past it the answer is 429 ``rate_limited`` with
``Retry-After``, the seconds until the owner's minute ends. Windows are fixed minutes, counted in
the database (``data/request_counts.py``) because every Lambda instance shares it: HTTP APIs
throttle per route for all callers together and have no usage plans.

The limiter fails open: when the count cannot be had (the database unreachable or slow, a setting
unreadable), the request goes on, with a warning and ``RateLimitUnchecked``. A request the limiter
lets through meets the same outage in its route and is answered as before (503
``database_unavailable``); refusing it would turn a slow counter into an outage of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from voice_agents.core.clock import now
from voice_agents.core.observability import count, logger

if TYPE_CHECKING:
    from voice_agents.runtime import Runtime

WINDOW = timedelta(minutes=1)
# At most this long waiting for the count (a round trip is a few ms; an instance's first request
# also connects): past it the request goes on unchecked, so an unreachable database costs each
# request half a second more before its route meets the outage, and never a timeout.
CHECK_TIMEOUT_SECONDS = 0.5
READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class RateLimited:
    """A request refused: its owner sent more than ``limit`` ``budget`` ("reads" or "writes") in
    the minute that ends in ``retry_after`` seconds."""

    budget: str
    limit: int
    retry_after: int


class OwnerRateLimit:
    """The limiter of one API function; ``process`` gives it the settings and the store."""

    def __init__(self, process: Runtime) -> None:
        self._process = process
        # Owners over a budget, until their window ends: their next requests to this instance are
        # refused without a round trip (a window's count only grows), so a flood costs the database
        # one write per instance and minute, not one per request.
        self._over: dict[tuple[str, str], datetime] = {}

    def check(self, owner: str, method: str) -> RateLimited | None:
        """None when ``owner`` may send this request (counted), else why not."""
        budget = "reads" if method.upper() in READ_METHODS else "writes"
        moment = now()
        window = window_of(moment)
        try:
            limit = self._limit(budget)
            if limit == 0:
                return None
            over_until = self._over.get((owner, budget))
            if over_until is not None and over_until > moment:
                return RateLimited(budget, limit, _seconds_until(window[1], moment))
            counted = self._process.store().request_counts.count(
                owner, budget, window, within=CHECK_TIMEOUT_SECONDS
            )
        except Exception as exc:  # fail open: see the module's docstring
            logger.warning(
                "rate limit not checked; the request goes on",
                budget=budget,
                error=str(exc),
                error_type=type(exc).__name__,
            )
            count("RateLimitUnchecked", budget=budget)
            return None
        if counted <= limit:
            return None
        self._remember(owner, budget, window[1], moment)
        logger.warning("owner over its rate limit", owner_id=owner, budget=budget, limit=limit)
        count("OwnersRateLimited", budget=budget)
        return RateLimited(budget, limit, _seconds_until(window[1], moment))

    def _limit(self, budget: str) -> int:
        settings = self._process.settings()
        return settings.owner_reads_per_minute if budget == "reads" else settings.owner_writes_per_minute

    def _remember(self, owner: str, budget: str, until: datetime, moment: datetime) -> None:
        self._over = {key: end for key, end in self._over.items() if end > moment}
        self._over[(owner, budget)] = until


def window_of(moment: datetime) -> tuple[datetime, datetime]:
    """The fixed window holding ``moment``: its start and its end."""
    seconds = WINDOW.total_seconds()
    start = datetime.fromtimestamp(moment.timestamp() // seconds * seconds, UTC)
    return start, start + WINDOW


def _seconds_until(end: datetime, moment: datetime) -> int:
    """Whole seconds until ``end``, at least 1 (what ``Retry-After`` says)."""
    return max(1, math.ceil((end - moment).total_seconds()))
