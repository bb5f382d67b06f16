"""WorkflowService's update RPCs: UpdateWorkflowExecution, PollWorkflowExecutionUpdate and
update-with-start (ExecuteMultiOperation). A mixin of `WorkflowService`; the logic is in
`engine.history.update_ops`."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import any_pb2
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage as Stage
from temporalio.api.errordetails.v1 import MultiOperationExecutionFailure
from temporalio.api.failure.v1 import MultiOperationExecutionAborted
from temporalio.api.update.v1 import Request
from temporalio.api.workflowservice.v1 import (
    ExecuteMultiOperationRequest,
    ExecuteMultiOperationResponse,
    PollWorkflowExecutionUpdateRequest,
    PollWorkflowExecutionUpdateResponse,
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
    UpdateWorkflowExecutionRequest,
    UpdateWorkflowExecutionResponse,
    service_pb2_grpc,
)

from engine.frontend.errors import RpcError, invalid, rpc, translate
from engine.frontend.namespaces import NamespaceRegistry
from engine.frontend.polling import poll_timeout
from engine.frontend.validation import MAX_ID_LENGTH, require_execution, validate_start
from engine.history.history_service import HistoryService
from engine.history.service import NamespaceRef
from engine.history.update_ops import UpdateStatus
from engine.persistence.records import ExecutionKey

Context = grpc.aio.ServicerContext[Any, Any]
LONG_POLL_SECONDS = 20.0  # Temporal's history.longPollExpirationInterval: then the stage so far is answered
_ABORTED = "Operation was aborted."


def validate_update(request: UpdateWorkflowExecutionRequest) -> None:
    require_execution(request.workflow_execution)
    update = request.request
    if not update.meta.update_id:
        raise invalid("invalid Request: meta.update_id is not set")
    if len(update.meta.update_id) > MAX_ID_LENGTH:
        raise invalid(f"meta.update_id is longer than {MAX_ID_LENGTH} characters")
    if not update.input.name:
        raise invalid("invalid Request: input.name is not set")
    if request.wait_policy.lifecycle_stage not in Stage.values():
        raise invalid(f"wait_policy.lifecycle_stage {request.wait_policy.lifecycle_stage} is not a lifecycle stage")


def _response(key: ExecutionKey, update_id: str, status: UpdateStatus) -> UpdateWorkflowExecutionResponse:
    response = UpdateWorkflowExecutionResponse(stage=status.stage)  # type: ignore[arg-type]
    response.update_ref.workflow_execution.workflow_id = key.workflow_id
    response.update_ref.workflow_execution.run_id = key.run_id
    response.update_ref.update_id = update_id
    if status.outcome is not None:
        response.outcome.CopyFrom(status.outcome)
    return response


class UpdateRpcs(service_pb2_grpc.WorkflowServiceServicer):
    namespaces: NamespaceRegistry
    history: HistoryService

    @rpc
    async def UpdateWorkflowExecution(  # type: ignore[override]
        self, request: UpdateWorkflowExecutionRequest, context: Context
    ) -> UpdateWorkflowExecutionResponse:
        ns = await self.namespaces.ref(request.namespace)
        validate_update(request)
        key = await self.history.resolve(ns, request.workflow_execution)
        return await self._update(key, request, poll_timeout(context, LONG_POLL_SECONDS))

    async def _update(
        self, key: ExecutionKey, request: UpdateWorkflowExecutionRequest, timeout: float
    ) -> UpdateWorkflowExecutionResponse:
        update = Request()
        update.CopyFrom(request.request)
        status = await self.history.update_workflow(
            key,
            update,
            first_execution_run_id=request.first_execution_run_id,
            wait_stage=request.wait_policy.lifecycle_stage,
            timeout=timeout,
        )
        return _response(key, update.meta.update_id, status)

    @rpc
    async def PollWorkflowExecutionUpdate(  # type: ignore[override]
        self, request: PollWorkflowExecutionUpdateRequest, context: Context
    ) -> PollWorkflowExecutionUpdateResponse:
        ns = await self.namespaces.ref(request.namespace)
        ref = request.update_ref
        require_execution(ref.workflow_execution)
        if not ref.update_id:
            raise invalid("update_ref.update_id is required")
        key = await self.history.resolve(ns, ref.workflow_execution)
        status = await self.history.poll_update(
            key,
            ref.update_id,
            wait_stage=request.wait_policy.lifecycle_stage,
            timeout=poll_timeout(context, LONG_POLL_SECONDS),
        )
        response = PollWorkflowExecutionUpdateResponse(stage=status.stage)  # type: ignore[arg-type]
        response.update_ref.workflow_execution.workflow_id = key.workflow_id
        response.update_ref.workflow_execution.run_id = key.run_id
        response.update_ref.update_id = ref.update_id
        if status.outcome is not None:
            response.outcome.CopyFrom(status.outcome)
        return response

    @rpc
    async def ExecuteMultiOperation(  # type: ignore[override]
        self, request: ExecuteMultiOperationRequest, context: Context
    ) -> ExecuteMultiOperationResponse:
        """Update-with-start: operations are exactly [start_workflow, update_workflow]."""
        ns = await self.namespaces.ref(request.namespace)
        ops = request.operations
        if len(ops) != 2 or not ops[0].HasField("start_workflow") or not ops[1].HasField("update_workflow"):
            raise invalid("Operations have to be exactly [Start, Update].")
        start, update = ops[0].start_workflow, ops[1].update_workflow
        try:
            _validate_start_of_multi(ns, start)
        except Exception as exc:
            raise _multi_failure(exc, failed=0) from None
        try:
            _validate_update_of_multi(ns, start, update)
        except Exception as exc:
            raise _multi_failure(exc, failed=1) from None
        try:
            run_id, started = await self.history.start_workflow(ns, start)
        except Exception as exc:
            raise _multi_failure(exc, failed=0) from None
        # the update is admitted before the first workflow task can be handed out (nothing
        # between the start's commit and this call yields), so that task carries it
        key = ExecutionKey(ns.id, start.workflow_id, run_id)
        try:
            updated = await self._update(key, update, poll_timeout(context, LONG_POLL_SECONDS))
        except Exception as exc:
            raise _multi_failure(exc, failed=1) from None
        response = ExecuteMultiOperationResponse()
        response.responses.add().start_workflow.CopyFrom(StartWorkflowExecutionResponse(run_id=run_id, started=started))
        response.responses.add().update_workflow.CopyFrom(updated)
        return response


def _validate_start_of_multi(ns: NamespaceRef, start: StartWorkflowExecutionRequest) -> None:
    if start.namespace and start.namespace != ns.name:
        raise invalid("namespace of the start operation differs from the request's")
    validate_start(start)
    if start.request_eager_execution:
        raise invalid("RequestEagerExecution is not supported with update-with-start")
    if start.HasField("workflow_start_delay"):
        raise invalid("WorkflowStartDelay is not supported with update-with-start")


def _validate_update_of_multi(
    ns: NamespaceRef, start: StartWorkflowExecutionRequest, update: UpdateWorkflowExecutionRequest
) -> None:
    if update.namespace and update.namespace != ns.name:
        raise invalid("namespace of the update operation differs from the request's")
    if update.workflow_execution.workflow_id != start.workflow_id:
        raise invalid("WorkflowId is not consistent with previous operation(s)")
    if update.workflow_execution.run_id:
        raise invalid("RunId is not allowed")
    if update.first_execution_run_id:
        raise invalid("FirstExecutionRunId is not allowed")
    validate_update(update)


def _multi_failure(exc: Exception, *, failed: int) -> Exception:
    """Temporal's answer for a failed multi-operation: ABORTED with one status per operation,
    the failed one's own and ABORTED (MultiOperationExecutionAborted) for the other."""
    error = translate(exc)
    if error is None:
        return exc  # a bug: the rpc wrapper answers INTERNAL
    failure = MultiOperationExecutionFailure()
    for index in range(2):
        status = failure.statuses.add()
        detail = any_pb2.Any()
        if index == failed:
            status.code, status.message = error.code.value[0], error.message
            if error.detail is not None:
                detail.Pack(error.detail)
                status.details.append(detail)
        else:
            status.code, status.message = grpc.StatusCode.ABORTED.value[0], _ABORTED
            detail.Pack(MultiOperationExecutionAborted())
            status.details.append(detail)
    return RpcError(grpc.StatusCode.ABORTED, "MultiOperation could not be executed.", failure)
