"""The events a parent writes about its children: started, start failed, and how each closed.

Pure functions on a parent's state (no I/O): `child_ops.py` drives them. A child's Started
event may be buffered while the parent's workflow task runs; the parent's state then learns the
event's id only when the buffer is flushed (`fix_buffered_child_event`), as do the child's
result events buffered after it.
"""

from __future__ import annotations

from typing import Any

from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from engine.history.events import attributes_of
from engine.history.state import ChildInfo, MutableState

STARTED = EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED

# a child's close event → the event its parent records
CLOSE_TO_PARENT_EVENT: dict[int, int] = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
}
CLOSED = frozenset(CLOSE_TO_PARENT_EVENT.values())
CHILD_EVENTS = frozenset({STARTED, *CLOSED})


def started_fields(info: ChildInfo, run_id: str, header: Any = None) -> dict[str, Any]:
    """ChildWorkflowExecutionStarted's attributes."""
    return {
        "initiated_event_id": info.initiated_event_id,
        "namespace": info.namespace,
        "namespace_id": info.namespace_id,
        "workflow_execution": WorkflowExecution(workflow_id=info.workflow_id, run_id=run_id),
        "workflow_type": _workflow_type(info),
        "header": header,
    }


def start_failed_fields(info: ChildInfo, cause: int) -> dict[str, Any]:
    """StartChildWorkflowExecutionFailed's attributes."""
    return {
        "initiated_event_id": info.initiated_event_id,
        "namespace": info.namespace,
        "namespace_id": info.namespace_id,
        "workflow_id": info.workflow_id,
        "workflow_type": _workflow_type(info),
        "control": info.control,
        "cause": cause,
        "workflow_task_completed_event_id": info.completed_event_id,
    }


def closed_fields(info: ChildInfo, execution: WorkflowExecution, close_event: HistoryEvent) -> dict[str, Any]:
    """The attributes of the event recording the child's close (`close_event`, from its run)."""
    fields: dict[str, Any] = {
        "initiated_event_id": info.initiated_event_id,
        "started_event_id": info.started_event_id,
        "namespace": info.namespace,
        "namespace_id": info.namespace_id,
        "workflow_execution": execution,
        "workflow_type": _workflow_type(info),
    }
    attrs = attributes_of(close_event)
    kind = close_event.event_type
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED and attrs.HasField("result"):
        fields["result"] = attrs.result
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        fields["failure"] = attrs.failure
        fields["retry_state"] = attrs.retry_state
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED and attrs.HasField("details"):
        fields["details"] = attrs.details
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
        fields["retry_state"] = attrs.retry_state
    return fields


def fix_buffered_child_event(state: MutableState, event: HistoryEvent, started_ids: dict[int, int]) -> None:
    """A buffered child event got its id: a Started event's id goes to the pending child (and to
    the result events buffered after it)."""
    attrs = attributes_of(event)
    if event.event_type == STARTED:
        started_ids[attrs.initiated_event_id] = event.event_id
        info = state.children.get(attrs.initiated_event_id)
        if info is not None:
            info.started_event_id = event.event_id
    elif attrs.initiated_event_id in started_ids:
        attrs.started_event_id = started_ids[attrs.initiated_event_id]


def _workflow_type(info: ChildInfo) -> WorkflowType:
    return WorkflowType(name=info.workflow_type)
