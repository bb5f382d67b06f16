"""Schedule specs: next times, times_between and jitter (engine.schedules.spec).

Expected times come from Temporal's own tests where they exist (service/worker/scheduler/
spec_test.go, calendar_test.go) and from the tz database otherwise.
"""

from __future__ import annotations

import importlib.resources
import itertools
import time
import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.schedule.v1 import CalendarSpec, Range, StructuredCalendarSpec

from engine.schedules.spec import ScheduleTime
from tests.engine.schedule_spec_support import NEW_YORK, compiled, dur, every, rng, sequence, ts, utc

# --- next times -------------------------------------------------------------------------------

NEXT_CASES: list[tuple[str, dict[str, Any], datetime, list[datetime | None]]] = [
    # cron forms
    (
        "cron-5-fields",
        {"cron_string": ["5,9 */2 * * *"]},
        utc(2022, 3, 23, 3),
        [utc(2022, 3, 23, 4, 5), utc(2022, 3, 23, 4, 9), utc(2022, 3, 23, 6, 5)],
    ),
    (
        "cron-6-fields-year",
        {"cron_string": ["0 12 31 12 * 2023"]},
        utc(2022, 3, 23),
        [utc(2023, 12, 31, 12), None],
    ),
    (
        "cron-7-fields-seconds",
        {"cron_string": ["30 15 10 1 * * *"]},
        utc(2022, 3, 23, 10, 15, 30),
        [utc(2022, 4, 1, 10, 15, 30), utc(2022, 5, 1, 10, 15, 30)],
    ),
    ("hourly", {"cron_string": ["@hourly"]}, utc(2022, 3, 23, 3, 0, 0), [utc(2022, 3, 23, 4), utc(2022, 3, 23, 5)]),
    ("daily", {"cron_string": ["@daily"]}, utc(2022, 3, 23, 3), [utc(2022, 3, 24), utc(2022, 3, 25)]),
    ("midnight", {"cron_string": ["@midnight"]}, utc(2022, 3, 23, 3), [utc(2022, 3, 24)]),
    ("weekly-sunday", {"cron_string": ["@weekly"]}, utc(2022, 3, 23), [utc(2022, 3, 27), utc(2022, 4, 3)]),
    ("monthly", {"cron_string": ["@monthly"]}, utc(2022, 3, 23), [utc(2022, 4, 1), utc(2022, 5, 1)]),
    ("yearly", {"cron_string": ["@yearly"]}, utc(2022, 3, 23), [utc(2023, 1, 1), utc(2024, 1, 1)]),
    ("annually", {"cron_string": ["@annually"]}, utc(2022, 3, 23), [utc(2023, 1, 1)]),
    (
        "cron-comment",
        {"cron_string": ["0 9 * * * # every morning"]},
        utc(2022, 3, 23, 9),
        [utc(2022, 3, 24, 9)],
    ),
    (
        "cron-tz",
        {"cron_string": ["CRON_TZ=America/New_York 0 9 * * *"]},
        utc(2022, 3, 10),
        [utc(2022, 3, 10, 14), utc(2022, 3, 11, 14), utc(2022, 3, 12, 14), utc(2022, 3, 13, 13)],
    ),
    ("tz-prefix", {"cron_string": ["TZ=Europe/London 0 9 * * *"]}, utc(2022, 7, 1), [utc(2022, 7, 1, 8)]),
    (
        "cron-and-calendar",
        {"calendar": [CalendarSpec(hour="5,7", minute="23")], "cron_string": ["55 11,13 * * *"]},
        utc(2022, 3, 23, 3),
        [utc(2022, 3, 23, 5, 23), utc(2022, 3, 23, 7, 23), utc(2022, 3, 23, 11, 55), utc(2022, 3, 23, 13, 55)],
    ),
    # intervals: epoch + n*every + phase
    (
        "interval",
        {"interval": [every(minutes=90)]},
        utc(2022, 3, 23, 12, 53, 2),
        [utc(2022, 3, 23, 13, 30), utc(2022, 3, 23, 15), utc(2022, 3, 23, 16, 30)],
    ),
    (
        "interval-phase",
        {"interval": [every(minutes=90, phase=dur(minutes=5, seconds=44))]},
        utc(2022, 3, 23, 12, 53, 2),
        [utc(2022, 3, 23, 13, 35, 44), utc(2022, 3, 23, 15, 5, 44)],
    ),
    (
        "interval-28-days-from-epoch",
        {"interval": [every(days=28, phase=dur(days=3, hours=5, minutes=23))]},
        utc(2022, 2, 15),
        [utc(2022, 2, 20, 5, 23), utc(2022, 3, 20, 5, 23)],
    ),
    (
        "every-with-phase",
        {"cron_string": ["@every 90m/5m44s"]},
        utc(2022, 3, 23, 12, 53, 2),
        [utc(2022, 3, 23, 13, 35, 44), utc(2022, 3, 23, 15, 5, 44)],
    ),
    ("every-days", {"cron_string": ["@every 1d/6h"]}, utc(2022, 3, 23, 7), [utc(2022, 3, 24, 6)]),
    (
        "interval-and-calendar",
        {"calendar": [CalendarSpec(hour="11,13", minute="55")], "interval": [every(minutes=90, phase=dur(minutes=7))]},
        utc(2022, 3, 23, 10),
        [utc(2022, 3, 23, 10, 37), utc(2022, 3, 23, 11, 55), utc(2022, 3, 23, 12, 7), utc(2022, 3, 23, 13, 37)],
    ),
    (
        "interval-sub-second-after",
        {"interval": [every(seconds=10)]},
        datetime(2022, 3, 23, 12, 0, 9, 999_999, tzinfo=UTC),
        [utc(2022, 3, 23, 12, 0, 10)],
    ),
    # calendars: steps, names, weekdays, short months, leap days
    (
        "steps",
        {"calendar": [CalendarSpec(minute="*/20", hour="10-11")]},
        utc(2022, 3, 23, 10, 30),
        [utc(2022, 3, 23, 10, 40), utc(2022, 3, 23, 11), utc(2022, 3, 23, 11, 20), utc(2022, 3, 23, 11, 40)],
    ),
    (
        "range-step",
        {"calendar": [CalendarSpec(second="10-30/10", minute="*", hour="*")]},
        utc(2022, 3, 23, 10, 0, 25),
        [utc(2022, 3, 23, 10, 0, 30), utc(2022, 3, 23, 10, 1, 10)],
    ),
    (
        "value-slash-step",
        {"calendar": [CalendarSpec(day_of_month="2/10")]},
        utc(2022, 3, 23),
        [utc(2022, 4, 2), utc(2022, 4, 12), utc(2022, 4, 22)],
    ),
    (
        "month-names",
        {"calendar": [CalendarSpec(day_of_month="1", month="JAN,jul")]},
        utc(2022, 3, 23),
        [utc(2022, 7, 1), utc(2023, 1, 1)],
    ),
    (
        "weekdays-by-name",
        {"calendar": [CalendarSpec(hour="9", day_of_week="mon-fri")]},
        utc(2022, 3, 25, 10),  # a Friday
        [utc(2022, 3, 28, 9), utc(2022, 3, 29, 9)],
    ),
    ("sunday-as-7", {"cron_string": ["0 0 * * 7"]}, utc(2022, 3, 23), [utc(2022, 3, 27)]),
    ("monday-to-sunday-1-7", {"cron_string": ["0 0 * * 1-7"]}, utc(2022, 3, 26), [utc(2022, 3, 27), utc(2022, 3, 28)]),
    (
        "friday-13th-day-and-weekday",
        {"cron_string": ["0 0 13 * fri"]},
        utc(2022, 3, 1),
        [utc(2022, 5, 13), utc(2023, 1, 13), utc(2023, 10, 13)],
    ),
    (
        "day-31-skips-short-months",
        {"calendar": [CalendarSpec(day_of_month="31")]},
        utc(2022, 1, 31),
        [utc(2022, 3, 31), utc(2022, 5, 31), utc(2022, 7, 31), utc(2022, 8, 31)],
    ),
    (
        "leap-day",
        {"calendar": [CalendarSpec(day_of_month="29", month="feb")]},
        utc(2022, 3, 1),
        [utc(2024, 2, 29), utc(2028, 2, 29)],
    ),
    (
        "structured-end-before-start-is-start",
        {
            "structured_calendar": [
                StructuredCalendarSpec(
                    second=[rng(0)],
                    minute=[rng(0)],
                    hour=[Range(start=7)],
                    day_of_month=[rng(1, 31)],
                    month=[rng(1, 12)],
                    day_of_week=[rng(0, 6)],
                )
            ]
        },
        utc(2022, 3, 23, 8),
        [utc(2022, 3, 24, 7)],
    ),
    (
        "structured-missing-field-matches-nothing",
        {"structured_calendar": [StructuredCalendarSpec(hour=[rng(7)])]},
        utc(2022, 3, 23),
        [None],
    ),
    ("feb-30-never", {"calendar": [CalendarSpec(day_of_month="30", month="2")]}, utc(2022, 3, 23), [None]),
    ("nothing", {}, utc(2022, 3, 23), [None]),
    ("until-2100", {"cron_string": ["0 0 1 1 * 2100"]}, utc(2022, 3, 23), [utc(2100, 1, 1), None]),
    # time zones and DST: skipped wall times never fire, repeated ones fire twice
    (
        "new-york-spring-forward",
        {"cron_string": ["30 2 * * *"], "timezone_name": "America/New_York"},
        utc(2022, 3, 12, 5),
        [utc(2022, 3, 12, 7, 30), utc(2022, 3, 14, 6, 30)],
    ),
    (
        "new-york-fall-back",
        {"cron_string": ["30 1 * * *"], "timezone_name": "America/New_York"},
        utc(2022, 11, 6, 4),
        [utc(2022, 11, 6, 5, 30), utc(2022, 11, 6, 6, 30), utc(2022, 11, 7, 6, 30)],
    ),
    (
        "new-york-fall-back-from-second-copy",
        {"cron_string": ["15,45 1 * * *"], "timezone_name": "America/New_York"},
        utc(2022, 11, 6, 6, 20),  # 01:20 EST, in the repeated hour
        [utc(2022, 11, 6, 6, 45), utc(2022, 11, 7, 6, 15)],
    ),
    (
        "new-york-hourly-across-fall-back",
        {"cron_string": ["0 * * * *"], "timezone_name": "America/New_York"},
        utc(2022, 11, 6, 4, 30),
        [utc(2022, 11, 6, 5), utc(2022, 11, 6, 6), utc(2022, 11, 6, 7)],
    ),
    (
        "london-spring-forward",
        {"cron_string": ["30 1 * * *"], "timezone_name": "Europe/London"},
        utc(2022, 3, 26),
        [utc(2022, 3, 26, 1, 30), utc(2022, 3, 28, 0, 30)],
    ),
    (
        "london-fall-back",
        {"cron_string": ["30 1 * * *"], "timezone_name": "Europe/London"},
        utc(2022, 10, 29, 23),
        [utc(2022, 10, 30, 0, 30), utc(2022, 10, 30, 1, 30), utc(2022, 10, 31, 1, 30)],
    ),
    (
        "pacific-temporal-dst-sequence",
        {"cron_string": ["CRON_TZ=US/Pacific 33 33,44 1 * * * *"]},
        utc(2021, 11, 7, 7, 15, 15),
        [
            utc(2021, 11, 7, 8, 33, 33),
            utc(2021, 11, 7, 8, 44, 33),
            utc(2021, 11, 7, 9, 33, 33),
            utc(2021, 11, 7, 9, 44, 33),
            utc(2021, 11, 8, 9, 33, 33),
        ],
    ),
    (
        "london-temporal-repeated-hour-case",
        {
            "calendar": [CalendarSpec(minute="1", day_of_month="2", month="Jan", day_of_week="Sun")],
            "timezone_name": "Europe/London",
        },
        utc(2004, 10, 31, 1, 7, 3),
        [utc(2005, 1, 2, 0, 1)],
    ),
    (
        "lord-howe-half-hour-fall-back",
        {"cron_string": ["45 1 * * *"], "timezone_name": "Australia/Lord_Howe"},
        utc(2022, 4, 2, 12),
        [utc(2022, 4, 2, 14, 45), utc(2022, 4, 2, 15, 15), utc(2022, 4, 3, 15, 15)],
    ),
    # exclusions
    (
        "exclude-hours",
        {"interval": [every(minutes=90)], "exclude_calendar": [CalendarSpec(hour="12-14", minute="*", second="*")]},
        utc(2022, 3, 23, 8),
        [utc(2022, 3, 23, 9), utc(2022, 3, 23, 10, 30), utc(2022, 3, 23, 15), utc(2022, 3, 23, 16, 30)],
    ),
    (
        "exclude-weekends",
        {
            "cron_string": ["0 9 * * *"],
            "exclude_structured_calendar": [
                StructuredCalendarSpec(
                    second=[rng(0, 59)],
                    minute=[rng(0, 59)],
                    hour=[rng(0, 23)],
                    day_of_month=[rng(1, 31)],
                    month=[rng(1, 12)],
                    day_of_week=[rng(0), rng(6)],
                )
            ],
        },
        utc(2022, 3, 25),
        [utc(2022, 3, 25, 9), utc(2022, 3, 28, 9)],
    ),
    (
        "exclude-all-but-second-59",
        {
            "calendar": [CalendarSpec(second="*", minute="*", hour="*")],
            "exclude_calendar": [CalendarSpec(second="0-58", minute="*", hour="*")],
        },
        utc(2022, 3, 23, 12),
        [utc(2022, 3, 23, 12, 0, 59), utc(2022, 3, 23, 12, 1, 59)],
    ),
    (
        "exclude-a-whole-year",
        {
            "calendar": [CalendarSpec(second="*", minute="*", hour="*")],
            "exclude_calendar": [CalendarSpec(second="*", minute="*", hour="*", year="2022")],
        },
        utc(2022, 6, 1),
        [utc(2023, 1, 1)],
    ),
    (
        "exclude-everything",
        {"interval": [every(days=7)], "exclude_calendar": [CalendarSpec(second="*", minute="*", hour="*")]},
        utc(2022, 3, 23),
        [None],
    ),
    (
        "exclude-in-local-time",
        {
            "cron_string": ["0 * * * *"],
            "timezone_name": "America/New_York",
            "exclude_calendar": [CalendarSpec(second="*", minute="*", hour="1")],
        },
        utc(2022, 11, 6, 4, 30),  # both 01:00s of the fall-back night are excluded
        [utc(2022, 11, 6, 7)],
    ),
    # start and end bounds (inclusive)
    (
        "start-time",
        {"interval": [every(minutes=90)], "start_time": ts(utc(2022, 3, 23, 12))},
        utc(2022, 3, 23, 8),
        [utc(2022, 3, 23, 12), utc(2022, 3, 23, 13, 30)],
    ),
    (
        "start-time-sub-second-rounds-up",
        {"interval": [every(hours=1)], "start_time": ts(datetime(2022, 3, 23, 12, 0, 0, 456_000, tzinfo=UTC))},
        utc(2022, 3, 23, 11),
        [utc(2022, 3, 23, 13)],
    ),
    (
        "end-time-inclusive",
        {"interval": [every(minutes=90)], "end_time": ts(utc(2022, 3, 23, 13, 30))},
        utc(2022, 3, 23, 11),
        [utc(2022, 3, 23, 12), utc(2022, 3, 23, 13, 30), None],
    ),
    (
        "end-time-skips-excluded-then-stops",
        {
            "interval": [every(hours=1)],
            "end_time": ts(utc(2022, 3, 23, 14)),
            "exclude_calendar": [CalendarSpec(second="*", minute="*", hour="13-14")],
        },
        utc(2022, 3, 23, 11),
        [utc(2022, 3, 23, 12), None],
    ),
    (
        "zone-utc-by-name",
        {"cron_string": ["0 9 * * *"], "timezone_name": "UTC"},
        utc(2022, 7, 1),
        [utc(2022, 7, 1, 9)],
    ),
]


@pytest.mark.parametrize(("fields", "after", "expected"), [c[1:] for c in NEXT_CASES], ids=[c[0] for c in NEXT_CASES])
def test_next_times(fields: dict[str, Any], after: datetime, expected: list[datetime | None]) -> None:
    assert sequence(compiled(**fields), after, len(expected)) == expected


def test_next_time_accepts_any_time_zone_for_after() -> None:
    spec = compiled(cron_string=["0 9 * * *"])
    assert spec.next_time(datetime(2022, 3, 23, 5, tzinfo=NEW_YORK)) == spec.next_time(utc(2022, 3, 23, 9))


def test_next_time_rejects_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        compiled(cron_string=["@daily"]).next_time(datetime(2022, 3, 23))


def test_timezone_data_is_used_instead_of_the_name() -> None:
    data = _tzif("America/New_York")
    spec = compiled(cron_string=["30 1 * * *"], timezone_name="Whatever/Name", timezone_data=data)
    assert sequence(spec, utc(2022, 11, 6, 4), 2) == [utc(2022, 11, 6, 5, 30), utc(2022, 11, 6, 6, 30)]


def _tzif(key: str) -> bytes:
    for root in zoneinfo.TZPATH:
        path = Path(root) / key
        if path.is_file():
            return path.read_bytes()
    # no system zone files: the tzdata package (in the lock file) has them
    return importlib.resources.files("tzdata.zoneinfo").joinpath(key).read_bytes()


def test_nothing_before_the_epoch() -> None:
    epoch = utc(1970, 1, 1)
    assert compiled(cron_string=["@yearly"]).next_time(utc(1960, 6, 1)) == ScheduleTime(epoch, epoch)


def test_sparse_specs_are_fast() -> None:
    cases = [
        compiled(calendar=[CalendarSpec(day_of_month="30", month="2")], timezone_name="America/New_York"),
        compiled(cron_string=["0 0 1 1 * 2100"], timezone_name="Europe/London"),
        compiled(
            calendar=[CalendarSpec(second="*", minute="*", hour="*")],
            exclude_calendar=[CalendarSpec(second="*", minute="*", hour="*")],
            timezone_name="America/New_York",
        ),
    ]
    for spec in cases:
        started = time.perf_counter()
        spec.next_time(utc(2025, 3, 1))
        assert time.perf_counter() - started < 1.0


# --- times_between ----------------------------------------------------------------------------


def test_times_between_is_start_exclusive_and_end_inclusive() -> None:
    spec = compiled(cron_string=["0 * * * *"])
    nominal = [t.nominal for t in spec.times_between(utc(2022, 3, 23, 10), utc(2022, 3, 23, 13))]
    assert nominal == [utc(2022, 3, 23, 11), utc(2022, 3, 23, 12), utc(2022, 3, 23, 13)]


def test_times_between_is_bounded() -> None:
    spec = compiled(cron_string=["* * * * *"])
    times = spec.times_between(utc(2022, 3, 23), utc(2022, 3, 30))
    assert len(times) == 1000
    assert times[-1].nominal == utc(2022, 3, 23) + timedelta(minutes=1000)


def test_times_between_honours_end_time() -> None:
    spec = compiled(cron_string=["@daily"], end_time=ts(utc(2022, 3, 25, 12)))
    assert [t.nominal for t in spec.times_between(utc(2022, 3, 1), utc(2022, 4, 1))][-1] == utc(2022, 3, 25)


# --- jitter -----------------------------------------------------------------------------------


def test_jitter_is_deterministic_and_within_bounds() -> None:
    fields: dict[str, Any] = {"cron_string": ["@daily"], "jitter": dur(hours=1)}
    first = compiled("a", **fields).times_between(utc(2022, 1, 1), utc(2022, 3, 1))
    again = compiled("a", **fields).times_between(utc(2022, 1, 1), utc(2022, 3, 1))
    other = compiled("b", **fields).times_between(utc(2022, 1, 1), utc(2022, 3, 1))
    assert first == again
    assert [t.actual for t in first] != [t.actual for t in other]
    offsets = [t.actual - t.nominal for t in first]
    assert all(timedelta(0) <= offset < timedelta(hours=1) for offset in offsets)
    assert all(offset % timedelta(milliseconds=1) == timedelta(0) for offset in offsets)
    assert len(set(offsets)) > len(offsets) // 2  # it does vary


def test_jitter_stays_before_the_following_time() -> None:
    spec = compiled(interval=[every(minutes=90)], jitter=dur(hours=24))
    times = spec.times_between(utc(2022, 3, 23), utc(2022, 3, 30))
    assert all(a.nominal <= a.actual < b.nominal for a, b in itertools.pairwise(times))


def test_jitter_of_a_single_run_is_not_capped() -> None:
    spec = compiled(
        calendar=[CalendarSpec(hour="13", minute="55", day_of_month="7", month="4", year="2022")], jitter=dur(hours=1)
    )
    upcoming = spec.next_time(utc(2022, 3, 23))
    assert upcoming is not None
    assert upcoming.nominal == utc(2022, 4, 7, 13, 55)
    assert timedelta(0) <= upcoming.actual - upcoming.nominal < timedelta(hours=1)


def test_no_jitter_means_actual_is_nominal() -> None:
    upcoming = compiled(cron_string=["@daily"]).next_time(utc(2022, 3, 23))
    assert upcoming is not None
    assert upcoming.actual == upcoming.nominal == utc(2022, 3, 24)
    assert upcoming.nominal.tzinfo is UTC
