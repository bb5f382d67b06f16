"""Workflow updates: admission, delivery inside workflow tasks, waiting for a stage.

Temporal's model, followed where an SDK can tell:
* An update is *admitted* in memory (`WorkflowEntry.updates`), never written: Temporal keeps
  admitted updates in memory too, so a crash or a cache eviction forgets them and the client's
  retry (the SDKs repeat UpdateWorkflowExecution until the update is accepted) admits it again.
* With no workflow task outstanding, one is scheduled to carry it. (Temporal schedules a
  *speculative* task that leaves no events when the update is rejected; this engine schedules a
  normal one, so a rejection leaves WorkflowTaskScheduled/Started/Completed but never an
  Update event.) An update admitted while a task is started rides on the next task.
* Every workflow task carries every admitted update as a protocol message (update_messages.py);
  the worker accepts (WorkflowExecutionUpdateAccepted), completes (…UpdateCompleted) or rejects
  (no event). Accepted and completed updates are in `MutableState.updates` and in history, so
  they survive a restart, and a repeated update id gets the first outcome without running again
  (a rejected one, as in Temporal, is not remembered and runs its validator again).
* A run that closes aborts its admitted updates (NOT_FOUND "update aborted by closing
  workflow"); an accepted update that never completed gets Temporal's failure outcome.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage as Stage
from temporalio.api.update.v1 import Outcome, Request
from temporalio.api.workflowservice.v1 import PollWorkflowTaskQueueResponse, RespondWorkflowTaskCompletedRequest

from engine.history.cache import WorkflowEntry
from engine.history.errors import NotFound, WorkflowNotReady, WorkflowNotRunning
from engine.history.mutation import Mutation
from engine.history.service import HistoryCore
from engine.history.update_messages import (
    WORKFLOW_CLOSED_FAILURE,
    PendingUpdate,
    UpdateMessages,
    rejection_outcome,
)
from engine.persistence.records import ExecutionKey

ADMITTED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
ACCEPTED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
COMPLETED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
FAIL_UPDATE_WORKFLOW_TASK_ATTEMPT = 3  # Temporal's failUpdateWorkflowTaskAttemptCount

_sequence = itertools.count(1)


@dataclass(frozen=True)
class UpdateStatus:
    """The stage an update reached, and its outcome once completed (or rejected)."""

    stage: int
    outcome: Outcome | None = None


class UpdateOps(HistoryCore):
    async def update_workflow(
        self, key: ExecutionKey, request: Request, *, first_execution_run_id: str, wait_stage: int, timeout: float
    ) -> UpdateStatus:
        """Admit `request` (once per update id) and wait for `wait_stage` or `timeout`."""
        update_id = request.meta.update_id
        async with self.locks.hold(key.namespace_id, key.workflow_id):
            entry = await self.load(key)
            state = entry.state
            if first_execution_run_id and state.first_execution_run_id != first_execution_run_id:
                raise NotFound("workflow execution not found")
            pending = entry.updates.get(update_id)
            if update_id not in state.updates and pending is None and update_id not in state.admitted_updates:
                if not state.running:
                    raise WorkflowNotRunning("workflow execution already completed")
                wft = state.workflow_task
                if wft is not None and wft.attempt >= FAIL_UPDATE_WORKFLOW_TASK_ATTEMPT:
                    raise WorkflowNotReady(
                        "Unable to perform workflow execution update due to Workflow Task in failed state."
                    )
                pending = entry.updates[update_id] = PendingUpdate(request, next(_sequence))
                if wft is None:
                    m = Mutation(state, self.clock())
                    m.schedule_workflow_task()
                    try:
                        await self.commit(entry, m)
                    except BaseException:
                        entry.updates.pop(update_id, None)
                        raise
        return await self._wait_for_stage(key, update_id, pending, wait_stage, timeout)

    async def poll_update(self, key: ExecutionKey, update_id: str, *, wait_stage: int, timeout: float) -> UpdateStatus:
        entry = await self.read(key)
        return await self._wait_for_stage(key, update_id, entry.updates.get(update_id), wait_stage, timeout)

    async def _wait_for_stage(
        self, key: ExecutionKey, update_id: str, pending: PendingUpdate | None, wait_stage: int, timeout: float
    ) -> UpdateStatus:
        """The update's status once it reached `wait_stage`, or what it reached by `timeout`
        (Temporal answers a long poll that ran out with the stage so far and no outcome)."""
        deadline = self.clock() + timeout
        while True:
            entry = await self.read(key)
            status = await self._status(entry, update_id, pending)
            if status.outcome is not None or status.stage >= wait_stage:
                return status
            remaining = deadline - self.clock()
            if remaining <= 0:
                return status
            await entry.wait_for_change(remaining)

    async def _status(self, entry: WorkflowEntry, update_id: str, pending: PendingUpdate | None) -> UpdateStatus:
        state = entry.state
        info = state.updates.get(update_id)
        if info is not None:
            if info.completed_event_id:
                event = (await self.history_of(entry))[info.completed_event_id - 1]
                return UpdateStatus(COMPLETED, event.workflow_execution_update_completed_event_attributes.outcome)
            if not state.running:
                return UpdateStatus(COMPLETED, rejection_outcome(WORKFLOW_CLOSED_FAILURE))
            return UpdateStatus(ACCEPTED)
        if update_id in state.admitted_updates:  # durably admitted (a reset re-applied it)
            if not state.running:
                raise NotFound("update aborted by closing workflow")
            return UpdateStatus(ADMITTED)
        if pending is None:
            raise NotFound(f"update {update_id!r} not found")
        if pending.rejection is not None:
            return UpdateStatus(COMPLETED, rejection_outcome(pending.rejection))
        if not state.running:
            entry.updates.pop(update_id, None)
            raise NotFound("update aborted by closing workflow")
        return UpdateStatus(ADMITTED)

    # --- inside workflow tasks -------------------------------------------------------------

    @staticmethod
    def attach_update_messages(entry: WorkflowEntry, response: PollWorkflowTaskQueueResponse) -> None:
        """A workflow task carries every admitted update, in the order they came."""
        started_event_id = response.started_event_id
        for pending in sorted(entry.updates.values(), key=lambda p: p.sequence):
            if pending.rejection is None:
                pending.sent_in = started_event_id
                response.messages.append(pending.message(started_event_id))

    @staticmethod
    def update_messages(entry: WorkflowEntry, req: RespondWorkflowTaskCompletedRequest) -> UpdateMessages:
        wft = entry.state.workflow_task
        started = wft.started_event_id if wft is not None else 0
        return UpdateMessages(entry.updates, list(req.messages), started)
