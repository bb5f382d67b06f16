"""WorkflowService's activity-worker RPCs: polling for activity tasks and reporting their
outcome, by task token or by workflow and activity id. A mixin of `WorkflowService`; the logic
is in `engine.history.activity_ops`."""

from __future__ import annotations

from typing import Any

import grpc
from temporalio.api.workflowservice.v1 import (
    PollActivityTaskQueueRequest,
    PollActivityTaskQueueResponse,
    RecordActivityTaskHeartbeatByIdRequest,
    RecordActivityTaskHeartbeatByIdResponse,
    RecordActivityTaskHeartbeatRequest,
    RecordActivityTaskHeartbeatResponse,
    RespondActivityTaskCanceledByIdRequest,
    RespondActivityTaskCanceledByIdResponse,
    RespondActivityTaskCanceledRequest,
    RespondActivityTaskCanceledResponse,
    RespondActivityTaskCompletedByIdRequest,
    RespondActivityTaskCompletedByIdResponse,
    RespondActivityTaskCompletedRequest,
    RespondActivityTaskCompletedResponse,
    RespondActivityTaskFailedByIdRequest,
    RespondActivityTaskFailedByIdResponse,
    RespondActivityTaskFailedRequest,
    RespondActivityTaskFailedResponse,
    service_pb2_grpc,
)

from engine.frontend.errors import invalid, rpc
from engine.frontend.namespaces import NamespaceRegistry
from engine.frontend.polling import poll_timeout
from engine.frontend.validation import require_task_queue
from engine.history.history_service import HistoryService

Context = grpc.aio.ServicerContext[Any, Any]


class ActivityRpcs(service_pb2_grpc.WorkflowServiceServicer):
    namespaces: NamespaceRegistry
    history: HistoryService

    @rpc
    async def PollActivityTaskQueue(  # type: ignore[override]
        self, request: PollActivityTaskQueueRequest, context: Context
    ) -> PollActivityTaskQueueResponse:
        ns = await self.namespaces.ref(request.namespace)
        require_task_queue(request.task_queue)
        response = await self.history.poll_activity_task(
            ns, request.task_queue.name, identity=request.identity, timeout=poll_timeout(context)
        )
        return response or PollActivityTaskQueueResponse()

    @rpc
    async def RespondActivityTaskCompleted(  # type: ignore[override]
        self, request: RespondActivityTaskCompletedRequest, context: Context
    ) -> RespondActivityTaskCompletedResponse:
        await self._complete_activity(request.task_token, request)
        return RespondActivityTaskCompletedResponse()

    @rpc
    async def RespondActivityTaskFailed(  # type: ignore[override]
        self, request: RespondActivityTaskFailedRequest, context: Context
    ) -> RespondActivityTaskFailedResponse:
        if not request.HasField("failure"):
            raise invalid("failure is required")
        await self._fail_activity(request.task_token, request)
        return RespondActivityTaskFailedResponse()

    @rpc
    async def RespondActivityTaskCanceled(  # type: ignore[override]
        self, request: RespondActivityTaskCanceledRequest, context: Context
    ) -> RespondActivityTaskCanceledResponse:
        await self._cancel_activity(request.task_token, request)
        return RespondActivityTaskCanceledResponse()

    @rpc
    async def RecordActivityTaskHeartbeat(  # type: ignore[override]
        self, request: RecordActivityTaskHeartbeatRequest, context: Context
    ) -> RecordActivityTaskHeartbeatResponse:
        return RecordActivityTaskHeartbeatResponse(cancel_requested=await self._heartbeat(request.task_token, request))

    # The *ById forms name the activity by workflow and activity id instead of a task token;
    # once that is resolved to the token of its started attempt they are the same operations.

    @rpc
    async def RespondActivityTaskCompletedById(  # type: ignore[override]
        self, request: RespondActivityTaskCompletedByIdRequest, context: Context
    ) -> RespondActivityTaskCompletedByIdResponse:
        await self._complete_activity(await self._token_by_id(request), request)
        return RespondActivityTaskCompletedByIdResponse()

    @rpc
    async def RespondActivityTaskFailedById(  # type: ignore[override]
        self, request: RespondActivityTaskFailedByIdRequest, context: Context
    ) -> RespondActivityTaskFailedByIdResponse:
        if not request.HasField("failure"):
            raise invalid("failure is required")
        await self._fail_activity(await self._token_by_id(request), request)
        return RespondActivityTaskFailedByIdResponse()

    @rpc
    async def RespondActivityTaskCanceledById(  # type: ignore[override]
        self, request: RespondActivityTaskCanceledByIdRequest, context: Context
    ) -> RespondActivityTaskCanceledByIdResponse:
        await self._cancel_activity(await self._token_by_id(request), request)
        return RespondActivityTaskCanceledByIdResponse()

    @rpc
    async def RecordActivityTaskHeartbeatById(  # type: ignore[override]
        self, request: RecordActivityTaskHeartbeatByIdRequest, context: Context
    ) -> RecordActivityTaskHeartbeatByIdResponse:
        cancel = await self._heartbeat(await self._token_by_id(request), request)
        return RecordActivityTaskHeartbeatByIdResponse(cancel_requested=cancel)

    async def _token_by_id(self, request: Any) -> bytes:
        ns = await self.namespaces.ref(request.namespace)
        if not request.workflow_id:
            raise invalid("workflow_id is required")
        if not request.activity_id:
            raise invalid("activity_id is required")
        return await self.history.resolve_activity_token(ns, request.workflow_id, request.run_id, request.activity_id)

    # Each takes either form of its request: they share the field names.

    async def _complete_activity(self, token: bytes, request: Any) -> None:
        result = request.result if request.HasField("result") else None
        await self.history.complete_activity(token, result=result, identity=request.identity)

    async def _fail_activity(self, token: bytes, request: Any) -> None:
        details = request.last_heartbeat_details if request.HasField("last_heartbeat_details") else None
        await self.history.fail_activity(
            token, failure=request.failure, identity=request.identity, last_heartbeat_details=details
        )

    async def _cancel_activity(self, token: bytes, request: Any) -> None:
        details = request.details if request.HasField("details") else None
        await self.history.cancel_activity(token, details=details, identity=request.identity)

    async def _heartbeat(self, token: bytes, request: Any) -> bool:
        return await self.history.heartbeat(token, details=request.details if request.HasField("details") else None)
