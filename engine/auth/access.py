"""Keeps the in-memory access snapshot in step with the store.

Every admin change reloads it at once in the process that made it; a background task checks the
store's access version every `interval` seconds (2 by default) and reloads when it moved, so
engine processes that did not receive a sync converge within a few seconds. A check never reads
the store: it reads `AccessControl.snapshot`, which a reload replaces whole. While the store is
unreachable the last snapshot keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from engine.auth.snapshot import AccessSnapshot
from engine.persistence.store import Store

log = logging.getLogger("engine.auth")

DEFAULT_RELOAD_INTERVAL = 2.0


class AccessControl:
    def __init__(self, store: Store, *, interval: float = DEFAULT_RELOAD_INTERVAL) -> None:
        self.store = store
        self.interval = interval
        self.snapshot = AccessSnapshot()
        # called after a new snapshot is swapped in (e.g. to drop cached namespace records)
        self.listeners: list[Callable[[], None]] = []
        self._lock = asyncio.Lock()  # reloads in order: a slow early read never replaces a later one
        self._task: asyncio.Task[None] | None = None

    async def reload(self) -> bool:
        """Load the store's access state if its version moved; True if the snapshot changed."""
        async with self._lock:
            if await self.store.access_version() == self.snapshot.version:
                return False
            self.snapshot = AccessSnapshot.from_state(await self.store.load_access())
        for listener in self.listeners:
            listener()
        return True

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sundial-access-reload")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.reload()
            except Exception as exc:  # the store is down: keep the last snapshot, try again
                log.warning("reloading tenant access failed (serving the last snapshot): %s", exc)
