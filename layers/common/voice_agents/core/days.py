"""Days as an owner reads them: calendar dates in an IANA time zone, and the UTC instants they span.

A day is local midnight to local midnight, so it is 23 or 25 hours long across a daylight-saving
change; ``zoneinfo`` (the layer ships ``tzdata``) gives the offsets. Every bound is a whole second
(IANA offsets of today's zones are whole minutes), which is what an ObjectId's time can be compared
with.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
TIME_ZONE_EXAMPLE = "Australia/Sydney"


@cache
def _zone_keys() -> frozenset[str]:
    """The IANA keys this machine knows (the system's database and tzdata's). Tens of milliseconds
    the first time (it walks the zone directories), so it is read once per process."""
    return frozenset(available_timezones())


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or ValueError with a sentence for the person who sent it."""
    # "localtime" is the machine's own zone (a file on some systems), not a place anyone is in.
    if name != "UTC" and (name == "localtime" or name not in _zone_keys()):
        raise ValueError(f"unknown time zone {name!r}; expected an IANA name, e.g. {TIME_ZONE_EXAMPLE}")
    try:
        return ZoneInfo(name)  # ZoneInfo caches its instances: looking a key up again is cheap
    except (KeyError, ValueError, OSError) as error:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"time zone {name!r} could not be loaded") from error


def parse_date(text: str) -> date:
    """A calendar date written YYYY-MM-DD, or ValueError."""
    try:
        if re.fullmatch(DATE_PATTERN, text, re.ASCII):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"{text!r} is not a date; expected YYYY-MM-DD, e.g. 2026-11-25")


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant the local day ``day`` begins (local midnight; where a zone skips midnight,
    the first moment after the gap)."""
    # A skipped midnight (fold=0) converts with the offset before the gap: the first moment after it.
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def days_span(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local days ``first`` to ``last``, both included."""
    return day_start(first, zone), day_start(last + timedelta(days=1), zone)


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    """The owner's calendar date of the instant ``moment``."""
    return moment.astimezone(zone).date()


def each_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]
