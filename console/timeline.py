"""The timeline of a run: its activities, timers, child workflows and Nexus operations as bars on
one time axis, from the run's first event to its close (or to now, while it runs).

Pure layout: positions are percentages of the axis, so the page draws the bars with plain
HTML and CSS and they scale with the screen. Each bar also carries its words (what, state,
when, how long) — the text alternative that screen readers and narrow screens read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from console.compact import Group
from console.workflows import short_duration

DRAWN = frozenset({"Activity", "Timer", "Child workflow", "Nexus operation"})
MAX_BARS = 300
MIN_WIDTH = 0.5  # percent: an instant step still shows


@dataclass(frozen=True)
class Bar:
    kind: str
    label: str
    detail: str
    state: str
    is_open: bool
    failed: bool
    first_event_id: int
    last_event_id: int
    start: datetime | None
    offset: str  # "+1.2 s" from the axis start
    duration: str  # "" while open
    left: float  # percent of the axis
    width: float

    @property
    def style(self) -> str:
        return f"margin-left:{self.left:.2f}%;width:{self.width:.2f}%"


@dataclass(frozen=True)
class Tick:
    left: float
    label: str

    @property
    def style(self) -> str:
        return f"left:{self.left:.2f}%"


@dataclass(frozen=True)
class Timeline:
    bars: list[Bar]
    ticks: list[Tick]
    total: int  # steps that could be drawn; more than len(bars) when capped
    start: datetime | None
    end: datetime | None

    @property
    def capped(self) -> bool:
        return self.total > len(self.bars)


def _offset(value: timedelta) -> str:
    return "+" + short_duration(max(value, timedelta(0)))


def timeline(groups: Sequence[Group], *, start: datetime | None, end: datetime | None) -> Timeline:
    """Bars for the drawable groups (at most ``MAX_BARS``, the first ones) on the axis
    ``start`` → ``end``; open steps reach the axis end."""
    drawable = [g for g in groups if g.kind in DRAWN]
    if start is None or end is None:
        return Timeline([], [], len(drawable), start, end)
    span = max((end - start).total_seconds(), 0.001)

    def percent(moment: datetime) -> float:
        return min(100.0, max(0.0, (moment - start).total_seconds() / span * 100))

    bars: list[Bar] = []
    for group in drawable[:MAX_BARS]:
        began = group.start or start
        finished = group.end or end
        left = percent(began)
        width = max(MIN_WIDTH, percent(finished) - left)
        left = min(left, 100 - MIN_WIDTH)
        bars.append(
            Bar(
                kind=group.kind,
                label=group.label,
                detail=group.detail,
                state=group.state,
                is_open=group.is_open,
                failed=group.failed,
                first_event_id=group.first_event_id,
                last_event_id=group.last_event_id,
                start=group.start,
                offset=_offset(began - start),
                duration=short_duration(group.duration) if group.duration is not None else "",
                left=left,
                width=min(width, 100 - left),
            )
        )
    ticks = [Tick(p, _offset(timedelta(seconds=span * p / 100))) for p in (0, 25, 50, 75, 100)]
    return Timeline(bars, ticks, len(drawable), start, end)
