"""Schedule specs: next times, canonical form and validation (engine.schedules.spec / .cron).

Expected times come from Temporal's own tests where they exist (service/worker/scheduler/
spec_test.go, calendar_test.go) and from the tz database otherwise.
"""

from __future__ import annotations

import itertools
import time
import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.api.schedule.v1 import CalendarSpec, IntervalSpec, Range, ScheduleSpec, StructuredCalendarSpec

from engine.schedules.cron import parse_duration
from engine.schedules.spec import CompiledSpec, ScheduleTime, SpecError, compile_spec

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
LONDON = zoneinfo.ZoneInfo("Europe/London")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def dur(**kwargs: float) -> Duration:
    value = Duration()
    value.FromTimedelta(timedelta(**kwargs))
    return value


def ts(when: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(when)
    return value


def every(phase: Duration | None = None, **kwargs: float) -> IntervalSpec:
    return IntervalSpec(interval=dur(**kwargs), phase=phase)


def rng(start: int, end: int | None = None, step: int = 1) -> Range:
    return Range(start=start, end=start if end is None else end, step=step)


def compiled(schedule_id: str = "sched", **fields: Any) -> CompiledSpec:
    return compile_spec(ScheduleSpec(**fields), schedule_id=schedule_id)


def sequence(spec: CompiledSpec, after: datetime, count: int) -> list[datetime | None]:
    """The next `count` nominal times, chained; stops at (and includes) the first None."""
    times: list[datetime | None] = []
    for _ in range(count):
        upcoming = spec.next_time(after)
        times.append(None if upcoming is None else upcoming.nominal)
        if upcoming is None:
            break
        after = upcoming.nominal
    return times


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
    try:
        import importlib.resources

        return importlib.resources.files("tzdata.zoneinfo").joinpath(key).read_bytes()
    except ModuleNotFoundError:
        pytest.skip("no TZif files on this machine")


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


# --- canonical form ---------------------------------------------------------------------------


def every_day(comment: str = "", **fields: list[Range]) -> StructuredCalendarSpec:
    """A canonical structured calendar: every day of every month unless the date fields are given."""
    days: dict[str, list[Range]] = {"day_of_month": [rng(1, 31)], "month": [rng(1, 12)], "day_of_week": [rng(0, 6)]}
    return StructuredCalendarSpec(comment=comment, **(days | fields))


CANONICAL_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("empty", {}, {}),
    (
        "cron",
        {"cron_string": ["5,9 */2 * * *"]},
        {"structured_calendar": [every_day(second=[rng(0)], minute=[rng(5), rng(9)], hour=[rng(0, 23, 2)])]},
    ),
    (
        "cron-7-fields-tz-comment",
        {"cron_string": ["CRON_TZ=US/Pacific 55 55,57 5 2/2 * wed-thurs *  # explanation"]},
        {
            "structured_calendar": [
                StructuredCalendarSpec(
                    second=[rng(55)],
                    minute=[rng(55), rng(57)],
                    hour=[rng(5)],
                    day_of_month=[rng(2, 31, 2)],
                    month=[rng(1, 12)],
                    day_of_week=[rng(3, 4)],
                    comment="explanation",
                )
            ],
            "timezone_name": "US/Pacific",
        },
    ),
    (
        "cron-6-fields-year-list",
        {"cron_string": ["0 12 * * * 2023,2025-2030/5"]},
        {
            "structured_calendar": [
                every_day(second=[rng(0)], minute=[rng(0)], hour=[rng(12)], year=[rng(2023), rng(2025, 2030, 5)])
            ]
        },
    ),
    (
        "monthly",
        {"cron_string": ["@monthly"]},
        {
            "structured_calendar": [
                StructuredCalendarSpec(
                    second=[rng(0)],
                    minute=[rng(0)],
                    hour=[rng(0)],
                    day_of_month=[rng(1)],
                    month=[rng(1, 12)],
                    day_of_week=[rng(0, 6)],
                )
            ]
        },
    ),
    ("every", {"cron_string": ["@every 43h"]}, {"interval": [every(hours=43)]}),
    ("every-phase", {"cron_string": ["@every 5h/45m"]}, {"interval": [every(hours=5, phase=dur(minutes=45))]}),
    ("every-days", {"cron_string": ["@every 5d"]}, {"interval": [every(days=5)]}),
    (
        "every-appends-to-intervals",
        {"interval": [every(minutes=1)], "cron_string": ["@every 2m"]},
        {"interval": [every(minutes=1), every(minutes=2)]},
    ),
    (
        "calendar-defaults",
        {"calendar": [CalendarSpec(hour="5,7", minute="23")]},
        {"structured_calendar": [every_day(second=[rng(0)], minute=[rng(23)], hour=[rng(5), rng(7)])]},
    ),
    (
        "calendar-names",
        {"calendar": [CalendarSpec(month="Sept,dec", day_of_week="mon-Friday", comment="work")]},
        {
            "structured_calendar": [
                StructuredCalendarSpec(
                    second=[rng(0)],
                    minute=[rng(0)],
                    hour=[rng(0)],
                    day_of_month=[rng(1, 31)],
                    month=[rng(9), rng(12)],
                    day_of_week=[rng(1, 5)],
                    comment="work",
                )
            ]
        },
    ),
    (
        "structured-then-calendar-then-cron",
        {
            "structured_calendar": [StructuredCalendarSpec(second=[Range(start=1)])],
            "calendar": [CalendarSpec(second="2")],
            "cron_string": ["3 * * * * * *"],
        },
        {
            "structured_calendar": [
                StructuredCalendarSpec(second=[rng(1)]),
                every_day(second=[rng(2)], minute=[rng(0)], hour=[rng(0)]),
                every_day(second=[rng(3)], minute=[rng(0, 59)], hour=[rng(0, 23)]),
            ]
        },
    ),
    (
        "exclude-calendar",
        {"exclude_calendar": [CalendarSpec(hour="12-14", minute="*", second="*")]},
        {"exclude_structured_calendar": [every_day(second=[rng(0, 59)], minute=[rng(0, 59)], hour=[rng(12, 14)])]},
    ),
    (
        "cron-tz-matches-name",
        {"cron_string": ["CRON_TZ=Europe/London 23 5,7 * * *"], "timezone_name": "Europe/London"},
        {
            "structured_calendar": [every_day(second=[rng(0)], minute=[rng(23)], hour=[rng(5), rng(7)])],
            "timezone_name": "Europe/London",
        },
    ),
    (
        "other-fields-kept",
        {
            "cron_string": ["23 5,7 * * *"],
            "jitter": dur(minutes=5),
            "start_time": ts(utc(2022, 3, 23)),
            "end_time": ts(utc(2023, 3, 23)),
            "timezone_name": "Europe/London",
        },
        {
            "structured_calendar": [every_day(second=[rng(0)], minute=[rng(23)], hour=[rng(5), rng(7)])],
            "jitter": dur(minutes=5),
            "start_time": ts(utc(2022, 3, 23)),
            "end_time": ts(utc(2023, 3, 23)),
            "timezone_name": "Europe/London",
        },
    ),
]


@pytest.mark.parametrize(("given", "expected"), [c[1:] for c in CANONICAL_CASES], ids=[c[0] for c in CANONICAL_CASES])
def test_canonical_form(given: dict[str, Any], expected: dict[str, Any]) -> None:
    assert compiled(**given).canonical == ScheduleSpec(**expected)


def test_canonical_form_compiles_to_itself() -> None:
    spec = compiled(cron_string=["0 9 * * mon-fri", "@every 90m"], timezone_name="US/Pacific", jitter=dur(minutes=1))
    again = compile_spec(spec.canonical, schedule_id="sched")
    assert again.canonical == spec.canonical
    assert again.times_between(utc(2022, 3, 1), utc(2022, 4, 1)) == spec.times_between(utc(2022, 3, 1), utc(2022, 4, 1))


def test_compile_does_not_change_its_input() -> None:
    given = ScheduleSpec(cron_string=["@daily"], structured_calendar=[StructuredCalendarSpec(hour=[Range(start=3)])])
    before = given.SerializeToString()
    compile_spec(given, schedule_id="sched")
    assert given.SerializeToString() == before


@pytest.mark.parametrize(
    ("dow", "sunday", "saturday", "monday"),
    [
        ("0", True, False, False),
        ("7", True, False, False),
        ("sun", True, False, False),
        ("*", True, True, True),
        ("0-3", True, False, True),
        ("5-7", True, True, False),
        ("5-7/2", True, False, False),
        ("6-7", True, True, False),
        ("2-7/5", True, False, False),
        ("0-7/7", True, False, False),
        ("0/7", True, False, False),
        ("2/4", False, True, False),
        ("1-7", True, True, True),
        ("sat,su", True, True, False),
    ],
)
def test_day_of_week_forms(dow: str, sunday: bool, saturday: bool, monday: bool) -> None:
    """Temporal's calendar_test.go table of Sunday spellings (2022-03-05 is a Saturday)."""
    spec = compiled(calendar=[CalendarSpec(day_of_week=dow)])
    matched = {t.nominal for t in spec.times_between(utc(2022, 3, 4), utc(2022, 3, 7))}
    assert (utc(2022, 3, 6) in matched, utc(2022, 3, 5) in matched, utc(2022, 3, 7) in matched) == (
        sunday,
        saturday,
        monday,
    )


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("90m", 90 * 60 * 10**9),
        ("1h30m", 90 * 60 * 10**9),
        ("1.5h", 90 * 60 * 10**9),
        ("1.5d", 36 * 3600 * 10**9),
        ("0", 0),
        ("500ms", 500 * 10**6),
        ("+2s", 2 * 10**9),
        ("-1m", -60 * 10**9),
        (".5s", 500 * 10**6),
        ("1µs", 1000),
    ],
)
def test_durations(text: str, nanos: int) -> None:
    assert parse_duration(text) == nanos


# --- invalid specs ----------------------------------------------------------------------------


def _structured(**fields: Any) -> dict[str, Any]:
    return {"structured_calendar": [StructuredCalendarSpec(**fields)]}


INVALID_CASES: list[tuple[str, dict[str, Any], str]] = [
    # structured calendar ranges (Temporal's TestCanonicalize table)
    ("second-100", _structured(second=[Range(start=100)]), r"structured_calendar\[0\]\.second: start 100"),
    ("second-negative", _structured(second=[Range(start=-3)]), r"structured_calendar\[0\]\.second: start -3"),
    ("second-end-60", _structured(second=[Range(start=30, end=60)]), r"structured_calendar\[0\]\.second: end 60"),
    ("step-negative", _structured(second=[Range(start=30, end=40, step=-3)]), r"second: step -3"),
    ("minute-60", _structured(minute=[Range(start=60)]), r"minute: start 60"),
    ("hour-end-24", _structured(hour=[Range(start=0, end=24)]), r"hour: end 24"),
    ("hour-24", _structured(hour=[Range(start=24, end=26)]), r"hour: start 24"),
    ("hour-end-before-start", _structured(hour=[Range(start=16, end=12)]), r"hour: end 12 is before start"),
    ("day-0", _structured(day_of_month=[Range(start=0)]), r"day_of_month: start 0"),
    ("day-end-33", _structured(day_of_month=[Range(end=33)]), r"day_of_month"),
    ("month-0", _structured(month=[Range(start=0)]), r"month: start 0"),
    ("month-13", _structured(month=[Range(start=13)]), r"month: start 13"),
    ("weekday-7", _structured(day_of_week=[Range(start=7)]), r"day_of_week: start 7"),
    ("weekday-end-7", _structured(day_of_week=[Range(start=6, end=7)]), r"day_of_week: end 7"),
    ("year-1999", _structured(year=[Range(start=1999)]), r"year: start 1999"),
    ("year-2112", _structured(year=[Range(start=2112)]), r"year: start 2112"),
    ("comment-too-long", {"structured_calendar": [StructuredCalendarSpec(comment="x" * 201)]}, r"comment"),
    (
        "exclusion-hour-24",
        {"exclude_structured_calendar": [StructuredCalendarSpec(hour=[Range(start=24)])]},
        r"exclude_structured_calendar\[0\]\.hour",
    ),
    # string calendars
    ("calendar-hour-24", {"calendar": [CalendarSpec(hour="24")]}, r"calendar\[0\]: hour '24' is not in range \[0-23\]"),
    ("calendar-month-13", {"calendar": [CalendarSpec(month="13")]}, r"calendar\[0\]: month '13'"),
    ("calendar-step-0", {"calendar": [CalendarSpec(minute="*/0")]}, r"minute has invalid step '0'"),
    ("calendar-step-missing", {"calendar": [CalendarSpec(minute="5/")]}, r"minute is missing the step"),
    ("calendar-two-slashes", {"calendar": [CalendarSpec(minute="2/3/5")]}, r"minute has too many slashes"),
    ("calendar-two-dashes", {"calendar": [CalendarSpec(day_of_week="1-5-7")]}, r"day_of_week has too many dashes"),
    ("calendar-backwards", {"calendar": [CalendarSpec(minute="18-13")]}, r"minute end '13' is before start"),
    ("calendar-backwards-names", {"calendar": [CalendarSpec(day_of_week="Fri-Tues")]}, r"day_of_week end 'Tues'"),
    ("calendar-trailing-comma", {"calendar": [CalendarSpec(minute="13,18,")]}, r"minute '' is not in range"),
    ("calendar-word", {"calendar": [CalendarSpec(hour="noon")]}, r"hour 'noon'"),
    ("calendar-short-month", {"calendar": [CalendarSpec(month="ja")]}, r"month 'ja'"),
    ("calendar-sunday-is-0", {"calendar": [CalendarSpec(day_of_week="sa-su")]}, r"day_of_week end 'su'"),
    ("calendar-several", {"calendar": [CalendarSpec(hour="25", minute="61")]}, r"minute '61'.*hour '25'"),
    ("exclude-calendar", {"exclude_calendar": [CalendarSpec(hour="x")]}, r"exclude_calendar\[0\]: hour 'x'"),
    # cron strings
    ("cron-minute-61", {"cron_string": ["61 * * * *"]}, r"cron_string\[0\] '61 \* \* \* \*': minute '61'"),
    ("cron-4-fields", {"cron_string": ["* * * *"]}, r"cron_string\[0\] '\* \* \* \*': does not have 5-7 fields"),
    ("cron-8-fields", {"cron_string": ["@daily", "1 2 3 4 5 6 7 8"]}, r"cron_string\[1\].*5-7 fields"),
    ("cron-year-1999", {"cron_string": ["0 1 2 3 4 1999"]}, r"year '1999' is not in range"),
    ("cron-unknown-shorthand", {"cron_string": ["@reboot"]}, r"'@reboot': does not have 5-7 fields"),
    ("cron-tz-only", {"cron_string": ["CRON_TZ=US/Pacific"]}, r"has a time zone but no fields"),
    ("cron-bad-tz", {"cron_string": ["CRON_TZ=Mars/Olympus 0 * * * *"]}, r"timezone_name: unknown time zone"),
    ("every-nothing", {"cron_string": ["@every"]}, r"has no interval after @every"),
    ("every-zero", {"cron_string": ["@every 0s"]}, r"'@every 0s'.*must be at least 1s"),
    ("every-bad-unit", {"cron_string": ["@every 5x"]}, r"invalid duration '5x'"),
    ("every-no-unit", {"cron_string": ["@every 5"]}, r"invalid duration '5'"),
    ("every-phase-too-big", {"cron_string": ["@every 5m/10m"]}, r"phase: must be less than the interval"),
    (
        "cron-tz-disagree",
        {"cron_string": ["CRON_TZ=Europe/London 0 * * * *", "CRON_TZ=America/New_York 0 * * * *"]},
        r"cron_string\[1\].*same time zone",
    ),
    ("cron-tz-and-none", {"cron_string": ["0 * * * *", "CRON_TZ=Europe/London 0 * * * *"]}, r"same time zone"),
    ("cron-tz-and-every", {"cron_string": ["CRON_TZ=Europe/London 0 * * * *", "@every 1h"]}, r"same time zone"),
    (
        "cron-tz-vs-name",
        {"cron_string": ["CRON_TZ=America/New_York 0 * * * *"], "timezone_name": "Europe/London"},
        r"timezone_name: conflicts",
    ),
    # intervals
    ("interval-zero", {"interval": [IntervalSpec()]}, r"interval\[0\]\.interval: must be at least 1s"),
    ("interval-500ms", {"interval": [every(milliseconds=500)]}, r"interval\[0\]\.interval: must be at least 1s"),
    ("interval-negative", {"interval": [every(hours=-43)]}, r"interval\[0\]\.interval"),
    ("phase-negative", {"interval": [every(hours=1, phase=dur(minutes=-1))]}, r"interval\[0\]\.phase: must not be"),
    ("phase-equal", {"interval": [every(hours=3, phase=dur(hours=3))]}, r"interval\[0\]\.phase: must be less"),
    ("phase-bigger", {"interval": [every(minutes=1), every(hours=3, phase=dur(hours=4))]}, r"interval\[1\]\.phase"),
    (
        "interval-malformed",
        {"interval": [IntervalSpec(interval=Duration(seconds=5, nanos=-1))]},
        r"interval\[0\]\.interval: is not a valid duration",
    ),
    # the rest of the spec
    ("jitter-negative", {"jitter": dur(seconds=-1)}, r"jitter: must not be negative"),
    ("timezone-unknown", {"timezone_name": "Mars/Olympus"}, r"timezone_name: unknown time zone 'Mars/Olympus'"),
    ("timezone-path", {"timezone_name": "../../etc/passwd"}, r"timezone_name"),
    ("timezone-directory", {"timezone_name": "America"}, r"timezone_name"),
    ("timezone-data-junk", {"timezone_data": b"not a tzif file"}, r"timezone_data"),
    ("end-before-start", {"start_time": ts(utc(2022, 3, 23)), "end_time": ts(utc(2022, 3, 22))}, r"end_time"),
    ("start-malformed", {"start_time": Timestamp(seconds=0, nanos=-5)}, r"start_time: is not a valid timestamp"),
]


@pytest.mark.parametrize(("fields", "message"), [c[1:] for c in INVALID_CASES], ids=[c[0] for c in INVALID_CASES])
def test_invalid_specs(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        compiled(**fields)


def test_spec_error_is_a_value_error() -> None:
    assert issubclass(SpecError, ValueError)


# --- properties -------------------------------------------------------------------------------

ZONES = ["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe"]
# instants near DST changes (and one ordinary day) to start searches from
ANCHORS = [
    utc(2022, 3, 13, 7),
    utc(2022, 11, 6, 6),
    utc(2022, 3, 27, 1),
    utc(2022, 10, 30, 1),
    utc(2022, 4, 2, 15),
    utc(2022, 10, 1, 15, 30),
    utc(2022, 6, 15, 12),
]
WINDOW = 3 * 3600  # seconds brute-forced after the start


@st.composite
def _range(draw: Any, low: int, high: int, max_step: int) -> Range:
    start = draw(st.integers(low, high))
    end = draw(st.one_of(st.just(0), st.integers(start, high)))  # 0: just start
    return Range(start=start, end=end, step=draw(st.integers(0, max_step)))


def _ranges(low: int, high: int, *, dense: bool) -> st.SearchStrategy[list[Range]]:
    return st.lists(_range(low, high, 4 if dense else 12), min_size=1, max_size=3)


@st.composite
def calendars(draw: Any) -> StructuredCalendarSpec:
    """Calendars that match often enough for a few-hour window to see several times."""
    return StructuredCalendarSpec(
        second=draw(_ranges(0, 59, dense=False)),
        minute=draw(_ranges(0, 59, dense=True)),
        hour=draw(st.one_of(st.just([Range(start=0, end=23)]), _ranges(0, 23, dense=True))),
        day_of_month=[Range(start=1, end=31)],
        month=[Range(start=1, end=12)],
        day_of_week=draw(st.one_of(st.just([Range(start=0, end=6)]), _ranges(0, 6, dense=True))),
    )


def _values(ranges: list[Range]) -> set[int]:
    return {v for r in ranges for v in range(r.start, max(r.start, r.end) + 1, r.step or 1)}


def _brute_matcher(cal: StructuredCalendarSpec, zone: zoneinfo.ZoneInfo | None) -> Any:
    """An independent matcher: convert the instant to the zone and compare every field."""
    fields = {name: _values(list(getattr(cal, name))) for name in ("second", "minute", "hour", "day_of_month", "month")}
    weekdays, years = _values(list(cal.day_of_week)), _values(list(cal.year))

    def matches(instant: int) -> bool:
        local = datetime.fromtimestamp(instant, zone or UTC)
        return (
            local.second in fields["second"]
            and local.minute in fields["minute"]
            and local.hour in fields["hour"]
            and local.day in fields["day_of_month"]
            and local.month in fields["month"]
            and local.isoweekday() % 7 in weekdays
            and (not years or local.year in years)
        )

    return matches


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cal=calendars(),
    exclusion=st.one_of(st.none(), calendars()),
    zone_name=st.sampled_from(ZONES),
    anchor=st.sampled_from(ANCHORS),
    shift=st.integers(-3 * 3600, 3 * 3600),
)
def test_next_time_is_the_first_match(
    cal: StructuredCalendarSpec,
    exclusion: StructuredCalendarSpec | None,
    zone_name: str,
    anchor: datetime,
    shift: int,
) -> None:
    spec = compile_spec(
        ScheduleSpec(
            structured_calendar=[cal],
            exclude_structured_calendar=[exclusion] if exclusion else [],
            timezone_name=zone_name,
        ),
        schedule_id="prop",
    )
    zone = None if zone_name == "UTC" else zoneinfo.ZoneInfo(zone_name)
    matches = _brute_matcher(cal, zone)
    excluded = _brute_matcher(exclusion, zone) if exclusion else (lambda instant: False)
    start = int(anchor.timestamp()) + shift
    upcoming = spec.next_time(datetime.fromtimestamp(start, UTC))
    found = None if upcoming is None else int(upcoming.nominal.timestamp())
    if found is not None:
        assert found > start
        assert matches(found)
        assert not excluded(found)
    first = next((t for t in range(start + 1, start + WINDOW + 1) if matches(t) and not excluded(t)), None)
    if first is not None:
        assert found == first
    else:
        assert found is None or found > start + WINDOW


@settings(max_examples=40, deadline=None)
@given(
    cal=calendars(),
    zone_name=st.sampled_from(ZONES),
    anchor=st.sampled_from(ANCHORS),
    jitter=st.integers(0, 7200),
)
def test_times_are_increasing_and_jitter_is_bounded(
    cal: StructuredCalendarSpec, zone_name: str, anchor: datetime, jitter: int
) -> None:
    spec = compile_spec(
        ScheduleSpec(structured_calendar=[cal], timezone_name=zone_name, jitter=dur(seconds=jitter)),
        schedule_id="prop",
    )
    times = spec.times_between(anchor - timedelta(hours=3), anchor + timedelta(hours=3))
    assert [t.nominal for t in times] == sorted({t.nominal for t in times})
    for i, current in enumerate(times):
        assert current.nominal <= current.actual < current.nominal + timedelta(seconds=max(jitter, 0.001))
        if i + 1 < len(times):
            assert current.actual < times[i + 1].nominal
