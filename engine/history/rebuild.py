"""A run's mutable state rebuilt from a prefix of its history (for a reset).

Temporal forks the history and replays it into fresh mutable state; this does the same for the
events the engine writes. What the state keeps that history does not (signal request ids, an
activity's attempts and heartbeats, the sticky queue) starts afresh, as in Temporal. Updates
accepted, completed or durably admitted in the prefix are state again (a repeated update id gets
its first outcome). A prefix holding an event type the engine does not rebuild yet (child
workflows, external signals and cancels, Nexus) is refused with `InvalidArgument` naming it.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.api.common.v1 import Memo, SearchAttributes
from temporalio.api.enums.v1 import EventType, TaskQueueKind
from temporalio.api.history.v1 import HistoryEvent

from engine.history.errors import InvalidArgument
from engine.history.events import seconds_of
from engine.history.state import ActivityInfo, MutableState, TimerInfo, UpdateInfo, WorkflowTaskInfo
from engine.visibility.aliases import CustomAttributes
from engine.visibility.index import merge

E = EventType

_ACTIVITY_CLOSED = {
    E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    E.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    E.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}
# events that leave nothing pending behind them
_NOTHING_PENDING = {E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, E.EVENT_TYPE_MARKER_RECORDED}


def _ts(event: HistoryEvent) -> float:
    return event.event_time.ToNanoseconds() / 1e9


def rebuild_state(
    prefix: Sequence[HistoryEvent],
    *,
    namespace_id: str,
    namespace: str,
    run_id: str,
    custom: CustomAttributes,
) -> MutableState:
    """The state of run `run_id` whose history is `prefix` (events 1..n, in order)."""
    if not prefix or prefix[0].event_type != E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        raise InvalidArgument("the history does not begin with WorkflowExecutionStarted")
    first = prefix[0]
    started = first.workflow_execution_started_event_attributes
    start_time = _ts(first)
    backoff = seconds_of(started.first_workflow_task_backoff)
    state = MutableState(
        namespace_id=namespace_id,
        namespace=namespace,
        workflow_id=started.workflow_id,
        run_id=run_id,
        workflow_type=started.workflow_type.name,
        task_queue=started.task_queue.name,
        start_time=start_time,
        first_execution_run_id=started.first_execution_run_id or started.original_execution_run_id,
        workflow_task_timeout=seconds_of(started.workflow_task_timeout) or 10.0,
        run_timeout=seconds_of(started.workflow_run_timeout),
        execution_timeout=seconds_of(started.workflow_execution_timeout),
        first_workflow_task_time=start_time + backoff if backoff else 0.0,
        next_event_id=len(prefix) + 1,
        memo=started.memo.SerializeToString() if started.HasField("memo") else b"",
        user_metadata=first.user_metadata.SerializeToString() if first.HasField("user_metadata") else b"",
    )
    if started.HasField("search_attributes"):
        _merge_attributes(state, started.search_attributes, custom)
    for expected_id, event in enumerate(prefix, start=1):
        if event.event_id != expected_id:
            raise InvalidArgument(f"the history has event {event.event_id} where event {expected_id} belongs")
        if expected_id > 1:
            _apply(state, event, custom)
    return state


def _apply(state: MutableState, event: HistoryEvent, custom: CustomAttributes) -> None:
    kind = event.event_type
    if kind in _NOTHING_PENDING:
        return
    handler = _HANDLERS.get(kind)
    if handler is None:
        name = E.Name(kind) if kind in E.values() else str(kind)
        raise InvalidArgument(
            f"cannot reset: event {event.event_id} before the reset point is a {name} event, "
            "which this engine cannot rebuild yet"
        )
    if kind == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        _merge_attributes(state, event.upsert_workflow_search_attributes_event_attributes.search_attributes, custom)
        return
    handler(state, event)


def _merge_attributes(state: MutableState, attributes: SearchAttributes, custom: CustomAttributes) -> None:
    """As a start or upsert stores them: by field (the event keeps the names the run used)."""
    merged = merge(state.search_attributes, custom.to_fields(attributes))
    state.search_attributes = merged.SerializeToString() if merged.indexed_fields else b""


def _wft_scheduled(state: MutableState, event: HistoryEvent) -> None:
    attrs = event.workflow_task_scheduled_event_attributes
    state.workflow_task = WorkflowTaskInfo(
        scheduled_event_id=event.event_id,
        attempt=attrs.attempt or 1,
        task_queue=attrs.task_queue.name or state.task_queue,
        sticky=attrs.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY,
        scheduled_time=_ts(event),
        start_to_close_timeout=seconds_of(attrs.start_to_close_timeout) or state.workflow_task_timeout,
    )


def _wft_started(state: MutableState, event: HistoryEvent) -> None:
    attrs = event.workflow_task_started_event_attributes
    wft = state.workflow_task
    if wft is None or wft.scheduled_event_id != attrs.scheduled_event_id:
        raise InvalidArgument(f"event {event.event_id} starts a workflow task that is not scheduled")
    wft.started_event_id = event.event_id
    wft.started_time = _ts(event)
    wft.request_id = attrs.request_id
    wft.identity = attrs.identity


def _wft_completed(state: MutableState, event: HistoryEvent) -> None:
    state.last_completed_wft_started_event_id = event.workflow_task_completed_event_attributes.started_event_id
    state.workflow_task = None


def _wft_closed(state: MutableState, event: HistoryEvent) -> None:
    state.workflow_task = None


def _activity_scheduled(state: MutableState, event: HistoryEvent) -> None:
    attrs = event.activity_task_scheduled_event_attributes
    when = _ts(event)
    state.activities[event.event_id] = ActivityInfo(
        scheduled_event_id=event.event_id,
        activity_id=attrs.activity_id,
        activity_type=attrs.activity_type.name,
        task_queue=attrs.task_queue.name or state.task_queue,
        scheduled_time=when,
        attempt_scheduled_time=when,
        schedule_to_close_timeout=seconds_of(attrs.schedule_to_close_timeout),
        schedule_to_start_timeout=seconds_of(attrs.schedule_to_start_timeout),
        start_to_close_timeout=seconds_of(attrs.start_to_close_timeout),
        heartbeat_timeout=seconds_of(attrs.heartbeat_timeout),
        retry_policy=attrs.retry_policy.SerializeToString(),
    )


def _activity_started(state: MutableState, event: HistoryEvent) -> None:
    attrs = event.activity_task_started_event_attributes
    info = state.activities.get(attrs.scheduled_event_id)
    if info is not None:
        info.started = True
        info.started_time = _ts(event)
        info.started_identity = attrs.identity
        info.attempt = attrs.attempt or 1
        info.request_id = attrs.request_id


def _activity_closed(state: MutableState, event: HistoryEvent) -> None:
    attrs = getattr(event, _ACTIVITY_CLOSED[event.event_type])
    state.activities.pop(attrs.scheduled_event_id, None)


def _activity_cancel_requested(state: MutableState, event: HistoryEvent) -> None:
    info = state.activities.get(event.activity_task_cancel_requested_event_attributes.scheduled_event_id)
    if info is not None:
        info.cancel_requested = True
        info.cancel_requested_event_id = event.event_id


def _timer_started(state: MutableState, event: HistoryEvent) -> None:
    attrs = event.timer_started_event_attributes
    state.timers[attrs.timer_id] = TimerInfo(
        timer_id=attrs.timer_id,
        started_event_id=event.event_id,
        expiry_time=_ts(event) + seconds_of(attrs.start_to_fire_timeout),
    )


def _timer_closed(state: MutableState, event: HistoryEvent) -> None:
    attrs = event.timer_fired_event_attributes if event.HasField("timer_fired_event_attributes") else None
    timer_id = attrs.timer_id if attrs is not None else event.timer_canceled_event_attributes.timer_id
    state.timers.pop(timer_id, None)


def _cancel_requested(state: MutableState, event: HistoryEvent) -> None:
    state.cancel_requested = True


def _properties_modified(state: MutableState, event: HistoryEvent) -> None:
    memo = Memo.FromString(state.memo) if state.memo else Memo()
    for key, payload in event.workflow_properties_modified_event_attributes.upserted_memo.fields.items():
        memo.fields[key].CopyFrom(payload)
    state.memo = memo.SerializeToString()


def _update_admitted(state: MutableState, event: HistoryEvent) -> None:
    request = event.workflow_execution_update_admitted_event_attributes.request
    state.admitted_updates[request.meta.update_id] = event.event_id


def _update_accepted(state: MutableState, event: HistoryEvent) -> None:
    update_id = event.workflow_execution_update_accepted_event_attributes.protocol_instance_id
    state.admitted_updates.pop(update_id, None)
    state.updates[update_id] = UpdateInfo(accepted_event_id=event.event_id)


def _update_completed(state: MutableState, event: HistoryEvent) -> None:
    accepted_id = event.workflow_execution_update_completed_event_attributes.accepted_event_id
    info = next((i for i in state.updates.values() if i.accepted_event_id == accepted_id), None)
    if info is None:
        raise InvalidArgument(f"event {event.event_id} completes an update that was not accepted")
    info.completed_event_id = event.event_id


def _ignored(state: MutableState, event: HistoryEvent) -> None:
    pass  # handled in `_apply` (search attributes need the namespace's aliases)


_HANDLERS = {
    E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: _wft_scheduled,
    E.EVENT_TYPE_WORKFLOW_TASK_STARTED: _wft_started,
    E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: _wft_completed,
    E.EVENT_TYPE_WORKFLOW_TASK_FAILED: _wft_closed,
    E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: _wft_closed,
    E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: _activity_scheduled,
    E.EVENT_TYPE_ACTIVITY_TASK_STARTED: _activity_started,
    E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: _activity_closed,
    E.EVENT_TYPE_ACTIVITY_TASK_FAILED: _activity_closed,
    E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: _activity_closed,
    E.EVENT_TYPE_ACTIVITY_TASK_CANCELED: _activity_closed,
    E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: _activity_cancel_requested,
    E.EVENT_TYPE_TIMER_STARTED: _timer_started,
    E.EVENT_TYPE_TIMER_FIRED: _timer_closed,
    E.EVENT_TYPE_TIMER_CANCELED: _timer_closed,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED: _cancel_requested,
    E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: _properties_modified,
    E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: _ignored,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED: _update_admitted,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: _update_accepted,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: _update_completed,
}
