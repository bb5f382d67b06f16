"""Request validation shared by the RPCs: messages name the field, as Temporal's do."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest

from engine.frontend.errors import invalid
from engine.history.chain_ops import cron_spec
from engine.history.errors import InvalidArgument
from engine.history.retry import normalized_activity_retry_policy

MAX_ID_LENGTH = 1000
MAX_NAME_LENGTH = 1000


def require_execution(execution: WorkflowExecution) -> None:
    if not execution.workflow_id:
        raise invalid("workflow_id is required")
    if len(execution.workflow_id) > MAX_ID_LENGTH:
        raise invalid(f"workflow_id is longer than {MAX_ID_LENGTH} characters")


def require_task_queue(task_queue: TaskQueue) -> None:
    if not task_queue.name:
        raise invalid("task_queue.name is required")
    if len(task_queue.name) > MAX_NAME_LENGTH:
        raise invalid(f"task_queue.name is longer than {MAX_NAME_LENGTH} characters")


def _non_negative(name: str, seconds: int, nanos: int) -> None:
    if seconds < 0 or nanos < 0:
        raise invalid(f"{name} must not be negative")


def validate_start(req: StartWorkflowExecutionRequest) -> None:
    require_execution(WorkflowExecution(workflow_id=req.workflow_id))
    if not req.workflow_type.name:
        raise invalid("workflow_type.name is required")
    if len(req.workflow_type.name) > MAX_NAME_LENGTH:
        raise invalid(f"workflow_type.name is longer than {MAX_NAME_LENGTH} characters")
    require_task_queue(req.task_queue)
    for name in ("workflow_execution_timeout", "workflow_run_timeout", "workflow_task_timeout", "workflow_start_delay"):
        value = getattr(req, name)
        _non_negative(name, value.seconds, value.nanos)
    if len(req.request_id) > MAX_ID_LENGTH:
        raise invalid(f"request_id is longer than {MAX_ID_LENGTH} characters")
    validate_chain_options(req)


def validate_chain_options(req: StartWorkflowExecutionRequest) -> None:
    """The retry policy and cron schedule of a start (chain_ops.py), as Temporal checks them."""
    if req.HasField("retry_policy"):
        try:
            normalized_activity_retry_policy(req.retry_policy)
        except InvalidArgument as exc:
            raise invalid(str(exc)) from None
    if req.cron_schedule:
        if req.HasField("workflow_start_delay"):
            raise invalid("CronSchedule and WorkflowStartDelay may not be used together.")
        try:
            cron_spec(req.cron_schedule)
        except InvalidArgument as exc:
            raise invalid(str(exc)) from None
