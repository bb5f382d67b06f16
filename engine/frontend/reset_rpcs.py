"""WorkflowService's ResetWorkflowExecution. A mixin of `WorkflowService`; the logic is in
`engine.history.reset_ops`."""

from __future__ import annotations

from typing import Any

import grpc
from temporalio.api.workflowservice.v1 import (
    ResetWorkflowExecutionRequest,
    ResetWorkflowExecutionResponse,
    service_pb2_grpc,
)

from engine.frontend.errors import invalid, rpc
from engine.frontend.namespaces import NamespaceRegistry
from engine.frontend.validation import MAX_ID_LENGTH, require_execution
from engine.history.history_service import HistoryService

Context = grpc.aio.ServicerContext[Any, Any]


class ResetRpcs(service_pb2_grpc.WorkflowServiceServicer):
    namespaces: NamespaceRegistry
    history: HistoryService

    @rpc
    async def ResetWorkflowExecution(  # type: ignore[override]
        self, request: ResetWorkflowExecutionRequest, context: Context
    ) -> ResetWorkflowExecutionResponse:
        ns = await self.namespaces.ref(request.namespace)
        if not request.request_id:
            raise invalid("request_id is required")
        if len(request.request_id) > MAX_ID_LENGTH:
            raise invalid(f"request_id is longer than {MAX_ID_LENGTH} characters")
        require_execution(request.workflow_execution)
        if request.post_reset_operations:
            raise invalid("post_reset_operations are not supported by this engine yet")
        run_id = await self.history.reset_workflow(ns, request)
        return ResetWorkflowExecutionResponse(run_id=run_id)
