"""The part of a PollWorkflowTaskQueue answer that workflow tasks and legacy query tasks share."""

from __future__ import annotations

from temporalio.api.enums.v1 import TaskQueueKind
from temporalio.api.workflowservice.v1 import PollWorkflowTaskQueueResponse

from engine.history.cache import WorkflowEntry
from engine.history.tokens import TaskToken, encode_token


def poll_response(entry: WorkflowEntry, token: TaskToken, *, started_event_id: int) -> PollWorkflowTaskQueueResponse:
    """Token, execution, type and queue of the run; the caller adds history and the task's own fields."""
    state = entry.state
    response = PollWorkflowTaskQueueResponse(
        task_token=encode_token(token),
        previous_started_event_id=state.last_completed_wft_started_event_id,
        started_event_id=started_event_id,
    )
    response.workflow_execution.workflow_id = entry.key.workflow_id
    response.workflow_execution.run_id = entry.key.run_id
    response.workflow_type.name = state.workflow_type
    response.workflow_execution_task_queue.name = state.task_queue
    response.workflow_execution_task_queue.kind = TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    return response
