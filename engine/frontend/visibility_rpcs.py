"""WorkflowService's visibility RPCs: list, scan and count runs by a List Filter, the older
open/closed listings, and GetSearchAttributes. A mixin of `WorkflowService`."""

from __future__ import annotations

from typing import Any

import grpc
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsRequest,
    CountWorkflowExecutionsResponse,
    GetSearchAttributesRequest,
    GetSearchAttributesResponse,
    ListClosedWorkflowExecutionsRequest,
    ListClosedWorkflowExecutionsResponse,
    ListOpenWorkflowExecutionsRequest,
    ListOpenWorkflowExecutionsResponse,
    ListWorkflowExecutionsRequest,
    ListWorkflowExecutionsResponse,
    ScanWorkflowExecutionsRequest,
    ScanWorkflowExecutionsResponse,
    service_pb2_grpc,
)

from engine.frontend.errors import invalid, rpc
from engine.frontend.namespaces import NamespaceRegistry
from engine.visibility.attributes import PREDEFINED_ATTRIBUTES, STATUS_NAMES, SYSTEM_ATTRIBUTES
from engine.visibility.listing import Visibility

Context = grpc.aio.ServicerContext[Any, Any]


class VisibilityRpcs(service_pb2_grpc.WorkflowServiceServicer):
    namespaces: NamespaceRegistry
    visibility: Visibility

    @rpc
    async def ListWorkflowExecutions(  # type: ignore[override]
        self, request: ListWorkflowExecutionsRequest, context: Context
    ) -> ListWorkflowExecutionsResponse:
        infos, token = await self._list(request.namespace, request.query, request.page_size, request.next_page_token)
        return ListWorkflowExecutionsResponse(executions=infos, next_page_token=token)

    @rpc
    async def ScanWorkflowExecutions(  # type: ignore[override]
        self, request: ScanWorkflowExecutionsRequest, context: Context
    ) -> ScanWorkflowExecutionsResponse:
        infos, token = await self._list(request.namespace, request.query, request.page_size, request.next_page_token)
        return ScanWorkflowExecutionsResponse(executions=infos, next_page_token=token)

    @rpc
    async def CountWorkflowExecutions(  # type: ignore[override]
        self, request: CountWorkflowExecutionsRequest, context: Context
    ) -> CountWorkflowExecutionsResponse:
        ns = await self.namespaces.ref(request.namespace)
        return await self.visibility.count(ns.id, request.query)

    @rpc
    async def ListOpenWorkflowExecutions(  # type: ignore[override]
        self, request: ListOpenWorkflowExecutionsRequest, context: Context
    ) -> ListOpenWorkflowExecutionsResponse:
        infos, token = await self._list(
            request.namespace, _older_query(request, closed=False), request.maximum_page_size, request.next_page_token
        )
        return ListOpenWorkflowExecutionsResponse(executions=infos, next_page_token=token)

    @rpc
    async def ListClosedWorkflowExecutions(  # type: ignore[override]
        self, request: ListClosedWorkflowExecutionsRequest, context: Context
    ) -> ListClosedWorkflowExecutionsResponse:
        infos, token = await self._list(
            request.namespace, _older_query(request, closed=True), request.maximum_page_size, request.next_page_token
        )
        return ListClosedWorkflowExecutionsResponse(executions=infos, next_page_token=token)

    async def _list(
        self, namespace: str, query: str, page_size: int, page_token: bytes
    ) -> tuple[list[WorkflowExecutionInfo], bytes]:
        ns = await self.namespaces.ref(namespace)
        return await self.visibility.list(ns.id, query, page_size=page_size, page_token=page_token)

    async def GetSearchAttributes(  # type: ignore[override]
        self, request: GetSearchAttributesRequest, context: Context
    ) -> GetSearchAttributesResponse:
        response = GetSearchAttributesResponse()
        for attribute in (*SYSTEM_ATTRIBUTES.values(), *PREDEFINED_ATTRIBUTES.values()):
            response.keys[attribute.name] = IndexedValueType.ValueType(int(attribute.type))
        return response


def _older_query(request: Any, *, closed: bool) -> str:
    """The List Filter an older listing's filters amount to. For closed runs the start-time filter
    bounds the close time, as in Temporal. Values are quoted by `_quote`, never pasted raw."""
    conditions = ["ExecutionStatus != 'Running'" if closed else "ExecutionStatus = 'Running'"]
    if request.HasField("start_time_filter"):
        time_filter = request.start_time_filter
        earliest = time_filter.earliest_time.ToNanoseconds() if time_filter.HasField("earliest_time") else 0
        latest = time_filter.latest_time.ToNanoseconds() if time_filter.HasField("latest_time") else 2**63 - 1
        conditions.append(f"{'CloseTime' if closed else 'StartTime'} BETWEEN {int(earliest)} AND {int(latest)}")
    which = request.WhichOneof("filters")
    if which == "execution_filter":
        conditions.append("WorkflowId = " + _quote(request.execution_filter.workflow_id))
        if request.execution_filter.run_id:
            conditions.append("RunId = " + _quote(request.execution_filter.run_id))
    elif which == "type_filter":
        conditions.append("WorkflowType = " + _quote(request.type_filter.name))
    elif which == "status_filter" and request.status_filter.status:
        name = STATUS_NAMES.get(int(request.status_filter.status))
        if name is None:
            raise invalid(f"invalid status filter: {request.status_filter.status}")
        conditions.append(f"ExecutionStatus = '{name}'")
    return " AND ".join(conditions)


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
