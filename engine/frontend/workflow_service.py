"""Temporal's public WorkflowService, as far as the engine implements it so far."""

from __future__ import annotations

from typing import Any

import grpc
from temporalio.api.workflowservice.v1 import (
    GetSystemInfoRequest,
    GetSystemInfoResponse,
    service_pb2_grpc,
)

from engine.frontend.unimplemented import answer_unimplemented
from engine.version import sundial_version

# Not read from service_pb2's descriptor: importing service_pb2 needs googleapis-common-protos
# (for its HTTP annotations), which temporalio does not install. service_pb2_grpc does not.
SERVICE_NAME = "temporal.api.workflowservice.v1.WorkflowService"


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
        eager_workflow_start=False,
        supports_schedules=False,
        build_id_based_versioning=False,
        count_group_by_execution_status=False,
        nexus=False,
    )


@answer_unimplemented(
    service_name=SERVICE_NAME,
    generated_base=service_pb2_grpc.WorkflowServiceServicer,
    product=f"the Sundial engine {sundial_version()} yet",
)
class WorkflowService(service_pb2_grpc.WorkflowServiceServicer):
    """The generated stubs type servicers as synchronous, hence the override ignores."""

    def __init__(self) -> None:
        self._system_info = GetSystemInfoResponse(server_version=sundial_version(), capabilities=system_capabilities())

    async def GetSystemInfo(  # type: ignore[override]
        self,
        request: GetSystemInfoRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> GetSystemInfoResponse:
        return self._system_info


def add_workflow_service(server: grpc.aio.Server) -> None:
    # The stubs declare every RPC abstract and expect a sync grpc.Server.
    servicer = WorkflowService()  # type: ignore[abstract]
    service_pb2_grpc.add_WorkflowServiceServicer_to_server(servicer, server)  # type: ignore[arg-type]
