"""WorkflowService's task-queue RPCs: DescribeTaskQueue (pollers, backlog) and
ListTaskQueuePartitions. A mixin of `WorkflowService`."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import PollerInfo, TaskQueuePartitionMetadata, TaskQueueStats, TaskQueueStatus
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    DescribeTaskQueueResponse,
    ListTaskQueuePartitionsRequest,
    ListTaskQueuePartitionsResponse,
    service_pb2_grpc,
)

from engine.frontend.errors import invalid, rpc
from engine.frontend.namespaces import NamespaceRegistry
from engine.frontend.validation import require_task_queue
from engine.history.history_service import HistoryService
from engine.matching.task_queues import KIND_ACTIVITY, KIND_WORKFLOW, QueueKey

Context = grpc.aio.ServicerContext[Any, Any]
_KINDS = {
    TaskQueueType.TASK_QUEUE_TYPE_UNSPECIFIED: KIND_WORKFLOW,
    TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW: KIND_WORKFLOW,
    TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY: KIND_ACTIVITY,
}
DEFAULT_RATE_PER_SECOND = 100_000.0  # what Temporal reports for a poller that set no limit


class TaskQueueRpcs(service_pb2_grpc.WorkflowServiceServicer):
    namespaces: NamespaceRegistry
    history: HistoryService

    @rpc
    async def DescribeTaskQueue(  # type: ignore[override]
        self, request: DescribeTaskQueueRequest, context: Context
    ) -> DescribeTaskQueueResponse:
        ns = await self.namespaces.ref(request.namespace)
        require_task_queue(request.task_queue)
        kind = _KINDS.get(request.task_queue_type)
        if kind is None:
            raise invalid(f"task queue type {request.task_queue_type} is not served: use workflow or activity")
        if request.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY and kind != KIND_WORKFLOW:
            raise invalid("a sticky task queue only holds workflow tasks")
        key = QueueKey(ns.id, request.task_queue.name, kind)
        matching = self.history.matching
        response = DescribeTaskQueueResponse()
        for poller in matching.pollers(key):
            info = PollerInfo(identity=poller.identity, rate_per_second=DEFAULT_RATE_PER_SECOND)
            info.last_access_time.FromNanoseconds(int(poller.last_access_time * 1e9))
            response.pollers.append(info)
        count, age = matching.backlog(key)
        if request.report_stats:
            response.stats.CopyFrom(
                TaskQueueStats(approximate_backlog_count=count, approximate_backlog_age=Duration(seconds=int(age)))
            )
        if request.include_task_queue_status:
            response.task_queue_status.CopyFrom(
                TaskQueueStatus(backlog_count_hint=count, rate_per_second=DEFAULT_RATE_PER_SECOND)
            )
        return response

    @rpc
    async def ListTaskQueuePartitions(  # type: ignore[override]
        self, request: ListTaskQueuePartitionsRequest, context: Context
    ) -> ListTaskQueuePartitionsResponse:
        await self.namespaces.ref(request.namespace)
        require_task_queue(request.task_queue)
        partition = TaskQueuePartitionMetadata(key=request.task_queue.name, owner_host_name="sundial-engine")
        return ListTaskQueuePartitionsResponse(
            activity_task_queue_partitions=[partition], workflow_task_queue_partitions=[partition]
        )
