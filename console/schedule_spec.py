"""Schedule specs in words, and back to the cron lines the edit form shows.

The engine answers DescribeSchedule and ListSchedules with the *canonical* spec: cron strings and
string calendars come back as structured calendars, and ``@every`` lines as intervals. So the
pages describe structured calendars and intervals (``spec_in_words``), and the edit form turns
them back into cron lines (``calendar_to_cron``, ``interval_to_cron``). Pure functions only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.duration_pb2 import Duration
from temporalio.api.schedule.v1 import IntervalSpec, Range, ScheduleSpec, StructuredCalendarSpec

from console.history import timestamp

# --- durations --------------------------------------------------------------------------------

UNITS = {"days": 86_400, "hours": 3_600, "minutes": 60, "seconds": 1}
_SINGULAR = {"days": "day", "hours": "hour", "minutes": "minute", "seconds": "second"}
_GO_UNITS = {"days": "d", "hours": "h", "minutes": "m", "seconds": "s"}


def split_seconds(seconds: int) -> tuple[int, str]:
    """The largest unit that divides ``seconds`` exactly: 5400 → (90, "minutes")."""
    for unit, size in UNITS.items():
        if seconds and seconds % size == 0:
            return seconds // size, unit
    return seconds, "seconds"


def seconds_in_words(seconds: int) -> str:
    count, unit = split_seconds(seconds)
    return f"{count} {_SINGULAR[unit] if count == 1 else unit}"


def seconds_of(value: Duration) -> int:
    return value.seconds + (1 if value.nanos else 0)


def interval_in_words(interval: IntervalSpec) -> str:
    """``Every 30 minutes`` / ``Every 1 hour, offset 5 minutes``."""
    words = f"Every {seconds_in_words(seconds_of(interval.interval))}"
    phase = seconds_of(interval.phase)
    return f"{words}, offset {seconds_in_words(phase)}" if phase else words


def interval_to_cron(interval: IntervalSpec) -> str:
    """The ``@every`` line of an interval (Temporal's cron dialect)."""
    count, unit = split_seconds(seconds_of(interval.interval))
    text = f"@every {count}{_GO_UNITS[unit]}"
    phase = seconds_of(interval.phase)
    if phase:
        count, unit = split_seconds(phase)
        text += f"/{count}{_GO_UNITS[unit]}"
    return text


# --- calendars --------------------------------------------------------------------------------

# (field, low, high) of a structured calendar; year has no "all" range: an empty list is every year.
_BOUNDS = {
    "second": (0, 59),
    "minute": (0, 59),
    "hour": (0, 23),
    "day_of_month": (1, 31),
    "month": (1, 12),
    "day_of_week": (0, 6),
    "year": (2000, 2100),
}
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    step: int

    @property
    def single(self) -> bool:
        return self.start == self.end


def _spans(ranges: Sequence[Range]) -> list[_Span]:
    """Ranges with Temporal's defaults made explicit (end 0: the start; step 0: 1)."""
    return [_Span(r.start, max(r.end, r.start), r.step or 1) for r in ranges]


def _is_all(name: str, spans: list[_Span]) -> bool:
    if name == "year":
        return not spans
    low, high = _BOUNDS[name]
    return len(spans) == 1 and spans[0] == _Span(low, high, 1)


def _values(spans: list[_Span]) -> list[int] | None:
    """Every value the spans name, or None when some span has a step (or there are many)."""
    values: list[int] = []
    for span in spans:
        if span.step != 1 or span.end - span.start > 12:
            return None
        values.extend(range(span.start, span.end + 1))
    return values


def _field_to_cron(name: str, spans: list[_Span]) -> str:
    if _is_all(name, spans):
        return "*"
    low, high = _BOUNDS[name]
    parts = []
    for span in spans:
        if span.start == low and span.end == high and name != "year":
            parts.append(f"*/{span.step}")
        elif span.single:
            parts.append(str(span.start))
        elif span.step == 1:
            parts.append(f"{span.start}-{span.end}")
        else:
            parts.append(f"{span.start}-{span.end}/{span.step}")
    return ",".join(parts)


def calendar_to_cron(cal: StructuredCalendarSpec) -> str:
    """A cron line the engine parses back into ``cal``: five fields when the second is 0 and any
    year matches, else seven (second … year). A comment is kept after ``#``."""
    fields = {name: _field_to_cron(name, _spans(getattr(cal, name))) for name in _BOUNDS}
    five = [fields[n] for n in ("minute", "hour", "day_of_month", "month", "day_of_week")]
    if fields["second"] == "0" and fields["year"] == "*":
        text = " ".join(five)
    else:
        text = " ".join([fields["second"], *five, fields["year"]])
    return f"{text} # {cal.comment}" if cal.comment else text


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _named(spans: list[_Span], names: Sequence[str], offset: int) -> str | None:
    """``Monday through Friday`` / ``Monday, Wednesday and Friday`` (None when a step is used)."""
    parts = []
    for span in spans:
        if span.step != 1:
            return None
        if span.single:
            parts.append(names[span.start - offset])
        elif span.end - span.start == 1:
            parts.extend([names[span.start - offset], names[span.end - offset]])
        else:
            parts.append(f"{names[span.start - offset]} through {names[span.end - offset]}")
    return _join(parts)


def _time_of_day(cal: StructuredCalendarSpec) -> str | None:
    """The clock part in words, or None when it is not a common shape."""
    seconds, minutes, hours = (_spans(getattr(cal, n)) for n in ("second", "minute", "hour"))
    second_values = _values(seconds)
    if second_values != [0]:
        if _is_all("second", seconds) and _is_all("minute", minutes) and _is_all("hour", hours):
            return "Every second"
        return None
    if _is_all("minute", minutes) and _is_all("hour", hours):
        return "Every minute"
    if len(minutes) == 1 and minutes[0].start == 0 and minutes[0].end == 59 and minutes[0].step > 1:
        every = f"Every {minutes[0].step} minutes"
        return every if _is_all("hour", hours) else None
    minute_values = _values(minutes)
    if minute_values is None or not minute_values:
        return None
    if _is_all("hour", hours):
        if minute_values == [0]:
            return "Every hour, on the hour"
        return f"At {_join([str(m) for m in minute_values])} minutes past every hour"
    hour_values = _values(hours)
    if hour_values is None and len(hours) == 1 and hours[0].start == 0 and hours[0].end == 23:
        if minute_values == [0]:
            return f"Every {hours[0].step} hours, on the hour"
        return None
    if len(hours) == 1 and hours[0].step == 1 and not hours[0].single and len(minute_values) == 1:
        first, last = hours[0].start, hours[0].end
        if minute_values == [0]:
            return f"Every hour from {first:02d}:00 to {last:02d}:00"
        return f"At {minute_values[0]} minutes past every hour from {first:02d}:00 to {last:02d}:59"
    if hour_values is None or len(hour_values) * len(minute_values) > 6:
        return None
    times = [f"{h:02d}:{m:02d}" for h in hour_values for m in minute_values]
    return f"At {_join(times)}"


def _days(cal: StructuredCalendarSpec) -> list[str] | None:
    """The date parts in words ([] for every day), or None when not a common shape."""
    parts: list[str] = []
    dows, doms, months, years = (_spans(getattr(cal, n)) for n in ("day_of_week", "day_of_month", "month", "year"))
    if not _is_all("day_of_week", dows):
        named = _named(dows, WEEKDAYS, 0)
        if named is None:
            return None
        parts.append(f"only on {named}" if len(dows) == 1 and dows[0].single else named)
    if not _is_all("day_of_month", doms):
        values = _values(doms)
        if values is None:
            return None
        parts.append(f"on day {_join([str(v) for v in values])} of the month")
    if not _is_all("month", months):
        named = _named(months, MONTHS, 1)
        if named is None:
            return None
        parts.append(f"in {named}")
    if not _is_all("year", years):
        values = _values(years)
        if values is None:
            return None
        parts.append(f"in {_join([str(v) for v in values])}")
    return parts


def calendar_in_words(cal: StructuredCalendarSpec) -> str:
    """``At 09:00, Monday through Friday``; an uncommon shape is shown as its cron line."""
    if any(not getattr(cal, name) for name in _BOUNDS if name != "year"):
        return "Never (a field of the calendar matches no value)"
    clock, days = _time_of_day(cal), _days(cal)
    if clock is None or days is None:
        return f"Cron {calendar_to_cron(cal)}"
    if not days and re.match(r"At \d\d:\d\d", clock):
        clock = f"Every day at {clock[3:]}"
    words = ", ".join([clock, *days])
    return f"{words} ({cal.comment})" if cal.comment else words


def spec_in_words(spec: ScheduleSpec) -> list[str]:
    """One line per calendar and interval, then exclusions, the window and the time zone."""
    lines = [calendar_in_words(cal) for cal in spec.structured_calendar]
    lines += [f"Cron {text}" for text in spec.cron_string]  # only in specs not yet canonical
    lines += [interval_in_words(interval) for interval in spec.interval]
    if not lines:
        lines.append("Never (no calendar or interval)")
    lines += [f"Except: {calendar_in_words(cal)}" for cal in spec.exclude_structured_calendar]
    start, end = timestamp(spec.start_time), timestamp(spec.end_time)
    if start:
        lines.append(f"Not before {start:%Y-%m-%d %H:%M} UTC")
    if end:
        lines.append(f"Not after {end:%Y-%m-%d %H:%M} UTC")
    if spec.HasField("jitter") and seconds_of(spec.jitter):
        lines.append(f"Jitter up to {seconds_in_words(seconds_of(spec.jitter))}")
    if spec.timezone_name and (spec.structured_calendar or spec.cron_string):
        lines.append(f"In time zone {spec.timezone_name}")
    return lines
