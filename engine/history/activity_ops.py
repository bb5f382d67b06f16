"""Activity tasks: dispatch to pollers, results, heartbeats, retries and the four timeouts.

An activity's attempts leave no trace in history: `ActivityTaskStarted` is written only with
the final result (completed, failed, timed out or cancelled), as Temporal's server does, and
the attempt number lives in mutable state and in the poll response.
"""

from __future__ import annotations

from typing import Any

from temporalio.api.common.v1 import Payloads, RetryPolicy, WorkflowExecution
from temporalio.api.enums.v1 import EventType, RetryState, TimeoutType
from temporalio.api.failure.v1 import Failure
from temporalio.api.workflowservice.v1 import PollActivityTaskQueueResponse

from engine.history.activity_tasks import activity_task, activity_token, mark_started
from engine.history.cache import WorkflowEntry
from engine.history.errors import InvalidArgument, NotFound
from engine.history.mutation import Mutation
from engine.history.retry import decide_retry
from engine.history.service import HistoryCore, NamespaceRef
from engine.history.state import ActivityInfo
from engine.history.tokens import KIND_ACTIVITY_TASK, TaskToken, decode_token
from engine.matching.task_queues import KIND_ACTIVITY, QueueKey, Task
from engine.persistence.records import ExecutionKey

_TIMEOUT_TYPES = {
    "schedule_to_close": (TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, "ScheduleToClose"),
    "schedule_to_start": (TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START, "ScheduleToStart"),
    "start_to_close": (TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE, "StartToClose"),
    "heartbeat": (TimeoutType.TIMEOUT_TYPE_HEARTBEAT, "Heartbeat"),
}


class ActivityOps(HistoryCore):
    async def poll_activity_task(
        self, ns: NamespaceRef, queue: str, *, identity: str, timeout: float
    ) -> PollActivityTaskQueueResponse | None:
        return await self.poll_task(
            QueueKey(ns.id, queue, KIND_ACTIVITY),
            identity=identity,
            timeout=timeout,
            record=lambda task: self._record_activity_started(ns, task, identity),
        )

    async def _record_activity_started(
        self, ns: NamespaceRef, task: Task, identity: str
    ) -> PollActivityTaskQueueResponse | None:
        key = task.key
        async with self.locks.hold(key.namespace_id, key.workflow_id):
            try:
                entry = await self.load(key)
            except NotFound:
                return None
            info = entry.state.activities.get(task.scheduled_event_id)
            if not entry.state.running or info is None or info.attempt != task.attempt or info.started:
                return None
            m = Mutation(entry.state, self.clock())
            mark_started(m, info, identity)
            history = await self.history_of(entry)
            scheduled = history[info.scheduled_event_id - 1].activity_task_scheduled_event_attributes
            await self.commit(entry, m)
            return activity_task(ns.name, entry, info, scheduled)

    # --- results --------------------------------------------------------------------------

    async def _started_activity(self, token: TaskToken) -> tuple[WorkflowEntry, ActivityInfo]:
        entry = await self.load(ExecutionKey(token.namespace_id, token.workflow_id, token.run_id))
        info = entry.state.activities.get(token.scheduled_event_id)
        if not entry.state.running or info is None or info.attempt != token.attempt or not info.started:
            raise NotFound("Activity task not found.")
        return entry, info

    async def resolve_activity_token(self, ns: NamespaceRef, workflow_id: str, run_id: str, activity_id: str) -> bytes:
        """The task token of a started activity named by ids (the *ById RPCs)."""
        key = await self.resolve(ns, WorkflowExecution(workflow_id=workflow_id, run_id=run_id))
        entry = await self.read(key)
        info = entry.state.activity_by_id(activity_id)
        if not entry.state.running or info is None:
            raise NotFound(f"activity {activity_id!r} not found")
        return activity_token(key, info)

    @staticmethod
    def _activity_token(data: bytes) -> TaskToken:
        token = decode_token(data)
        if token.kind != KIND_ACTIVITY_TASK:
            raise InvalidArgument("task_token is not an activity task token")
        return token

    async def complete_activity(self, token_bytes: bytes, *, result: Payloads | None, identity: str) -> None:
        await self._end_started_activity(
            token_bytes, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, identity, result=result
        )

    async def fail_activity(
        self, token_bytes: bytes, *, failure: Failure, identity: str, last_heartbeat_details: Payloads | None
    ) -> None:
        token = self._activity_token(token_bytes)
        async with self.locks.hold(token.namespace_id, token.workflow_id):
            entry, info = await self._started_activity(token)
            m = Mutation(entry.state, self.clock())
            if last_heartbeat_details is not None:
                info.heartbeat_details = last_heartbeat_details.SerializeToString()
            self._fail_attempt(m, info, failure, identity, timeout=False, cause_name=None)
            await self.commit(entry, m)

    async def cancel_activity(self, token_bytes: bytes, *, details: Payloads | None, identity: str) -> None:
        await self._end_started_activity(
            token_bytes, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, identity, details=details, cancelled=True
        )

    async def _end_started_activity(
        self, token_bytes: bytes, event_type: int, identity: str, *, cancelled: bool = False, **fields: Any
    ) -> None:
        """The worker reports the attempt's last word: write its Started event and the result
        event (both buffered while a workflow task runs) and forget the activity."""
        token = self._activity_token(token_bytes)
        async with self.locks.hold(token.namespace_id, token.workflow_id):
            entry, info = await self._started_activity(token)
            m = Mutation(entry.state, self.clock())
            started_id = self._write_started(m, info, identity)
            if cancelled:
                fields["latest_cancel_requested_event_id"] = info.cancel_requested_event_id
            m.add_or_buffer(
                event_type,
                scheduled_event_id=info.scheduled_event_id,
                started_event_id=started_id,
                identity=identity,
                **fields,
            )
            del entry.state.activities[info.scheduled_event_id]
            await self.commit(entry, m)

    async def heartbeat(self, token_bytes: bytes, *, details: Payloads | None) -> bool:
        """Record progress; returns whether the workflow asked to cancel the activity."""
        token = self._activity_token(token_bytes)
        async with self.locks.hold(token.namespace_id, token.workflow_id):
            entry, info = await self._started_activity(token)
            m = Mutation(entry.state, self.clock())
            if details is not None:
                info.heartbeat_details = details.SerializeToString()
            info.last_heartbeat_time = m.now
            if info.heartbeat_timeout:
                m.arm_timer(
                    m.now + info.heartbeat_timeout,
                    "activity_timeout",
                    info.scheduled_event_id,
                    info.attempt,
                    "heartbeat",
                )
            await self.commit(entry, m)
            return info.cancel_requested

    # --- attempts and timeouts ------------------------------------------------------------

    def _write_started(self, m: Mutation, info: ActivityInfo, identity: str) -> int:
        """Write the ActivityTaskStarted event of the final attempt; its id (0 while buffered)."""
        last_failure = Failure.FromString(info.last_failure) if info.last_failure else None
        event = m.add_or_buffer(
            EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
            scheduled_event_id=info.scheduled_event_id,
            identity=info.started_identity or identity,
            request_id=info.request_id,
            attempt=info.attempt,
            last_failure=last_failure,
        )
        return event.event_id if event is not None else 0

    def _fail_attempt(
        self, m: Mutation, info: ActivityInfo, failure: Failure, identity: str, *, timeout: bool, cause_name: str | None
    ) -> None:
        policy = RetryPolicy.FromString(info.retry_policy)
        expiration = info.scheduled_time + info.schedule_to_close_timeout if info.schedule_to_close_timeout else 0.0
        decision = decide_retry(
            policy, attempt=info.attempt, failure=failure, now=m.now, expiration=expiration, timeout=timeout
        )
        if cause_name == "schedule_to_start" or cause_name == "schedule_to_close":
            decision = type(decision)(False, state=RetryState.RETRY_STATE_TIMEOUT)
        if decision.retry:
            info.attempt += 1
            info.started = False
            info.started_time = 0.0
            info.last_failure = failure.SerializeToString()
            info.last_worker_identity = info.started_identity or identity
            info.started_identity = ""
            info.attempt_scheduled_time = m.now + decision.backoff
            m.arm_timer(info.attempt_scheduled_time, "activity_dispatch", info.scheduled_event_id, info.attempt)
            return
        started_id = self._write_started(m, info, identity) if info.started or not timeout else 0
        if timeout:
            m.add_or_buffer(
                EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
                failure=failure,
                scheduled_event_id=info.scheduled_event_id,
                started_event_id=started_id,
                retry_state=decision.state,
            )
        else:
            m.add_or_buffer(
                EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
                failure=failure,
                scheduled_event_id=info.scheduled_event_id,
                started_event_id=started_id,
                identity=identity,
                retry_state=decision.state,
            )
        del m.state.activities[info.scheduled_event_id]

    async def fire_activity_dispatch(self, entry: WorkflowEntry, scheduled_id: int, attempt: int) -> None:
        info = entry.state.activities.get(scheduled_id)
        if info is None or info.attempt != attempt or info.started:
            return
        self.matching.offer(
            QueueKey(entry.key.namespace_id, info.task_queue, KIND_ACTIVITY), Task(entry.key, scheduled_id, attempt)
        )
        if info.schedule_to_start_timeout:
            self.timers.schedule(
                self.clock() + info.schedule_to_start_timeout,
                (entry.key, "activity_timeout", scheduled_id, attempt, "schedule_to_start"),
            )

    async def fire_activity_timeout(self, entry: WorkflowEntry, scheduled_id: int, attempt: int, kind: str) -> None:
        info = entry.state.activities.get(scheduled_id)
        if info is None or (attempt and info.attempt != attempt):
            return
        now = self.clock()
        if kind == "schedule_to_start" and info.started:
            return
        if kind in ("start_to_close", "heartbeat") and not info.started:
            return
        if kind == "heartbeat":
            last = max(info.last_heartbeat_time, info.started_time)
            if now < last + info.heartbeat_timeout - 0.001:
                return  # a later heartbeat moved the deadline; its own timer is armed
        timeout_type, label = _TIMEOUT_TYPES[kind]
        failure = Failure(message=f"activity {label} timeout", source="Sundial")
        failure.timeout_failure_info.timeout_type = timeout_type
        if info.heartbeat_details:
            failure.timeout_failure_info.last_heartbeat_details.CopyFrom(Payloads.FromString(info.heartbeat_details))
        m = Mutation(entry.state, now)
        self._fail_attempt(m, info, failure, info.started_identity, timeout=True, cause_name=kind)
        await self.commit(entry, m)
