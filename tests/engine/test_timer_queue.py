"""The timer queue stops even when a deadline was scheduled just before the stop."""

from __future__ import annotations

import asyncio
import time

from engine.timers.timer_queue import TimerQueue


async def test_stop_right_after_schedule_returns() -> None:
    fired: list[object] = []

    async def fire(payload: object) -> None:
        fired.append(payload)

    for n in range(50):
        queue = TimerQueue(fire)
        queue.start()
        await asyncio.sleep(0)  # the runner is waiting for its wake-up event
        queue.schedule(time.time() + 3600, n)  # sets the event...
        await asyncio.wait_for(queue.stop(), 2)  # ...and the cancellation must not be lost
    assert fired == []


async def test_due_deadlines_fire_in_order() -> None:
    fired: list[int] = []

    async def fire(payload: int) -> None:
        fired.append(payload)

    queue = TimerQueue(fire)
    queue.start()
    now = time.time()
    for n in (3, 1, 2):
        queue.schedule(now + n / 100, n)
    await asyncio.sleep(0.1)
    await queue.stop()
    assert fired == [1, 2, 3]
