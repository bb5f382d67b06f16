"""DeleteWorkflowExecution: a running run is terminated first, then the run's rows (state,
history, current-run row if it names this run, visibility) are deleted in one transaction."""

from __future__ import annotations

from engine.history.service import HistoryCore
from engine.history.workflow_ops import WorkflowOps
from engine.persistence.records import ExecutionKey


class DeleteOps(WorkflowOps, HistoryCore):
    async def delete_run(self, key: ExecutionKey, *, identity: str) -> None:
        """`NotFound` if the run does not exist."""
        async with self.locks.hold(key.namespace_id, key.workflow_id):
            entry = await self.load(key)
            if entry.state.running:
                await self._terminate_locked(entry, "Delete workflow execution", None, identity)
            await self.store.delete_run(key)
            self.entries.pop(key)
            entry.notify()  # history long polls of the run wake up and find it gone
