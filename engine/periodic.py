"""A background task that runs one step every `interval` seconds until stopped.

For the engine's housekeeping loops (access reloads, retention sweeps): a step that raises is
logged and tried again at the next interval, so a store outage never ends the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


class Periodic:
    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[object]],
        *,
        log: logging.Logger,
        failure: str,
        traceback: bool = False,
    ) -> None:
        self.name = name
        self._step = step
        self._log = log
        self._failure = failure  # what the warning says when a step raises
        self._traceback = traceback  # False for expected failures (the store is down) that repeat
        self._task: asyncio.Task[None] | None = None

    def start(self, interval: float) -> None:
        self._task = asyncio.create_task(self._run(interval), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self._step()
            except Exception as exc:
                self._log.warning("%s: %s", self._failure, exc, exc_info=self._traceback)
