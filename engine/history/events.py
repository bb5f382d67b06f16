"""Building history events and the protobuf values inside them."""

from __future__ import annotations

from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

# event type → the name of its attributes field in HistoryEvent
_ATTRIBUTE_FIELD: dict[int, str] = {}
for _field in HistoryEvent.DESCRIPTOR.oneofs_by_name["attributes"].fields:
    _name = _field.name.removesuffix("_event_attributes").upper()
    _ATTRIBUTE_FIELD[EventType.Value(f"EVENT_TYPE_{_name}")] = _field.name


def timestamp(seconds: float) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    return ts


def duration(seconds: float) -> Duration:
    d = Duration()
    d.FromNanoseconds(int(seconds * 1e9))
    return d


def seconds_of(d: Duration) -> float:
    return d.seconds + d.nanos / 1e9


def make_event(
    event_type: int, event_id: int, now: float, attributes: Message | None = None, **fields: Any
) -> HistoryEvent:
    """A HistoryEvent of `event_type` with its attributes (a message, or fields to set on it)."""
    event = HistoryEvent(event_id=event_id, event_type=event_type)  # type: ignore[arg-type]
    event.event_time.CopyFrom(timestamp(now))
    target = getattr(event, _ATTRIBUTE_FIELD[event_type])
    if attributes is not None:
        target.CopyFrom(attributes)
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, Message):
            getattr(target, name).CopyFrom(value)
        else:
            setattr(target, name, value)
    return event


def attributes_of(event: HistoryEvent) -> Any:
    return getattr(event, _ATTRIBUTE_FIELD[event.event_type])
