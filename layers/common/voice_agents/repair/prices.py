"""The reconciler's price phase: what Twilio charged for each call, read after the call.

Twilio writes a call's ``price`` (and its child legs': the <Dial>s to Retell's SIP and to a person,
each billed as a call of its own) some time after the call ends, so the webhook cannot know it. Each
call record is due for a read ``TWILIO_PRICE_FIRST_READ`` after it came in (``twilioPriceDueAt``);
a run reads at most MAX_CALLS_PER_RUN due calls, while time is left: a call still live, or not priced
yet, is asked again ``TWILIO_PRICE_RETRY`` later, and one still without a price
``TWILIO_PRICE_GIVE_UP_AFTER`` after it came in (or that Twilio does not know) is left unpriced.
Prices are kept exactly (``core.money.micros_of``); a failed read is retried on the next run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from voice_agents.core.clock import now
from voice_agents.core.errors import DomainError, UpstreamNotFound
from voice_agents.core.money import micros_of
from voice_agents.core.observability import logger
from voice_agents.data.calls import TWILIO_PRICE_GIVE_UP_AFTER, TWILIO_PRICE_RETRY, TwilioCost
from voice_agents.providers.twilio import CallCharges
from voice_agents.repair.run import ReconcileReport

if TYPE_CHECKING:
    from voice_agents.runtime import Services

# Two Twilio requests per call: 100 calls are about 20 s of a run at Twilio's usual latency, and
# 1,200 calls an hour at the default schedule (every 5 minutes).
MAX_CALLS_PER_RUN = 100
ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def read_prices(
    services: Services, remaining_ms: Callable[[], int], report: ReconcileReport, *, reserve_ms: int
) -> None:
    calls = services.store.calls
    for call_sid, came_in in calls.due_for_price(now(), limit=MAX_CALLS_PER_RUN):
        if remaining_ms() < reserve_ms:
            report.stopped_early = True
            return
        moment = now()
        if moment - came_in > TWILIO_PRICE_GIVE_UP_AFTER:
            _give_up(services, call_sid, "no price in time", report)
            continue
        try:
            charges = services.twilio.call_charges(call_sid)
        except UpstreamNotFound:
            _give_up(services, call_sid, "unknown to Twilio", report)
            continue
        except DomainError as exc:  # Twilio failing: this call waits for the next run, the others go on
            logger.warning("reading a call's price failed", call_sid=call_sid, error=str(exc)[:300])
            report.price_failures += 1
            continue
        if not _priced(charges):
            calls.defer_price(call_sid, moment + TWILIO_PRICE_RETRY)
            report.prices_deferred += 1
            continue
        try:
            cost = _cost(charges)
        except ValueError as exc:
            _give_up(services, call_sid, str(exc), report)
            continue
        calls.record_twilio_cost(call_sid, cost)
        report.prices_read += 1


def _priced(charges: CallCharges) -> bool:
    """Whether the call is over and Twilio has priced it and every leg."""
    return charges.status in ENDED and all(price is not None for price, _ in charges.prices)


def _cost(charges: CallCharges) -> TwilioCost:
    """The priced call's cost, exactly; ValueError for prices that cannot be added up."""
    units = {(unit or "").upper() for _, unit in charges.prices}
    if len(units) != 1:
        raise ValueError(f"priced in several currencies ({', '.join(sorted(units))})")
    # A charge is negative in Twilio's answers: the cost is its size.
    micros = sum(abs(micros_of(str(price))) for price, _ in charges.prices)
    return TwilioCost(
        currency=units.pop(), micros=micros, seconds=charges.duration_seconds, legs=charges.legs
    )


def _give_up(services: Services, call_sid: str, reason: str, report: ReconcileReport) -> None:
    logger.info("a call is left without Twilio's price", call_sid=call_sid, reason=reason)
    services.store.calls.give_up_price(call_sid)
    report.prices_given_up += 1
