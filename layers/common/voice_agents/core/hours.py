"""A business's opening hours, and whether it is open at a given moment.

Hours are wall-clock times in the business's own IANA time zone, because that is how a business
states them ("9 to 5, Monday to Friday") and how its callers expect them to hold all year: on a
daylight-saving change the opening stays at 09:00 local while its UTC instant moves. Every decision is
therefore made on the local time that ``zoneinfo`` gives for the moment; an interval that contains
the hour skipped in spring is simply an hour shorter that day, one that contains the repeated hour in
autumn an hour longer. The zone data comes from the system or, failing that, the ``tzdata`` package
the layer carries.

``BusinessHours.parse`` reads the API's JSON shape and refuses anything ambiguous with an HoursError
that names the JSON path to fix; ``to_json`` writes the normalised shape back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from voice_agents.core.days import time_zone

ROOT = "businessHours"
# Index i is date.weekday() == i.
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
AFTER_HOURS = ("agent", "forward", "voicemail")
MAX_INTERVALS_PER_DAY = 6
MAX_CLOSED_DATES = 366
# An interval's end of time(0) stands for 24:00, the end of the day: time() cannot hold 24:00, and an
# end of 00:00 in its ordinary sense could never come after its start.
END_OF_DAY = time(0, 0)
_MINUTES_IN_DAY = 24 * 60

_HH_MM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])", re.ASCII)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)

Interval = tuple[time, time]


class HoursError(ValueError):
    """Business hours that cannot be accepted. ``field_path`` is the JSON path of the offending value
    (``businessHours.weekly.mon[1]``), ``message`` what is wrong with it."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(f"{field_path}: {message}")
        self.field_path = field_path
        self.message = message


@dataclass(frozen=True)
class BusinessHours:
    """``weekly`` holds every day of DAYS (a day with no intervals is closed) with its intervals as
    sorted, non-overlapping [start, end) pairs of local times; an end of END_OF_DAY means 24:00.
    ``closed_dates`` are local dates on which the business is closed all day, whatever ``weekly``
    says. ``after_hours`` is what a call gets while closed: "agent", "forward" or "voicemail"."""

    timezone: str
    weekly: dict[str, tuple[Interval, ...]]
    closed_dates: frozenset[date]
    after_hours: str

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> BusinessHours:
        """The API's JSON shape: ``{"timezone": "Australia/Sydney", "weekly": {"mon": [["09:00",
        "17:00"]], ...}, "closedDates": ["2026-12-25"], "afterHours": "voicemail"}``. ``closedDates``
        may be left out; days left out of ``weekly`` are closed. Raises HoursError on the first problem.
        """
        if not isinstance(raw, Mapping):
            raise HoursError(ROOT, "must be an object")
        known = {"timezone", "weekly", "closedDates", "afterHours"}
        for key in raw:
            if key not in known:
                raise HoursError(f"{ROOT}.{key}", f"unknown field; expected {', '.join(sorted(known))}")
        for key in ("timezone", "weekly", "afterHours"):
            if key not in raw:
                raise HoursError(f"{ROOT}.{key}", "is required")
        return cls(
            timezone=_parse_timezone(raw["timezone"]),
            weekly=_parse_weekly(raw["weekly"]),
            closed_dates=_parse_closed_dates(raw.get("closedDates", [])),
            after_hours=_parse_after_hours(raw["afterHours"]),
        )

    def to_json(self) -> dict[str, Any]:
        """The normalised JSON shape: all seven days in order (a closed day as []), each day's
        intervals sorted, END_OF_DAY written as "24:00", closed dates sorted as ISO dates."""
        return {
            "timezone": self.timezone,
            "weekly": {
                day: [
                    [_hh_mm(start), "24:00" if end == END_OF_DAY else _hh_mm(end)]
                    for start, end in sorted(self.weekly.get(day, ()), key=_interval_minutes)
                ]
                for day in DAYS
            },
            "closedDates": [closed.isoformat() for closed in sorted(self.closed_dates)],
            "afterHours": self.after_hours,
        }

    def local_time(self, moment: datetime) -> datetime:
        """``moment`` (timezone-aware) as the business's wall-clock time, with its UTC offset (and
        ``fold`` set in the repeated hour of an autumn change)."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            # astimezone would take a naive moment as the machine's local time: never what is meant.
            raise ValueError("moment must be timezone-aware")
        return moment.astimezone(time_zone(self.timezone))

    def is_open(self, moment: datetime) -> bool:
        """Open when the local date is not a closed date and the local time falls in one of the local
        weekday's intervals, start included and end excluded."""
        local = self.local_time(moment)
        if local.date() in self.closed_dates:
            return False
        now = local.time()  # naive wall-clock time; comparisons ignore its fold
        return any(
            start <= now and (end == END_OF_DAY or now < end)
            for start, end in self.weekly.get(DAYS[local.weekday()], ())
        )


def _hh_mm(moment: time) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _interval_minutes(interval: Interval) -> tuple[int, int]:
    """An interval as minutes since local midnight, an end of END_OF_DAY as 1440."""
    start, end = interval
    return _minutes(start), _MINUTES_IN_DAY if end == END_OF_DAY else _minutes(end)


def _parse_timezone(value: object) -> str:
    path = f"{ROOT}.timezone"
    if not isinstance(value, str) or not value:
        raise HoursError(path, "must be an IANA time zone name, e.g. Australia/Sydney")
    try:
        time_zone(value)
    except ValueError as error:
        raise HoursError(path, str(error)) from error
    return value


def _parse_time(value: object, path: str, *, end: bool) -> time:
    if isinstance(value, str):
        if value == "24:00":
            if end:
                return END_OF_DAY
            raise HoursError(path, '"24:00" is allowed only as an end')
        match = _HH_MM.fullmatch(value)
        if match:
            return time(int(match[1]), int(match[2]))
    raise HoursError(path, 'must be a 24-hour time "HH:MM", e.g. "09:00"')


def _parse_day(value: object, path: str) -> tuple[Interval, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise HoursError(path, 'must be a list of ["HH:MM", "HH:MM"] intervals')
    if len(value) > MAX_INTERVALS_PER_DAY:
        raise HoursError(path, f"at most {MAX_INTERVALS_PER_DAY} intervals a day, got {len(value)}")
    intervals: list[Interval] = []
    for index, pair in enumerate(value):
        at = f"{path}[{index}]"
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise HoursError(at, 'must be a ["start", "end"] pair, e.g. ["09:00", "17:00"]')
        interval = (_parse_time(pair[0], f"{at}[0]", end=False), _parse_time(pair[1], f"{at}[1]", end=True))
        start = _minutes(interval[0])
        # Only "24:00" is the end of the day; an end of "00:00" is its start, so never after a start.
        end = _MINUTES_IN_DAY if pair[1] == "24:00" else _minutes(interval[1])
        if end <= start:
            raise HoursError(at, f"end {pair[1]} is not after start {pair[0]}")
        if intervals:
            previous = _interval_minutes(intervals[-1])
            day = path.rsplit(".", 1)[-1]
            before = f"{day}[{index - 1}] ({_describe(intervals[-1])})"
            if start < previous[0]:
                raise HoursError(at, f"starts before {before}: list a day's intervals in order")
            if start < previous[1]:
                raise HoursError(at, f"overlaps {before}")
        intervals.append(interval)
    return tuple(intervals)


def _describe(interval: Interval) -> str:
    start, end = interval
    return f"{_hh_mm(start)}-{'24:00' if end == END_OF_DAY else _hh_mm(end)}"


def _parse_weekly(value: object) -> dict[str, tuple[Interval, ...]]:
    path = f"{ROOT}.weekly"
    if not isinstance(value, Mapping):
        raise HoursError(path, 'must be an object of days, e.g. {"mon": [["09:00", "17:00"]]}')
    for day in value:
        if day not in DAYS:
            raise HoursError(f"{path}.{day}", f"unknown day; expected one of {', '.join(DAYS)}")
    return {day: _parse_day(value[day], f"{path}.{day}") if day in value else () for day in DAYS}


def _parse_closed_dates(value: object) -> frozenset[date]:
    path = f"{ROOT}.closedDates"
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise HoursError(path, 'must be a list of dates "YYYY-MM-DD"')
    if len(value) > MAX_CLOSED_DATES:
        raise HoursError(path, f"at most {MAX_CLOSED_DATES} closed dates, got {len(value)}")
    seen: dict[date, int] = {}
    for index, raw in enumerate(value):
        at = f"{path}[{index}]"
        # fromisoformat alone would also take "20261225" and week dates such as "2026-W52-5".
        if not isinstance(raw, str) or not _ISO_DATE.fullmatch(raw):
            raise HoursError(at, 'must be a date "YYYY-MM-DD", e.g. "2026-12-25"')
        try:
            closed = date.fromisoformat(raw)
        except ValueError as error:
            raise HoursError(at, f"{raw} is not a date in the calendar") from error
        if closed in seen:
            raise HoursError(at, f"duplicate of {path}[{seen[closed]}] ({raw})")
        seen[closed] = index
    return frozenset(seen)


def _parse_after_hours(value: object) -> str:
    if not isinstance(value, str) or value not in AFTER_HOURS:
        raise HoursError(f"{ROOT}.afterHours", f"must be one of {', '.join(AFTER_HOURS)}")
    return value
