"""Commands of a completed workflow task → history events and state (Temporal's rules).

Each handler validates its command; an invalid one raises `CommandError` with the
`WorkflowTaskFailedCause` Temporal uses, and the caller then fails the whole workflow task
instead of applying any of its commands.
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio.api.command.v1 import Command
from temporalio.api.enums.v1 import CommandType, EventType, TaskQueueKind, WorkflowTaskFailedCause
from temporalio.api.enums.v1 import WorkflowTaskFailedCause as Cause

from engine.history.chain_ops import after_completion, after_failure, close_with, continue_as_new
from engine.history.child_commands import request_cancel_external, signal_external, start_child
from engine.history.errors import CommandError, InvalidArgument
from engine.history.events import duration, seconds_of
from engine.history.mutation import Mutation
from engine.history.retry import normalized_activity_retry_policy
from engine.history.state import (
    STATUS_CANCELED,
    STATUS_COMPLETED,
    STATUS_FAILED,
    ActivityInfo,
    TimerInfo,
)
from engine.visibility.attributes import AttributeValueError
from engine.visibility.index import merge, validate

MAX_ID_LENGTH = 1000


CLOSE_COMMANDS = {
    CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
    CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
    CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
    CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
}


def apply_commands(m: Mutation, commands: list[Command], completed_event_id: int) -> None:
    """Apply every command or none. An unknown command type or a command after the one that
    closed the workflow is a malformed request (INVALID_ARGUMENT, as Temporal answers it)."""
    for index, command in enumerate(commands):
        if not m.state.running:
            closing = _command_name(commands[index - 1].command_type)
            raise InvalidArgument(
                f"invalid command sequence: command {index} ({_command_name(command.command_type)}) "
                f"follows {closing}, which must be the last command"
            )
        handler = _HANDLERS.get(command.command_type)
        if handler is None:
            cause = _UNSUPPORTED.get(command.command_type)
            if cause is None:
                raise InvalidArgument(f"unknown command type: {_command_name(command.command_type)}")
            raise CommandError(
                cause, f"command type {_command_name(command.command_type)} is not supported by this engine yet"
            )
        first_new = len(m.events)
        handler(m, command, completed_event_id)
        if command.HasField("user_metadata") and len(m.events) > first_new:
            # the command's summary and details travel on the event it produced (timer, activity)
            m.events[first_new].user_metadata.CopyFrom(command.user_metadata)


def _command_name(command_type: int) -> str:
    return CommandType.Name(command_type) if command_type in CommandType.values() else str(command_type)  # type: ignore[arg-type]


def _schedule_activity(m: Mutation, command: Command, completed_event_id: int) -> None:
    cause = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES
    attrs = command.schedule_activity_task_command_attributes
    state = m.state
    if not attrs.activity_id or len(attrs.activity_id) > MAX_ID_LENGTH:
        raise CommandError(cause, "ActivityId is not set or is too long on ScheduleActivityTaskCommand")
    if not attrs.activity_type.name:
        raise CommandError(cause, "ActivityType is not set on ScheduleActivityTaskCommand")
    if state.activity_by_id(attrs.activity_id) is not None:
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_SCHEDULE_ACTIVITY_DUPLICATE_ID,
            f"activity id {attrs.activity_id!r} is already in use by a pending activity",
        )
    timeouts = [
        seconds_of(t)
        for t in (
            attrs.schedule_to_close_timeout,
            attrs.schedule_to_start_timeout,
            attrs.start_to_close_timeout,
            attrs.heartbeat_timeout,
        )
    ]
    if any(t < 0 for t in timeouts):
        raise CommandError(cause, "a timeout on ScheduleActivityTaskCommand is negative")
    schedule_to_close, schedule_to_start, start_to_close, heartbeat = timeouts
    run_timeout = state.run_timeout
    if schedule_to_close > 0:
        if run_timeout > 0:
            schedule_to_close = min(schedule_to_close, run_timeout)
        schedule_to_start = min(schedule_to_start, schedule_to_close) if schedule_to_start > 0 else schedule_to_close
        start_to_close = min(start_to_close, schedule_to_close) if start_to_close > 0 else schedule_to_close
    elif start_to_close > 0:
        schedule_to_close = run_timeout
        if schedule_to_start <= 0:
            schedule_to_start = schedule_to_close
        elif schedule_to_close > 0:
            schedule_to_start = min(schedule_to_start, schedule_to_close)
    else:
        raise CommandError(
            cause, "A valid StartToClose or ScheduleToCloseTimeout is not set on ScheduleActivityTaskCommand."
        )
    if heartbeat > 0 and start_to_close > 0:
        heartbeat = min(heartbeat, start_to_close)
    try:
        policy = normalized_activity_retry_policy(attrs.retry_policy if attrs.HasField("retry_policy") else None)
    except InvalidArgument as exc:
        raise CommandError(cause, str(exc)) from None
    task_queue = attrs.task_queue.name or state.task_queue

    event = m.add_event(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    out = event.activity_task_scheduled_event_attributes
    out.activity_id = attrs.activity_id
    out.activity_type.CopyFrom(attrs.activity_type)
    out.task_queue.name = task_queue
    out.task_queue.kind = TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    if attrs.HasField("header"):
        out.header.CopyFrom(attrs.header)
    if attrs.HasField("input"):
        out.input.CopyFrom(attrs.input)
    out.schedule_to_close_timeout.CopyFrom(duration(schedule_to_close))
    out.schedule_to_start_timeout.CopyFrom(duration(schedule_to_start))
    out.start_to_close_timeout.CopyFrom(duration(start_to_close))
    out.heartbeat_timeout.CopyFrom(duration(heartbeat))
    out.workflow_task_completed_event_id = completed_event_id
    out.retry_policy.CopyFrom(policy)
    if attrs.HasField("priority"):
        out.priority.CopyFrom(attrs.priority)

    info = ActivityInfo(
        scheduled_event_id=event.event_id,
        activity_id=attrs.activity_id,
        activity_type=attrs.activity_type.name,
        task_queue=task_queue,
        scheduled_time=m.now,
        attempt_scheduled_time=m.now,
        schedule_to_close_timeout=schedule_to_close,
        schedule_to_start_timeout=schedule_to_start,
        start_to_close_timeout=start_to_close,
        heartbeat_timeout=heartbeat,
        retry_policy=policy.SerializeToString(),
    )
    state.activities[event.event_id] = info
    m.effects.dispatch_activities.append((event.event_id, 1))
    if schedule_to_close > 0:
        m.arm_timer(m.now + schedule_to_close, "activity_timeout", event.event_id, 0, "schedule_to_close")
    if schedule_to_start > 0:
        m.arm_timer(m.now + schedule_to_start, "activity_timeout", event.event_id, 1, "schedule_to_start")


def _request_cancel_activity(m: Mutation, command: Command, completed_event_id: int) -> None:
    scheduled_id = command.request_cancel_activity_task_command_attributes.scheduled_event_id
    info = m.state.activities.get(scheduled_id)
    if info is None:
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES,
            f"no pending activity was scheduled by event {scheduled_id}",
        )
    requested = m.add_event(
        EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
        scheduled_event_id=scheduled_id,
        workflow_task_completed_event_id=completed_event_id,
    )
    if not info.started:
        # never handed to a worker: cancelled at once
        m.add_event(
            EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
            scheduled_event_id=scheduled_id,
            latest_cancel_requested_event_id=requested.event_id,
        )
        del m.state.activities[scheduled_id]
        m.needs_workflow_task = True
        return
    info.cancel_requested = True
    info.cancel_requested_event_id = requested.event_id


def _start_timer(m: Mutation, command: Command, completed_event_id: int) -> None:
    attrs = command.start_timer_command_attributes
    cause = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES
    if not attrs.timer_id or len(attrs.timer_id) > MAX_ID_LENGTH:
        raise CommandError(cause, "TimerId is not set or is too long on StartTimerCommand")
    fire_after = seconds_of(attrs.start_to_fire_timeout)
    if fire_after < 0:  # zero is a timer that fires at once, as Temporal accepts it
        raise CommandError(cause, "A valid StartToFireTimeout is not set on StartTimerCommand.")
    if attrs.timer_id in m.state.timers:
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_START_TIMER_DUPLICATE_ID,
            f"timer id {attrs.timer_id!r} is already in use by a pending timer",
        )
    event = m.add_event(
        EventType.EVENT_TYPE_TIMER_STARTED,
        timer_id=attrs.timer_id,
        start_to_fire_timeout=attrs.start_to_fire_timeout,
        workflow_task_completed_event_id=completed_event_id,
    )
    expiry = m.now + fire_after
    m.state.timers[attrs.timer_id] = TimerInfo(
        timer_id=attrs.timer_id, started_event_id=event.event_id, expiry_time=expiry
    )
    m.arm_timer(expiry, "user_timer", attrs.timer_id, event.event_id)


def _cancel_timer(m: Mutation, command: Command, completed_event_id: int) -> None:
    timer_id = command.cancel_timer_command_attributes.timer_id
    info = m.state.timers.pop(timer_id, None)
    if info is None:
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES, f"no pending timer has id {timer_id!r}"
        )
    m.add_event(
        EventType.EVENT_TYPE_TIMER_CANCELED,
        timer_id=timer_id,
        started_event_id=info.started_event_id,
        workflow_task_completed_event_id=completed_event_id,
    )


def _complete(m: Mutation, command: Command, completed_event_id: int) -> None:
    attrs = command.complete_workflow_execution_command_attributes
    event = m.add_event(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        result=attrs.result if attrs.HasField("result") else None,
        workflow_task_completed_event_id=completed_event_id,
    )
    close_with(m, STATUS_COMPLETED, event, after_completion(m, attrs.result if attrs.HasField("result") else None))


def _fail(m: Mutation, command: Command, completed_event_id: int) -> None:
    attrs = command.fail_workflow_execution_command_attributes
    if not attrs.HasField("failure"):
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES,
            "Failure is not set on FailWorkflowExecutionCommand.",
        )
    retry_state, next_run = after_failure(m, attrs.failure)  # a retry, or the next cron run (chain_ops.py)
    event = m.add_event(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        failure=attrs.failure,
        workflow_task_completed_event_id=completed_event_id,
        retry_state=retry_state,
    )
    close_with(m, STATUS_FAILED, event, next_run)


def _continue_as_new(m: Mutation, command: Command, completed_event_id: int) -> None:
    continue_as_new(m, command.continue_as_new_workflow_execution_command_attributes, completed_event_id)


def _cancel_workflow(m: Mutation, command: Command, completed_event_id: int) -> None:
    attrs = command.cancel_workflow_execution_command_attributes
    event = m.add_event(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        details=attrs.details if attrs.HasField("details") else None,
        workflow_task_completed_event_id=completed_event_id,
    )
    m.close_run(STATUS_CANCELED, event.event_id)


def _record_marker(m: Mutation, command: Command, completed_event_id: int) -> None:
    attrs = command.record_marker_command_attributes
    if not attrs.marker_name:
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES,
            "MarkerName is not set on RecordMarkerCommand.",
        )
    event = m.add_event(EventType.EVENT_TYPE_MARKER_RECORDED)
    out = event.marker_recorded_event_attributes
    out.marker_name = attrs.marker_name
    for key, payloads in attrs.details.items():
        out.details[key].CopyFrom(payloads)
    if attrs.HasField("header"):
        out.header.CopyFrom(attrs.header)
    if attrs.HasField("failure"):
        out.failure.CopyFrom(attrs.failure)
    out.workflow_task_completed_event_id = completed_event_id


def _upsert_search_attributes(m: Mutation, command: Command, completed_event_id: int) -> None:
    attrs = command.upsert_workflow_search_attributes_command_attributes
    if not attrs.search_attributes.indexed_fields:
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, "SearchAttributes are not set on command."
        )
    try:
        validate(attrs.search_attributes, m.sa_types, m.state.namespace)
    except AttributeValueError as error:
        raise CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, str(error)) from None
    merged = merge(m.state.search_attributes, m.sa_types.to_fields(attrs.search_attributes))
    m.state.search_attributes = merged.SerializeToString() if merged.indexed_fields else b""
    m.attributes_changed = True
    m.add_event(
        EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        search_attributes=attrs.search_attributes,
        workflow_task_completed_event_id=completed_event_id,
    )


def _modify_properties(m: Mutation, command: Command, completed_event_id: int) -> None:
    from temporalio.api.common.v1 import Memo

    attrs = command.modify_workflow_properties_command_attributes
    current = Memo.FromString(m.state.memo) if m.state.memo else Memo()
    for key, payload in attrs.upserted_memo.fields.items():
        current.fields[key].CopyFrom(payload)
    m.state.memo = current.SerializeToString()
    m.visibility_changed = True
    m.add_event(
        EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
        upserted_memo=attrs.upserted_memo,
        workflow_task_completed_event_id=completed_event_id,
    )


def _protocol_message(m: Mutation, command: Command, completed_event_id: int) -> None:
    """An update's Acceptance or Response, named among the task's messages (update_messages.py)."""
    message_id = command.protocol_message_command_attributes.message_id
    if m.protocol is None:
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE,
            f"ProtocolMessageCommandAttributes.MessageId={message_id} is not found",
        )
    m.protocol.on_command(m, message_id)


_HANDLERS: dict[int, Callable[[Mutation, Command, int], None]] = {
    CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: start_child,
    CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION: signal_external,
    CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION: request_cancel_external,
    CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: _schedule_activity,
    CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: _request_cancel_activity,
    CommandType.COMMAND_TYPE_START_TIMER: _start_timer,
    CommandType.COMMAND_TYPE_CANCEL_TIMER: _cancel_timer,
    CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: _complete,
    CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: _fail,
    CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION: _continue_as_new,
    CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION: _cancel_workflow,
    CommandType.COMMAND_TYPE_RECORD_MARKER: _record_marker,
    CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: _upsert_search_attributes,
    CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES: _modify_properties,
    CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE: _protocol_message,
}

# Commands Temporal knows that this engine does not run yet: the task fails with the cause
# Temporal gives their bad attributes (never UNHANDLED_COMMAND, which is retried at once).
_UNSUPPORTED: dict[int, int] = {
    CommandType.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION: (
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_NEXUS_OPERATION_ATTRIBUTES
    ),
    CommandType.COMMAND_TYPE_REQUEST_CANCEL_NEXUS_OPERATION: (
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_NEXUS_OPERATION_ATTRIBUTES
    ),
}

__all__ = ["CLOSE_COMMANDS", "CommandError", "WorkflowTaskFailedCause", "apply_commands"]
