"""A run's visibility row (what List/Count filters see), built from its mutable state."""

from __future__ import annotations

from engine.history.state import MutableState
from engine.persistence.records import AttributeRow, VisibilityRow
from engine.visibility.index import nanos


def visibility_row(state: MutableState, attributes: tuple[AttributeRow, ...] | None) -> VisibilityRow:
    """The row as of now. History length and size are those of a closed run's whole history;
    while a run is open the row is rewritten only when its listing changes (start, upsert,
    close), as Temporal's visibility is."""
    execution_time = state.first_workflow_task_time or state.start_time
    close_time = nanos(state.close_time) if not state.running else None
    return VisibilityRow(
        workflow_type=state.workflow_type,
        status=state.status,
        start_time=nanos(state.start_time),
        execution_time=nanos(execution_time),
        close_time=close_time,
        execution_duration=None if close_time is None else max(0, close_time - nanos(execution_time)),
        task_queue=state.task_queue,
        history_length=state.next_event_id - 1,
        history_size_bytes=state.history_size_bytes,
        state_transition_count=state.state_transition_count,
        parent_workflow_id=None,
        parent_run_id=None,
        root_workflow_id=state.workflow_id,
        root_run_id=state.run_id,
        memo=state.memo,
        search_attributes=state.search_attributes,
        attributes=attributes,
    )
