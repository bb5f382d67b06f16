"""One state change of one run in the making: new events, and the work to do once it is durable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message
from temporalio.api.enums.v1 import EventType, TaskQueueKind
from temporalio.api.history.v1 import HistoryEvent

from engine.history.child_events import CHILD_EVENTS as _CHILD_EVENTS
from engine.history.child_events import fix_buffered_child_event
from engine.history.events import make_event
from engine.history.retry import workflow_task_timeout
from engine.history.state import MutableState, WorkflowTaskInfo
from engine.visibility.aliases import EMPTY, CustomAttributes

DEFAULT_STICKY_SCHEDULE_TO_START = 5.0

_ACTIVITY_RESULTS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}


@dataclass
class Effects:
    """What to do after the commit: hand tasks to pollers, arm timers, wake history readers."""

    dispatch_workflow_task: bool = False
    dispatch_activities: list[tuple[int, int]] = field(default_factory=list)  # (scheduled id, attempt)
    timers: list[tuple[float, tuple[Any, ...]]] = field(default_factory=list)  # (when, payload)
    # work on other runs (start a child, signal, …), recorded in the committed state: (kind, *args)
    # becomes `HistoryCore.drive_<kind>(key, *args)` in the background (see child_ops.py)
    cross_run: list[tuple[Any, ...]] = field(default_factory=list)


class Mutation:
    def __init__(self, state: MutableState, now: float) -> None:
        self.state = state
        self.now = now
        self.events: list[HistoryEvent] = []
        self.effects = Effects()
        # a command produced an event the workflow must see (e.g. an activity cancelled at once)
        self.needs_workflow_task = False
        self.was_running = state.running
        # the run's listing changed (memo, search attributes): rewrite its visibility row
        self.visibility_changed = False
        # its search attributes changed: re-index them (implies visibility_changed)
        self.attributes_changed = False
        # the namespace's custom search attributes, for commands that set them
        self.sa_types: CustomAttributes = EMPTY
        # the completing task's protocol messages (update_messages.UpdateMessages), for its commands
        self.protocol: Any = None
        # the run that continues this closing one (chain_ops.NextRun): `commit` creates it with the close
        self.successor: Any = None

    @property
    def workflow_task_started(self) -> bool:
        wft = self.state.workflow_task
        return wft is not None and wft.started_event_id > 0

    def add_event(self, event_type: int, attributes: Message | None = None, **fields: Any) -> HistoryEvent:
        event = make_event(event_type, self.state.next_event_id, self.now, attributes, **fields)
        self.state.next_event_id += 1
        self.events.append(event)
        return event

    def add_or_buffer(self, event_type: int, attributes: Message | None = None, **fields: Any) -> HistoryEvent | None:
        """An event from outside the workflow (signal, activity result, timer): it waits while a
        workflow task is started, so the worker's view of history stays consistent (None is
        returned then), and otherwise it is added and a workflow task is asked for."""
        if self.workflow_task_started:
            event = make_event(event_type, 0, self.now, attributes, **fields)
            self.state.buffered_events.append(event.SerializeToString())
            return None
        self.needs_workflow_task = True
        return self.add_event(event_type, attributes, **fields)

    def finish(self) -> None:
        """Schedule the workflow task the new events asked for, after those events."""
        if self.needs_workflow_task:
            self.schedule_workflow_task()

    def flush_buffered_events(self) -> bool:
        """Append the buffered events with real ids; True if there were any.

        An activity's Started event is written together with its result, so a buffered result
        learns its `started_event_id` only here, once the Started event has its id.
        """
        if not self.state.buffered_events:
            return False
        started_ids: dict[int, int] = {}
        child_started_ids: dict[int, int] = {}
        for data in self.state.buffered_events:
            event = HistoryEvent.FromString(data)
            event.event_id = self.state.next_event_id
            self.state.next_event_id += 1
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                started_ids[event.activity_task_started_event_attributes.scheduled_event_id] = event.event_id
            elif event.event_type in _ACTIVITY_RESULTS:
                attrs = getattr(event, _ACTIVITY_RESULTS[event.event_type])
                if attrs.scheduled_event_id in started_ids:
                    attrs.started_event_id = started_ids[attrs.scheduled_event_id]
            elif event.event_type in _CHILD_EVENTS:
                fix_buffered_child_event(self.state, event, child_started_ids)
            self.events.append(event)
        self.state.buffered_events = []
        return True

    def schedule_workflow_task(self, *, attempt: int = 1) -> None:
        """Schedule a workflow task unless one is already scheduled or started.

        A retry (attempt > 1) is *transient*: no Scheduled event is written; the id it would
        have is reserved in memory and the event is written only if the attempt completes.
        """
        state = self.state
        if state.workflow_task is not None or not state.running:
            return
        sticky = bool(state.sticky_task_queue)
        transient = attempt > 1 and not sticky
        if transient:
            scheduled_id = state.next_event_id
        else:
            scheduled_id = self.add_scheduled_event(attempt, sticky=sticky).event_id
            if sticky:
                timeout = state.sticky_schedule_to_start_timeout or DEFAULT_STICKY_SCHEDULE_TO_START
                self.arm_timer(self.now + timeout, "sticky_timeout", scheduled_id)
        state.workflow_task = WorkflowTaskInfo(
            scheduled_event_id=scheduled_id,
            attempt=attempt,
            task_queue=state.sticky_task_queue if sticky else state.task_queue,
            sticky=sticky,
            transient=transient,
            scheduled_time=self.now,
            start_to_close_timeout=workflow_task_timeout(state.workflow_task_timeout, attempt),
        )
        self.effects.dispatch_workflow_task = True

    def add_scheduled_event(self, attempt: int, *, sticky: bool = False) -> HistoryEvent:
        event = scheduled_event(self.state, self.state.next_event_id, self.now, attempt, sticky=sticky)
        self.events.append(event)
        self.state.next_event_id += 1
        return event

    def close_run(self, status: int, completion_event_id: int) -> None:
        """The run ends with the event `completion_event_id`: nothing of it stays pending."""
        state = self.state
        state.status = status
        state.close_time = self.now
        state.completion_event_id = completion_event_id
        state.timers.clear()
        state.activities.clear()

    def arm_timer(self, when: float, *payload: Any) -> None:
        self.effects.timers.append((when, payload))


def scheduled_event(
    state: MutableState, event_id: int, now: float, attempt: int, *, sticky: bool = False
) -> HistoryEvent:
    """A WorkflowTaskScheduled event for the run's next task: on its sticky queue, if the worker
    that ran the last task has the run cached, else on the normal queue."""
    event = make_event(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, event_id, now, attempt=attempt)
    attrs = event.workflow_task_scheduled_event_attributes
    if sticky:
        attrs.task_queue.name = state.sticky_task_queue
        attrs.task_queue.kind = TaskQueueKind.TASK_QUEUE_KIND_STICKY
        attrs.task_queue.normal_name = state.task_queue
    else:
        attrs.task_queue.name = state.task_queue
        attrs.task_queue.kind = TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    timeout = workflow_task_timeout(state.workflow_task_timeout, attempt)
    attrs.start_to_close_timeout.FromNanoseconds(int(timeout * 1e9))
    return event
