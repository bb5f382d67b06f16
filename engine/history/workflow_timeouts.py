"""Workflow run and execution timeouts: the run's deadline ends it with WorkflowExecutionTimedOut.

Every run has one deadline, `run_expiration_time`: its start plus its first backoff plus its run
timeout, capped at the chain's execution expiration (the first run's start plus the execution
timeout), as Temporal computes `WorkflowRunExpirationTime`. The timer is armed with the run's
start (and re-armed by `recover()`). When it fires, as Temporal's `executeWorkflowRunTimeoutTask`:
a started workflow task fails with FORCE_CLOSE_COMMAND, buffered events are written, and the run
times out with a START_TO_CLOSE timeout failure; before the execution expiration that failure
may be retried under the run's retry policy, or else a cron workflow runs again at its next time
(`new_execution_run_id` names the run, created in the same commit, chain_ops.py). At the
execution expiration nothing follows (retry state TIMEOUT): the execution timeout caps the chain.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType, RetryState, TimeoutType
from temporalio.api.enums.v1 import WorkflowTaskFailedCause as Cause
from temporalio.api.failure.v1 import Failure

from engine.history.cache import WorkflowEntry
from engine.history.chain_ops import NextRun, after_failure, close_with
from engine.history.mutation import Mutation
from engine.history.state import STATUS_TIMED_OUT
from engine.history.workflow_ops import WorkflowOps

CLOCK_SLACK = 0.001  # a timer may fire this early (float clock) and still count as due


def timeout_failure() -> Failure:
    """The failure a timed-out run carries to its retry (`continued_failure`), as Temporal's."""
    failure = Failure(message="workflow timeout", source="")
    failure.timeout_failure_info.timeout_type = TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
    return failure


def time_out(m: Mutation) -> None:
    """End the run of `m` as timed out (retried or continued by cron when allowed)."""
    state = m.state
    expired = bool(state.execution_expiration_time) and m.now >= state.execution_expiration_time - CLOCK_SLACK
    retry_state: int = RetryState.RETRY_STATE_TIMEOUT
    plan: NextRun | None = None
    if not expired:
        retry_state, plan = after_failure(m, timeout_failure())
    wft = state.workflow_task
    if wft is not None and wft.started_event_id and not wft.transient:
        m.add_event(
            EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
            scheduled_event_id=wft.scheduled_event_id,
            started_event_id=wft.started_event_id,
            cause=Cause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND,
            failure=Failure(message="workflow timed out", source="Sundial"),
        )
    state.workflow_task = None
    m.flush_buffered_events()
    event = m.add_event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, retry_state=retry_state)
    close_with(m, STATUS_TIMED_OUT, event, plan)


class WorkflowTimeoutOps(WorkflowOps):
    async def fire_run_timeout(self, entry: WorkflowEntry, expiry: float) -> None:
        state = entry.state
        if state.run_expiration_time != expiry:
            return  # a deadline of an earlier arrangement (never expected: a run keeps its deadline)
        m = Mutation(state, self.clock())
        time_out(m)
        await self.commit(entry, m)
        self.dispatch_waiting_queries(entry)
