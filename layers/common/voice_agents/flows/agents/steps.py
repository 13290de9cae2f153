"""What the create saga and the update share: a step runs under the function's time budget (it
starts only if it can finish before the work window closes, and every provider call in it is cut to
that window), and its failure carries the step's name, which the API answers with."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from voice_agents.core.errors import (
    DeadlineExceeded,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamTimeout,
)
from voice_agents.core.observability import logger
from voice_agents.core.retry import MIN_CALL_SECONDS, TimeBudget, finish_by

T = TypeVar("T")

STORE_STEP_MS = 1000
PROVIDER_STEP_MS = int(MIN_CALL_SECONDS * 1000)
# A dead Lambda's lease is taken over only after its deadline plus this margin.
LEASE_GRACE = timedelta(seconds=30)


class StepFailed(Exception):
    """``step`` failed with ``cause``: what the flow undoes, and what its answer names."""

    def __init__(self, step: str, cause: BaseException) -> None:
        super().__init__(step)
        self.step = step
        self.cause = cause


def run_step(
    budget: TimeBudget,
    name: str,
    needs_ms: int,
    action: Callable[[], T],
    *,
    failures: type[BaseException] | tuple[type[BaseException], ...] = Exception,
) -> T:
    """Run ``action`` as step ``name`` if ``needs_ms`` still fit in the work window; ``failures``
    (and a budget that does not fit) become StepFailed, anything else propagates."""
    try:
        budget.ensure(name, needs_ms)
        logger.info("step started", step=name)
        with finish_by(budget.work_until):
            return action()
    except DeadlineExceeded as exc:
        raise StepFailed(name, exc) from exc
    except failures as exc:
        raise StepFailed(name, exc) from exc


def as_answered(failure: StepFailed, budget: TimeBudget) -> BaseException:
    """The failure's cause as the client is answered: no answer in time is a gateway timeout
    (504, the time left said), not a provider's refusal."""
    cause = failure.cause
    if isinstance(cause, UpstreamTimeout):
        return DeadlineExceeded(failure.step, budget.remaining_ms(), f"{cause}; gave up waiting")
    return cause


def outcome_unknown(exc: BaseException) -> bool:
    """A create that timed out or hit a 5xx may have been carried out by the provider."""
    return isinstance(exc, UpstreamTimeout | UpstreamBadResponse) or (
        isinstance(exc, UpstreamError) and exc.status is not None and exc.status >= 500
    )
