"""WorkflowService's batch-operation RPCs. A mixin of `WorkflowService`; the logic is in
`engine.batch.operations`."""

from __future__ import annotations

from typing import Any

import grpc
from temporalio.api.workflowservice.v1 import (
    DescribeBatchOperationRequest,
    DescribeBatchOperationResponse,
    ListBatchOperationsRequest,
    ListBatchOperationsResponse,
    StartBatchOperationRequest,
    StartBatchOperationResponse,
    StopBatchOperationRequest,
    StopBatchOperationResponse,
    service_pb2_grpc,
)

from engine.batch.operations import BatchOperations
from engine.frontend.errors import rpc
from engine.frontend.namespaces import NamespaceRegistry

Context = grpc.aio.ServicerContext[Any, Any]


class BatchRpcs(service_pb2_grpc.WorkflowServiceServicer):
    namespaces: NamespaceRegistry
    batches: BatchOperations

    @rpc
    async def StartBatchOperation(  # type: ignore[override]
        self, request: StartBatchOperationRequest, context: Context
    ) -> StartBatchOperationResponse:
        ns = await self.namespaces.ref(request.namespace)
        await self.batches.start_job(ns, request)
        return StartBatchOperationResponse()

    @rpc
    async def StopBatchOperation(  # type: ignore[override]
        self, request: StopBatchOperationRequest, context: Context
    ) -> StopBatchOperationResponse:
        ns = await self.namespaces.ref(request.namespace)
        await self.batches.stop_job(ns, request.job_id, request.reason)
        return StopBatchOperationResponse()

    @rpc
    async def DescribeBatchOperation(  # type: ignore[override]
        self, request: DescribeBatchOperationRequest, context: Context
    ) -> DescribeBatchOperationResponse:
        ns = await self.namespaces.ref(request.namespace)
        return self.batches.describe(ns, request.job_id)

    @rpc
    async def ListBatchOperations(  # type: ignore[override]
        self, request: ListBatchOperationsRequest, context: Context
    ) -> ListBatchOperationsResponse:
        ns = await self.namespaces.ref(request.namespace)
        return self.batches.list_jobs(ns, page_size=request.page_size, page_token=request.next_page_token)
