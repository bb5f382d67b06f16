"""A single asyncio task that fires callbacks at their deadlines.

Entries are never cancelled: when one fires, its owner checks the run's state and ignores a
deadline that no longer applies (the timer was cancelled, the activity already completed).
That keeps scheduling O(log n) and the state in one place: the run's mutable state.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("engine.timers")

Callback = Callable[[Any], Awaitable[None]]


class TimerQueue:
    def __init__(self, fire: Callback, *, clock: Callable[[], float] = time.time) -> None:
        self._fire = fire
        self._clock = clock  # deadlines are on this clock (tests give their own)
        self._heap: list[tuple[float, int, Any]] = []
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._closed = False
        self._inflight: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="sundial-timers")

    async def stop(self) -> None:
        # Python 3.11's wait_for returns instead of raising when it is cancelled just as the
        # wake-up event is set (a `schedule()` right before `stop()`): the flag ends the loop then
        self._closed = True
        self._wakeup.set()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        for task in list(self._inflight):
            task.cancel()

    def schedule(self, when: float, payload: Any) -> None:
        """Call `fire(payload)` at wall-clock time `when` (seconds since the epoch)."""
        heapq.heappush(self._heap, (when, next(self._seq), payload))
        self._wakeup.set()

    def __len__(self) -> int:
        return len(self._heap)

    async def _run(self) -> None:
        while not self._closed:
            self._wakeup.clear()
            now = self._clock()
            while self._heap and self._heap[0][0] <= now:
                _, _, payload = heapq.heappop(self._heap)
                task = asyncio.create_task(self._call(payload))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            delay = self._heap[0][0] - now if self._heap else 3600.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=max(delay, 0.0))

    async def _call(self, payload: Any) -> None:
        try:
            await self._fire(payload)
        except Exception:
            log.exception("timer callback failed for %r", payload)
