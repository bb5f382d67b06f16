"""What a person may do to a workflow from the console: the engine calls behind the action forms.

One function per WorkflowService call (signal, query, the ``__stack_trace`` query, update,
cancel, terminate, reset, start). Arguments arrive as JSON values and are encoded with the SDK's
default converter, so a worker reads them exactly as if an SDK client had sent them; results
come back decoded by ``console.payloads``. Every call names its caller in ``identity``
("sundial-console: <email>", what the history shows as who did it) and carries a fresh
``request_id``, so a retried call is not applied twice but a second click is a second signal.

Permissions (``console.views_actions`` checks them): queries, the stack trace among them, need
only Read on the namespace, as in Temporal Cloud, where Read includes ``QueryWorkflow``; every
other action here needs Write.

An engine refusal becomes ``EngineRefused``, a ``ServiceError``: raised inside
``audit.services.audited`` it is recorded as an ERROR entry, and the page shows the engine's own
words with the matching status. ``UNIMPLEMENTED`` (an RPC an older engine does not serve) is a
501 and ``ALREADY_EXISTS`` (a run with that id is running) a 409.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payloads, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import (
    EventType,
    ResetReapplyExcludeType,
    ResetReapplyType,
    TaskQueueKind,
    UpdateWorkflowExecutionLifecycleStage,
)
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.update.v1 import Input, Meta, WaitPolicy
from temporalio.api.update.v1 import Request as UpdateRequest
from temporalio.api.workflowservice.v1 import (
    QueryWorkflowRequest,
    RequestCancelWorkflowExecutionRequest,
    ResetWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
    UpdateWorkflowExecutionRequest,
)
from temporalio.converter import DataConverter

from accounts.errors import ServiceError
from accounts.principal import Principal
from console import engine
from console.engine import ConsoleEngineError
from console.history import timestamp
from console.payloads import decode_payloads, payloads_text, pretty
from console.workflows import full_history

Response = TypeVar("Response", bound=Message)

STACK_TRACE_QUERY = "__stack_trace"


# Statuses the console's own map (console.engine.HTTP_STATUS) leaves as a bad gateway.
class EngineRefused(ServiceError):
    """The engine refused an action (or could not be reached): its message, the page's status."""

    def __init__(self, error: ConsoleEngineError) -> None:
        super().__init__(error.message or error.code.name)
        self.code = error.code
        self.http_status = error.http_status
        self.grpc_status = error.code


def _call(method: Callable[..., Response], request: Message) -> Response:
    try:
        return engine.call(method, request)
    except ConsoleEngineError as exc:
        raise EngineRefused(exc) from None


def identity(principal: Principal) -> str:
    """Who the engine records as the caller."""
    who = principal.user.email if principal.user is not None else principal.name
    return f"sundial-console: {who}"


def _request_id() -> str:
    return str(uuid.uuid4())


def encode_arguments(values: Sequence[Any]) -> Payloads | None:
    """The arguments as payloads of the SDK's default converter (None: no arguments)."""
    if not values:
        return None
    return Payloads(payloads=DataConverter.default.payload_converter.to_payloads(list(values)))


def _execution(workflow_id: str, run_id: str) -> WorkflowExecution:
    return WorkflowExecution(workflow_id=workflow_id, run_id=run_id)


# --- reading: queries -------------------------------------------------------------------------


def query(namespace_id: str, workflow_id: str, run_id: str, *, name: str, arguments: Sequence[Any]) -> str:
    """The query handler's answer as pretty JSON (a worker must be polling the run's queue)."""
    workflow_query = WorkflowQuery(query_type=name)
    encoded = encode_arguments(arguments)
    if encoded is not None:
        workflow_query.query_args.CopyFrom(encoded)
    response = _call(
        engine.workflow_service().QueryWorkflow,
        QueryWorkflowRequest(namespace=namespace_id, execution=_execution(workflow_id, run_id), query=workflow_query),
    )
    if response.HasField("query_rejected"):
        raise EngineRefused(
            ConsoleEngineError(grpc.StatusCode.FAILED_PRECONDITION, "the query was rejected: the run is closed")
        )
    if not response.query_result.payloads:
        return pretty(None)
    return payloads_text(response.query_result)


def stack_trace(namespace_id: str, workflow_id: str, run_id: str) -> str:
    """The workflow's call stack, as its worker's SDK reports it (the ``__stack_trace`` query)."""
    response = _call(
        engine.workflow_service().QueryWorkflow,
        QueryWorkflowRequest(
            namespace=namespace_id,
            execution=_execution(workflow_id, run_id),
            query=WorkflowQuery(query_type=STACK_TRACE_QUERY),
        ),
    )
    values = [p.as_json() for p in decode_payloads(response.query_result)]
    if len(values) == 1 and isinstance(values[0], str):
        return values[0]
    return pretty(values[0] if len(values) == 1 else values)


# --- writing ----------------------------------------------------------------------------------


def signal(
    namespace_id: str, workflow_id: str, run_id: str, *, name: str, arguments: Sequence[Any], caller: str
) -> None:
    request = SignalWorkflowExecutionRequest(
        namespace=namespace_id,
        workflow_execution=_execution(workflow_id, run_id),
        signal_name=name,
        identity=caller,
        request_id=_request_id(),
    )
    encoded = encode_arguments(arguments)
    if encoded is not None:
        request.input.CopyFrom(encoded)
    _call(engine.workflow_service().SignalWorkflowExecution, request)


@dataclass(frozen=True)
class UpdateOutcome:
    completed: bool  # False: accepted, the result not known yet
    result: str = ""  # pretty JSON of the handler's return value
    failure: str = ""  # the failure's message when the handler (or its validator) refused


def update(
    namespace_id: str, workflow_id: str, run_id: str, *, name: str, arguments: Sequence[Any], caller: str
) -> UpdateOutcome:
    """Run an update handler and wait for its outcome (a worker must be polling)."""
    update_input = Input(name=name)
    encoded = encode_arguments(arguments)
    if encoded is not None:
        update_input.args.CopyFrom(encoded)
    response = _call(
        engine.workflow_service().UpdateWorkflowExecution,
        UpdateWorkflowExecutionRequest(
            namespace=namespace_id,
            workflow_execution=_execution(workflow_id, run_id),
            wait_policy=WaitPolicy(
                lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
            ),
            request=UpdateRequest(meta=Meta(update_id=_request_id(), identity=caller), input=update_input),
        ),
    )
    if not response.HasField("outcome"):
        return UpdateOutcome(completed=False)
    if response.outcome.HasField("failure"):
        return UpdateOutcome(completed=True, failure=response.outcome.failure.message or "the update failed")
    return UpdateOutcome(completed=True, result=payloads_text(response.outcome.success))


def request_cancel(namespace_id: str, workflow_id: str, run_id: str, *, reason: str, caller: str) -> None:
    _call(
        engine.workflow_service().RequestCancelWorkflowExecution,
        RequestCancelWorkflowExecutionRequest(
            namespace=namespace_id,
            workflow_execution=_execution(workflow_id, run_id),
            reason=reason,
            identity=caller,
            request_id=_request_id(),
        ),
    )


def terminate(namespace_id: str, workflow_id: str, run_id: str, *, reason: str, caller: str) -> None:
    _call(
        engine.workflow_service().TerminateWorkflowExecution,
        TerminateWorkflowExecutionRequest(
            namespace=namespace_id, workflow_execution=_execution(workflow_id, run_id), reason=reason, identity=caller
        ),
    )


@dataclass(frozen=True)
class ResetPoint:
    """A WorkflowTaskCompleted event a run can be reset to."""

    event_id: int
    time: datetime | None

    @property
    def label(self) -> str:
        when = self.time.strftime("%Y-%m-%d %H:%M:%S UTC") if self.time else "unknown time"
        return f"Event {self.event_id}: workflow task completed at {when}"


def reset_points(namespace_id: str, workflow_id: str, run_id: str) -> list[ResetPoint]:
    """The run's WorkflowTaskCompleted events, newest first (what Temporal resets to)."""
    try:
        history = full_history(namespace_id, workflow_id, run_id)
    except ConsoleEngineError as exc:
        raise EngineRefused(exc) from None
    points = [
        ResetPoint(event.event_id, timestamp(event.event_time))
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]
    return points[::-1]


def reset(
    namespace_id: str,
    workflow_id: str,
    run_id: str,
    *,
    event_id: int,
    reason: str,
    reapply_signals: bool,
    caller: str,
) -> str:
    """Reset the run to just after ``event_id``; the new run's id."""
    request = ResetWorkflowExecutionRequest(
        namespace=namespace_id,
        workflow_execution=_execution(workflow_id, run_id),
        reason=reason,
        workflow_task_finish_event_id=event_id,
        request_id=_request_id(),
        identity=caller,
    )
    if reapply_signals:
        request.reset_reapply_type = ResetReapplyType.RESET_REAPPLY_TYPE_SIGNAL
    else:
        request.reset_reapply_type = ResetReapplyType.RESET_REAPPLY_TYPE_NONE
        request.reset_reapply_exclude_types.append(ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL)
    return _call(engine.workflow_service().ResetWorkflowExecution, request).run_id


def start(
    namespace_id: str,
    *,
    workflow_id: str,
    workflow_type: str,
    task_queue: str,
    arguments: Sequence[Any],
    execution_timeout: timedelta | None,
    caller: str,
) -> str:
    """Start a run; its run id. A running run with the same id is a refusal (409)."""
    request = StartWorkflowExecutionRequest(
        namespace=namespace_id,
        workflow_id=workflow_id,
        workflow_type=WorkflowType(name=workflow_type),
        task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        identity=caller,
        request_id=_request_id(),
    )
    encoded = encode_arguments(arguments)
    if encoded is not None:
        request.input.CopyFrom(encoded)
    if execution_timeout is not None:
        request.workflow_execution_timeout.CopyFrom(Duration(seconds=int(execution_timeout.total_seconds())))
    return _call(engine.workflow_service().StartWorkflowExecution, request).run_id
