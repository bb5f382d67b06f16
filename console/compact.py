"""The compact history: one row per thing the workflow did, not per event.

An activity's Scheduled, Started and Completed events are one row ("compose_greeting —
Completed in 12 ms, result …"), likewise a timer's Started and Fired, a child workflow's
Initiated, Started and Completed, an update's Accepted and Completed, a Nexus operation's
events. An event that stands alone (a signal, a marker, the start and the close of the run) is
a row of its own. Workflow tasks are left out: they are the engine's bookkeeping, not the
workflow's steps (Temporal's compact view leaves them out too).

Events find their group through the id of the event that opened it, which they carry
(``scheduled_event_id``, ``initiated_event_id``, timers' ``started_event_id``,
``accepted_event_id``). Pure functions of the events; the timeline draws the same groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent

from console.history import event_type_name, timestamp
from console.payloads import payloads_text
from console.workflows import short_duration

E = EventType

# The event that opens a group → (kind, the prefix its events' type names share).
_OPENERS: dict[int, tuple[str, str]] = {
    E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: ("Activity", "ActivityTask"),
    E.EVENT_TYPE_TIMER_STARTED: ("Timer", "Timer"),
    E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: ("Child workflow", "ChildWorkflowExecution"),
    E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: ("Signal external", "ExternalWorkflowExecution"),
    E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: (
        "Cancel external",
        "ExternalWorkflowExecution",
    ),
    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: ("Update", "WorkflowExecutionUpdate"),
    E.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED: ("Nexus operation", "NexusOperation"),
}

# The last event of a group that is still under way.
_OPEN = {
    E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
    E.EVENT_TYPE_TIMER_STARTED,
    E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
    E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    E.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED,
    E.EVENT_TYPE_NEXUS_OPERATION_STARTED,
    E.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED,
}

_WORKFLOW_TASK = {
    E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
}

# Fields through which a later event names the event that opened its group, tried in order.
_LINKS = ("scheduled_event_id", "initiated_event_id", "accepted_event_id", "started_event_id")

OUTCOME_CHARS = 200


@dataclass
class Group:
    """One row of the compact view (and one bar of the timeline)."""

    kind: str  # "Activity", "Timer", "Child workflow", "Signal", … or the event type's name
    label: str  # the activity type, timer id, child's workflow type, signal name …
    detail: str  # e.g. "activity id 1", "workflow id child-1"
    prefix: str
    events: list[HistoryEvent] = field(default_factory=list)

    @property
    def first_event_id(self) -> int:
        return self.events[0].event_id

    @property
    def last_event_id(self) -> int:
        return self.events[-1].event_id

    @property
    def state(self) -> str:
        """The last event's type without the group's prefix: "Completed", "Fired", "Started" …"""
        name = event_type_name(self.events[-1].event_type)
        if name == "StartChildWorkflowExecutionFailed":
            return "StartFailed"
        if self.prefix and name.startswith(self.prefix) and name != self.prefix:
            return name.removeprefix(self.prefix)
        return name

    @property
    def is_open(self) -> bool:
        return self.events[-1].event_type in _OPEN

    @property
    def failed(self) -> bool:
        return self.state in {"Failed", "TimedOut", "Terminated", "StartFailed"}

    @property
    def start(self) -> datetime | None:
        return timestamp(self.events[0].event_time)

    @property
    def end(self) -> datetime | None:
        return None if self.is_open else timestamp(self.events[-1].event_time)

    @property
    def duration(self) -> timedelta | None:
        start, end = self.start, self.end
        if start is None or end is None or len(self.events) == 1:
            return None
        return end - start

    @property
    def duration_text(self) -> str:
        return short_duration(self.duration)

    @property
    def event_ids(self) -> str:
        return ", ".join(str(e.event_id) for e in self.events)

    @property
    def outcome(self) -> str:
        """The result or the failure's message, on one line and cut short."""
        return one_line(outcome_text(self.events[-1]) if len(self.events) > 1 or not self.prefix else "")


def one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= OUTCOME_CHARS else text[: OUTCOME_CHARS - 1] + "…"


def _attributes(event: HistoryEvent) -> Message | None:
    name = event.WhichOneof("attributes")
    return getattr(event, name) if name else None


def outcome_text(event: HistoryEvent) -> str:
    """What an event says about how its step ended: its result, failure or details."""
    attributes = _attributes(event)
    if attributes is None:
        return ""
    for name in ("failure", "result", "details", "outcome", "input"):
        if name not in attributes.DESCRIPTOR.fields_by_name:
            continue
        if not attributes.HasField(name):
            continue
        value = getattr(attributes, name)
        if isinstance(value, Failure):
            return value.message
        if isinstance(value, Payloads):
            return payloads_text(value) if value.payloads else ""
        if name == "outcome":  # an update's outcome: success payloads or a failure
            if value.HasField("failure"):
                return str(value.failure.message)
            return payloads_text(value.success) if value.success.payloads else ""
    return ""


def _opener(event: HistoryEvent) -> Group:
    attributes = _attributes(event)
    kind, prefix = _OPENERS.get(event.event_type, ("", ""))
    label = detail = ""
    if event.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        a = event.activity_task_scheduled_event_attributes
        label, detail = a.activity_type.name, f"activity id {a.activity_id}"
    elif event.event_type == E.EVENT_TYPE_TIMER_STARTED:
        t = event.timer_started_event_attributes
        label, detail = f"Timer {t.timer_id}", f"fires after {short_duration(t.start_to_fire_timeout.ToTimedelta())}"
    elif event.event_type == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        c = event.start_child_workflow_execution_initiated_event_attributes
        label, detail = c.workflow_type.name, f"workflow id {c.workflow_id}"
    elif event.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        u = event.workflow_execution_update_accepted_event_attributes
        label, detail = u.accepted_request.input.name, f"update id {u.protocol_instance_id}"
    elif event.event_type == E.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED:
        n = event.nexus_operation_scheduled_event_attributes
        label, detail = f"{n.service}.{n.operation}", n.endpoint
    elif event.event_type in (
        E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    ):
        execution = getattr(attributes, "workflow_execution", None)
        label = getattr(attributes, "signal_name", "") or kind
        detail = f"workflow id {execution.workflow_id}" if execution is not None else ""
    elif event.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        kind, label = "Signal", event.workflow_execution_signaled_event_attributes.signal_name
    elif event.event_type == E.EVENT_TYPE_MARKER_RECORDED:
        kind, label = "Marker", event.marker_recorded_event_attributes.marker_name
    else:
        kind = event_type_name(event.event_type)
        if event.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            label = event.workflow_execution_started_event_attributes.workflow_type.name
    return Group(kind=kind, label=label, detail=detail, prefix=prefix, events=[event])


def _link(event: HistoryEvent) -> int:
    attributes = _attributes(event)
    if attributes is None:
        return 0
    for name in _LINKS:
        if name in attributes.DESCRIPTOR.fields_by_name:
            value = int(getattr(attributes, name))
            if value:
                return value
    return 0


def group_events(events: Iterable[HistoryEvent]) -> list[Group]:
    """The compact rows, in the order their first events happened."""
    groups: list[Group] = []
    by_opener: dict[int, Group] = {}
    for event in events:
        if event.event_type in _WORKFLOW_TASK:
            continue
        if event.event_type not in _OPENERS:
            linked = by_opener.get(_link(event))
            if linked is not None:
                linked.events.append(event)
                continue
        group = _opener(event)
        groups.append(group)
        if event.event_type in _OPENERS:
            by_opener[event.event_id] = group
    return groups
