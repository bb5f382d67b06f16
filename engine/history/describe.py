"""DescribeWorkflowExecution: a run's summary, pending activities and pending workflow task."""

from __future__ import annotations

from temporalio.api.common.v1 import Memo, Payloads, RetryPolicy, SearchAttributes
from temporalio.api.enums.v1 import PendingActivityState, PendingWorkflowTaskState, TaskQueueKind
from temporalio.api.failure.v1 import Failure
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionResponse

from engine.history.cache import WorkflowEntry
from engine.history.events import duration
from engine.history.service import execution_of


def describe_run(entry: WorkflowEntry, history_length: int) -> DescribeWorkflowExecutionResponse:
    state = entry.state
    response = DescribeWorkflowExecutionResponse()
    config = response.execution_config
    config.task_queue.name = state.task_queue
    config.task_queue.kind = TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    config.workflow_execution_timeout.CopyFrom(duration(state.execution_timeout))
    config.workflow_run_timeout.CopyFrom(duration(state.run_timeout))
    config.default_workflow_task_timeout.CopyFrom(duration(state.workflow_task_timeout))
    if state.user_metadata:
        config.user_metadata.MergeFromString(state.user_metadata)

    info = response.workflow_execution_info
    info.execution.CopyFrom(execution_of(entry.key))
    info.type.name = state.workflow_type
    info.start_time.FromNanoseconds(int(state.start_time * 1e9))
    info.execution_time.FromNanoseconds(int((state.first_workflow_task_time or state.start_time) * 1e9))
    info.status = state.status  # type: ignore[assignment]
    info.history_length = history_length
    info.task_queue = state.task_queue
    info.first_run_id = state.first_execution_run_id
    info.root_execution.CopyFrom(info.execution)
    if state.root_workflow_id:  # a child workflow's run: its family's root, and its parent
        info.root_execution.workflow_id, info.root_execution.run_id = state.root_workflow_id, state.root_run_id
    if state.parent is not None:
        info.parent_namespace_id = state.parent.namespace_id
        info.parent_execution.workflow_id = state.parent.workflow_id
        info.parent_execution.run_id = state.parent.run_id
    info.state_transition_count = state.state_transition_count
    info.history_size_bytes = state.history_size_bytes
    if state.reset_run_id:  # the run a reset replaced this one with
        response.workflow_extended_info.reset_run_id = state.reset_run_id
    if state.close_time:
        info.close_time.FromNanoseconds(int(state.close_time * 1e9))
        info.execution_duration.CopyFrom(
            duration(state.close_time - (state.first_workflow_task_time or state.start_time))
        )
    if state.memo:
        info.memo.CopyFrom(Memo.FromString(state.memo))
    if state.search_attributes:
        info.search_attributes.CopyFrom(SearchAttributes.FromString(state.search_attributes))

    for scheduled_id in sorted(state.activities):
        activity = state.activities[scheduled_id]
        pending = response.pending_activities.add()
        pending.activity_id = activity.activity_id
        pending.activity_type.name = activity.activity_type
        if activity.cancel_requested:
            pending.state = PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
        elif activity.started:
            pending.state = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        else:
            pending.state = PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
        if activity.heartbeat_details:
            pending.heartbeat_details.CopyFrom(Payloads.FromString(activity.heartbeat_details))
        if activity.last_heartbeat_time:
            pending.last_heartbeat_time.FromNanoseconds(int(activity.last_heartbeat_time * 1e9))
        if activity.started_time:
            pending.last_started_time.FromNanoseconds(int(activity.started_time * 1e9))
        pending.attempt = activity.attempt
        pending.maximum_attempts = RetryPolicy.FromString(activity.retry_policy).maximum_attempts
        pending.scheduled_time.FromNanoseconds(int(activity.attempt_scheduled_time * 1e9))
        if activity.schedule_to_close_timeout:
            expiry = activity.scheduled_time + activity.schedule_to_close_timeout
            pending.expiration_time.FromNanoseconds(int(expiry * 1e9))
        if activity.last_failure:
            pending.last_failure.CopyFrom(Failure.FromString(activity.last_failure))
        pending.last_worker_identity = activity.started_identity or activity.last_worker_identity

    for initiated_id in sorted(state.children):
        child = state.children[initiated_id]
        pending_child = response.pending_children.add()
        pending_child.workflow_id = child.workflow_id
        pending_child.run_id = child.run_id
        pending_child.workflow_type_name = child.workflow_type
        pending_child.initiated_id = initiated_id
        pending_child.parent_close_policy = child.parent_close_policy  # type: ignore[assignment]

    wft = state.workflow_task
    if wft is not None and state.running:
        task = response.pending_workflow_task
        task.state = (
            PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED
            if wft.started_event_id
            else PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED
        )
        task.scheduled_time.FromNanoseconds(int(wft.scheduled_time * 1e9))
        task.original_scheduled_time.FromNanoseconds(int(wft.scheduled_time * 1e9))
        if wft.started_time:
            task.started_time.FromNanoseconds(int(wft.started_time * 1e9))
        task.attempt = wft.attempt
    return response
