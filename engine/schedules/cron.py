"""Temporal's calendar strings and cron dialect, parsed into `StructuredCalendarSpec`/`IntervalSpec`.

Semantics follow Temporal's server (`service/worker/scheduler/calendar.go`: `parseCalendarToStructured`,
`parseCronString`, `makeRange`, `parseValue`; durations as `common/primitives/timestamp/parse_duration.go`):

- a field is `*` or a comma list of `x`, `x-z`, `x-z/y`, `x/y` (x to the field's maximum), `*/y`;
  an empty field takes its default: second, minute and hour `0`, everything else `*`;
  `*` for the year is the empty range list (all years);
- months accept name prefixes of three letters or more (`jan`, `Sept`, `december`), days of the
  week prefixes of two or more (`mo`, `thurs`); day of week 7 is Sunday, like 0;
- a cron string is 5 fields (minute hour day-of-month month day-of-week), 6 (… year) or 7
  (second … year), optionally preceded by `CRON_TZ=<zone>` or `TZ=<zone>` and followed by
  `# comment`; `@yearly @annually @monthly @weekly @daily @midnight @hourly` stand for 5 fields;
  `@every <duration>[/<phase>]` is an interval (its zone and comment are dropped, as Temporal does).

Deviation: Temporal turns the day-of-week range `1-7` into `1-6`, losing Sunday (its own comment
says `0-6` was meant); here `1-7` is `0-6`. Error messages name the field.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from fractions import Fraction

from temporalio.api.schedule.v1 import CalendarSpec, IntervalSpec, Range, StructuredCalendarSpec

MIN_YEAR = 2000
MAX_YEAR = 2100

_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

_PREDEFINED = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_CRON_FIELDS = {
    5: ("minute", "hour", "day_of_month", "month", "day_of_week"),
    6: ("minute", "hour", "day_of_month", "month", "day_of_week", "year"),
    7: ("second", "minute", "hour", "day_of_month", "month", "day_of_week", "year"),
}

_INTEGER = re.compile(r"[+-]?[0-9]+")  # what Go's strconv.Atoi accepts (no spaces, no underscores)


class ParseError(ValueError):
    """A calendar field, cron string or duration that does not parse; the message says why."""


class _Mode(enum.Enum):
    INT = enum.auto()
    YEAR = enum.auto()  # like INT, but `*` is the empty list
    MONTH = enum.auto()  # also month names
    WEEKDAY = enum.auto()  # also weekday names; 7 is Sunday


@dataclass(frozen=True)
class _Field:
    name: str  # the proto field name, in messages
    default: str
    low: int
    high: int
    mode: _Mode


_FIELDS = (
    _Field("second", "0", 0, 59, _Mode.INT),
    _Field("minute", "0", 0, 59, _Mode.INT),
    _Field("hour", "0", 0, 23, _Mode.INT),
    _Field("day_of_month", "*", 1, 31, _Mode.INT),
    _Field("month", "*", 1, 12, _Mode.MONTH),
    _Field("year", "*", MIN_YEAR, MAX_YEAR, _Mode.YEAR),
    _Field("day_of_week", "*", 0, 7, _Mode.WEEKDAY),
)


@dataclass(frozen=True)
class Cron:
    """A parsed cron string: a calendar or (for `@every`) an interval, and its `CRON_TZ` zone ("" if none)."""

    calendar: StructuredCalendarSpec | None
    interval: IntervalSpec | None
    timezone: str


def parse_calendar(cal: CalendarSpec) -> StructuredCalendarSpec:
    """The structured form of a string calendar; every field's errors are reported together."""
    errors: list[str] = []
    result = StructuredCalendarSpec(comment=cal.comment)
    for field in _FIELDS:
        try:
            getattr(result, field.name).extend(_parse_field(getattr(cal, field.name), field))
        except ParseError as error:
            errors.append(str(error))
    if errors:
        raise ParseError(", ".join(errors))
    return result


def parse_cron(text: str) -> Cron:
    """Parse one `cron_string` entry."""
    rest = text.strip()
    zone = ""
    if rest.startswith(("TZ=", "CRON_TZ=")):
        prefix, space, rest = rest.partition(" ")
        if not space:
            raise ParseError("has a time zone but no fields")
        zone = prefix.partition("=")[2]
    rest, _, comment = rest.partition("#")
    rest, comment = rest.strip(), comment.strip()

    if rest.startswith("@every"):
        return Cron(None, _parse_every(rest), "")
    rest = _PREDEFINED.get(rest, rest)

    fields = rest.split()
    names = _CRON_FIELDS.get(len(fields))
    if names is None:
        raise ParseError("does not have 5-7 fields")
    cal = CalendarSpec(comment=comment, **dict(zip(names, fields, strict=True)))
    return Cron(parse_calendar(cal), None, zone)


def parse_duration(text: str) -> int:
    """Nanoseconds in Go's `time.ParseDuration` syntax plus Temporal's `d` (24 h): `90m`, `1h30m`, `1.5d`."""
    rest = text
    sign = 1
    if rest[:1] in ("-", "+"):
        sign = -1 if rest[0] == "-" else 1
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise ParseError(f"invalid duration {text!r}")
    total = Fraction(0)
    while rest:
        match = _DURATION_PART.match(rest)
        if match is None or not (match["whole"] or match["fraction"]):
            raise ParseError(f"invalid duration {text!r}")
        number = Fraction(int(match["whole"] or "0"))
        if match["fraction"]:
            number += Fraction(int(match["fraction"]), 10 ** len(match["fraction"]))
        total += number * _UNITS[match["unit"]]
        rest = rest[match.end() :]
    nanos = int(total)  # truncated, as Go does
    if nanos > 2**63 - 1:
        raise ParseError(f"duration {text!r} is too long")
    return sign * nanos


_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
}
_DURATION_PART = re.compile(r"(?P<whole>[0-9]*)(?:\.(?P<fraction>[0-9]*))?(?P<unit>ns|us|µs|μs|ms|s|m|h|d)")


def _parse_every(text: str) -> IntervalSpec:
    _, space, rest = text.partition(" ")
    if not space:
        raise ParseError("has no interval after @every")
    every, slash, phase = rest.partition("/")
    result = IntervalSpec()
    result.interval.FromNanoseconds(parse_duration(every))
    if slash and phase:
        result.phase.FromNanoseconds(parse_duration(phase))
    return result


def _parse_field(text: str, field: _Field) -> list[Range]:
    text = text.strip() or field.default
    if text == "*" and field.mode is _Mode.YEAR:
        return []
    ranges: list[Range] = []
    for part in text.split(","):
        ranges.extend(_parse_part(part, field))
    return ranges


def _parse_part(part: str, field: _Field) -> list[Range]:
    name, low, high = field.name, field.low, field.high
    step = 1
    if part.count("/") > 1:
        raise ParseError(f"{name} has too many slashes")
    part, slash, step_text = part.partition("/")
    if slash:
        if not step_text:
            raise ParseError(f"{name} is missing the step value")
        if not _INTEGER.fullmatch(step_text) or int(step_text) < 1:
            raise ParseError(f"{name} has invalid step {step_text!r}")
        step = int(step_text)

    start, end = low, high
    if part != "*":
        if part.count("-") > 1:
            raise ParseError(f"{name} has too many dashes")
        if "-" in part:
            first, _, last = part.partition("-")
            start = _value(first, low, high, field, f"{name} start {first!r} is not in range [{low}-{high}]")
            end = _value(
                last, start, high, field, f"{name} end {last!r} is before start or not in range [{low}-{high}]"
            )
        else:
            start = _value(part, low, high, field, f"{name} {part!r} is not in range [{low}-{high}]")
            if not slash:
                end = start  # `x/y` runs to the maximum; a bare `x` is just x

    ranges: list[Range] = []
    if field.mode is _Mode.WEEKDAY and end == 7:
        # 7 is Sunday, which is 0 in the structured form
        if (7 - start) % step == 0:
            if step == 1 and start <= 1:
                start = 0
            else:
                ranges.append(Range(start=0, end=0, step=1))
                if start == 7:
                    return ranges
        end = 6
    ranges.append(Range(start=start, end=end, step=step))
    return ranges


def _value(text: str, low: int, high: int, field: _Field, message: str) -> int:
    """A number, or a month/weekday name in those fields, within [low, high]."""
    value: int | None = None
    lowered = text.lower()
    if field.mode is _Mode.MONTH and len(text) >= 3:
        value = next((i + 1 for i, month in enumerate(_MONTHS) if month.startswith(lowered)), None)
    elif field.mode is _Mode.WEEKDAY and len(text) >= 2:
        value = next((i for i, day in enumerate(_WEEKDAYS) if day.startswith(lowered)), None)
    if value is None:
        if not _INTEGER.fullmatch(text):
            raise ParseError(message)
        value = int(text)
    if not low <= value <= high:
        raise ParseError(message)
    return value
