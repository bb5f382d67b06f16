"""Schedule specs: properties against an independent brute-force matcher (hypothesis)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.api.schedule.v1 import Range, ScheduleSpec, StructuredCalendarSpec

from engine.schedules.spec import compile_spec
from tests.engine.schedule_spec_support import dur, utc

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
