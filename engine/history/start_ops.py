"""Starting runs: the id-reuse and id-conflict policies, the first events, eager start."""

from __future__ import annotations

import uuid

from temporalio.api.enums.v1 import (
    EventType,
    TaskQueueKind,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    StartWorkflowExecutionRequest,
)

from engine.history.cache import WorkflowEntry
from engine.history.chain_ops import INITIATOR_CRON, first_cron_backoff
from engine.history.errors import InvalidArgument, WorkflowAlreadyStarted
from engine.history.events import duration, seconds_of
from engine.history.ids import new_run_id
from engine.history.mutation import Mutation
from engine.history.retry import normalized_activity_retry_policy
from engine.history.service import NamespaceRef
from engine.history.state import (
    STATUS_CANCELED,
    STATUS_FAILED,
    STATUS_TERMINATED,
    STATUS_TIMED_OUT,
    MutableState,
)
from engine.history.workflow_ops import StartSignal, WorkflowOps, remember_signal
from engine.persistence.records import CurrentRun, CurrentRunConflict, CurrentRunWrite, ExecutionKey
from engine.visibility.aliases import CustomAttributes
from engine.visibility.attributes import AttributeValueError
from engine.visibility.index import merge, validate

DEFAULT_WORKFLOW_TASK_TIMEOUT = 10.0
MAX_WORKFLOW_TASK_TIMEOUT = 120.0
FAILED_STATUSES = {STATUS_FAILED, STATUS_CANCELED, STATUS_TERMINATED, STATUS_TIMED_OUT}
MAX_START_ROUNDS = 4  # optimistic create → policy → create again; more means a pathological race


class StartOps(WorkflowOps):
    async def start_workflow(
        self,
        ns: NamespaceRef,
        req: StartWorkflowExecutionRequest,
        signal: StartSignal | None = None,
        eager: list[PollWorkflowTaskQueueResponse] | None = None,
    ) -> tuple[str, bool]:
        """Start a run; returns (run id, started). Raises WorkflowAlreadyStarted per the policies.

        With `eager` (a list to fill) and `request_eager_execution`, a new run's first workflow
        task starts in the same transition and is appended to `eager` for the caller's worker.

        With `signal` (signal-with-start) a running workflow is signalled instead of refused, and
        a new run gets the signal right after its start event, before its first workflow task.
        """
        request_id = req.request_id or str(uuid.uuid4())
        if req.HasField("search_attributes"):
            try:
                validate(req.search_attributes, self.search_attribute_types(ns.id), ns.name)
            except AttributeValueError as error:
                raise InvalidArgument(str(error)) from None
        async with self.locks.hold(ns.id, req.workflow_id):
            # Optimistic: most starts use a fresh id, so try to create the run straight away;
            # the store refuses it (CurrentRunConflict, naming the current run) if the id is
            # taken, and only then are the reuse and conflict policies consulted.
            current: CurrentRun | None = None
            for _ in range(MAX_START_ROUNDS):
                if current is not None:
                    decided = await self._apply_start_policies(ns, req, request_id, signal, current)
                    if decided is not None:
                        return decided
                    # the id may be reused: replace the current run (closed, or terminated just now)
                run_id = new_run_id()
                entry, m = self._new_run(ns, req, run_id, request_id, signal)
                if eager is not None and req.request_eager_execution and not req.HasField("workflow_start_delay"):
                    self._start_first_task_eagerly(m, req.identity)
                write = CurrentRunWrite(
                    run_id=run_id,
                    running=True,
                    start_request_id=request_id,
                    status=1,
                    expected_run_id=current.run_id if current else None,
                )
                self.entries[entry.key] = entry
                try:
                    await self.commit(entry, m, create=True, current=write)
                except CurrentRunConflict as exc:
                    current = exc.current
                    continue
                wft = entry.state.workflow_task
                if eager is not None and wft is not None and wft.started_event_id:
                    eager.append(self._workflow_task_response(entry, wft, await self.history_of(entry)))
                return run_id, True
            raise WorkflowAlreadyStarted(
                f"Workflow execution is already running. WorkflowId: {req.workflow_id}.",
                start_request_id=current.start_request_id if current else "",
                run_id=current.run_id if current else "",
            )

    @staticmethod
    def _start_first_task_eagerly(m: Mutation, identity: str) -> None:
        """Eager workflow start: the starter's own worker takes the first task, no poll needed."""
        wft = m.state.workflow_task
        if wft is None:
            return
        started = m.add_event(
            EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            scheduled_event_id=wft.scheduled_event_id,
            identity=identity,
            request_id=str(uuid.uuid4()),
        )
        wft.started_event_id = started.event_id
        wft.started_time = m.now
        wft.identity = identity
        m.effects.dispatch_workflow_task = False
        m.arm_timer(
            m.now + wft.start_to_close_timeout, "workflow_task_timeout", wft.scheduled_event_id, started.event_id
        )
        m.events[0].workflow_execution_started_event_attributes.eager_execution_accepted = True

    async def _apply_start_policies(
        self,
        ns: NamespaceRef,
        req: StartWorkflowExecutionRequest,
        request_id: str,
        signal: StartSignal | None,
        current: CurrentRun,
    ) -> tuple[str, bool] | None:
        """What a start does when the id is taken: an answer, an error, or None to go ahead
        with a new run (after terminating the running one for TERMINATE_EXISTING)."""
        if current.running:
            if current.start_request_id == request_id:
                return current.run_id, True  # a retried request: the same run
            policy = req.workflow_id_conflict_policy
            if signal is not None and policy in (
                WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED,
                WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
            ):
                await self._signal_locked(ExecutionKey(ns.id, req.workflow_id, current.run_id), signal)
                return current.run_id, False
            if policy == WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING:
                return current.run_id, False
            if policy != WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING:
                raise WorkflowAlreadyStarted(
                    f"Workflow execution is already running. WorkflowId: {req.workflow_id}, RunId: {current.run_id}.",
                    start_request_id=current.start_request_id,
                    run_id=current.run_id,
                )
            entry = await self.load(ExecutionKey(ns.id, req.workflow_id, current.run_id))
            await self._terminate_locked(entry, "terminated by a new start (TERMINATE_EXISTING)", None, "")
            return None
        reuse = req.workflow_id_reuse_policy
        if reuse == WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE or (
            reuse == WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
            and current.status not in FAILED_STATUSES
        ):
            raise WorkflowAlreadyStarted(
                f"Workflow execution already finished and WorkflowIdReusePolicy is "
                f"{WorkflowIdReusePolicy.Name(reuse)}. WorkflowId: {req.workflow_id}, RunId: {current.run_id}.",
                start_request_id=current.start_request_id,
                run_id=current.run_id,
            )
        return None

    def _new_run(
        self,
        ns: NamespaceRef,
        req: StartWorkflowExecutionRequest,
        run_id: str,
        request_id: str,
        signal: StartSignal | None,
    ) -> tuple[WorkflowEntry, Mutation]:
        now = self.clock()
        execution_timeout = seconds_of(req.workflow_execution_timeout)
        run_timeout = seconds_of(req.workflow_run_timeout) or execution_timeout
        if execution_timeout and run_timeout > execution_timeout:
            run_timeout = execution_timeout
        task_timeout = seconds_of(req.workflow_task_timeout) or DEFAULT_WORKFLOW_TASK_TIMEOUT
        task_timeout = min(task_timeout, MAX_WORKFLOW_TASK_TIMEOUT)
        if run_timeout:
            task_timeout = min(task_timeout, run_timeout)
        delay = seconds_of(req.workflow_start_delay)
        if req.cron_schedule:  # the first run waits for the first cron time (chain_ops.py)
            delay = first_cron_backoff(req.cron_schedule, now)
        expiration = now + execution_timeout if execution_timeout else 0.0
        run_expiration = now + delay + run_timeout if run_timeout else 0.0
        policy = normalized_activity_retry_policy(req.retry_policy) if req.HasField("retry_policy") else None
        state = MutableState(
            namespace_id=ns.id,
            namespace=ns.name,
            workflow_id=req.workflow_id,
            run_id=run_id,
            workflow_type=req.workflow_type.name,
            task_queue=req.task_queue.name,
            start_time=now,
            start_request_id=request_id,
            first_execution_run_id=run_id,
            workflow_task_timeout=task_timeout,
            run_timeout=run_timeout,
            execution_timeout=execution_timeout,
            run_expiration_time=min(run_expiration, expiration) if expiration else run_expiration,
            first_workflow_task_time=now + delay if delay else 0.0,
            search_attributes=_initial_search_attributes(req, self.search_attribute_types(ns.id)),
            memo=req.memo.SerializeToString() if req.HasField("memo") else b"",
            retry_policy=policy.SerializeToString() if policy is not None else b"",
            cron_schedule=req.cron_schedule,
            execution_expiration_time=expiration,
        )
        m = Mutation(state, now)
        event = m.add_event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
        attrs = event.workflow_execution_started_event_attributes
        attrs.workflow_type.CopyFrom(req.workflow_type)
        attrs.task_queue.name = req.task_queue.name
        attrs.task_queue.kind = TaskQueueKind.TASK_QUEUE_KIND_NORMAL
        if req.HasField("input"):
            attrs.input.CopyFrom(req.input)
        if execution_timeout:
            attrs.workflow_execution_timeout.CopyFrom(duration(execution_timeout))
            attrs.workflow_execution_expiration_time.FromNanoseconds(int((now + execution_timeout) * 1e9))
        if run_timeout:
            attrs.workflow_run_timeout.CopyFrom(duration(run_timeout))
        attrs.workflow_task_timeout.CopyFrom(duration(task_timeout))
        attrs.identity = req.identity
        attrs.original_execution_run_id = run_id
        attrs.first_execution_run_id = run_id
        attrs.attempt = 1
        attrs.workflow_id = req.workflow_id
        if req.HasField("user_metadata"):  # the summary and details a UI shows for the run
            event.user_metadata.CopyFrom(req.user_metadata)
            state.user_metadata = req.user_metadata.SerializeToString()
        for name in (
            "memo",
            "search_attributes",
            "header",
            "retry_policy",
            "priority",
            "last_completion_result",  # a schedule's previous result / failure (cron, too, later)
            "continued_failure",
        ):
            if req.HasField(name):
                getattr(attrs, name).CopyFrom(getattr(req, name))
        if req.cron_schedule:
            attrs.cron_schedule = req.cron_schedule
            attrs.initiator = INITIATOR_CRON
        if policy is not None:
            attrs.retry_policy.CopyFrom(policy)  # with Temporal's defaults filled in
        if state.run_expiration_time:  # workflow_timeouts.py
            m.arm_timer(state.run_expiration_time, "run_timeout", state.run_expiration_time)
        if delay:
            attrs.first_workflow_task_backoff.CopyFrom(duration(delay))
        if signal is not None:
            m.add_event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, **signal.event_fields())
            remember_signal(state, signal)
        m.schedule_workflow_task()
        key = ExecutionKey(ns.id, req.workflow_id, run_id)
        entry = WorkflowEntry(key, state, b"", 0, events=[])
        return entry, m

    # --- workflow tasks -------------------------------------------------------------------


def _initial_search_attributes(req: StartWorkflowExecutionRequest, custom: CustomAttributes) -> bytes:
    """The start's search attributes as the run stores them (by field), without null values
    (an unset attribute is no attribute)."""
    if not req.HasField("search_attributes"):
        return b""
    merged = merge(b"", custom.to_fields(req.search_attributes))
    return merged.SerializeToString() if merged.indexed_fields else b""
