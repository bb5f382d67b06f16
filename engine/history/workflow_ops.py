"""Operations on runs once started: workflow tasks, stickiness, signals, cancel, terminate."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import Any

from temporalio.api.common.v1 import Header, Payloads
from temporalio.api.enums.v1 import (
    CommandType,
    EventType,
    TimeoutType,
)
from temporalio.api.enums.v1 import WorkflowTaskFailedCause as Cause
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import ActivityTaskScheduledEventAttributes, HistoryEvent
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskCompletedResponse,
    RespondWorkflowTaskFailedRequest,
)

from engine.history.activity_tasks import activity_task, mark_started
from engine.history.cache import WorkflowEntry
from engine.history.commands import CLOSE_COMMANDS, CommandError, apply_commands
from engine.history.errors import InvalidArgument, NotFound, WorkflowNotRunning
from engine.history.events import make_event, seconds_of
from engine.history.mutation import Mutation, scheduled_event
from engine.history.poll_responses import poll_response
from engine.history.query_ops import QueryOps
from engine.history.read_ops import encode_page_token
from engine.history.service import NamespaceRef
from engine.history.state import (
    STATUS_TERMINATED,
    ActivityInfo,
    MutableState,
    WorkflowTaskInfo,
)
from engine.history.tokens import KIND_WORKFLOW_TASK, TaskToken, decode_token
from engine.history.update_ops import UpdateOps
from engine.matching.task_queues import KIND_WORKFLOW, QueueKey, Task
from engine.persistence.records import ExecutionKey

WORKFLOW_TASK_HISTORY_PAGE = 256  # events inline in a workflow task, as Temporal's historyMaxPageSize
MAX_EAGER_ACTIVITIES = 8  # activities one workflow task completion may hand back eagerly
MAX_REMEMBERED_SIGNAL_IDS = 100  # request ids kept to make retried signals idempotent


@dataclass(frozen=True)
class StartSignal:
    """A signal to deliver: by SignalWorkflowExecution, or with the start (signal-with-start)."""

    name: str
    input: Payloads | None = None
    identity: str = ""
    request_id: str = ""
    header: Header | None = None

    def event_fields(self) -> dict[str, Any]:
        """The WorkflowExecutionSignaled attributes it becomes."""
        return {"signal_name": self.name, "input": self.input, "identity": self.identity, "header": self.header}


def remember_signal(state: MutableState, signal: StartSignal) -> None:
    """Keep the signal's request id (the last few) so that a retried signal is delivered once."""
    if signal.request_id:
        state.signal_request_ids.append(signal.request_id)
        del state.signal_request_ids[:-MAX_REMEMBERED_SIGNAL_IDS]


class WorkflowOps(UpdateOps, QueryOps):
    # --- start ----------------------------------------------------------------------------

    async def poll_workflow_task(
        self, ns: NamespaceRef, queue: str, *, identity: str, timeout: float
    ) -> PollWorkflowTaskQueueResponse | None:
        return await self.poll_task(
            QueueKey(ns.id, queue, KIND_WORKFLOW),
            identity=identity,
            timeout=timeout,
            record=lambda task: self._record_workflow_task_started(task, identity, queue),
        )

    async def _record_workflow_task_started(
        self, task: Task, identity: str, queue: str
    ) -> PollWorkflowTaskQueueResponse | None:
        key = task.key
        async with self.locks.hold(key.namespace_id, key.workflow_id):
            if task.query_id:
                return await self.legacy_query_task(task)
            try:
                entry = await self.load(key)
            except NotFound:
                return None
            state = entry.state
            wft = state.workflow_task
            if (
                not state.running
                or wft is None
                or wft.scheduled_event_id != task.scheduled_event_id
                or wft.started_event_id
                or queue not in (wft.task_queue, state.task_queue)
            ):
                return None  # stale: the task moved on since it was queued
            m = Mutation(state, self.clock())
            request_id = str(uuid.uuid4())
            if wft.transient and wft.scheduled_event_id != state.next_event_id:
                # events arrived since the retry was scheduled: it becomes a normal task
                wft.transient, wft.attempt = False, 1
                wft.scheduled_event_id = m.add_scheduled_event(1).event_id
            started = make_event(
                EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
                wft.scheduled_event_id + 1,
                m.now,
                scheduled_event_id=wft.scheduled_event_id,
                identity=identity,
                request_id=request_id,
                history_size_bytes=state.history_size_bytes,
                suggest_continue_as_new=self._suggests_continue_as_new(state),
            )
            if not wft.transient:
                m.add_event(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, started.workflow_task_started_event_attributes)
            wft.started_event_id = started.event_id
            wft.started_time = m.now
            wft.request_id = request_id
            wft.identity = identity
            m.arm_timer(
                m.now + wft.start_to_close_timeout, "workflow_task_timeout", wft.scheduled_event_id, started.event_id
            )
            self.defer(entry, m)
            history = [*await self.history_of(entry), *entry.unsaved]
            if wft.transient:
                # the worker sees the attempt's events; history gets them only if it completes
                history = [*history, self._transient_scheduled(entry, wft), started]
            elif wft.sticky and queue == wft.task_queue:
                # the sticky worker has the run cached: it needs only what came after its last task
                history = history[state.last_completed_wft_started_event_id :]
            response = self._workflow_task_response(entry, wft, history)
            self.attach_queries(entry, response)
            self.attach_update_messages(entry, response)
            return response

    def _suggests_continue_as_new(self, state: MutableState) -> bool:
        events, size = self.suggest_continue_as_new
        # as Temporal: the count includes the WorkflowTaskStarted event about to be written
        return state.next_event_id >= events or state.history_size_bytes >= size

    @staticmethod
    def _transient_scheduled(entry: WorkflowEntry, wft: WorkflowTaskInfo) -> HistoryEvent:
        return scheduled_event(entry.state, wft.scheduled_event_id, wft.scheduled_time, wft.attempt)

    def _workflow_task_response(
        self, entry: WorkflowEntry, wft: WorkflowTaskInfo, history: list[HistoryEvent]
    ) -> PollWorkflowTaskQueueResponse:
        state = entry.state
        token = TaskToken(
            KIND_WORKFLOW_TASK,
            state.namespace_id,
            state.workflow_id,
            state.run_id,
            scheduled_event_id=wft.scheduled_event_id,
            attempt=wft.attempt,
            started_event_id=wft.started_event_id,
            request_id=wft.request_id,
        )
        response = poll_response(entry, token, started_event_id=wft.started_event_id)
        response.attempt = wft.attempt
        if len(history) > WORKFLOW_TASK_HISTORY_PAGE and not wft.transient and history[0].event_id == 1:
            # a long history travels in pages: the worker fetches the rest with this token
            response.history.events.extend(history[:WORKFLOW_TASK_HISTORY_PAGE])
            response.next_page_token = encode_page_token(WORKFLOW_TASK_HISTORY_PAGE + 1)
        else:
            response.history.events.extend(history)
        response.scheduled_time.FromNanoseconds(int(wft.scheduled_time * 1e9))
        response.started_time.FromNanoseconds(int(wft.started_time * 1e9))
        return response

    async def _workflow_task_entry(self, token_bytes: bytes) -> tuple[WorkflowEntry, TaskToken]:
        token = decode_token(token_bytes)
        if token.kind != KIND_WORKFLOW_TASK:
            raise InvalidArgument("task_token is not a workflow task token")
        entry = await self.load(ExecutionKey(token.namespace_id, token.workflow_id, token.run_id))
        wft = entry.state.workflow_task
        if (
            not entry.state.running
            or wft is None
            or wft.scheduled_event_id != token.scheduled_event_id
            or wft.started_event_id != token.started_event_id
            or wft.attempt != token.attempt
            or not wft.started_event_id
            or (token.request_id and token.request_id != wft.request_id)
        ):
            raise NotFound("Workflow task not found.")
        return entry, token

    async def complete_workflow_task(
        self, req: RespondWorkflowTaskCompletedRequest
    ) -> RespondWorkflowTaskCompletedResponse:
        token = decode_token(req.task_token)
        async with self.locks.hold(token.namespace_id, token.workflow_id):
            entry, _ = await self._workflow_task_entry(req.task_token)
            state = entry.state
            wft = state.workflow_task
            assert wft is not None
            closes = any(c.command_type in CLOSE_COMMANDS for c in req.commands)
            updates = self.update_messages(entry, req)
            if closes and (state.buffered_events or updates.undelivered()):
                await self._fail_workflow_task_locked(
                    entry,
                    Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
                    _failure("workflow has unhandled events: complete the workflow task again"),
                    req.identity,
                )
                return RespondWorkflowTaskCompletedResponse()
            m = Mutation(state, self.clock())
            m.sa_types = self.search_attribute_types(state.namespace_id)
            m.protocol = updates
            if wft.transient:
                self._write_transient_events(m, wft)
            completed = m.add_event(
                EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                scheduled_event_id=wft.scheduled_event_id,
                started_event_id=wft.started_event_id,
                identity=req.identity,
                binary_checksum=req.binary_checksum or None,
                worker_version=req.worker_version_stamp if req.HasField("worker_version_stamp") else None,
                sdk_metadata=req.sdk_metadata if req.HasField("sdk_metadata") else None,
                metering_metadata=req.metering_metadata if req.HasField("metering_metadata") else None,
            )
            state.workflow_task = None
            state.last_completed_wft_started_event_id = wft.started_event_id
            if req.HasField("sticky_attributes"):
                state.sticky_task_queue = req.sticky_attributes.worker_task_queue.name
                state.sticky_schedule_to_start_timeout = seconds_of(req.sticky_attributes.schedule_to_start_timeout)
            try:
                apply_commands(m, list(req.commands), completed.event_id)
                updates.finish(m)
            except CommandError as exc:
                entry.rollback()
                if wft.attempt > 1 and exc.cause != Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND:
                    # as Temporal: a task that keeps failing is dropped and retried once it times out
                    raise InvalidArgument(str(exc)) from None
                await self._fail_workflow_task_locked(entry, exc.cause, _failure(str(exc)), req.identity)
                return RespondWorkflowTaskCompletedResponse()
            except BaseException:
                entry.rollback()  # a malformed request changes nothing: the task stays the worker's
                raise
            if state.running and (
                m.flush_buffered_events() or req.force_create_new_workflow_task or updates.undelivered()
            ):
                m.needs_workflow_task = True
            eager = self._start_eager_activities(m, req) if state.running else []
            await self.commit(entry, m)
            updates.settle()
            self.answer_queries(entry, dict(req.query_results))
            self.dispatch_waiting_queries(entry)
            response = RespondWorkflowTaskCompletedResponse()
            for info, scheduled in eager:
                response.activity_tasks.append(activity_task(state.namespace, entry, info, scheduled))
            return response

    def _start_eager_activities(
        self, m: Mutation, req: RespondWorkflowTaskCompletedRequest
    ) -> list[tuple[ActivityInfo, ActivityTaskScheduledEventAttributes]]:
        """Activities the worker asked to run itself (`request_eager_execution`) on the workflow's
        own task queue start now, in this transition, and travel back in the answer."""
        wanted = {
            c.schedule_activity_task_command_attributes.activity_id
            for c in req.commands
            if c.command_type == CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK
            and c.schedule_activity_task_command_attributes.request_eager_execution
        }
        if not wanted:
            return []
        eager: list[tuple[ActivityInfo, ActivityTaskScheduledEventAttributes]] = []
        for event in m.events:
            if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED or len(eager) >= MAX_EAGER_ACTIVITIES:
                continue
            scheduled = event.activity_task_scheduled_event_attributes
            info = m.state.activities.get(event.event_id)
            if info is None or scheduled.activity_id not in wanted or info.task_queue != m.state.task_queue:
                continue
            mark_started(m, info, req.identity)
            m.effects.dispatch_activities.remove((event.event_id, 1))
            eager.append((info, scheduled))
        return eager

    @staticmethod
    def _write_transient_events(m: Mutation, wft: WorkflowTaskInfo) -> None:
        """A transient attempt completed: its Scheduled and Started events enter history now,
        with the ids the worker saw (nothing was appended meanwhile: new events are buffered)."""
        scheduled = m.add_scheduled_event(wft.attempt)
        scheduled.event_time.FromNanoseconds(int(wft.scheduled_time * 1e9))
        started = m.add_event(
            EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            scheduled_event_id=scheduled.event_id,
            identity=wft.identity,
            request_id=wft.request_id,
        )
        started.event_time.FromNanoseconds(int(wft.started_time * 1e9))
        if (scheduled.event_id, started.event_id) != (wft.scheduled_event_id, wft.started_event_id):
            raise RuntimeError("transient workflow task ids moved")  # a bug: fails the RPC as INTERNAL
        wft.transient = False

    async def fail_workflow_task(self, req: RespondWorkflowTaskFailedRequest) -> None:
        token = decode_token(req.task_token)
        async with self.locks.hold(token.namespace_id, token.workflow_id):
            entry, _ = await self._workflow_task_entry(req.task_token)
            failure = req.failure if req.HasField("failure") else _failure("workflow task failed")
            await self._fail_workflow_task_locked(entry, req.cause, failure, req.identity)

    async def _fail_workflow_task_locked(
        self, entry: WorkflowEntry, cause: int, failure: Failure, identity: str
    ) -> None:
        state = entry.state
        wft = state.workflow_task
        assert wft is not None
        m = Mutation(state, self.clock())
        if not wft.transient:  # a failing retry leaves no trace
            m.add_event(
                EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
                scheduled_event_id=wft.scheduled_event_id,
                started_event_id=wft.started_event_id,
                cause=cause,
                failure=failure,
                identity=identity,
            )
        await self._retry_workflow_task(entry, m, wft.attempt)

    async def _retry_workflow_task(self, entry: WorkflowEntry, m: Mutation, failed_attempt: int) -> None:
        """Schedule the next attempt. A task that failed on a sticky queue is first retried on
        the normal queue as the same attempt; new events make the retry a normal task again."""
        state = entry.state
        state.workflow_task = None
        attempt = failed_attempt if state.sticky_task_queue else failed_attempt + 1
        state.sticky_task_queue = ""  # the next attempt goes to the normal queue with full history
        if m.flush_buffered_events():
            attempt = 1
        m.schedule_workflow_task(attempt=attempt)
        await self.commit(entry, m)
        self.dispatch_waiting_queries(entry)

    async def fire_sticky_timeout(self, entry: WorkflowEntry, scheduled_id: int) -> None:
        """The sticky worker did not take the task in time: it goes to the normal queue."""
        wft = entry.state.workflow_task
        if wft is None or wft.scheduled_event_id != scheduled_id or wft.started_event_id or not wft.sticky:
            return
        await self._move_off_sticky(entry)

    async def _move_off_sticky(self, entry: WorkflowEntry) -> None:
        state = entry.state
        wft = state.workflow_task
        assert wft is not None
        m = Mutation(state, self.clock())
        m.add_event(
            EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
            scheduled_event_id=wft.scheduled_event_id,
            timeout_type=TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
        )
        state.workflow_task = None
        state.sticky_task_queue = ""
        m.schedule_workflow_task(attempt=wft.attempt)
        await self.commit(entry, m)

    async def reset_sticky(self, key: ExecutionKey) -> None:
        """Forget the run's sticky worker; a task waiting for it goes to the normal queue."""
        async with self.locks.hold(key.namespace_id, key.workflow_id):
            entry = await self.load(key)
            state = self.require_running(entry)
            wft = state.workflow_task
            if wft is not None and wft.sticky and not wft.started_event_id:
                await self._move_off_sticky(entry)
            elif state.sticky_task_queue:
                m = Mutation(state, self.clock())
                state.sticky_task_queue = ""
                await self.commit(entry, m)

    async def shutdown_sticky_queue(self, namespace_id: str, queue: str) -> None:
        """A worker shut down: runs whose next task waits on its sticky queue move on at once."""
        for task in self.matching.mark_dead(QueueKey(namespace_id, queue, KIND_WORKFLOW)):
            if not task.query_id:
                with contextlib.suppress(NotFound, WorkflowNotRunning):
                    await self.reset_sticky(task.key)

    async def fire_workflow_task_timeout(self, entry: WorkflowEntry, scheduled_id: int, started_id: int) -> None:
        wft = entry.state.workflow_task
        if wft is None or wft.scheduled_event_id != scheduled_id or wft.started_event_id != started_id:
            return
        m = Mutation(entry.state, self.clock())
        if not wft.transient:
            m.add_event(
                EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
                scheduled_event_id=scheduled_id,
                started_event_id=started_id,
                timeout_type=TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
            )
        await self._retry_workflow_task(entry, m, wft.attempt)

    # --- messages from clients ------------------------------------------------------------

    async def signal(self, key: ExecutionKey, signal: StartSignal) -> None:
        async with self.locks.hold(key.namespace_id, key.workflow_id):
            await self._signal_locked(key, signal)

    async def _signal_locked(self, key: ExecutionKey, signal: StartSignal) -> None:
        entry = await self.load(key)
        state = self.require_running(entry)
        if signal.request_id and signal.request_id in state.signal_request_ids:
            return  # a retried signal: delivered once
        m = Mutation(state, self.clock())
        remember_signal(state, signal)
        m.add_or_buffer(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, **signal.event_fields())
        await self.commit(entry, m)

    async def request_cancel(self, key: ExecutionKey, *, identity: str, reason: str) -> None:
        async with self.locks.hold(key.namespace_id, key.workflow_id):
            entry = await self.load(key)
            state = self.require_running(entry)
            if state.cancel_requested:
                return
            m = Mutation(state, self.clock())
            state.cancel_requested = True
            m.add_or_buffer(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED, cause=reason, identity=identity)
            await self.commit(entry, m)

    async def terminate(self, key: ExecutionKey, *, reason: str, details: object, identity: str) -> None:
        async with self.locks.hold(key.namespace_id, key.workflow_id):
            entry = await self.load(key)
            self.require_running(entry)
            await self._terminate_locked(entry, reason, details, identity)

    async def _terminate_locked(self, entry: WorkflowEntry, reason: str, details: object, identity: str) -> None:
        m = self.terminate_mutation(entry, reason, details, identity)
        await self.commit(entry, m)
        self.dispatch_waiting_queries(entry)

    def terminate_mutation(self, entry: WorkflowEntry, reason: str, details: object, identity: str) -> Mutation:
        """The run's termination, not yet committed (a reset commits it with the new run)."""
        state = entry.state
        m = Mutation(state, self.clock())
        wft = state.workflow_task
        if wft is not None and wft.started_event_id and not wft.transient:
            m.add_event(
                EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
                scheduled_event_id=wft.scheduled_event_id,
                started_event_id=wft.started_event_id,
                cause=Cause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND,
                failure=_failure("workflow was terminated"),
            )
        state.workflow_task = None
        m.flush_buffered_events()
        event = m.add_event(
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, reason=reason, details=details, identity=identity
        )
        m.close_run(STATUS_TERMINATED, event.event_id)
        return m


def _failure(message: str) -> Failure:
    return Failure(message=message, source="Sundial")
