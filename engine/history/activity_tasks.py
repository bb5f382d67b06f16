"""Handing an activity attempt to a worker: mark it started and build the task the worker runs.

Shared by the activity poll and by eager dispatch (the activity returned inside the
RespondWorkflowTaskCompleted answer, which saves the worker a poll round trip).
"""

from __future__ import annotations

import uuid

from temporalio.api.common.v1 import Payloads
from temporalio.api.history.v1 import ActivityTaskScheduledEventAttributes
from temporalio.api.workflowservice.v1 import PollActivityTaskQueueResponse

from engine.history.cache import WorkflowEntry
from engine.history.events import duration
from engine.history.mutation import Mutation
from engine.history.service import execution_of
from engine.history.state import ActivityInfo
from engine.history.tokens import KIND_ACTIVITY_TASK, TaskToken, encode_token
from engine.persistence.records import ExecutionKey


def mark_started(m: Mutation, info: ActivityInfo, identity: str) -> None:
    info.started = True
    info.started_time = m.now
    info.started_identity = identity
    info.request_id = str(uuid.uuid4())
    if info.start_to_close_timeout:
        m.arm_timer(
            m.now + info.start_to_close_timeout,
            "activity_timeout",
            info.scheduled_event_id,
            info.attempt,
            "start_to_close",
        )
    if info.heartbeat_timeout:
        m.arm_timer(
            m.now + info.heartbeat_timeout, "activity_timeout", info.scheduled_event_id, info.attempt, "heartbeat"
        )


def activity_token(key: ExecutionKey, info: ActivityInfo) -> bytes:
    """The task token of the activity's current attempt."""
    token = TaskToken(
        KIND_ACTIVITY_TASK,
        key.namespace_id,
        key.workflow_id,
        key.run_id,
        scheduled_event_id=info.scheduled_event_id,
        attempt=info.attempt,
        activity_id=info.activity_id,
    )
    return encode_token(token)


def activity_task(
    namespace: str, entry: WorkflowEntry, info: ActivityInfo, scheduled: ActivityTaskScheduledEventAttributes
) -> PollActivityTaskQueueResponse:
    state = entry.state
    response = PollActivityTaskQueueResponse(
        task_token=activity_token(entry.key, info),
        workflow_namespace=namespace,
        workflow_execution=execution_of(entry.key),
        activity_id=info.activity_id,
        attempt=info.attempt,
    )
    response.workflow_type.name = state.workflow_type
    response.activity_type.CopyFrom(scheduled.activity_type)
    for name in ("header", "input", "retry_policy", "priority"):
        if scheduled.HasField(name):
            getattr(response, name).CopyFrom(getattr(scheduled, name))
    if info.heartbeat_details:
        response.heartbeat_details.CopyFrom(Payloads.FromString(info.heartbeat_details))
    response.scheduled_time.FromNanoseconds(int(info.scheduled_time * 1e9))
    response.current_attempt_scheduled_time.FromNanoseconds(int(info.attempt_scheduled_time * 1e9))
    response.started_time.FromNanoseconds(int(info.started_time * 1e9))
    # always set (even when zero): the TypeScript SDK rejects unset timeouts
    response.schedule_to_close_timeout.CopyFrom(duration(info.schedule_to_close_timeout))
    response.start_to_close_timeout.CopyFrom(duration(info.start_to_close_timeout))
    response.heartbeat_timeout.CopyFrom(duration(info.heartbeat_timeout))
    return response
