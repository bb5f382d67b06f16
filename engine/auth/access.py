"""Keeps the in-memory access snapshot in step with the store.

Every admin change reloads it at once in the process that made it; a background task checks the
store's access version every `interval` seconds (2 by default) and reloads when it moved, so
engine processes that did not receive a sync converge within a few seconds. A check never reads
the store: it reads `AccessControl.snapshot`, which a reload replaces whole. While the store is
unreachable the last snapshot keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from engine.auth.snapshot import AccessSnapshot
from engine.periodic import Periodic
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
        # a store outage keeps the last snapshot; the next interval tries again
        self._loop = Periodic(
            "sundial-access-reload",
            self.reload,
            log=log,
            failure="reloading tenant access failed (serving the last snapshot)",
        )

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
        self._loop.start(self.interval)

    async def stop(self) -> None:
        await self._loop.stop()
