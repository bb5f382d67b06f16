"""Temporal's public WorkflowService: validate, resolve the namespace, hand to history. Thin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import HistoryEventFilterType, NamespaceState, QueryResultType
from temporalio.api.errordetails.v1 import QueryFailedFailure
from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    DeleteWorkflowExecutionResponse,
    DescribeNamespaceRequest,
    DescribeNamespaceResponse,
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    GetClusterInfoRequest,
    GetClusterInfoResponse,
    GetSystemInfoRequest,
    GetSystemInfoResponse,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
    GetWorkflowExecutionHistoryReverseRequest,
    GetWorkflowExecutionHistoryReverseResponse,
    ListNamespacesRequest,
    ListNamespacesResponse,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    QueryWorkflowRequest,
    QueryWorkflowResponse,
    RegisterNamespaceRequest,
    RegisterNamespaceResponse,
    RequestCancelWorkflowExecutionRequest,
    RequestCancelWorkflowExecutionResponse,
    ResetStickyTaskQueueRequest,
    ResetStickyTaskQueueResponse,
    RespondQueryTaskCompletedRequest,
    RespondQueryTaskCompletedResponse,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskCompletedResponse,
    RespondWorkflowTaskFailedRequest,
    RespondWorkflowTaskFailedResponse,
    ShutdownWorkerRequest,
    ShutdownWorkerResponse,
    SignalWithStartWorkflowExecutionRequest,
    SignalWithStartWorkflowExecutionResponse,
    SignalWorkflowExecutionRequest,
    SignalWorkflowExecutionResponse,
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
    TerminateWorkflowExecutionRequest,
    TerminateWorkflowExecutionResponse,
    UpdateNamespaceRequest,
    UpdateNamespaceResponse,
    service_pb2_grpc,
)

from engine.auth.caller import current_caller
from engine.batch.operations import BatchOperations
from engine.frontend.activity_rpcs import ActivityRpcs
from engine.frontend.batch_rpcs import BatchRpcs
from engine.frontend.errors import RpcError, invalid, rpc
from engine.frontend.namespaces import NamespaceRegistry, describe_of
from engine.frontend.polling import MAX_POLL_SECONDS, POLL_SAFETY_MARGIN, poll_timeout
from engine.frontend.reset_rpcs import ResetRpcs
from engine.frontend.safe_handlers import Registrar, Wrapper, add_safely
from engine.frontend.schedule_rpcs import ScheduleRpcs
from engine.frontend.task_queue_rpcs import TaskQueueRpcs
from engine.frontend.unimplemented import answer_unimplemented
from engine.frontend.update_rpcs import UpdateRpcs
from engine.frontend.validation import (
    require_execution,
    require_task_queue,
    validate_start,
)
from engine.frontend.visibility_rpcs import VisibilityRpcs
from engine.history.errors import NotFound, WorkflowNotRunning
from engine.history.history_service import HistoryService
from engine.history.query_ops import QueryTimedOut
from engine.history.workflow_ops import StartSignal
from engine.persistence.records import ExecutionKey
from engine.schedules.api import ScheduleApi
from engine.version import sundial_version
from engine.visibility.listing import Visibility

# The start fields a SignalWithStart request shares with StartWorkflowExecution.
_SIGNAL_WITH_START_FIELDS = (
    "namespace",
    "workflow_id",
    "workflow_type",
    "task_queue",
    "input",
    "workflow_execution_timeout",
    "workflow_run_timeout",
    "workflow_task_timeout",
    "identity",
    "request_id",
    "workflow_id_reuse_policy",
    "workflow_id_conflict_policy",
    "retry_policy",
    "cron_schedule",
    "memo",
    "search_attributes",
    "header",
    "workflow_start_delay",
    "priority",
)
_MESSAGE_FIELDS = {
    "workflow_type",
    "task_queue",
    "input",
    "workflow_execution_timeout",
    "workflow_run_timeout",
    "workflow_task_timeout",
    "retry_policy",
    "memo",
    "search_attributes",
    "header",
    "workflow_start_delay",
    "priority",
}

# Not read from service_pb2's descriptor: importing service_pb2 needs googleapis-common-protos
# (for its HTTP annotations), which temporalio does not install. service_pb2_grpc does not.
SERVICE_NAME = "temporal.api.workflowservice.v1.WorkflowService"

Context = grpc.aio.ServicerContext[Any, Any]
CURRENT_RUN_ATTEMPTS = 3  # a current run that keeps moving on (a fast cron chain) is chased this often


def system_capabilities() -> GetSystemInfoResponse.Capabilities:
    """What the SDKs may rely on. Each flag changes SDK behaviour, so claim only what we serve.

    `sdk_metadata` makes the SDK send the flags it must find again in WorkflowTaskCompleted
    events on replay; without it replay after a cache eviction can diverge.
    """
    return GetSystemInfoResponse.Capabilities(
        signal_and_query_header=True,
        internal_error_differentiation=True,
        activity_failure_include_heartbeat=True,
        encoded_failure_attributes=True,
        upsert_memo=True,
        sdk_metadata=True,
        eager_workflow_start=True,
        supports_schedules=True,
        build_id_based_versioning=False,
        count_group_by_execution_status=True,
        nexus=False,
    )


@answer_unimplemented(
    service_name=SERVICE_NAME,
    generated_base=service_pb2_grpc.WorkflowServiceServicer,
    product=f"the Sundial engine {sundial_version()} yet",
)
class WorkflowService(ActivityRpcs, VisibilityRpcs, TaskQueueRpcs, ScheduleRpcs, BatchRpcs, ResetRpcs, UpdateRpcs):
    """The generated stubs type servicers as synchronous, hence the override ignores."""

    def __init__(
        self,
        history: HistoryService,
        namespaces: NamespaceRegistry,
        visibility: Visibility,
        schedules: ScheduleApi,
        batches: BatchOperations,
        *,
        cluster_id: str = "",
    ) -> None:
        self.history = history
        self.namespaces = namespaces
        self.visibility = visibility
        self.schedules = schedules
        self.batches = batches
        self.cluster_id = cluster_id
        self._system_info = GetSystemInfoResponse(server_version=sundial_version(), capabilities=system_capabilities())

    async def _run_key(self, namespace: str, execution: WorkflowExecution) -> ExecutionKey:
        """The run a request names: its namespace resolved, the execution checked, and an empty
        run id meaning the workflow's current run."""
        ns = await self.namespaces.ref(namespace)
        require_execution(execution)
        return await self.history.resolve(ns, execution)

    async def _on_run(
        self,
        namespace: str,
        execution: WorkflowExecution,
        act: Callable[[ExecutionKey], Awaitable[None]],
        *,
        first_execution_run_id: str = "",
    ) -> None:
        """`act` on the run a request names. Without a run id that is the current run: when it
        closed into the next run of its chain (chain_ops.py) between resolving and acting, the
        act goes to that run, as Temporal's current-run operations retry. With a
        `first_execution_run_id` (terminate, cancel) the run id is ignored, as in Temporal: the
        current run is acted on if it is running and its chain starts at that run, else NOT_FOUND."""
        if first_execution_run_id:
            execution = WorkflowExecution(workflow_id=execution.workflow_id)
            act = self._in_chain(first_execution_run_id, act)
        key = await self._run_key(namespace, execution)
        for _ in range(CURRENT_RUN_ATTEMPTS):
            try:
                return await act(key)
            except WorkflowNotRunning:
                again = None if execution.run_id else await self._run_key(namespace, execution)
                if again is None or again == key:
                    raise
                key = again
        await act(key)

    def _in_chain(
        self, first_execution_run_id: str, act: Callable[[ExecutionKey], Awaitable[None]]
    ) -> Callable[[ExecutionKey], Awaitable[None]]:
        """`act`, on a running run only if its chain starts at `first_execution_run_id`."""

        async def checked(key: ExecutionKey) -> None:
            state = (await self.history.read(key)).state  # a run's first run id never changes
            if state.running and (state.first_execution_run_id or key.run_id) != first_execution_run_id:
                raise NotFound("workflow execution not found")
            await act(key)

        return checked

    # --- system and namespaces ------------------------------------------------------------

    async def GetSystemInfo(self, request: GetSystemInfoRequest, context: Context) -> GetSystemInfoResponse:  # type: ignore[override]
        return self._system_info

    @rpc
    async def GetClusterInfo(self, request: GetClusterInfoRequest, context: Context) -> GetClusterInfoResponse:  # type: ignore[override]
        return GetClusterInfoResponse(
            server_version=sundial_version(),
            cluster_id=self.cluster_id,
            cluster_name="sundial",
            history_shard_count=1,
            persistence_store=self.history.store.url.dialect,
            visibility_store=self.history.store.url.dialect,
        )

    @rpc
    async def RegisterNamespace(self, request: RegisterNamespaceRequest, context: Context) -> RegisterNamespaceResponse:  # type: ignore[override]
        await self.namespaces.register(request)
        return RegisterNamespaceResponse()

    @rpc
    async def DescribeNamespace(self, request: DescribeNamespaceRequest, context: Context) -> DescribeNamespaceResponse:  # type: ignore[override]
        if request.id and not request.namespace:
            record = await self.history.store.get_namespace(id=request.id)
            if record is None or record.state == NamespaceState.NAMESPACE_STATE_DELETED:
                raise RpcError(grpc.StatusCode.NOT_FOUND, f"Namespace {request.id} is not found.")
            return describe_of(record)
        return describe_of(await self.namespaces.get(request.namespace))

    @rpc
    async def ListNamespaces(self, request: ListNamespacesRequest, context: Context) -> ListNamespacesResponse:  # type: ignore[override]
        caller = current_caller.get()
        if caller is not None:  # a tenant sees the namespaces it may read, no others
            names = caller.readable_namespaces()
            return await self.namespaces.list_named(names, request.page_size, request.next_page_token)
        return await self.namespaces.list(request.page_size, request.next_page_token)

    @rpc
    async def UpdateNamespace(self, request: UpdateNamespaceRequest, context: Context) -> UpdateNamespaceResponse:  # type: ignore[override]
        described = await self.namespaces.update(request)
        return UpdateNamespaceResponse(namespace_info=described.namespace_info, config=described.config)

    # --- starting and messaging workflows -------------------------------------------------

    @rpc
    async def StartWorkflowExecution(  # type: ignore[override]
        self, request: StartWorkflowExecutionRequest, context: Context
    ) -> StartWorkflowExecutionResponse:
        ns = await self.namespaces.ref(request.namespace)
        validate_start(request)
        eager: list[PollWorkflowTaskQueueResponse] = []
        run_id, started = await self.history.start_workflow(ns, request, eager=eager)
        response = StartWorkflowExecutionResponse(run_id=run_id, started=started)
        if eager:
            response.eager_workflow_task.CopyFrom(eager[0])
        return response

    @rpc
    async def SignalWorkflowExecution(  # type: ignore[override]
        self, request: SignalWorkflowExecutionRequest, context: Context
    ) -> SignalWorkflowExecutionResponse:
        ns = await self.namespaces.ref(request.namespace)
        require_execution(request.workflow_execution)
        if not request.signal_name:
            raise invalid("signal_name is required")
        key = await self.history.resolve(ns, request.workflow_execution)
        await self.history.signal(
            key,
            StartSignal(
                name=request.signal_name,
                input=request.input if request.HasField("input") else None,
                identity=request.identity,
                request_id=request.request_id,
                header=request.header if request.HasField("header") else None,
            ),
        )
        return SignalWorkflowExecutionResponse()

    @rpc
    async def SignalWithStartWorkflowExecution(  # type: ignore[override]
        self, request: SignalWithStartWorkflowExecutionRequest, context: Context
    ) -> SignalWithStartWorkflowExecutionResponse:
        ns = await self.namespaces.ref(request.namespace)
        if not request.signal_name:
            raise invalid("signal_name is required")
        start = StartWorkflowExecutionRequest()
        for field in _SIGNAL_WITH_START_FIELDS:
            if request.HasField(field) if field in _MESSAGE_FIELDS else True:  # type: ignore[arg-type]
                value = getattr(request, field)
                if field in _MESSAGE_FIELDS:
                    getattr(start, field).CopyFrom(value)
                else:
                    setattr(start, field, value)
        validate_start(start)
        signal = StartSignal(
            name=request.signal_name,
            input=request.signal_input if request.HasField("signal_input") else None,
            identity=request.identity,
            request_id=request.request_id,
            header=request.header if request.HasField("header") else None,
        )
        run_id, started = await self.history.start_workflow(ns, start, signal)
        return SignalWithStartWorkflowExecutionResponse(run_id=run_id, started=started)

    @rpc
    async def RequestCancelWorkflowExecution(  # type: ignore[override]
        self, request: RequestCancelWorkflowExecutionRequest, context: Context
    ) -> RequestCancelWorkflowExecutionResponse:
        await self._on_run(
            request.namespace,
            request.workflow_execution,
            lambda key: self.history.request_cancel(key, identity=request.identity, reason=request.reason),
            first_execution_run_id=request.first_execution_run_id,
        )
        return RequestCancelWorkflowExecutionResponse()

    @rpc
    async def TerminateWorkflowExecution(  # type: ignore[override]
        self, request: TerminateWorkflowExecutionRequest, context: Context
    ) -> TerminateWorkflowExecutionResponse:
        await self._on_run(
            request.namespace,
            request.workflow_execution,
            lambda key: self.history.terminate(
                key,
                reason=request.reason,
                details=request.details if request.HasField("details") else None,
                identity=request.identity,
            ),
            first_execution_run_id=request.first_execution_run_id,
        )
        return TerminateWorkflowExecutionResponse()

    @rpc
    async def DeleteWorkflowExecution(  # type: ignore[override]
        self, request: DeleteWorkflowExecutionRequest, context: Context
    ) -> DeleteWorkflowExecutionResponse:
        key = await self._run_key(request.namespace, request.workflow_execution)
        await self.history.delete_run(key, identity="")
        return DeleteWorkflowExecutionResponse()

    @rpc
    async def GetWorkflowExecutionHistory(  # type: ignore[override]
        self, request: GetWorkflowExecutionHistoryRequest, context: Context
    ) -> GetWorkflowExecutionHistoryResponse:
        key = await self._run_key(request.namespace, request.execution)
        close_only = request.history_event_filter_type == HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
        events, token = await self.history.read_history(
            key,
            page_size=request.maximum_page_size,
            page_token=request.next_page_token,
            wait_new_event=request.wait_new_event,
            close_event_only=close_only,
        )
        response = GetWorkflowExecutionHistoryResponse(next_page_token=token)
        response.history.events.extend(events)
        return response

    @rpc
    async def GetWorkflowExecutionHistoryReverse(  # type: ignore[override]
        self, request: GetWorkflowExecutionHistoryReverseRequest, context: Context
    ) -> GetWorkflowExecutionHistoryReverseResponse:
        key = await self._run_key(request.namespace, request.execution)
        events, token = await self.history.read_history_reverse(
            key, page_size=request.maximum_page_size, page_token=request.next_page_token
        )
        response = GetWorkflowExecutionHistoryReverseResponse(next_page_token=token)
        response.history.events.extend(events)
        return response

    @rpc
    async def DescribeWorkflowExecution(  # type: ignore[override]
        self, request: DescribeWorkflowExecutionRequest, context: Context
    ) -> DescribeWorkflowExecutionResponse:
        return await self.history.describe(await self._run_key(request.namespace, request.execution))

    @rpc
    async def QueryWorkflow(self, request: QueryWorkflowRequest, context: Context) -> QueryWorkflowResponse:  # type: ignore[override]
        ns = await self.namespaces.ref(request.namespace)
        require_execution(request.execution)
        if not request.HasField("query") or not request.query.query_type:
            raise invalid("query.query_type is required")
        key = await self.history.resolve(ns, request.execution)
        remaining = context.time_remaining()
        timeout = max(0.1, remaining - POLL_SAFETY_MARGIN) if remaining is not None else MAX_POLL_SECONDS
        try:
            outcome = await self.history.query(
                key, request.query, reject_condition=request.query_reject_condition, timeout=timeout
            )
        except QueryTimedOut as exc:
            raise RpcError(grpc.StatusCode.DEADLINE_EXCEEDED, str(exc)) from None
        if outcome.rejected_status:
            response = QueryWorkflowResponse()
            response.query_rejected.status = outcome.rejected_status  # type: ignore[assignment]
            return response
        result = outcome.result
        assert result is not None
        if result.result_type == QueryResultType.QUERY_RESULT_TYPE_FAILED:
            raise RpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                result.error_message or "query failed",
                QueryFailedFailure(failure=result.failure) if result.HasField("failure") else QueryFailedFailure(),
            )
        response = QueryWorkflowResponse()
        if result.HasField("answer"):
            response.query_result.CopyFrom(result.answer)
        return response

    @rpc
    async def RespondQueryTaskCompleted(  # type: ignore[override]
        self, request: RespondQueryTaskCompletedRequest, context: Context
    ) -> RespondQueryTaskCompletedResponse:
        await self.history.respond_query_task(request)
        return RespondQueryTaskCompletedResponse()

    @rpc
    async def ResetStickyTaskQueue(  # type: ignore[override]
        self, request: ResetStickyTaskQueueRequest, context: Context
    ) -> ResetStickyTaskQueueResponse:
        await self.history.reset_sticky(await self._run_key(request.namespace, request.execution))
        return ResetStickyTaskQueueResponse()

    # --- workers --------------------------------------------------------------------------

    @rpc
    async def PollWorkflowTaskQueue(  # type: ignore[override]
        self, request: PollWorkflowTaskQueueRequest, context: Context
    ) -> PollWorkflowTaskQueueResponse:
        ns = await self.namespaces.ref(request.namespace)
        require_task_queue(request.task_queue)
        response = await self.history.poll_workflow_task(
            ns, request.task_queue.name, identity=request.identity, timeout=poll_timeout(context)
        )
        return response or PollWorkflowTaskQueueResponse()

    @rpc
    async def RespondWorkflowTaskCompleted(  # type: ignore[override]
        self, request: RespondWorkflowTaskCompletedRequest, context: Context
    ) -> RespondWorkflowTaskCompletedResponse:
        return await self.history.complete_workflow_task(request)

    @rpc
    async def RespondWorkflowTaskFailed(  # type: ignore[override]
        self, request: RespondWorkflowTaskFailedRequest, context: Context
    ) -> RespondWorkflowTaskFailedResponse:
        await self.history.fail_workflow_task(request)
        return RespondWorkflowTaskFailedResponse()

    @rpc
    async def ShutdownWorker(self, request: ShutdownWorkerRequest, context: Context) -> ShutdownWorkerResponse:  # type: ignore[override]
        ns = await self.namespaces.ref(request.namespace)
        if request.sticky_task_queue:
            await self.history.shutdown_sticky_queue(ns.id, request.sticky_task_queue)
        return ShutdownWorkerResponse()


def add_workflow_service(server: Registrar, service: WorkflowService, *, wrap: Wrapper | None = None) -> None:
    """Register the service; `wrap` (the authorizer's, outside dev mode) guards every method."""
    add_safely(service_pb2_grpc.add_WorkflowServiceServicer_to_server, service, server, wrap=wrap)
