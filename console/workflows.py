"""What the workflow pages read from the engine, as plain data for the templates.

Pure parts (building the List Filter from the quick filters, page tokens in URLs, enum names)
are separate from the calls (``list_page``, ``status_counts``, ``describe``, ``full_history``,
``history_page``, ``close_event``), which go through ``console.engine.call`` and so raise
``ConsoleEngineError``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from google.protobuf.json_format import MessageToJson
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import HistoryEventFilterType, PendingActivityState, WorkflowExecutionStatus
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsRequest,
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    ListWorkflowExecutionsRequest,
)

from console.engine import call, workflow_service
from console.history import timestamp
from console.payloads import decode_payload

# Rows per list page; a module constant so tests can lower it.
PAGE_SIZE = 50

# The statuses a List Filter can name (ExecutionStatus = '…'), in Temporal's order.
STATUSES = ("Running", "Completed", "Failed", "Canceled", "Terminated", "ContinuedAsNew", "TimedOut")

# The time-range quick filter: StartTime within the last …
TIME_RANGES = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}


def _enum_word(name: str, prefix: str) -> str:
    """``WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW`` → ``ContinuedAsNew``."""
    return "".join(word.capitalize() for word in name.removeprefix(prefix).split("_"))


def status_name(status: int) -> str:
    try:
        return _enum_word(WorkflowExecutionStatus.Name(status), "WORKFLOW_EXECUTION_STATUS_")  # type: ignore[arg-type]
    except ValueError:
        return f"Unknown({status})"


def activity_state_name(state: int) -> str:
    try:
        return _enum_word(PendingActivityState.Name(state), "PENDING_ACTIVITY_STATE_")  # type: ignore[arg-type]
    except ValueError:
        return f"Unknown({state})"


# --- the List Filter --------------------------------------------------------------------------


def quote(value: str) -> str:
    """A List Filter string literal (backslashes and quotes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def build_filter(*, query: str = "", status: str = "", workflow_type: str = "", since: datetime | None = None) -> str:
    """The List Filter of the box and the quick filters, joined with AND. The box's own query is
    parenthesised only when something is added to it (so a lone query may keep its ORDER BY)."""
    added: list[str] = []
    if status:
        added.append(f"ExecutionStatus = {quote(status)}")
    if workflow_type:
        added.append(f"WorkflowType = {quote(workflow_type)}")
    if since is not None:
        added.append(f"StartTime > {quote(rfc3339(since))}")
    query = query.strip()
    if not added:
        return query
    return " AND ".join([f"({query})", *added] if query else added)


_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def encode_page_token(token: bytes) -> str:
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def decode_page_token(text: str) -> bytes:
    """``ValueError`` when the text is not base64-url."""
    try:
        if not _BASE64URL.fullmatch(text):
            raise ValueError
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("the page link is damaged: start again from the first page") from None


# --- listing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkflowRow:
    workflow_id: str
    run_id: str
    workflow_type: str
    status: str
    start_time: datetime | None
    close_time: datetime | None


def workflow_row(info: WorkflowExecutionInfo) -> WorkflowRow:
    return WorkflowRow(
        workflow_id=info.execution.workflow_id,
        run_id=info.execution.run_id,
        workflow_type=info.type.name,
        status=status_name(info.status),
        start_time=timestamp(info.start_time),
        close_time=timestamp(info.close_time),
    )


def list_page(namespace_id: str, query: str, *, page_token: bytes = b"") -> tuple[list[WorkflowExecutionInfo], bytes]:
    """One page of runs (``PAGE_SIZE``) and the token of the next page (empty: this was the last)."""
    request = ListWorkflowExecutionsRequest(
        namespace=namespace_id, page_size=PAGE_SIZE, next_page_token=page_token, query=query
    )
    response = call(workflow_service().ListWorkflowExecutions, request)
    return list(response.executions), response.next_page_token


@dataclass(frozen=True)
class StatusCount:
    status: str
    count: int


def status_counts(namespace_id: str, query: str) -> tuple[int, list[StatusCount]]:
    """The total and the count per status of the runs the filter matches."""
    grouped = f"{query} GROUP BY ExecutionStatus" if query else "GROUP BY ExecutionStatus"
    response = call(
        workflow_service().CountWorkflowExecutions,
        CountWorkflowExecutionsRequest(namespace=namespace_id, query=grouped),
    )
    counts: list[StatusCount] = []
    for group in response.groups:
        label = str(decode_payload(group.group_values[0]).value) if group.group_values else "?"
        counts.append(StatusCount(label, group.count))
    order = {name: i for i, name in enumerate(STATUSES)}
    counts.sort(key=lambda c: order.get(c.status, len(order)))
    return response.count, counts


# --- one run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingActivity:
    activity_id: str
    activity_type: str
    state: str
    attempt: int
    maximum_attempts: int  # 0: unlimited
    last_failure: str
    last_heartbeat_time: datetime | None
    scheduled_time: datetime | None


@dataclass(frozen=True)
class PendingChild:
    workflow_id: str
    run_id: str
    workflow_type: str
    initiated_event_id: int


@dataclass(frozen=True)
class RunSummary:
    workflow_id: str
    run_id: str
    workflow_type: str
    status: str
    task_queue: str
    start_time: datetime | None
    close_time: datetime | None
    duration: timedelta | None
    history_length: int
    parent: WorkflowExecution | None
    pending_activities: list[PendingActivity] = field(default_factory=list)
    first_run_id: str = ""  # the first run of its continue-as-new chain ("" when unknown)
    pending_children: list[PendingChild] = field(default_factory=list)


def describe(namespace_id: str, workflow_id: str, run_id: str) -> RunSummary:
    response = call(
        workflow_service().DescribeWorkflowExecution,
        DescribeWorkflowExecutionRequest(
            namespace=namespace_id, execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id)
        ),
    )
    info = response.workflow_execution_info
    start, close = timestamp(info.start_time), timestamp(info.close_time)
    if info.HasField("execution_duration"):
        duration: timedelta | None = info.execution_duration.ToTimedelta()
    else:
        duration = close - start if close and start else None
    pending = [
        PendingActivity(
            activity_id=p.activity_id,
            activity_type=p.activity_type.name,
            state=activity_state_name(p.state),
            attempt=p.attempt,
            maximum_attempts=p.maximum_attempts,
            last_failure=p.last_failure.message if p.HasField("last_failure") else "",
            last_heartbeat_time=timestamp(p.last_heartbeat_time),
            scheduled_time=timestamp(p.scheduled_time),
        )
        for p in response.pending_activities
    ]
    return RunSummary(
        workflow_id=info.execution.workflow_id,
        run_id=info.execution.run_id,
        workflow_type=info.type.name,
        status=status_name(info.status),
        task_queue=info.task_queue or response.execution_config.task_queue.name,
        start_time=start,
        close_time=close,
        duration=duration,
        history_length=info.history_length,
        parent=info.parent_execution if info.HasField("parent_execution") else None,
        pending_activities=pending,
        first_run_id=info.first_run_id,
        pending_children=[
            PendingChild(
                workflow_id=c.workflow_id,
                run_id=c.run_id,
                workflow_type=c.workflow_type_name,
                initiated_event_id=c.initiated_id,
            )
            for c in response.pending_children
        ],
    )


def full_history(namespace_id: str, workflow_id: str, run_id: str) -> History:
    """Every event of the run: all pages of GetWorkflowExecutionHistory."""
    events: list[HistoryEvent] = []
    token = b""
    while True:
        response = call(
            workflow_service().GetWorkflowExecutionHistory,
            GetWorkflowExecutionHistoryRequest(
                namespace=namespace_id,
                execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                next_page_token=token,
            ),
        )
        events.extend(response.history.events)
        token = response.next_page_token
        if not token:
            return History(events=events)


def history_page(
    namespace_id: str, workflow_id: str, run_id: str, *, page_size: int, page_token: bytes = b""
) -> tuple[list[HistoryEvent], bytes]:
    """One page of the run's history, oldest first, and the engine's token of the next page
    (empty: there is no more now)."""
    response = call(
        workflow_service().GetWorkflowExecutionHistory,
        GetWorkflowExecutionHistoryRequest(
            namespace=namespace_id,
            execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
            maximum_page_size=page_size,
            next_page_token=page_token,
        ),
    )
    return list(response.history.events), response.next_page_token


def close_event(namespace_id: str, workflow_id: str, run_id: str) -> HistoryEvent | None:
    """The closed run's last event alone (the CLOSE_EVENT filter), without reading its history;
    None while it runs."""
    response = call(
        workflow_service().GetWorkflowExecutionHistory,
        GetWorkflowExecutionHistoryRequest(
            namespace=namespace_id,
            execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
            history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
        ),
    )
    return response.history.events[-1] if response.history.events else None


def history_json(history: History) -> str:
    """The format ``temporalio.client.WorkflowHistory.from_json`` and the Replayer read (and the
    one ``temporal workflow show --output json`` writes)."""
    return MessageToJson(history)


def short_duration(value: timedelta | None) -> str:
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    parts.append(f"{secs} s" if secs and not days else "")
    return " ".join(p for p in parts if p)
