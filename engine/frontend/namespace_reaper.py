"""Removing a deleted namespace's data in the background (the admin API's DeleteNamespace).

The namespace is first marked deleted (tenants get NOT_FOUND at once); then its schedules and
batch jobs stop, each run is deleted through history (a running one is terminated first, so
its timers and tasks end as for DeleteWorkflowExecution), 100 at a time with a yield between, and
last the namespace's own rows are purged. A reaper interrupted by a restart starts again at
start-up for every namespace still marked deleted; a failed pass is retried with a backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import LiteralString

from temporalio.api.enums.v1 import NamespaceState

from engine.batch.operations import BatchOperations
from engine.history.errors import NotFound
from engine.history.history_service import HistoryService
from engine.persistence.records import ExecutionKey
from engine.persistence.store import Store
from engine.schedules.scheduler import Scheduler
from engine.visibility.registry import SearchAttributeRegistry

log = logging.getLogger("engine.namespaces")

BATCH = 100
RETRY_DELAYS = (1.0, 5.0, 30.0, 60.0)  # then every minute
IDENTITY = "sundial: namespace deleted"
# every run has a visibility row, written with its start
_RUNS: LiteralString = "SELECT workflow_id, run_id FROM executions_visibility WHERE namespace_id = ? LIMIT ?"


class NamespaceReaper:
    def __init__(
        self,
        store: Store,
        history: HistoryService,
        scheduler: Scheduler,
        batches: BatchOperations,
        search_attributes: SearchAttributeRegistry,
    ) -> None:
        self.store = store
        self.history = history
        self.scheduler = scheduler
        self.batches = batches
        self.search_attributes = search_attributes
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def resume(self) -> None:
        """Reap every namespace a previous process marked deleted but did not finish."""
        after = ""
        while records := await self.store.list_namespaces(after_name=after, limit=500):
            for record in records:
                if record.state == NamespaceState.NAMESPACE_STATE_DELETED:
                    self.reap(record.id)
            after = records[-1].name

    def reap(self, namespace_id: str) -> None:
        if namespace_id not in self._tasks:
            task = asyncio.create_task(self._reap(namespace_id), name=f"sundial-reap-{namespace_id}")
            self._tasks[namespace_id] = task
            task.add_done_callback(lambda _: self._tasks.pop(namespace_id, None))

    async def wait(self, namespace_id: str) -> None:
        """Until the namespace's reaping (if any) ends (tests)."""
        task = self._tasks.get(namespace_id)
        if task is not None:
            await asyncio.shield(task)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _reap(self, namespace_id: str) -> None:
        attempt = 0
        while True:
            try:
                deleted = await self._reap_once(namespace_id)
            except Exception:
                delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
                attempt += 1
                log.exception("removing deleted namespace %s failed; retrying in %gs", namespace_id, delay)
                await asyncio.sleep(delay)
                continue
            log.info("deleted namespace %s removed (%d workflow runs)", namespace_id, deleted)
            return

    async def _reap_once(self, namespace_id: str) -> int:
        await self.scheduler.remove_namespace(namespace_id)
        await self.batches.forget_namespace(namespace_id)
        deleted = 0
        while rows := await self.store.query_visibility(_RUNS, (namespace_id, BATCH)):
            for workflow_id, run_id in rows:
                key = ExecutionKey(namespace_id, workflow_id, run_id)
                try:
                    await self.history.delete_run(key, identity=IDENTITY)
                except NotFound:  # no execution row left: drop what remains of it
                    await self.store.delete_run(key)
                deleted += 1
            await asyncio.sleep(0)  # let RPCs run between batches
        await self.store.purge_namespace(namespace_id)
        self.search_attributes.forget(namespace_id)
        return deleted
