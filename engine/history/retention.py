"""Retention: closed runs are deleted once their namespace's retention period has passed.

A background task sweeps every namespace once per interval, deleting expired runs in small
transactions (`BATCH` runs each) and yielding to the event loop between them, so a sweep never
holds up the RPCs that share the loop and the store. Open runs are never touched: only runs
with a close time are candidates, and the store's deletes require the run to be closed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from temporalio.api.workflowservice.v1 import DescribeNamespaceResponse

from engine.history.cache import WorkflowCache
from engine.periodic import Periodic
from engine.persistence.store import Store
from engine.visibility.attributes import NANOS

log = logging.getLogger("engine.retention")

BATCH = 100
DEFAULT_INTERVAL = 60.0


class RetentionSweeper:
    def __init__(
        self,
        store: Store,
        cache: WorkflowCache,
        *,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.cache = cache
        self.interval = interval
        self.clock = clock
        # a failed sweep is retried at the next interval
        self._loop = Periodic(
            "sundial-retention", self._sweep_and_log, log=log, failure="retention sweep failed", traceback=True
        )

    def start(self) -> None:
        self._loop.start(self.interval)

    async def stop(self) -> None:
        await self._loop.stop()

    async def _sweep_and_log(self) -> None:
        deleted = await self.sweep()
        if deleted:
            log.info("retention deleted %d closed workflow runs", deleted)

    async def sweep(self) -> int:
        """One pass over every namespace; the number of runs deleted."""
        deleted = 0
        after = ""
        while True:
            namespaces = await self.store.list_namespaces(after_name=after, limit=100)
            if not namespaces:
                return deleted
            for record in namespaces:
                config = DescribeNamespaceResponse.FromString(record.data).config
                retention = config.workflow_execution_retention_ttl.ToNanoseconds()
                if retention <= 0:
                    continue
                cutoff = int(self.clock() * NANOS) - retention
                deleted += await self._sweep_namespace(record.id, cutoff)
            after = namespaces[-1].name

    async def _sweep_namespace(self, namespace_id: str, cutoff: int) -> int:
        deleted = 0
        while True:
            keys = await self.store.delete_closed_runs(namespace_id, closed_before=cutoff, limit=BATCH)
            for key in keys:
                self.cache.pop(key)
            deleted += len(keys)
            if len(keys) < BATCH:
                return deleted
            await asyncio.sleep(0)  # let RPCs run between batches
