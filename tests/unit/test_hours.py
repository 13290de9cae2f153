"""Business hours: the API's JSON shape read strictly (every refusal names its JSON path), written
back normalised, and open or closed decided on the business's wall clock, across local midnight and
the daylight-saving changes of 2026 in Sydney and New York."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from voice_agents.core.hours import END_OF_DAY, BusinessHours, HoursError

ROOT = Path(__file__).resolve().parents[2]
SECOND = timedelta(seconds=1)


def hours(
    weekly: dict[str, Any],
    *,
    timezone: str = "Australia/Sydney",
    closed: list[str] | None = None,
    after_hours: str = "voicemail",
) -> BusinessHours:
    raw: dict[str, Any] = {"timezone": timezone, "weekly": weekly, "afterHours": after_hours}
    if closed is not None:
        raw["closedDates"] = closed
    return BusinessHours.parse(raw)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def open_minutes(business: BusinessHours, first: datetime, last: datetime) -> int:
    """How many minutes in [first, last) the business is open, checked at every minute."""
    minutes = int((last - first) / timedelta(minutes=1))
    return sum(business.is_open(first + timedelta(minutes=step)) for step in range(minutes))


# --- reading and writing the JSON shape ----------------------------------------------------------


def test_the_json_shape_is_read_into_local_times_dates_and_the_after_hours_choice():
    business = hours(
        {"mon": [["09:00", "12:30"], ["13:30", "17:00"]], "sat": [["10:00", "24:00"]]},
        closed=["2026-12-25", "2026-01-26"],
        after_hours="forward",
    )

    assert business.timezone == "Australia/Sydney"
    assert business.weekly["mon"] == ((time(9), time(12, 30)), (time(13, 30), time(17)))
    assert business.weekly["sat"] == ((time(10), END_OF_DAY),)
    assert business.weekly["sun"] == ()  # missing days are closed
    assert business.closed_dates == frozenset({date(2026, 12, 25), date(2026, 1, 26)})
    assert business.after_hours == "forward"


def test_to_json_is_the_normalised_shape_and_reads_back_to_the_same_hours():
    business = hours(
        {"sat": [["10:00", "24:00"]], "mon": [["09:00", "12:30"], ["13:30", "17:00"]]},
        closed=["2026-12-25", "2026-01-26", "2026-04-03"],
    )

    assert business.to_json() == {
        "timezone": "Australia/Sydney",
        "weekly": {
            "mon": [["09:00", "12:30"], ["13:30", "17:00"]],
            "tue": [],
            "wed": [],
            "thu": [],
            "fri": [],
            "sat": [["10:00", "24:00"]],
            "sun": [],
        },
        "closedDates": ["2026-01-26", "2026-04-03", "2026-12-25"],
        "afterHours": "voicemail",
    }
    assert BusinessHours.parse(business.to_json()) == business
    assert json.loads(json.dumps(business.to_json())) == business.to_json()


def test_to_json_sorts_intervals_of_hours_built_without_parse():
    business = BusinessHours(
        timezone="America/New_York",
        weekly={"tue": ((time(13), time(17)), (time(8), time(12)))},
        closed_dates=frozenset(),
        after_hours="agent",
    )

    assert business.to_json()["weekly"]["tue"] == [["08:00", "12:00"], ["13:00", "17:00"]]
    assert business.to_json()["weekly"]["mon"] == []


def test_closed_dates_may_be_left_out_and_intervals_may_touch():
    business = hours({"wed": [["09:00", "12:00"], ["12:00", "17:00"]]})

    assert business.closed_dates == frozenset()
    # 12:00 belongs to the second interval: the day is open without a gap (Wednesday 2026-06-17, AEST).
    assert business.is_open(utc("2026-06-17T01:59:59"))
    assert business.is_open(utc("2026-06-17T02:00:00"))


def test_366_closed_dates_are_allowed_a_whole_leap_year():
    leap_year = [(date(2028, 1, 1) + timedelta(days=day)).isoformat() for day in range(366)]

    assert len(hours({}, closed=leap_year).closed_dates) == 366


def test_links_and_etc_zones_are_iana_keys_too():
    assert hours({}, timezone="US/Eastern").timezone == "US/Eastern"
    assert hours({}, timezone="UTC").timezone == "UTC"
    assert hours({}, timezone="Pacific/Auckland").timezone == "Pacific/Auckland"


MON = "businessHours.weekly.mon"


@pytest.mark.parametrize(
    ("change", "field_path", "message"),
    [
        # the object itself
        ({"extra": 1}, "businessHours.extra", "unknown field"),
        ({"timezone": None}, "businessHours.timezone", "must be an IANA time zone name"),
        # time zones
        ({"timezone": "Mars/Olympus"}, "businessHours.timezone", "unknown time zone 'Mars/Olympus'"),
        ({"timezone": "localtime"}, "businessHours.timezone", "unknown time zone 'localtime'"),
        ({"timezone": "australia/sydney"}, "businessHours.timezone", "unknown time zone"),
        ({"timezone": "AEST"}, "businessHours.timezone", "unknown time zone"),
        ({"timezone": "+10:00"}, "businessHours.timezone", "unknown time zone"),
        ({"timezone": "/usr/share/zoneinfo/UTC"}, "businessHours.timezone", "unknown time zone"),
        ({"timezone": ""}, "businessHours.timezone", "must be an IANA time zone name"),
        ({"timezone": 10}, "businessHours.timezone", "must be an IANA time zone name"),
        # days
        ({"weekly": []}, "businessHours.weekly", "must be an object of days"),
        ({"weekly": {"monday": []}}, "businessHours.weekly.monday", "unknown day; expected one of mon, tue"),
        ({"weekly": {"Mon": []}}, "businessHours.weekly.Mon", "unknown day"),
        ({"weekly": {"mon": "09:00-17:00"}}, MON, "must be a list of"),
        ({"weekly": {"mon": [["09:00"] * 2] * 7}}, MON, "at most 6 intervals a day, got 7"),
        # one interval
        ({"weekly": {"mon": ["09:00-17:00"]}}, f"{MON}[0]", 'must be a ["start", "end"] pair'),
        ({"weekly": {"mon": [["09:00", "12:00", "17:00"]]}}, f"{MON}[0]", "pair"),
        ({"weekly": {"mon": [["9:00", "17:00"]]}}, f"{MON}[0][0]", 'must be a 24-hour time "HH:MM"'),
        ({"weekly": {"mon": [["09:00", "5pm"]]}}, f"{MON}[0][1]", "HH:MM"),
        ({"weekly": {"mon": [["09:00", "17:00:00"]]}}, f"{MON}[0][1]", "HH:MM"),
        ({"weekly": {"mon": [["09:60", "17:00"]]}}, f"{MON}[0][0]", "HH:MM"),
        ({"weekly": {"mon": [["09:00", "25:00"]]}}, f"{MON}[0][1]", "HH:MM"),
        ({"weekly": {"mon": [["09:00", "24:30"]]}}, f"{MON}[0][1]", "HH:MM"),
        ({"weekly": {"mon": [[" 09:00", "17:00"]]}}, f"{MON}[0][0]", "HH:MM"),
        ({"weekly": {"mon": [[900, "17:00"]]}}, f"{MON}[0][0]", "HH:MM"),
        ({"weekly": {"mon": [["24:00", "24:00"]]}}, f"{MON}[0][0]", '"24:00" is allowed only as an end'),
        ({"weekly": {"mon": [["17:00", "09:00"]]}}, f"{MON}[0]", "end 09:00 is not after start 17:00"),
        ({"weekly": {"mon": [["09:00", "09:00"]]}}, f"{MON}[0]", "end 09:00 is not after start 09:00"),
        # 00:00 is the start of the day: an interval to midnight ends at "24:00"
        ({"weekly": {"mon": [["22:00", "00:00"]]}}, f"{MON}[0]", "end 00:00 is not after start 22:00"),
        # intervals on one day
        (
            {"weekly": {"mon": [["09:00", "12:00"], ["11:30", "17:00"]]}},
            f"{MON}[1]",
            "overlaps mon[0] (09:00-12:00)",
        ),
        (
            {"weekly": {"mon": [["08:00", "09:00"], ["09:00", "10:00"], ["09:00", "09:30"]]}},
            f"{MON}[2]",
            "overlaps mon[1] (09:00-10:00)",
        ),
        (
            {"weekly": {"mon": [["20:00", "24:00"], ["23:00", "23:30"]]}},
            f"{MON}[1]",
            "overlaps mon[0] (20:00-24:00)",
        ),
        (
            {"weekly": {"mon": [["13:00", "17:00"], ["09:00", "12:00"]]}},
            f"{MON}[1]",
            "starts before mon[0] (13:00-17:00): list a day's intervals in order",
        ),
        # closed dates
        ({"closedDates": "2026-12-25"}, "businessHours.closedDates", 'must be a list of dates "YYYY-MM-DD"'),
        ({"closedDates": ["2026-12-25", "25/12/2026"]}, "businessHours.closedDates[1]", "YYYY-MM-DD"),
        ({"closedDates": ["20261225"]}, "businessHours.closedDates[0]", "YYYY-MM-DD"),
        ({"closedDates": ["2026-W52-5"]}, "businessHours.closedDates[0]", "YYYY-MM-DD"),
        ({"closedDates": ["2026-12-25T00:00"]}, "businessHours.closedDates[0]", "YYYY-MM-DD"),
        ({"closedDates": [20261225]}, "businessHours.closedDates[0]", "YYYY-MM-DD"),
        (
            {"closedDates": ["2026-02-29"]},
            "businessHours.closedDates[0]",
            "2026-02-29 is not a date in the calendar",
        ),
        (
            {"closedDates": ["2026-12-25", "2026-01-26", "2026-12-25"]},
            "businessHours.closedDates[2]",
            "duplicate of businessHours.closedDates[0] (2026-12-25)",
        ),
        (
            {"closedDates": ["2026-01-01"] * 367},
            "businessHours.closedDates",
            "at most 366 closed dates, got 367",
        ),
        # after hours
        ({"afterHours": "hangup"}, "businessHours.afterHours", "must be one of agent, forward, voicemail"),
        ({"afterHours": "Voicemail"}, "businessHours.afterHours", "must be one of"),
        ({"afterHours": None}, "businessHours.afterHours", "must be one of"),
    ],
)
def test_hours_that_cannot_be_accepted_are_refused_naming_the_json_path(change, field_path, message):
    raw = {
        "timezone": "Australia/Sydney",
        "weekly": {"mon": [["09:00", "17:00"]]},
        "closedDates": [],
        "afterHours": "agent",
    } | change

    with pytest.raises(HoursError) as refused:
        BusinessHours.parse(raw)

    assert refused.value.field_path == field_path
    assert message in refused.value.message
    assert str(refused.value) == f"{field_path}: {refused.value.message}"
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize("missing", ["timezone", "weekly", "afterHours"])
def test_a_required_field_left_out_is_named(missing):
    raw: dict[str, Any] = {"timezone": "Australia/Sydney", "weekly": {}, "afterHours": "agent"}
    del raw[missing]

    with pytest.raises(HoursError, match=f"^businessHours.{missing}: is required$"):
        BusinessHours.parse(raw)


def test_hours_that_are_not_an_object_are_refused():
    with pytest.raises(HoursError, match=r"^businessHours: must be an object$"):
        BusinessHours.parse([])  # type: ignore[arg-type]


# --- open or closed ----------------------------------------------------------------------------------


def test_an_interval_opens_at_its_start_and_closes_at_its_end_to_the_second():
    # Monday 09:00-17:00 in Sydney in June (AEST, UTC+10): 23:00Z Sunday to 07:00Z Monday.
    business = hours({"mon": [["09:00", "17:00"]]})

    assert not business.is_open(utc("2026-06-14T23:00:00") - SECOND)
    assert business.is_open(utc("2026-06-14T23:00:00"))
    assert business.is_open(utc("2026-06-15T07:00:00") - SECOND)
    assert not business.is_open(utc("2026-06-15T07:00:00"))
    # The same UTC times a day later are Tuesday's, and Tuesday is closed.
    assert not business.is_open(utc("2026-06-15T23:00:00"))


def test_the_weekday_is_the_local_one_not_utcs():
    # Open only in the first hour of Monday, Sydney time: that is Sunday afternoon in UTC.
    business = hours({"mon": [["00:00", "01:00"]]})

    assert business.local_time(utc("2026-06-14T14:00:00")).strftime("%a %H:%M") == "Mon 00:00"
    assert not business.is_open(utc("2026-06-14T14:00:00") - SECOND)  # Sunday 23:59:59 local
    assert business.is_open(utc("2026-06-14T14:00:00"))  # a Sunday in UTC
    assert not business.is_open(utc("2026-06-15T00:30:00"))  # a Monday in UTC, 10:30 local


def test_an_interval_to_24_00_lasts_until_local_midnight():
    # Friday evening in New York (EDT, UTC-4) ends on Saturday in UTC.
    business = hours({"fri": [["20:00", "24:00"]]}, timezone="America/New_York")

    assert business.is_open(utc("2026-06-20T04:00:00") - SECOND)  # Friday 23:59:59 local
    assert not business.is_open(utc("2026-06-20T04:00:00"))  # Saturday 00:00 local
    assert open_minutes(business, utc("2026-06-19T00:00"), utc("2026-06-21T00:00")) == 4 * 60


def test_hours_that_run_through_midnight_are_two_intervals_and_leave_no_gap():
    business = hours({"fri": [["20:00", "24:00"]], "sat": [["00:00", "02:00"]]}, timezone="America/New_York")

    assert business.is_open(utc("2026-06-20T04:00:00") - SECOND)
    assert business.is_open(utc("2026-06-20T04:00:00"))
    assert business.is_open(utc("2026-06-20T06:00:00") - SECOND)
    assert not business.is_open(utc("2026-06-20T06:00:00"))


def test_a_closed_date_is_the_local_date_all_day():
    every_day = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    business = hours(every_day, closed=["2026-12-25"])

    # Christmas Day in Sydney (AEDT, UTC+11) is 13:00Z on the 24th to 13:00Z on the 25th.
    assert business.is_open(utc("2026-12-24T13:00:00") - SECOND)
    assert not business.is_open(utc("2026-12-24T13:00:00"))
    assert not business.is_open(utc("2026-12-25T12:00:00"))  # still the 25th in Sydney
    assert not business.is_open(utc("2026-12-25T13:00:00") - SECOND)
    assert business.is_open(utc("2026-12-25T13:00:00"))
    assert open_minutes(business, utc("2026-12-24T00:00"), utc("2026-12-26T00:00")) == 24 * 60


def test_a_naive_moment_is_refused_rather_than_read_as_the_machines_time():
    business = hours({"mon": [["09:00", "17:00"]]})

    with pytest.raises(ValueError, match="timezone-aware"):
        business.is_open(datetime(2026, 6, 15, 10))


def test_a_moment_in_another_offset_is_the_same_instant():
    business = hours({"mon": [["09:00", "17:00"]]})

    in_new_york = utc("2026-06-14T23:00:00").astimezone(ZoneInfo("America/New_York"))
    assert in_new_york.day == 14  # Sunday evening in New York, Monday 09:00 in Sydney
    assert business.is_open(in_new_york)
    assert not business.is_open(in_new_york - SECOND)


# --- daylight saving -------------------------------------------------------------------------------
# 2026's changes, all on a Sunday: Sydney leaves summer time on 5 April (03:00 AEDT becomes 02:00
# AEST) and enters it on 4 October (02:00 AEST becomes 03:00 AEDT); New York enters it on 8 March
# (02:00 EST becomes 03:00 EDT) and leaves it on 1 November (02:00 EDT becomes 01:00 EST).


@pytest.mark.parametrize(
    ("timezone", "interval", "opens", "closes", "minutes"),
    [
        # The repeated hour is inside the interval: open two real hours for one on the clock.
        ("Australia/Sydney", ["02:00", "03:00"], "2026-04-04T15:00:00", "2026-04-04T17:00:00", 120),
        ("America/New_York", ["01:00", "02:00"], "2026-11-01T05:00:00", "2026-11-01T07:00:00", 120),
        # The skipped hour is inside the interval: three hours on the clock, two real ones.
        ("Australia/Sydney", ["01:00", "04:00"], "2026-10-03T15:00:00", "2026-10-03T17:00:00", 120),
        ("America/New_York", ["01:00", "04:00"], "2026-03-08T06:00:00", "2026-03-08T08:00:00", 120),
        # Starting in the skipped hour: opens when the clocks jump past the start.
        ("Australia/Sydney", ["02:30", "05:00"], "2026-10-03T16:00:00", "2026-10-03T18:00:00", 120),
        ("America/New_York", ["02:30", "05:00"], "2026-03-08T07:00:00", "2026-03-08T09:00:00", 120),
        # Ending in the skipped hour: closes when the clocks jump past the end.
        ("America/New_York", ["00:00", "02:30"], "2026-03-08T05:00:00", "2026-03-08T07:00:00", 120),
        # The Sunday after each change, for comparison: as long as on the clock.
        ("Australia/Sydney", ["01:00", "04:00"], "2026-10-10T14:00:00", "2026-10-10T17:00:00", 180),
        ("America/New_York", ["01:00", "02:00"], "2026-11-08T06:00:00", "2026-11-08T07:00:00", 60),
    ],
)
def test_a_sunday_interval_across_a_daylight_saving_change(timezone, interval, opens, closes, minutes):
    business = hours({"sun": [interval]}, timezone=timezone)
    opens_at, closes_at = utc(opens), utc(closes)

    assert not business.is_open(opens_at - SECOND)
    assert business.is_open(opens_at)
    assert business.is_open(closes_at - SECOND)
    assert not business.is_open(closes_at)
    day_before = opens_at.replace(hour=0, minute=0, second=0) - timedelta(days=1)
    assert open_minutes(business, day_before, day_before + timedelta(days=3)) == minutes


@pytest.mark.parametrize(
    ("timezone", "spring_forward"),
    [("Australia/Sydney", "2026-10-03T16:00:00"), ("America/New_York", "2026-03-08T07:00:00")],
)
def test_an_interval_inside_the_skipped_hour_never_opens(timezone, spring_forward):
    business = hours({"sun": [["02:00", "03:00"]]}, timezone=timezone)
    jump = utc(spring_forward)

    assert business.local_time(jump - SECOND).strftime("%H:%M:%S") == "01:59:59"
    assert business.local_time(jump).strftime("%H:%M:%S") == "03:00:00"
    assert open_minutes(business, jump - timedelta(days=1), jump + timedelta(days=1)) == 0


def test_local_time_carries_the_offset_and_marks_the_repeated_hour():
    business = hours({}, timezone="America/New_York")

    first = business.local_time(utc("2026-11-01T05:30:00"))
    second = business.local_time(utc("2026-11-01T06:30:00"))

    assert first.isoformat() == "2026-11-01T01:30:00-04:00"
    assert second.isoformat() == "2026-11-01T01:30:00-05:00"
    assert (first.fold, second.fold) == (0, 1)
    sydney = hours({}, timezone="Australia/Sydney")
    assert sydney.local_time(utc("2026-10-03T16:00:00")).isoformat() == "2026-10-04T03:00:00+11:00"
    assert sydney.local_time(utc("2026-04-04T16:00:00")).isoformat() == "2026-04-05T02:00:00+10:00"


def test_the_layer_decides_hours_without_a_system_zone_database():
    """With PYTHONTZPATH empty zoneinfo finds no system files: only the tzdata package the layer
    carries can answer, as on a Lambda image without /usr/share/zoneinfo."""
    probe = (
        "import json, zoneinfo\n"
        "from datetime import UTC, datetime\n"
        "from voice_agents.core.hours import BusinessHours\n"
        "business = BusinessHours.parse({'timezone': 'Australia/Sydney',\n"
        "    'weekly': {'sun': [['01:00', '04:00']]}, 'afterHours': 'agent'})\n"
        "print(json.dumps([list(zoneinfo.TZPATH),\n"
        "    business.is_open(datetime(2026, 10, 3, 16, 59, 59, tzinfo=UTC)),\n"
        "    business.is_open(datetime(2026, 10, 3, 17, tzinfo=UTC))]))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "layers" / "common"), "PYTHONTZPATH": "", "PATH": os.defpath},
    )

    assert json.loads(completed.stdout) == [[], True, False]
