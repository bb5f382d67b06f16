"""Batch operations of the console: terminate, cancel or signal every running workflow that a
List Filter matches.

The engine's batch job acts on every run its visibility query matches at the moment it starts;
terminating or cancelling a closed run would only count as a failure, and signalling one is
refused. So the console always narrows the user's filter to running runs
(``… AND ExecutionStatus = 'Running'``): the number it asks the user to confirm is exactly the
number of runs the job is started on (as of that moment).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
from temporalio.api.batch.v1 import BatchOperationCancellation, BatchOperationSignal, BatchOperationTermination
from temporalio.api.enums.v1 import BatchOperationState, BatchOperationType
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsRequest,
    DescribeBatchOperationRequest,
    ListBatchOperationsRequest,
    StartBatchOperationRequest,
)
from temporalio.converter import DataConverter

from accounts.errors import ServiceError
from console.engine import ConsoleEngineError, call, workflow_service
from console.history import timestamp


@dataclass(frozen=True)
class Kind:
    key: str  # in URLs: terminate / cancel / signal
    verb: str  # "terminate": "This will terminate 3 running workflows"
    title: str  # "Terminate workflows"


KINDS = {
    "terminate": Kind("terminate", "terminate", "Terminate workflows"),
    "cancel": Kind("cancel", "request cancellation of", "Cancel workflows"),
    "signal": Kind("signal", "signal", "Signal workflows"),
}

_TYPE_NAMES = {
    BatchOperationType.BATCH_OPERATION_TYPE_TERMINATE: "Terminate",
    BatchOperationType.BATCH_OPERATION_TYPE_CANCEL: "Cancel",
    BatchOperationType.BATCH_OPERATION_TYPE_SIGNAL: "Signal",
    BatchOperationType.BATCH_OPERATION_TYPE_DELETE: "Delete",
    BatchOperationType.BATCH_OPERATION_TYPE_RESET: "Reset",
}
_STATE_NAMES = {
    BatchOperationState.BATCH_OPERATION_STATE_RUNNING: "Running",
    BatchOperationState.BATCH_OPERATION_STATE_COMPLETED: "Completed",
    BatchOperationState.BATCH_OPERATION_STATE_FAILED: "Failed",
}


class BatchRefused(ServiceError):
    """The engine refused the batch (the audit log records it as an error)."""

    def __init__(self, error: ConsoleEngineError) -> None:
        super().__init__(error.message)
        self.engine_error = error
        if error.code in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ALREADY_EXISTS):
            self.http_status = 409  # one batch job runs at a time per namespace
        else:
            self.http_status = error.http_status


def running_query(filter_text: str) -> str:
    """The runs a batch touches: the filter's running ones."""
    filter_text = filter_text.strip()
    running = "ExecutionStatus = 'Running'"
    return f"({filter_text}) AND {running}" if filter_text else running


def count_running(namespace_id: str, filter_text: str) -> int:
    response = call(
        workflow_service().CountWorkflowExecutions,
        CountWorkflowExecutionsRequest(namespace=namespace_id, query=running_query(filter_text)),
    )
    return int(response.count)


def new_job_id() -> str:
    return f"console-{uuid.uuid4()}"


def start_request(
    namespace_id: str,
    *,
    kind: str,
    filter_text: str,
    job_id: str,
    reason: str,
    identity: str,
    signal_name: str = "",
    signal_input: tuple[bool, Any] = (False, None),
) -> StartBatchOperationRequest:
    request = StartBatchOperationRequest(
        namespace=namespace_id, visibility_query=running_query(filter_text), job_id=job_id, reason=reason
    )
    if kind == "terminate":
        request.termination_operation.CopyFrom(BatchOperationTermination(identity=identity))
    elif kind == "cancel":
        request.cancellation_operation.CopyFrom(BatchOperationCancellation(identity=identity))
    elif kind == "signal":
        signal = BatchOperationSignal(signal=signal_name, identity=identity)
        given, value = signal_input
        if given:
            signal.input.payloads.extend(DataConverter.default.payload_converter.to_payloads([value]))
        request.signal_operation.CopyFrom(signal)
    else:
        raise ValueError(f"unknown batch operation {kind!r}")
    return request


def start(request: StartBatchOperationRequest) -> None:
    """Start the job; ``BatchRefused`` when the engine says no."""
    try:
        call(workflow_service().StartBatchOperation, request)
    except ConsoleEngineError as exc:
        raise BatchRefused(exc) from None


@dataclass(frozen=True)
class BatchStatus:
    job_id: str
    operation: str
    state: str
    total: int
    completed: int
    failed: int
    reason: str
    query: str
    identity: str
    start_time: datetime | None
    close_time: datetime | None

    @property
    def running(self) -> bool:
        return self.state == "Running"

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * (self.completed + self.failed) / self.total)


def describe(namespace_id: str, job_id: str) -> BatchStatus:
    response = call(
        workflow_service().DescribeBatchOperation,
        DescribeBatchOperationRequest(namespace=namespace_id, job_id=job_id),
    )
    return BatchStatus(
        job_id=response.job_id,
        operation=_TYPE_NAMES.get(response.operation_type, "Unknown"),
        state=_STATE_NAMES.get(response.state, "Unknown"),
        total=response.total_operation_count,
        completed=response.complete_operation_count,
        failed=response.failure_operation_count,
        reason=response.reason,
        query=response.query,
        identity=response.identity,
        start_time=timestamp(response.start_time),
        close_time=timestamp(response.close_time),
    )


@dataclass(frozen=True)
class BatchSummary:
    job_id: str
    state: str
    start_time: datetime | None
    close_time: datetime | None


def recent(namespace_id: str, *, limit: int = 100) -> list[BatchSummary]:
    """The namespace's batch jobs (the engine lists them by id), newest first."""
    response = call(
        workflow_service().ListBatchOperations,
        ListBatchOperationsRequest(namespace=namespace_id, page_size=limit),
    )
    jobs = [
        BatchSummary(
            info.job_id, _STATE_NAMES.get(info.state, "Unknown"), timestamp(info.start_time), timestamp(info.close_time)
        )
        for info in response.operation_info
    ]
    jobs.sort(key=lambda job: job.start_time or datetime.min.replace(tzinfo=UTC), reverse=True)
    return jobs
