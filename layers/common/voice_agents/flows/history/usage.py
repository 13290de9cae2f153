"""An agent's usage per local day: its calls, their minutes, and what they cost (Retell, Twilio's
price of the minutes, the number's rental), in whole US cents.

One bounded query (``CallStore.usage_for_agent``: the agent's calls of the range, each projected to
its time, durations and costs) and the sums here, in integers and fractions: FerretDB v1 has no
date operators in aggregations (``$dateToString``, ``$bucket``) and answers 0 for every ``$group``
accumulator after the first, so a server-side aggregation would not run on the local stack. The
range is capped (MAX_DAYS) to keep the query bounded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from voice_agents.core.clock import now
from voice_agents.core.countries import NumberPair, NumberType
from voice_agents.core.days import days_in_month, days_span, each_day, local_date
from voice_agents.core.errors import InvalidRequest
from voice_agents.core.money import micros_as_cents, round_half_up
from voice_agents.data.agent_record import NUMBER, AgentRecord
from voice_agents.data.agents import HOLDING, AgentStore
from voice_agents.data.calls import COST_CURRENCY, CallRecord
from voice_agents.flows.agents.reads import owned_record
from voice_agents.flows.history.filters import DEFAULT_TIME_ZONE, day_range
from voice_agents.models.usage import Usage, UsageAmounts, UsageDay

MAX_DAYS = 92
DEFAULT_DAYS = 30


@dataclass
class _Tally:
    """A span's sums, exact: amounts in cents as fractions, rounded once when shown."""

    calls: int = 0
    seconds: int = 0
    minutes: int = 0
    retell_cents: int = 0
    twilio_cents: Fraction = Fraction(0)
    number_cents: Fraction = Fraction(0)
    unpriced: int = 0

    def add(self, other: _Tally) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def amounts(self) -> dict[str, int]:
        return {
            "calls": self.calls,
            "seconds": self.seconds,
            "minutes": self.minutes,
            "retellCents": self.retell_cents,
            "twilioCents": round_half_up(self.twilio_cents),
            "numberCents": round_half_up(self.number_cents),
            "totalCents": round_half_up(self.retell_cents + self.twilio_cents + self.number_cents),
            "unpricedCalls": self.unpriced,
        }


def agent_usage(
    agent_id: str,
    *,
    owner_id: str,
    from_date: str | None,
    to_date: str | None,
    timezone: str | None,
    number_monthly_cents: Callable[[str, NumberType], int],
    default_pair: NumberPair,
    store: AgentStore,
) -> Usage:
    """Every local day from ``from_date`` to ``to_date`` (by default the last DEFAULT_DAYS days up to
    today), for the caller's agent only (another owner's, an unknown or a deleted agent is not found).
    ``number_monthly_cents(country, type)``: the rental of the agent's number (``default_pair``: what a
    record from before agents had a country was bought as)."""
    days = day_range(from_date, to_date, timezone)
    moment = now()
    last = days.last or local_date(moment, days.zone)
    first = days.first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidRequest("from", f"from ({first}) is after to ({last})")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidRequest("from", f"a usage report covers at most {MAX_DAYS} days")
    record = owned_record(store, agent_id, owner_id)
    since, until = days_span(first, last, days.zone)
    calls = store.calls.usage_for_agent(owner_id, record.id, since=since, until=until, moment=moment)

    by_day: dict[date, _Tally] = defaultdict(_Tally)
    for call in calls:
        by_day[local_date(call.registered_at, days.zone)].add(_call_tally(call))
    rented_from = _number_held_from(record, days.zone)
    monthly_cents = number_monthly_cents(*(record.number_pair(default_pair) or default_pair))
    today = local_date(moment, days.zone)
    total = _Tally()
    shown = []
    for day in each_day(first, last):
        tally = by_day[day]
        if rented_from is not None and rented_from <= day <= today:
            tally.number_cents = Fraction(monthly_cents, days_in_month(day))
        total.add(tally)
        shown.append(UsageDay(date=day, **tally.amounts()))
    return Usage(
        agentId=str(record.id),
        timezone=timezone or DEFAULT_TIME_ZONE,
        from_=first,
        to=last,
        currency=COST_CURRENCY,
        days=shown,
        total=UsageAmounts(**total.amounts()),
    )


def _call_tally(call: CallRecord) -> _Tally:
    twilio, retell = call.twilio_cost, call.cost
    duration_ms = call.duration_ms
    if twilio is not None and twilio.seconds is not None:
        seconds = twilio.seconds
    else:
        seconds = -(-duration_ms // 1000) if duration_ms else 0  # whole seconds, rounded up
    priced = twilio is not None and twilio.currency == COST_CURRENCY
    return _Tally(
        calls=1,
        seconds=seconds,
        minutes=-(-seconds // 60),
        retell_cents=retell.total_cents if retell is not None else 0,
        twilio_cents=micros_as_cents(twilio.micros) if priced and twilio is not None else Fraction(0),
        unpriced=0 if priced else 1,
    )


def _number_held_from(record: AgentRecord, zone: ZoneInfo) -> date | None:
    """The local day the agent's number was bought (its record's creation), if it holds one."""
    if record.status not in HOLDING or record.resource_id(NUMBER) is None:
        return None
    return local_date(record.moment("createdAt"), zone)
