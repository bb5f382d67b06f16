"""Helpers shared by the schedule-spec tests (test_schedule_spec_*.py)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.schedule.v1 import IntervalSpec, Range, ScheduleSpec

from engine.schedules.spec import CompiledSpec, compile_spec

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
