"""The owner's filters on calls: from a request's query parameters to the data layer's ``CallFilter``,
each mistake a 400 naming the parameter.

- ``status``: registered, ongoing, ended or not_connected.
- ``from``/``to``: calendar dates (YYYY-MM-DD, both included) in ``timezone``, an IANA name (UTC when
  absent): the calls that came in from the first local midnight to the midnight after the last day.
- ``caller``: the caller's number, normalised to E.164 as numbers are everywhere (``core.phones``).
- ``field``: ``name:value``, the calls whose answer to the post-call field ``name`` is ``value``,
  read as the field's type (boolean ``true``/``false``, a number, one of an enum's choices, or the
  text exactly); the field must be one the agent (one of the owner's agents) asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from voice_agents.core.days import day_start, parse_date, time_zone
from voice_agents.core.errors import InvalidRequest
from voice_agents.core.phones import normalize_e164
from voice_agents.core.post_call_fields import ANSWER_TEXT_MAX_LENGTH, NAME, NAME_PATTERN, Answer, answer_term
from voice_agents.core.statuses import CallStatus
from voice_agents.data.agent_record import AgentRecord
from voice_agents.data.calls import CallFilter
from voice_agents.models.post_call_fields import PostCallField, read_post_call_fields

DEFAULT_TIME_ZONE = "UTC"
# ObjectIds count seconds from 1970 in 32 bits (until 2106): dates are kept well inside that.
FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(2099, 12, 31)
# name:value, the name as post-call fields name them (what the OpenAPI document declares).
FIELD_PATTERN = NAME_PATTERN.removesuffix("$") + ":.+$"
# A number answer past this many digits is no answer Retell gives (and no int worth building).
MAX_NUMBER_DIGITS = 16


@dataclass(frozen=True)
class CallQuery:
    """The filters as the request sent them (each None when absent)."""

    status: CallStatus | None = None
    from_date: str | None = None
    to_date: str | None = None
    timezone: str | None = None
    caller: str | None = None
    field: str | None = None


@dataclass(frozen=True)
class DayRange:
    """Local days ``first`` to ``last`` (either open) in ``zone``."""

    zone: ZoneInfo
    first: date | None
    last: date | None


def day_range(from_date: str | None, to_date: str | None, timezone: str | None) -> DayRange:
    """The days asked for, checked: real dates in order, in a known time zone."""
    try:
        zone = time_zone(timezone or DEFAULT_TIME_ZONE)
    except ValueError as error:
        raise InvalidRequest("timezone", str(error)) from None
    first, last = _date("from", from_date), _date("to", to_date)
    if first is not None and last is not None and first > last:
        raise InvalidRequest("from", f"from ({first}) is after to ({last})")
    return DayRange(zone, first, last)


def _date(parameter: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        day = parse_date(text)
    except ValueError as error:
        raise InvalidRequest(parameter, str(error)) from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise InvalidRequest(parameter, f"{parameter} must be between {FIRST_DATE} and {LAST_DATE}")
    return day


def call_filter(query: CallQuery, agents: Sequence[AgentRecord]) -> CallFilter:
    """The data layer's filter for ``query``; ``agents`` are those searched (their post-call fields
    say what a ``field`` filter's value means)."""
    days = day_range(query.from_date, query.to_date, query.timezone)
    since = day_start(days.first, days.zone) if days.first else None
    until = day_start(days.last + timedelta(days=1), days.zone) if days.last else None
    return CallFilter(
        status=query.status,
        since=since,
        until=until,
        caller=_caller(query.caller) if query.caller is not None else None,
        answer_terms=_answer_terms(query.field, agents) if query.field is not None else (),
    )


def _caller(raw: str) -> str:
    # A "+" sent unencoded in a query string arrives as a space (form decoding): read it back.
    text = "+" + raw.lstrip() if raw.startswith(" ") else raw
    try:
        return normalize_e164(text)
    except ValueError as error:
        raise InvalidRequest("caller", f"caller is {error} (send + as %2B)") from None


def _answer_terms(raw: str, agents: Sequence[AgentRecord]) -> tuple[str, ...]:
    """The answer terms that match ``name:value``: one per type the field has among ``agents``
    (across agents a name may be a number for one and text for another)."""
    name, separator, value = raw.partition(":")
    if not separator or not NAME.fullmatch(name) or not value:
        raise InvalidRequest("field", "field must be name:value, e.g. appointment_booked:true")
    if len(value) > ANSWER_TEXT_MAX_LENGTH:
        raise InvalidRequest("field", f"the value is longer than {ANSWER_TEXT_MAX_LENGTH} characters")
    asked = [field for field in asked_fields(agents) if field.name == name]
    if not asked:
        raise InvalidRequest("field", f"no post-call field named {name!r} is asked by the agents searched")
    terms: list[str] = []
    refusals: list[str] = []
    for field in asked:
        try:
            term = answer_term(name, _typed_answer(field, value))
        except ValueError as error:
            refusals.append(str(error))
            continue
        if term not in terms:
            terms.append(term)
    if not terms:
        raise InvalidRequest("field", f"{name}: {refusals[0]}")
    return tuple(terms)


def asked_fields(agents: Sequence[AgentRecord]) -> list[PostCallField]:
    """Every post-call field the agents ask, in their order (a name once per agent that asks it)."""
    return [field for agent in agents for field in read_post_call_fields(agent.post_call_fields)]


def _typed_answer(field: PostCallField, value: str) -> Answer:
    """``value`` as an answer of ``field``'s type, or ValueError saying what the type takes."""
    if field.type == "boolean":
        if value.lower() not in ("true", "false"):
            raise ValueError("a boolean field's answer is true or false")
        return value.lower() == "true"
    if field.type == "number":
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite() or number.adjusted() >= MAX_NUMBER_DIGITS:
            raise ValueError(f"a number field's answer is a number, not {value!r}")
        return int(number) if number == number.to_integral_value() else float(number)
    if field.type == "enum" and value not in (field.choices or []):
        raise ValueError(f"{value!r} is not one of the field's choices: {', '.join(field.choices or [])}")
    return value
