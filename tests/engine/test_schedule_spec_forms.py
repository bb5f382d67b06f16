"""Schedule specs: the canonical form DescribeSchedule answers, day-of-week and duration
spellings, and invalid specs (engine.schedules.spec / .cron)."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.schedule.v1 import CalendarSpec, IntervalSpec, Range, ScheduleSpec, StructuredCalendarSpec

from engine.schedules.cron import parse_duration
from engine.schedules.spec import SpecError, compile_spec
from tests.engine.schedule_spec_support import compiled, dur, every, rng, ts, utc

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
