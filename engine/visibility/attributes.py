"""Search attributes: the system ones (columns of the visibility row), the predefined ones any
workflow may set, and the values of custom ones decoded from their payloads.

A search attribute's value travels as a `json/plain` payload (the SDKs also put its type in the
payload's `type` metadata). `decode_values` turns one into the typed Python values the store
indexes; `typed_payload` makes a payload the engine answers with.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

from temporalio.api.common.v1 import Payload

NANOS = 1_000_000_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class SaType(IntEnum):
    """`temporal.api.enums.v1.IndexedValueType`."""

    TEXT = 1
    KEYWORD = 2
    INT = 3
    DOUBLE = 4
    BOOL = 5
    DATETIME = 6
    KEYWORD_LIST = 7

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    SaType.TEXT: "Text",
    SaType.KEYWORD: "Keyword",
    SaType.INT: "Int",
    SaType.DOUBLE: "Double",
    SaType.BOOL: "Bool",
    SaType.DATETIME: "Datetime",
    SaType.KEYWORD_LIST: "KeywordList",
}
TYPE_BY_LABEL = {label: sa_type for sa_type, label in _LABELS.items()}


@dataclass(frozen=True)
class Attribute:
    name: str
    type: SaType
    column: str | None = None  # a column of the visibility row; None: a row of visibility_attributes
    nullable: bool = False  # a system column that may be absent (CloseTime of a running run, …)
    settable: bool = False  # predefined attributes a workflow or client may set
    field: str = ""  # a custom attribute's stored name, when it differs from `name` (renamed)

    @property
    def key(self) -> str:
        """The name its values are stored and indexed under."""
        return self.field or self.name


# System attributes: what the engine knows of every run. Columns of `executions_visibility`.
SYSTEM_ATTRIBUTES: dict[str, Attribute] = {
    a.name: a
    for a in (
        Attribute("WorkflowId", SaType.KEYWORD, "workflow_id"),
        Attribute("RunId", SaType.KEYWORD, "run_id"),
        Attribute("WorkflowType", SaType.KEYWORD, "workflow_type"),
        Attribute("ExecutionStatus", SaType.KEYWORD, "status"),
        Attribute("StartTime", SaType.DATETIME, "start_time"),
        Attribute("ExecutionTime", SaType.DATETIME, "execution_time"),
        Attribute("CloseTime", SaType.DATETIME, "close_time", nullable=True),
        Attribute("ExecutionDuration", SaType.INT, "execution_duration", nullable=True),
        Attribute("TaskQueue", SaType.KEYWORD, "task_queue"),
        Attribute("HistoryLength", SaType.INT, "history_length"),
        Attribute("HistorySizeBytes", SaType.INT, "history_size_bytes"),
        Attribute("StateTransitionCount", SaType.INT, "state_transition_count"),
        Attribute("ParentWorkflowId", SaType.KEYWORD, "parent_workflow_id", nullable=True),
        Attribute("ParentRunId", SaType.KEYWORD, "parent_run_id", nullable=True),
        Attribute("RootWorkflowId", SaType.KEYWORD, "root_workflow_id"),
        Attribute("RootRunId", SaType.KEYWORD, "root_run_id"),
    )
}

# Predefined attributes: reserved names that workflows, schedules and batch jobs set like custom
# ones (stored as rows of visibility_attributes).
PREDEFINED_ATTRIBUTES: dict[str, Attribute] = {
    a.name: a
    for a in (
        Attribute("TemporalChangeVersion", SaType.KEYWORD_LIST, settable=True),
        Attribute("BinaryChecksums", SaType.KEYWORD_LIST, settable=True),
        Attribute("BuildIds", SaType.KEYWORD_LIST, settable=True),
        Attribute("BatcherUser", SaType.KEYWORD, settable=True),
        Attribute("BatcherNamespace", SaType.KEYWORD, settable=True),
        Attribute("TemporalScheduledStartTime", SaType.DATETIME, settable=True),
        Attribute("TemporalScheduledById", SaType.KEYWORD, settable=True),
        Attribute("TemporalSchedulePaused", SaType.BOOL, settable=True),
        Attribute("TemporalNamespaceDivision", SaType.KEYWORD, settable=True),
        Attribute("TemporalPauseInfo", SaType.KEYWORD_LIST, settable=True),
        Attribute("TemporalReportedProblems", SaType.KEYWORD_LIST, settable=True),
        Attribute("TemporalWorkerDeploymentVersion", SaType.KEYWORD, settable=True),
        Attribute("TemporalWorkerDeployment", SaType.KEYWORD, settable=True),
        Attribute("TemporalWorkflowVersioningBehavior", SaType.KEYWORD, settable=True),
    )
}

RESERVED_NAMES = frozenset(SYSTEM_ATTRIBUTES) | frozenset(PREDEFINED_ATTRIBUTES)

# Temporal Cloud's per-namespace limits on custom search attributes, by type.
CUSTOM_LIMITS: dict[SaType, int] = {
    SaType.BOOL: 20,
    SaType.DATETIME: 20,
    SaType.DOUBLE: 20,
    SaType.INT: 20,
    SaType.KEYWORD: 40,
    SaType.KEYWORD_LIST: 5,
    SaType.TEXT: 5,
}
CUSTOM_NAME = re.compile(r"^[A-Za-z0-9.,:\-_/ ]{1,64}$")
MAX_KEYS = 100  # Temporal's default limit on the number of a run's search attributes
MAX_VALUE_BYTES = 2048  # Temporal's default per-value size limit
MAX_TOTAL_BYTES = 40 * 1024  # and its default limit on all of a run's search attributes

STATUS_NAMES = {
    1: "Running",
    2: "Completed",
    3: "Failed",
    4: "Canceled",
    5: "Terminated",
    6: "ContinuedAsNew",
    7: "TimedOut",
}

# One indexed value: strings for Keyword / KeywordList / Text, int for Int / Datetime (ns since
# the epoch) / Bool (0 or 1), float for Double.
Indexed = str | int | float


class AttributeValueError(ValueError):
    """A search attribute value that does not fit its type."""


def is_null_payload(payload: Payload) -> bool:
    """An upsert with this payload removes the attribute (null, an empty list, or no data)."""
    if payload.metadata.get("encoding") == b"binary/null" or not payload.data:
        return True
    data = payload.data.strip()
    return data in (b"null", b"[]")


def decode_values(attribute: Attribute, payload: Payload) -> list[Indexed]:
    """The values to index for `payload` as a value of `attribute` (several for a KeywordList);
    `AttributeValueError` if the payload is not a value of that type."""
    encoding = payload.metadata.get("encoding", b"")
    if encoding not in (b"json/plain", b""):
        raise AttributeValueError(f"search attribute {attribute.name} has unsupported encoding {encoding.decode()!r}")
    try:
        value = json.loads(payload.data)
    except (ValueError, UnicodeDecodeError):
        raise AttributeValueError(f"search attribute {attribute.name} is not valid JSON") from None
    return coerce_values(attribute, value)


def coerce_values(attribute: Attribute, value: object) -> list[Indexed]:
    kind = attribute.type
    if kind is SaType.KEYWORD_LIST:
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) for item in items):
            raise _mismatch(attribute, value)
        return [str(item) for item in items]
    if isinstance(value, list):
        if len(value) != 1:
            raise _mismatch(attribute, value)
        value = value[0]  # Temporal accepts a one-element list for a scalar type
    if kind in (SaType.KEYWORD, SaType.TEXT):
        if not isinstance(value, str):
            raise _mismatch(attribute, value)
        return [value]
    if kind is SaType.INT:
        if isinstance(value, bool) or not isinstance(value, int) or not INT64_MIN <= value <= INT64_MAX:
            raise _mismatch(attribute, value)
        return [value]
    if kind is SaType.DOUBLE:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise _mismatch(attribute, value)
        return [float(value)]
    if kind is SaType.BOOL:
        if not isinstance(value, bool):
            raise _mismatch(attribute, value)
        return [int(value)]
    if not isinstance(value, str):
        raise _mismatch(attribute, value)
    try:
        return [parse_datetime(value)]
    except ValueError:
        raise _mismatch(attribute, value) from None


def _mismatch(attribute: Attribute, value: object) -> AttributeValueError:
    shown = json.dumps(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return AttributeValueError(
        f"invalid value for search attribute {attribute.name} of type {attribute.type.label}: {shown}"
    )


_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$")


def parse_datetime(text: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 time (nanosecond precision kept)."""
    match = _RFC3339.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not an RFC 3339 time")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    offset = "+00:00" if zone in ("Z", "z") else zone
    moment = datetime.fromisoformat(f"{year}-{month}-{day}T{hour}:{minute}:{second}{offset}")
    seconds = int(moment.timestamp())
    nanos = int((fraction or "").ljust(9, "0"))
    return seconds * NANOS + nanos


def format_datetime(nanos: int) -> str:
    """RFC 3339 in UTC with the nanoseconds that are not zero."""
    seconds, rest = divmod(nanos, NANOS)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if rest:
        text += "." + f"{rest:09d}".rstrip("0")
    return text + "Z"


def text_tokens(text: str) -> list[str]:
    """The words of a Text value as the index sees them: lowercased runs of letters and digits."""
    return re.findall(r"\w+", text.lower())


def indexed_text(text: str) -> str:
    """How a Text value is stored for phrase matching: its tokens between single spaces, with a
    space at each end (so a phrase is a substring `" a b "`)."""
    return " " + " ".join(text_tokens(text)) + " "


def typed_payload(value: object, sa_type: SaType) -> Payload:
    """A `json/plain` payload with its search-attribute `type` metadata, as the engine answers."""
    return Payload(
        metadata={"encoding": b"json/plain", "type": sa_type.label.encode()},
        data=json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(),
    )
