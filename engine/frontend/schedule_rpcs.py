"""WorkflowService's schedule RPCs. A mixin of `WorkflowService`; the logic is in
`engine.schedules.api`."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import grpc
from temporalio.api.workflowservice.v1 import (
    CountSchedulesRequest,
    CountSchedulesResponse,
    CreateScheduleRequest,
    CreateScheduleResponse,
    DeleteScheduleRequest,
    DeleteScheduleResponse,
    DescribeScheduleRequest,
    DescribeScheduleResponse,
    ListScheduleMatchingTimesRequest,
    ListScheduleMatchingTimesResponse,
    ListSchedulesRequest,
    ListSchedulesResponse,
    PatchScheduleRequest,
    PatchScheduleResponse,
    UpdateScheduleRequest,
    UpdateScheduleResponse,
    service_pb2_grpc,
)

from engine.frontend.errors import invalid, rpc
from engine.frontend.namespaces import NamespaceRegistry
from engine.schedules.api import ScheduleApi

Context = grpc.aio.ServicerContext[Any, Any]


class ScheduleRpcs(service_pb2_grpc.WorkflowServiceServicer):
    namespaces: NamespaceRegistry
    schedules: ScheduleApi

    @rpc
    async def CreateSchedule(self, request: CreateScheduleRequest, context: Context) -> CreateScheduleResponse:  # type: ignore[override]
        ns = await self.namespaces.ref(request.namespace)
        if not request.HasField("schedule"):
            raise invalid("schedule is required")
        token = await self.schedules.create(ns, request)
        return CreateScheduleResponse(conflict_token=token)

    @rpc
    async def DescribeSchedule(  # type: ignore[override]
        self, request: DescribeScheduleRequest, context: Context
    ) -> DescribeScheduleResponse:
        ns = await self.namespaces.ref(request.namespace)
        return self.schedules.describe(ns, request.schedule_id)

    @rpc
    async def UpdateSchedule(self, request: UpdateScheduleRequest, context: Context) -> UpdateScheduleResponse:  # type: ignore[override]
        ns = await self.namespaces.ref(request.namespace)
        if not request.HasField("schedule"):
            raise invalid("schedule is required")
        await self.schedules.update(ns, request)
        return UpdateScheduleResponse()

    @rpc
    async def PatchSchedule(self, request: PatchScheduleRequest, context: Context) -> PatchScheduleResponse:  # type: ignore[override]
        ns = await self.namespaces.ref(request.namespace)
        await self.schedules.patch(ns, request.schedule_id, request.patch)
        return PatchScheduleResponse()

    @rpc
    async def DeleteSchedule(self, request: DeleteScheduleRequest, context: Context) -> DeleteScheduleResponse:  # type: ignore[override]
        ns = await self.namespaces.ref(request.namespace)
        await self.schedules.delete(ns, request.schedule_id)
        return DeleteScheduleResponse()

    @rpc
    async def ListSchedules(self, request: ListSchedulesRequest, context: Context) -> ListSchedulesResponse:  # type: ignore[override]
        ns = await self.namespaces.ref(request.namespace)
        return self.schedules.list_schedules(
            ns, page_size=request.maximum_page_size, page_token=request.next_page_token, query=request.query
        )

    @rpc
    async def CountSchedules(self, request: CountSchedulesRequest, context: Context) -> CountSchedulesResponse:  # type: ignore[override]
        ns = await self.namespaces.ref(request.namespace)
        return CountSchedulesResponse(count=self.schedules.count(ns, request.query))

    @rpc
    async def ListScheduleMatchingTimes(  # type: ignore[override]
        self, request: ListScheduleMatchingTimesRequest, context: Context
    ) -> ListScheduleMatchingTimesResponse:
        ns = await self.namespaces.ref(request.namespace)
        if not request.HasField("start_time") or not request.HasField("end_time"):
            raise invalid("start_time and end_time are required")
        start = request.start_time.ToDatetime(tzinfo=UTC)
        end = request.end_time.ToDatetime(tzinfo=UTC)
        return self.schedules.matching_times(ns, request.schedule_id, start, end)
