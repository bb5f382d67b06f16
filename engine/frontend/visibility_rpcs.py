"""WorkflowService's visibility RPCs: list, scan and count runs by a List Filter, the older
open/closed listings, and GetSearchAttributes. A mixin of `WorkflowService`."""

from __future__ import annotations

from typing import Any

import grpc
from temporalio.api.enums.v1 import IndexedValueType
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

from engine.frontend.errors import rpc
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
        ns = await self.namespaces.ref(request.namespace)
        infos, token = await self.visibility.list(
            ns.id, request.query, page_size=request.page_size, page_token=request.next_page_token
        )
        return ListWorkflowExecutionsResponse(executions=infos, next_page_token=token)

    @rpc
    async def ScanWorkflowExecutions(  # type: ignore[override]
        self, request: ScanWorkflowExecutionsRequest, context: Context
    ) -> ScanWorkflowExecutionsResponse:
        ns = await self.namespaces.ref(request.namespace)
        infos, token = await self.visibility.list(
            ns.id, request.query, page_size=request.page_size, page_token=request.next_page_token
        )
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
        ns = await self.namespaces.ref(request.namespace)
        conditions = ["ExecutionStatus = 'Running'"]
        params: list[str] = []
        if request.HasField("start_time_filter"):
            conditions.append(_time_range("StartTime", request.start_time_filter))
        _identity_filters(request, conditions, params)
        infos, token = await self.visibility.list(
            ns.id, _join(conditions, params), page_size=request.maximum_page_size, page_token=request.next_page_token
        )
        return ListOpenWorkflowExecutionsResponse(executions=infos, next_page_token=token)

    @rpc
    async def ListClosedWorkflowExecutions(  # type: ignore[override]
        self, request: ListClosedWorkflowExecutionsRequest, context: Context
    ) -> ListClosedWorkflowExecutionsResponse:
        ns = await self.namespaces.ref(request.namespace)
        conditions = ["ExecutionStatus != 'Running'"]
        params: list[str] = []
        if request.HasField("start_time_filter"):  # as Temporal: for closed runs it bounds the close time
            conditions.append(_time_range("CloseTime", request.start_time_filter))
        _identity_filters(request, conditions, params)
        if request.HasField("status_filter") and request.status_filter.status:
            name = STATUS_NAMES.get(int(request.status_filter.status))
            if name is None:
                from engine.frontend.errors import invalid

                raise invalid(f"invalid status filter: {request.status_filter.status}")
            conditions.append(f"ExecutionStatus = '{name}'")
        infos, token = await self.visibility.list(
            ns.id, _join(conditions, params), page_size=request.maximum_page_size, page_token=request.next_page_token
        )
        return ListClosedWorkflowExecutionsResponse(executions=infos, next_page_token=token)

    async def GetSearchAttributes(  # type: ignore[override]
        self, request: GetSearchAttributesRequest, context: Context
    ) -> GetSearchAttributesResponse:
        response = GetSearchAttributesResponse()
        for attribute in (*SYSTEM_ATTRIBUTES.values(), *PREDEFINED_ATTRIBUTES.values()):
            response.keys[attribute.name] = IndexedValueType.ValueType(int(attribute.type))
        return response


def _time_range(name: str, time_filter: Any) -> str:
    earliest = time_filter.earliest_time.ToNanoseconds() if time_filter.HasField("earliest_time") else 0
    latest = time_filter.latest_time.ToNanoseconds() if time_filter.HasField("latest_time") else 2**63 - 1
    return f"{name} BETWEEN {int(earliest)} AND {int(latest)}"


def _identity_filters(request: Any, conditions: list[str], params: list[str]) -> None:
    """The execution or type filter of the older listings, as List Filter conditions whose
    values are quoted by `_join` (never pasted raw)."""
    which = request.WhichOneof("filters")
    if which == "execution_filter":
        conditions.append("WorkflowId = {}")
        params.append(request.execution_filter.workflow_id)
        if request.execution_filter.run_id:
            conditions.append("RunId = {}")
            params.append(request.execution_filter.run_id)
    elif which == "type_filter":
        conditions.append("WorkflowType = {}")
        params.append(request.type_filter.name)


def _join(conditions: list[str], params: list[str]) -> str:
    quoted = ["'" + value.replace("\\", "\\\\").replace("'", "''") + "'" for value in params]
    return " AND ".join(conditions).format(*quoted)
