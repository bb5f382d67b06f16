"""Schedule specs: validation, the canonical form DescribeSchedule shows, and the times a spec matches.

Semantics are Temporal's (`service/worker/scheduler/spec.go`, `calendar.go`; the field rules in
`temporal/api/schedule/v1/message.proto`):

- `calendar`, `exclude_calendar` and `cron_string` are compiled into `structured_calendar` /
  `exclude_structured_calendar` / `interval` (and a cron `CRON_TZ=` into `timezone_name`); the
  canonical form then gets Temporal's `CleanSpec` (every range has `end >= start` and `step >= 1`).
- A time matches if any calendar or any interval matches it and no exclusion calendar does.
  Calendars match the wall-clock time in the spec's zone: a wall time that DST skips never fires,
  one that DST repeats fires twice. Intervals are `epoch + n*every + phase` in whole seconds.
- Results are whole seconds, strictly after the time asked about, never before the Unix epoch
  (Temporal's nil start time) and never after 2100 (Temporal's `maxCalendarYear`).
- Jitter is a deterministic offset in [0, jitter) milliseconds, capped at the gap to the following
  nominal time (ignoring exclusions and the end time, as Temporal does).

Deviations from Temporal, all deliberate:
- Stricter validation: negative `jitter`, `end_time` before `start_time`, malformed Duration or
  Timestamp values and out-of-range `exclude_structured_calendar` ranges are errors (Temporal
  clamps a negative jitter to 0, accepts the rest, and may panic on a negative exclusion value).
- A sub-second `start_time` is rounded up: the first time is never before it (Temporal can return
  the whole second just before it).
- Nothing before the Unix epoch is returned even when start_time is earlier (Temporal allows that).
- The jitter hash is BLAKE2b of (nominal time, schedule id), not farmhash of Go's binary time, so
  the jittered times differ from Temporal's; they are deterministic across restarts all the same.
- DST: Temporal's search assumes a one-hour shift; here offsets come from the zone itself, so
  30-minute (Lord Howe) and multi-hour (Antarctica/Casey) shifts work too. Offset changes are found
  by probing a day apart, so two changes less than a day apart would be missed (none exist in the
  tz database since 2000; the closest pair is ~7 days).
- The search for an unexcluded time is bounded (`MAX_STEPS`); Temporal's is unbounded by default.
  Exclusions are skipped whole (to the first time they stop matching), so only adversarial specs
  (several exclusions that interleave second by second) come near the bound.
"""

from __future__ import annotations

import bisect
import hashlib
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.schedule.v1 import IntervalSpec, Range, ScheduleSpec, StructuredCalendarSpec

from engine.schedules.cron import MAX_YEAR, MIN_YEAR, ParseError, parse_calendar, parse_cron

MAX_RESULTS = 1000  # times_between's bound
MAX_STEPS = 100_000  # candidate/exclusion rounds per search
MAX_COMMENT_BYTES = 200

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY = 86_400
_END = int((datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds())  # first second past 2100
_NO_MATCH_HORIZON = 2 * _DAY  # how far an offset change can reveal wall times a search has passed
_MAX_JITTER_MS = 2**32 - 1  # Temporal's bound (~49.7 days): 32 bits of hash times 32 bits of range

# (name, low, high) per StructuredCalendarSpec field, validated as Temporal's validateStructuredCalendar
_LIMITS = (
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day_of_month", 1, 31),
    ("month", 1, 12),
    ("year", MIN_YEAR, MAX_YEAR),
    ("day_of_week", 0, 6),
)


_In = TypeVar("_In")
_Out = TypeVar("_Out")


class SpecError(ValueError):
    """An invalid spec; the message names the field and says what is wrong (becomes INVALID_ARGUMENT)."""


@dataclass(frozen=True)
class ScheduleTime:
    nominal: datetime  # the time the spec matched (UTC, tz-aware)
    actual: datetime  # nominal + jitter (UTC, tz-aware); what the schedule acts at


def compile_spec(spec: ScheduleSpec, *, schedule_id: str) -> CompiledSpec:
    """Validate and compile. Raises SpecError. `schedule_id` seeds the deterministic jitter."""
    canonical = _canonicalize(spec)
    zone = _load_zone(canonical)
    intervals = [_compile_interval(iv, f"interval[{i}]") for i, iv in enumerate(canonical.interval)]
    jitter = _duration_nanos(canonical.jitter, "jitter") if canonical.HasField("jitter") else 0
    if jitter < 0:
        raise SpecError("jitter: must not be negative")
    start = _timestamp(canonical, "start_time")
    end = _timestamp(canonical, "end_time")
    if start is not None and end is not None and end < start:
        raise SpecError("end_time: is before start_time")
    _clean(canonical)
    return CompiledSpec(
        canonical=canonical,
        zone=zone,
        calendars=[_Calendar(cal) for cal in canonical.structured_calendar],
        exclusions=[_Calendar(cal) for cal in canonical.exclude_structured_calendar],
        intervals=intervals,
        first=None if start is None else start[0] + (1 if start[1] else 0),
        last=None if end is None else end[0],
        jitter_ms=jitter // 1_000_000,
        seed=schedule_id.encode(),
    )


class CompiledSpec:
    """A validated spec, ready to say when it fires."""

    def __init__(
        self,
        *,
        canonical: ScheduleSpec,
        zone: tzinfo,
        calendars: list[_Calendar],
        exclusions: list[_Calendar],
        intervals: list[tuple[int, int]],
        first: int | None,
        last: int | None,
        jitter_ms: int,
        seed: bytes,
    ) -> None:
        self.canonical = canonical
        self._zone = zone
        self._fixed = zone is UTC
        self._calendars = [cal for cal in calendars if not cal.empty]
        self._exclusions = [cal for cal in exclusions if not cal.empty]
        self._intervals = intervals
        self._first = first  # earliest allowed second (start_time rounded up)
        self._last = last  # latest allowed second (end_time rounded down)
        self._jitter_ms = jitter_ms
        self._seed = seed

    def next_time(self, after: datetime) -> ScheduleTime | None:
        """The first time whose NOMINAL time is strictly after `after` (tz-aware), honouring
        start_time, end_time, exclusions, time zone and DST as Temporal does; None when there is
        none (past end_time or nothing matches within a bounded search)."""
        if after.tzinfo is None:
            raise ValueError("after must be timezone-aware")
        floor = (after - _EPOCH) // timedelta(seconds=1)
        floor = max(floor, -1, -1 if self._first is None else self._first - 1)
        nominal = self._search(floor + 1, excluding=True)
        if nominal is None or (self._last is not None and nominal > self._last):
            return None
        return ScheduleTime(_to_datetime(nominal), _to_datetime(nominal, self._jitter(nominal)))

    def times_between(self, start: datetime, end: datetime) -> list[ScheduleTime]:
        """Every time with nominal in (start, end], in order (used by backfill with nominal times
        and by ListScheduleMatchingTimes); bounded to at most 1000 results."""
        times: list[ScheduleTime] = []
        after = start
        while len(times) < MAX_RESULTS:
            upcoming = self.next_time(after)
            if upcoming is None or upcoming.nominal > end:
                break
            times.append(upcoming)
            after = upcoming.nominal
        return times

    def _jitter(self, nominal: int) -> int:
        """Milliseconds of jitter for this nominal time: deterministic, and short of the following time."""
        limit = self._jitter_ms
        if limit <= 0:
            return 0
        following = self._search(nominal + 1, excluding=False)
        if following is not None:
            limit = min(limit, (following - nominal) * 1000)
        digest = hashlib.blake2b(nominal.to_bytes(8, "big", signed=True) + self._seed, digest_size=4).digest()
        return (int.from_bytes(digest, "big") * min(limit, _MAX_JITTER_MS)) >> 32

    def _search(self, first: int, *, excluding: bool) -> int | None:
        """The first matching second >= `first`, walking the zone's stretches of constant UTC offset."""
        t = first
        while t < _END:
            offset = self._offset(t)
            found = self._search_at_offset(t, offset, excluding)
            # A later offset change can bring back wall times already passed (DST's repeated hour),
            # so a stretch with no match is only final if the offset holds for a while.
            horizon = found if found is not None else min(t + _NO_MATCH_HORIZON, _END)
            change = self._offset_change(t, horizon, offset)
            if change is None:
                return found
            t = change
        return None

    def _search_at_offset(self, first: int, offset: int, excluding: bool) -> int | None:
        """The first matching second >= `first` if the zone's offset were `offset` from then on."""
        t = first
        for _ in range(MAX_STEPS):
            candidates = [wall - offset for cal in self._calendars if (wall := cal.next(t + offset)) is not None]
            candidates.extend(phase - (phase - t) // every * every for every, phase in self._intervals)
            if not candidates or (best := min(candidates)) >= _END:
                return None
            if not excluding:
                return best
            wall = best + offset
            allowed = self._skip_exclusions(wall)
            if allowed == wall:
                return best
            if allowed is None:
                return None
            t = allowed - offset
        return None

    def _skip_exclusions(self, wall: int) -> int | None:
        """The first wall time >= `wall` that no exclusion matches; None if they cover all up to 2100."""
        for _ in range(MAX_STEPS):
            for cal in self._exclusions:
                if cal.matches(wall):
                    skipped = cal.skip(wall)
                    if skipped is None:
                        return None
                    wall = skipped
                    break
            else:
                return wall
        return None

    def _offset(self, t: int) -> int:
        if self._fixed:
            return 0
        delta = datetime.fromtimestamp(t, self._zone).utcoffset()
        assert delta is not None
        return delta // timedelta(seconds=1)

    def _offset_change(self, start: int, end: int, offset: int) -> int | None:
        """The first second in (start, end] whose offset is not `offset` (probing a day at a time)."""
        if self._fixed:
            return None
        low = start
        while low < end:
            high = min(low + _DAY, end)
            if self._offset(high) != offset:
                while high - low > 1:
                    middle = (low + high) // 2
                    if self._offset(middle) == offset:
                        low = middle
                    else:
                        high = middle
                return high
            low = high
        return None


class _Calendar:
    """A StructuredCalendarSpec as sets of values, searched field by field over wall-clock seconds.

    Wall times are seconds since 1970-01-01T00:00 on the local clock (no zone), so that the search
    is plain calendar arithmetic; `CompiledSpec` maps them to instants.
    """

    def __init__(self, spec: StructuredCalendarSpec) -> None:
        self.years = _values(spec.year) if spec.year else None  # None: every year
        self.months = _values(spec.month)
        self.days = _values(spec.day_of_month)
        self.weekdays = _values(spec.day_of_week)
        self.hours = _values(spec.hour)
        self.minutes = _values(spec.minute)
        self.seconds = _values(spec.second)
        fields = (self.months, self.days, self.weekdays, self.hours, self.minutes, self.seconds)
        self.empty = any(not field for field in fields)  # a field with no ranges matches nothing
        self._by_level = {1: self.months, 3: self.hours, 4: self.minutes, 5: self.seconds}
        self._gaps: dict[int, tuple[int, ...] | None] = {}

    def matches(self, wall: int) -> bool:
        fields = _fields(wall)
        return all(self._ok(level, fields[: level + 1]) for level in range(6))

    def next(self, wall: int) -> int | None:
        """The first matching wall time >= `wall`, or None if there is none up to 2100."""
        y, mo, d, h, mi, s = _fields(wall)
        while True:
            if s > 59:
                mi, s = mi + 1, 0
            if mi > 59:
                h, mi = h + 1, 0
            if h > 23:
                d, h = d + 1, 0
            if d > _days_in_month(y, mo):
                mo, d = mo + 1, 1
            if mo > 12:
                y, mo = y + 1, 1
            if y > MAX_YEAR:
                return None
            if self.years is not None:
                year = _next_value(self.years, y)
                if year is None:
                    return None
                if year != y:
                    y, mo, d, h, mi, s = year, 1, 1, 0, 0, 0
            month = _next_value(self.months, mo)
            if month is None:
                y, mo, d, h, mi, s = y + 1, 1, 1, 0, 0, 0
                continue
            if month != mo:
                mo, d, h, mi, s = month, 1, 0, 0, 0
            day = self._next_day(y, mo, d)
            if day is None:
                mo, d, h, mi, s = mo + 1, 1, 0, 0, 0
                continue
            if day != d:
                d, h, mi, s = day, 0, 0, 0
            hour = _next_value(self.hours, h)
            if hour is None:
                d, h, mi, s = d + 1, 0, 0, 0
                continue
            if hour != h:
                h, mi, s = hour, 0, 0
            minute = _next_value(self.minutes, mi)
            if minute is None:
                h, mi, s = h + 1, 0, 0
                continue
            if minute != mi:
                mi, s = minute, 0
            second = _next_value(self.seconds, s)
            if second is None:
                mi, s = mi + 1, 0
                continue
            return _wall((y, mo, d, h, mi, second))

    def skip(self, wall: int) -> int | None:
        """The first wall time >= `wall` this calendar does NOT match; None if it matches all up to 2100.

        Walks up from the second: the rest of this minute, then the following minutes of this
        hour, and so on; a following unit is either excluded at its own field, or holds its first
        gap (`_gap`) inside.
        """
        fields = _fields(wall)
        if not self.matches(wall):
            return wall
        for level in range(5, -1, -1):
            prefix = fields[:level]
            for value in range(fields[level] + 1, _highest(level, prefix) + 1):
                unit = (*prefix, value)
                if not self._ok(level, unit):
                    return _wall(unit + _LOWEST[level + 1 :])
                gap = self._gap(level + 1, unit)
                if gap is not None:
                    return _wall(unit + gap)
        return None

    def _gap(self, level: int, prefix: tuple[int, ...]) -> tuple[int, ...] | None:
        """The earliest unmatched fields from `level` down within the unit `prefix` (which matches)."""
        if level == 6:
            return None
        if level >= 3 and level in self._gaps:  # within a day, gaps don't depend on the date
            return self._gaps[level]
        result: tuple[int, ...] | None = None
        for value in range(_LOWEST[level], _highest(level, prefix) + 1):
            unit = (*prefix, value)
            if not self._ok(level, unit):
                result = (value, *_LOWEST[level + 1 :])
                break
            inner = self._gap(level + 1, unit)
            if inner is not None:
                result = (value, *inner)
                break
        if level >= 3:
            self._gaps[level] = result
        return result

    def _ok(self, level: int, fields: Sequence[int]) -> bool:
        """Whether field `level` (0 year … 5 second) of these fields matches."""
        value = fields[level]
        if level == 0:
            return self.years is None or value in self.years
        if level == 2:
            return value in self.days and _weekday(fields[0], fields[1], value) in self.weekdays
        return value in self._by_level[level]

    def _next_day(self, y: int, mo: int, d: int) -> int | None:
        weekday = _weekday(y, mo, d)
        for day in range(d, _days_in_month(y, mo) + 1):
            if day in self.days and weekday in self.weekdays:
                return day
            weekday = (weekday + 1) % 7
        return None


_LOWEST = (MIN_YEAR, 1, 1, 0, 0, 0)


def _highest(level: int, prefix: Sequence[int]) -> int:
    if level == 2:
        return _days_in_month(prefix[0], prefix[1])
    return (MAX_YEAR + 1, 12, 31, 23, 59, 59)[level]  # a year past 2100: interval times there in zones east of UTC


def _values(ranges: Iterable[Range]) -> tuple[int, ...]:
    """The sorted values of a field's ranges (`end < start` means just start; step 0 means 1)."""
    values: set[int] = set()
    for r in ranges:
        values.update(range(r.start, max(r.start, r.end) + 1, r.step or 1))
    return tuple(sorted(values))


def _next_value(values: tuple[int, ...], value: int) -> int | None:
    i = bisect.bisect_left(values, value)
    return values[i] if i < len(values) else None


def _fields(wall: int) -> tuple[int, int, int, int, int, int]:
    days, seconds = divmod(wall, _DAY)
    day = date.fromordinal(_EPOCH_ORDINAL + days)
    hour, seconds = divmod(seconds, 3600)
    minute, second = divmod(seconds, 60)
    return day.year, day.month, day.day, hour, minute, second


def _wall(fields: Sequence[int]) -> int:
    y, mo, d, h, mi, s = fields
    return (date(y, mo, d).toordinal() - _EPOCH_ORDINAL) * _DAY + h * 3600 + mi * 60 + s


def _weekday(y: int, mo: int, d: int) -> int:
    """0 is Sunday, as in Temporal."""
    return date(y, mo, d).isoweekday() % 7


def _days_in_month(y: int, mo: int) -> int:
    if mo == 2:
        return 29 if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else 28
    return 30 if mo in (4, 6, 9, 11) else 31


def _to_datetime(seconds: int, millis: int = 0) -> datetime:
    return _EPOCH + timedelta(seconds=seconds, milliseconds=millis)


# --- canonical form and validation -------------------------------------------------------------


def _canonicalize(spec: ScheduleSpec) -> ScheduleSpec:
    """Temporal's canonicalizeSpec: strings compiled into structured calendars and intervals."""
    result = ScheduleSpec()
    result.CopyFrom(spec)
    for i, cal in enumerate(spec.calendar):
        result.structured_calendar.append(_parsed(parse_calendar, cal, f"calendar[{i}]"))
    del result.calendar[:]
    for i, cal in enumerate(spec.exclude_calendar):
        result.exclude_structured_calendar.append(_parsed(parse_calendar, cal, f"exclude_calendar[{i}]"))
    del result.exclude_calendar[:]

    zones: set[str] = set()
    for i, text in enumerate(spec.cron_string):
        where = f"cron_string[{i}] {text!r}"
        cron = _parsed(parse_cron, text, where)
        zones.add(cron.timezone)
        if len(zones) > 1:
            raise SpecError(f"{where}: all cron strings must name the same time zone (or none)")
        if cron.calendar is not None:
            result.structured_calendar.append(cron.calendar)
        if cron.interval is not None:
            _compile_interval(cron.interval, where)
            result.interval.append(cron.interval)
    del result.cron_string[:]
    zone = zones.pop() if zones else ""
    if zone:
        if (result.timezone_name and result.timezone_name != zone) or result.timezone_data:
            raise SpecError(f"timezone_name: conflicts with the cron strings' time zone {zone!r}")
        result.timezone_name = zone

    for kind in ("structured_calendar", "exclude_structured_calendar"):
        for i, cal in enumerate(getattr(result, kind)):
            _validate_calendar(cal, f"{kind}[{i}]")
    return result


def _parsed(parse: Callable[[_In], _Out], value: _In, where: str) -> _Out:
    try:
        return parse(value)
    except ParseError as error:
        raise SpecError(f"{where}: {error}") from None


def _validate_calendar(cal: StructuredCalendarSpec, where: str) -> None:
    for name, low, high in _LIMITS:
        for r in getattr(cal, name):
            if not low <= r.start <= high:
                raise SpecError(f"{where}.{name}: start {r.start} is not in range [{low}-{high}]")
            if r.end != 0 and not r.start <= r.end <= high:
                raise SpecError(f"{where}.{name}: end {r.end} is before start or not in range [{low}-{high}]")
            if r.step < 0:
                raise SpecError(f"{where}.{name}: step {r.step} is negative")
    if len(cal.comment.encode()) > MAX_COMMENT_BYTES:
        raise SpecError(f"{where}.comment: is longer than {MAX_COMMENT_BYTES} bytes")


def _clean(spec: ScheduleSpec) -> None:
    """Temporal's CleanSpec, applied before DescribeSchedule answers: explicit ends and steps."""
    for cal in [*spec.structured_calendar, *spec.exclude_structured_calendar]:
        for name, _, _ in _LIMITS:
            for r in getattr(cal, name):
                r.end = max(r.end, r.start)
                r.step = r.step or 1


def _compile_interval(interval: IntervalSpec, where: str) -> tuple[int, int]:
    """(every, phase) in whole seconds, validated as Temporal's validateInterval."""
    every = _duration_nanos(interval.interval, f"{where}.interval")
    phase = _duration_nanos(interval.phase, f"{where}.phase")
    if every < 1_000_000_000:
        raise SpecError(f"{where}.interval: must be at least 1s")
    if phase < 0:
        raise SpecError(f"{where}.phase: must not be negative")
    if phase >= every:
        raise SpecError(f"{where}.phase: must be less than the interval")
    return every // 1_000_000_000, phase // 1_000_000_000


def _duration_nanos(value: Duration, where: str) -> int:
    seconds, nanos = value.seconds, value.nanos
    if abs(seconds) > 315_576_000_000 or abs(nanos) > 999_999_999 or seconds * nanos < 0:
        raise SpecError(f"{where}: is not a valid duration")
    return seconds * 1_000_000_000 + nanos


def _timestamp(spec: ScheduleSpec, name: Literal["start_time", "end_time"]) -> tuple[int, int] | None:
    """(seconds, nanos) of a set Timestamp field, validated."""
    if not spec.HasField(name):
        return None
    value: Timestamp = getattr(spec, name)
    if not -62_135_596_800 <= value.seconds <= 253_402_300_799 or not 0 <= value.nanos <= 999_999_999:
        raise SpecError(f"{name}: is not a valid timestamp")
    return value.seconds, value.nanos


def _load_zone(spec: ScheduleSpec) -> tzinfo:
    """The spec's zone: timezone_data (TZif) if given, else timezone_name; "" and "UTC" are UTC."""
    if spec.timezone_data:
        try:
            return ZoneInfo.from_file(io.BytesIO(spec.timezone_data), key=spec.timezone_name or None)
        except Exception as error:  # zoneinfo's TZif reader fails in several ways on untrusted bytes
            raise SpecError(f"timezone_data: is not valid TZif data ({error})") from None
    name = spec.timezone_name
    if name in ("", "UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise SpecError(f"timezone_name: unknown time zone {name!r}") from None
