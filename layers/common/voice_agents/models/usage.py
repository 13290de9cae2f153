"""The API's shape of an agent's usage: per local day, its calls, their minutes and what they cost."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from voice_agents.data.calls import COST_CURRENCY


class UsageAmounts(BaseModel):
    """Calls, minutes and costs over a span of days. Every amount is whole cents of the answer's
    ``currency``, rounded once from its exact value (so the parts may differ from ``totalCents`` by a
    cent): ``retellCents`` (Retell's cost of the calls, as Retell reported it per call, in whole
    cents), ``twilioCents`` (Twilio's price of the calls' minutes, legs included), ``numberCents``
    (the number's monthly rental, spread over the days of each month the agent held it) and
    ``totalCents`` (their sum). ``seconds`` is the calls' length (as Twilio billed it, or Retell
    reported it before Twilio's price is read), ``minutes`` their started minutes (each call rounded
    up, as telephony bills them). ``unpricedCalls`` have no Twilio price yet (Twilio sets it minutes
    after the call; the reconciler reads it) or never got one: their Twilio cost is not in
    ``twilioCents``."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    calls: int
    seconds: int
    minutes: int
    retellCents: int
    twilioCents: int
    numberCents: int
    totalCents: int
    unpricedCalls: int


class UsageDay(UsageAmounts):
    """One local day (``date``, in the answer's ``timezone``)."""

    date: date


class Usage(BaseModel):
    """An agent's usage from ``from`` to ``to`` (local days, both included, in ``timezone``): every
    day of the range, and the whole range in ``total``."""

    model_config = ConfigDict(
        frozen=True, populate_by_name=True, json_schema_serialization_defaults_required=True
    )

    agentId: str
    timezone: str
    # `from` is a Python keyword: the field is from_ in code and "from" on the wire.
    from_: date = Field(alias="from")
    to: date
    currency: Literal[COST_CURRENCY]  # type: ignore[valid-type]
    days: list[UsageDay]
    total: UsageAmounts
