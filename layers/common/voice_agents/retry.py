"""Retry with capped exponential backoff and full jitter, for calls that are safe to repeat."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from voice_agents.errors import UpstreamError

T = TypeVar("T")


def with_retries(
    call: Callable[[], T],
    *,
    attempts: int = 3,
    base_delay: float = 0.2,
    max_delay: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    creates: bool = False,
) -> T:
    """Run ``call``; repeat it while it raises a retryable UpstreamError, up to ``attempts`` times.

    With ``creates``, only errors the provider did not process are repeated: a create that may
    have happened is never sent twice.
    """
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except UpstreamError as exc:
            repeatable = exc.unprocessed if creates else exc.retryable
            if not repeatable or attempt == attempts:
                raise
            sleep(random.uniform(0, min(max_delay, base_delay * 2 ** (attempt - 1))))  # noqa: S311
    raise AssertionError("unreachable")
