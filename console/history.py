"""History events as rows of the detail page, and the run's input, outcome and run chain.

A row carries what the list shows at a glance (id, type name, time, a one-line summary) and
every attribute (``display_dict`` of the event's ``…_attributes``, payloads decoded) for the
expandable part.

Where the namespace has a codec server, the page also carries payloads as they are stored
(``payloads_json``: Temporal's JSON form of ``Payloads``, what a codec server's ``/decode``
takes) so that the browser can have them decoded; the server-decoded text stays as the fallback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf.json_format import MessageToJson
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from console.payloads import display_dict, payloads_text, pretty

_EVENT_PREFIX = "EVENT_TYPE_"


def event_type_name(event_type: int) -> str:
    """``EVENT_TYPE_WORKFLOW_EXECUTION_STARTED`` → ``WorkflowExecutionStarted``."""
    try:
        name = EventType.Name(event_type)  # type: ignore[arg-type]
    except ValueError:
        return f"Unknown({event_type})"
    words = name.removeprefix(_EVENT_PREFIX).split("_")
    return "".join(word.capitalize() for word in words)


def timestamp(value: Timestamp) -> datetime | None:
    """An aware UTC datetime, or None for an unset timestamp."""
    if not value.seconds and not value.nanos:
        return None
    return value.ToDatetime(tzinfo=UTC)


def _attributes(event: HistoryEvent) -> Message | None:
    field = event.WhichOneof("attributes")
    return getattr(event, field) if field else None


def _has(message: Message, field: str) -> bool:
    try:
        return message.HasField(field)
    except ValueError:  # a scalar or repeated field, or no such field
        return False


# What identifies an event at a glance, tried in order: (attribute path, label). Every one that
# is set joins the summary ("compose_greeting, activity id 1"); a repeat is left out.
_SUMMARY_FIELDS: Sequence[tuple[str, str]] = (
    ("workflow_type.name", ""),
    ("activity_type.name", ""),
    ("activity_id", "activity id"),
    ("timer_id", "timer"),
    ("signal_name", "signal"),
    ("marker_name", "marker"),
    ("workflow_id", "workflow id"),
    ("workflow_execution.workflow_id", "workflow id"),
    ("accepted_request.input.name", "update"),
    ("request.input.name", "update"),
    ("attempt", "attempt"),
    ("new_execution_run_id", "new run"),
    ("reason", "reason"),
    ("cause", "cause"),
    ("failure.message", ""),
)


def _lookup(message: Message, path: str) -> Any:
    value: Any = message
    for part in path.split("."):
        if not isinstance(value, Message) or part not in value.DESCRIPTOR.fields_by_name:
            return None
        field = value.DESCRIPTOR.fields_by_name[part]
        if field.message_type is not None and not field.is_repeated and not _has(value, part):
            return None
        value = getattr(value, part)
    return value


def summary(event: HistoryEvent) -> str:
    attributes = _attributes(event)
    if attributes is None:
        return ""
    parts: list[str] = []
    for path, label in _SUMMARY_FIELDS:
        value = _lookup(attributes, path)
        if value in (None, "", 0) or isinstance(value, Message):
            continue
        if path == "attempt" and value == 1:
            continue  # the first attempt is not news
        if path == "cause":
            field = attributes.DESCRIPTOR.fields_by_name["cause"]
            if field.enum_type is not None:
                value = (
                    field.enum_type.values_by_number[value].name if value in field.enum_type.values_by_number else value
                )
        entry = f"{label} {value}" if label else str(value)
        if entry not in parts:
            parts.append(entry)
    return ", ".join(parts)


def payloads_json(payloads: Payloads) -> str:
    """The payloads as stored, in Temporal's JSON form (``{"payloads": [{"metadata": …, "data":
    …}]}``, bytes in base64): the body a codec server's ``/decode`` takes."""
    return MessageToJson(payloads, indent=None)


@dataclass(frozen=True)
class PayloadField:
    """One ``Payloads`` attribute of an event, for the codec server: its name, the stored form
    and the console's own decoding."""

    name: str
    stored: str
    text: str


@dataclass(frozen=True)
class EventRow:
    event_id: int
    type_name: str
    time: datetime | None
    summary: str
    attributes: dict[str, Any]
    event: HistoryEvent | None = field(default=None, compare=False, repr=False)  # for ``payload_fields``

    @property
    def attributes_text(self) -> str:
        return pretty(self.attributes)

    @property
    def payload_fields(self) -> list[PayloadField]:
        """The event's top-level ``Payloads`` attributes (input, result, details …); computed
        only when a page asks (pages of a namespace with a codec server)."""
        attributes = _attributes(self.event) if self.event is not None else None
        if attributes is None:
            return []
        return [
            PayloadField(descriptor.json_name, payloads_json(value), payloads_text(value))
            for descriptor, value in attributes.ListFields()
            if descriptor.message_type is not None
            and descriptor.message_type.full_name == Payloads.DESCRIPTOR.full_name
            and value.payloads
        ]


def event_row(event: HistoryEvent) -> EventRow:
    attributes = _attributes(event)
    return EventRow(
        event_id=event.event_id,
        type_name=event_type_name(event.event_type),
        time=timestamp(event.event_time),
        summary=summary(event),
        attributes=display_dict(attributes) if attributes is not None else {},
        event=event,
    )


def event_rows(events: Iterable[HistoryEvent]) -> list[EventRow]:
    return [event_row(event) for event in events]


@dataclass(frozen=True)
class Outcome:
    """How the run ended, from its close event: a result, a failure, or another ending."""

    kind: str  # "Completed", "Failed", "TimedOut", "Canceled", "Terminated", "ContinuedAsNew"
    result: str = ""  # pretty JSON of the result / details
    failure: str = ""  # the failure's message
    failure_details: str = ""  # the whole failure, pretty JSON
    new_run_id: str = ""
    result_stored: str = ""  # the result's payloads as stored (``payloads_json``), for a codec server


_CLOSE_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}


def run_input(events: Sequence[HistoryEvent]) -> str | None:
    """Pretty JSON of the run's input (None when the history has no start event)."""
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            return payloads_text(event.workflow_execution_started_event_attributes.input)
    return None


def run_input_stored(events: Sequence[HistoryEvent]) -> str:
    """The run's input as stored (``payloads_json``; "" without a start event or input)."""
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            payloads = event.workflow_execution_started_event_attributes.input
            return payloads_json(payloads) if payloads.payloads else ""
    return ""


def outcome(events: Sequence[HistoryEvent]) -> Outcome | None:
    """The run's ending (None while it runs)."""
    close = next((e for e in reversed(events) if e.event_type in _CLOSE_EVENTS), None)
    if close is None:
        return None
    kind = event_type_name(close.event_type).removeprefix("WorkflowExecution")
    if close.HasField("workflow_execution_completed_event_attributes"):
        result = close.workflow_execution_completed_event_attributes.result
        return Outcome(
            kind, result=payloads_text(result), result_stored=payloads_json(result) if result.payloads else ""
        )
    if close.HasField("workflow_execution_canceled_event_attributes"):
        details = close.workflow_execution_canceled_event_attributes.details
        return Outcome(
            kind, result=payloads_text(details), result_stored=payloads_json(details) if details.payloads else ""
        )
    if close.HasField("workflow_execution_terminated_event_attributes"):
        attrs = close.workflow_execution_terminated_event_attributes
        return Outcome(
            kind, failure=attrs.reason, result=payloads_text(attrs.details) if attrs.details.payloads else ""
        )
    if close.HasField("workflow_execution_continued_as_new_event_attributes"):
        return Outcome(kind, new_run_id=close.workflow_execution_continued_as_new_event_attributes.new_execution_run_id)
    failure = None
    if close.HasField("workflow_execution_failed_event_attributes"):
        failure = close.workflow_execution_failed_event_attributes.failure
    elif close.HasField("workflow_execution_timed_out_event_attributes"):
        return Outcome(kind, failure="the workflow timed out")
    if failure is None:
        return Outcome(kind)
    return Outcome(kind, failure=failure.message, failure_details=pretty(display_dict(failure)))


@dataclass(frozen=True)
class RunChain:
    """Where the run sits in its continue-as-new chain (run ids; "" when there is none)."""

    previous_run_id: str
    first_run_id: str

    @property
    def is_first(self) -> bool:
        return not self.previous_run_id


def run_chain(events: Sequence[HistoryEvent], *, run_id: str, first_run_id: str = "") -> RunChain:
    """The previous run (``continued_execution_run_id`` of the start event) and the first run
    (the start event's ``first_execution_run_id``, else ``first_run_id`` from the description)."""
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            attrs = event.workflow_execution_started_event_attributes
            first = attrs.first_execution_run_id or first_run_id or run_id
            return RunChain(previous_run_id=attrs.continued_execution_run_id, first_run_id=first)
    return RunChain(previous_run_id="", first_run_id=first_run_id or run_id)
