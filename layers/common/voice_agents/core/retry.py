"""The time provider calls may take: a function's time budget, per-call deadlines and timeouts, and
retries with capped exponential backoff and full jitter that never outlive the deadline.

A caller scopes a deadline with ``finish_by``; every provider call made inside the scope (in this
thread) gets ``call_timeout(configured)``: the configured timeout, cut to the time left. A call that
could not usefully start raises DeadlineExceeded instead, and no retry (or back-off) starts that could
not finish in time. The scope is a ContextVar, so the saga's two chains, each in its own thread, keep
their own deadlines, and the Twilio SDK's HTTP client reads it without the SDK passing it along.
"""

from __future__ import annotations

import contextvars
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from voice_agents.core.errors import DeadlineExceeded, UpstreamError

T = TypeVar("T")

# A provider call with less time than this is not started: it could only time out.
MIN_CALL_SECONDS = 0.5
# A provider that says it is rate limiting (429, Twilio's 20429) did not act and asks for a back-off:
# it gets more attempts and longer pauses than other errors, still within the deadline.
RATE_LIMITED_ATTEMPTS = 6
RATE_LIMITED_MAX_DELAY = 4.0
# Kept free at the end of a function for its last database write and for the answer itself.
ANSWER_MARGIN_MS = 2000

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("provider_deadline", default=None)


@dataclass(frozen=True)
class TimeBudget:
    """A function's remaining time, split once when it starts (``time.monotonic()`` instants):
    forward work until ``work_until``, then undoing it until ``answer_by``, then the answer."""

    work_until: float
    answer_by: float
    ends_at: float

    @classmethod
    def split(cls, remaining_ms: int, *, rollback_share: float = 0.0, now: float | None = None) -> TimeBudget:
        """``rollback_share`` of the time before the answer margin is kept for undoing the work."""
        start = time.monotonic() if now is None else now
        ends_at = start + remaining_ms / 1000
        answer_by = max(start, ends_at - ANSWER_MARGIN_MS / 1000)
        work_until = answer_by - (answer_by - start) * rollback_share
        return cls(work_until=work_until, answer_by=answer_by, ends_at=ends_at)

    def ensure(self, step: str, needs_ms: int) -> None:
        """Raise DeadlineExceeded unless ``step`` can finish before the work window closes."""
        if (self.work_until - time.monotonic()) * 1000 < needs_ms:
            raise DeadlineExceeded(step, self.remaining_ms())

    def remaining_ms(self) -> int:
        return max(0, int((self.ends_at - time.monotonic()) * 1000))


@contextmanager
def finish_by(deadline: float | None) -> Iterator[None]:
    """Provider calls made inside end by ``deadline`` (a ``time.monotonic()`` instant); an inner
    scope can only shorten an outer one."""
    outer = _deadline.get()
    if outer is not None:
        deadline = outer if deadline is None else min(deadline, outer)
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def seconds_left() -> float | None:
    """Time left before the current scope's deadline; None outside any scope."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def call_timeout(configured: float, operation: str) -> float:
    """The timeout for one provider call: ``configured``, cut to the time left in the scope."""
    left = seconds_left()
    if left is None:
        return configured
    if left < MIN_CALL_SECONDS:
        raise DeadlineExceeded(operation, max(0, int(left * 1000)))
    return min(configured, left)


def with_retries(
    call: Callable[[], T],
    *,
    attempts: int = 3,
    base_delay: float = 0.2,
    max_delay: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    creates: bool = False,
) -> T:
    """Run ``call``; repeat it while it raises a retryable UpstreamError, up to ``attempts`` times
    (``RATE_LIMITED_ATTEMPTS`` when the provider is rate limiting), and only while a back-off plus
    another useful call still fit before the scope's deadline.

    With ``creates``, only errors the provider did not process are repeated: a create that may
    have happened is never sent twice.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except UpstreamError as exc:
            repeatable = exc.unprocessed if creates else exc.retryable
            rate_limited = exc.status == 429
            allowed = max(attempts, RATE_LIMITED_ATTEMPTS) if rate_limited else attempts
            if not repeatable or attempt >= allowed:
                raise
            cap = max(max_delay, RATE_LIMITED_MAX_DELAY) if rate_limited else max_delay
            delay = random.uniform(0, min(cap, base_delay * 2 ** (attempt - 1)))  # noqa: S311
            left = seconds_left()
            if left is not None and left < delay + MIN_CALL_SECONDS:
                raise
            sleep(delay)
