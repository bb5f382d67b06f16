"""ResetWorkflowExecution: a new run of the workflow from a point of an earlier run's history.

As Temporal's `workflow_resetter.go` does it:

* The reset point is `workflow_task_finish_event_id`, the event that ended a workflow task (its
  WorkflowTaskCompleted, Failed or TimedOut) or the task's WorkflowTaskStarted: the new run's
  history is the base run's events before it, which must leave a workflow task pending. A task
  only scheduled there gets a WorkflowTaskStarted by `history-service`.
* That task then fails with cause RESET_WORKFLOW, the reason as a ResetWorkflowFailure and
  `base_run_id` / `new_run_id` linking the two runs. Activities pending at the reset point are
  scheduled again (their attempts start afresh), timers pending there keep their deadlines.
* Signals the base run received after the reset point (and, if it is the running run, those it
  buffered) are re-applied, and so are its updates accepted after the point (their request
  becomes a WorkflowExecutionUpdateAdmitted event, origin REAPPLY, which is how the worker
  learns of them: no protocol message carries them), in their order, unless
  `reset_reapply_type` / `reset_reapply_exclude_types` exclude them (an unset type re-applies
  both, as Temporal's ALL_ELIGIBLE default); a new workflow task follows. Cancel requests are not
  re-applied, as in Temporal.
* The workflow's running run, if any, is terminated (reason: the reset's, identity
  `history-resetter`), the new run becomes current and the base run names it (`reset_run_id`,
  DescribeWorkflowExecution's `workflow_extended_info.reset_run_id`): all of it ONE transaction.
* A request id already used by the current run's creation answers that run (a retried reset).

Not done (yet): the signals and updates of runs continued-as-new after the base run,
`post_reset_operations`, resets of histories with child workflows, external signals or cancels
or Nexus operations (refused, naming the event), auto-reset points, batch reset.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import (
    EventType,
    ResetReapplyExcludeType,
    ResetReapplyType,
    RetryState,
    UpdateAdmittedEventOrigin,
    WorkflowTaskFailedCause,
)
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest

from engine.history.cache import WorkflowEntry
from engine.history.errors import InvalidArgument, NotFound
from engine.history.ids import new_run_id
from engine.history.mutation import Mutation
from engine.history.rebuild import rebuild_state
from engine.history.service import NamespaceRef
from engine.history.state import STATUS_RUNNING, MutableState
from engine.history.workflow_ops import WorkflowOps
from engine.persistence.records import CurrentRunWrite, ExecutionKey

HISTORY_IDENTITY = "history-service"  # Temporal's identity for events the server writes itself
RESETTER_IDENTITY = "history-resetter"  # …and for the termination of the run a reset replaces

_SIGNAL = ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL
_UPDATE = ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE


def reapply_exclusions(reapply_type: int, exclude_types: Iterable[int]) -> set[int]:
    """The event kinds not to re-apply: the exclude list plus what the deprecated
    `reset_reapply_type` leaves out (SIGNAL: only signals; NONE: nothing)."""
    if reapply_type not in ResetReapplyType.values():
        raise InvalidArgument(f"unknown reset reapply type: {reapply_type}")
    excluded: set[int] = set()
    if reapply_type == ResetReapplyType.RESET_REAPPLY_TYPE_SIGNAL:
        excluded.add(_UPDATE)
    elif reapply_type == ResetReapplyType.RESET_REAPPLY_TYPE_NONE:
        excluded |= {_SIGNAL, _UPDATE}
    for kind in exclude_types:
        if kind not in ResetReapplyExcludeType.values():
            raise InvalidArgument(f"unknown reset reapply exclude type: {kind}")
        excluded.add(kind)
    return excluded


def reset_failure(reason: str, heartbeat_details: bytes = b"") -> Failure:
    failure = Failure(message=reason)
    failure.reset_workflow_failure_info.SetInParent()
    if heartbeat_details:
        failure.reset_workflow_failure_info.last_heartbeat_details.CopyFrom(Payloads.FromString(heartbeat_details))
    return failure


class ResetOps(WorkflowOps):
    async def reset_workflow(self, ns: NamespaceRef, req: ResetWorkflowExecutionRequest) -> str:
        """Reset the run `req` names (its workflow's current run when no run id is given); the
        new run's id. `InvalidArgument` for a reset point Temporal refuses."""
        excluded = reapply_exclusions(req.reset_reapply_type, req.reset_reapply_exclude_types)
        base_key = await self.resolve(ns, req.workflow_execution)
        async with self.locks.hold(ns.id, base_key.workflow_id):
            base = await self.load(base_key)
            finish_id = req.workflow_task_finish_event_id
            if finish_id <= 1 or finish_id >= base.state.next_event_id:
                raise InvalidArgument("Workflow task finish ID must be > 1 && <= workflow last event ID.")
            current_row = await self.store.get_current_run(ns.id, base_key.workflow_id)
            if current_row is None:
                raise NotFound(f"workflow execution not found for workflow id {base_key.workflow_id!r}")
            current = base
            if current_row.run_id != base_key.run_id:
                current = await self.load(ExecutionKey(ns.id, base_key.workflow_id, current_row.run_id))
            if req.request_id and current.state.start_request_id == req.request_id:
                return current.key.run_id  # the same reset again: its run
            return await self._reset_locked(ns, req, base, current, excluded)

    async def _reset_locked(
        self,
        ns: NamespaceRef,
        req: ResetWorkflowExecutionRequest,
        base: WorkflowEntry,
        current: WorkflowEntry,
        excluded: set[int],
    ) -> str:
        finish_id = req.workflow_task_finish_event_id
        base_events = [*await self.history_of(base), *base.unsaved]
        run_id = new_run_id()
        state = rebuild_state(
            base_events[: finish_id - 1],
            namespace_id=ns.id,
            namespace=ns.name,
            run_id=run_id,
            custom=self.search_attribute_types(ns.id),
        )
        if state.workflow_task is None:
            raise InvalidArgument(
                "Can only reset workflow to event ID in range "
                f"[WorkflowTaskScheduled +1, WorkflowTaskStarted + 1]: {finish_id}"
            )
        later = base_events[finish_id - 1 :]  # what the reset undoes: its signals come back
        linked: list[tuple[WorkflowEntry, Mutation]] = []
        terminated = current.state.running
        if terminated:
            ended = self.terminate_mutation(current, req.reason, None, RESETTER_IDENTITY)
            if current is base:
                later += ended.events  # the signals it buffered, flushed by the termination
            linked.append((current, ended))
        if not (terminated and current is base):  # a closed base run only learns its reset run
            linked.append((base, Mutation(base.state, self.clock())))
        base.state.reset_run_id = run_id

        m = self._new_run_mutation(state, req, base, base_events[: finish_id - 1], later, excluded)
        key = ExecutionKey(ns.id, base.key.workflow_id, run_id)
        entry = WorkflowEntry(key, state, b"", 0, events=[])
        self.entries[key] = entry
        write = CurrentRunWrite(
            run_id=run_id,
            running=True,
            start_request_id=state.start_request_id,
            status=STATUS_RUNNING,
            expected_run_id=current.key.run_id,
        )
        await self.commit(entry, m, create=True, current=write, linked=linked)
        if terminated:
            self.dispatch_waiting_queries(current)
        return run_id

    def _new_run_mutation(
        self,
        state: MutableState,
        req: ResetWorkflowExecutionRequest,
        base: WorkflowEntry,
        prefix: list[HistoryEvent],
        later: list[HistoryEvent],
        excluded: set[int],
    ) -> Mutation:
        """The new run's events: the copied prefix, the failed reset task, re-applied signals,
        a new workflow task; its pending activities and timers handed out and armed again."""
        now = self.clock()
        state.start_request_id = req.request_id or str(uuid.uuid4())
        if state.run_timeout:
            state.run_expiration_time = now + state.run_timeout
        m = Mutation(state, now)
        for event in prefix:
            copied = HistoryEvent()
            copied.CopyFrom(event)
            m.events.append(copied)
        wft = state.workflow_task
        assert wft is not None
        if not wft.started_event_id:
            started = m.add_event(
                EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
                scheduled_event_id=wft.scheduled_event_id,
                identity=HISTORY_IDENTITY,
                request_id=str(uuid.uuid4()),
            )
            wft.started_event_id = started.event_id
        m.add_event(
            EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
            scheduled_event_id=wft.scheduled_event_id,
            started_event_id=wft.started_event_id,
            cause=WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW,
            failure=reset_failure(req.reason),
            identity=HISTORY_IDENTITY,
            base_run_id=base.key.run_id,
            new_run_id=state.run_id,
        )
        state.workflow_task = None
        state.sticky_task_queue = ""
        self._restart_pending(m, prefix, req.reason)
        _reapply(m, later, excluded)
        m.schedule_workflow_task()
        return m

    @staticmethod
    def _restart_pending(m: Mutation, prefix: list[HistoryEvent], reason: str) -> None:
        """Activities not started at the reset point are scheduled again now; one started there
        (its result after the point) fails with the reset's failure, as Temporal does. Timers
        keep their deadlines (a past one fires at once)."""
        state, now = m.state, m.now
        started_ids = {
            e.activity_task_started_event_attributes.scheduled_event_id: e.event_id
            for e in prefix
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        }
        for scheduled_id in sorted(state.activities):
            info = state.activities[scheduled_id]
            if info.started:
                m.add_event(
                    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
                    scheduled_event_id=scheduled_id,
                    started_event_id=started_ids.get(scheduled_id, 0),
                    failure=reset_failure(reason, info.heartbeat_details),
                    retry_state=RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE,
                    identity=info.started_identity,
                )
                del state.activities[scheduled_id]
                continue
            info.scheduled_time = info.attempt_scheduled_time = now
            m.effects.dispatch_activities.append((scheduled_id, info.attempt))
            if info.schedule_to_close_timeout > 0:
                m.arm_timer(
                    now + info.schedule_to_close_timeout, "activity_timeout", scheduled_id, 0, "schedule_to_close"
                )
            if info.schedule_to_start_timeout > 0:
                m.arm_timer(
                    now + info.schedule_to_start_timeout,
                    "activity_timeout",
                    scheduled_id,
                    info.attempt,
                    "schedule_to_start",
                )
        for timer in state.timers.values():
            m.arm_timer(timer.expiry_time, "user_timer", timer.timer_id, timer.started_event_id)


def _reapply(m: Mutation, later: list[HistoryEvent], excluded: set[int]) -> None:
    """Re-apply the undone signals and updates, in their order (Temporal's `reapplyEvents`): an
    update accepted after the reset point (or admitted by an earlier reset) is admitted again,
    durably; an Accepted event without its request follows its Admitted event and is skipped."""
    state = m.state
    for event in later:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            if _SIGNAL not in excluded:
                m.add_event(kind, event.workflow_execution_signaled_event_attributes)
            continue
        if _UPDATE in excluded:
            continue
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED:
            request = event.workflow_execution_update_admitted_event_attributes.request
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
        else:
            continue
        update_id = request.meta.update_id
        if not update_id or update_id in state.updates or update_id in state.admitted_updates:
            continue
        admitted = m.add_event(
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED,
            request=request,
            origin=UpdateAdmittedEventOrigin.UPDATE_ADMITTED_EVENT_ORIGIN_REAPPLY,
        )
        state.admitted_updates[update_id] = admitted.event_id
