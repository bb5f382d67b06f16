"""The engine as the official Temporal SDK and a gRPC health probe see it."""

from __future__ import annotations

import asyncio

import grpc
import pytest
import temporalio.client
from grpc_health.v1 import health_pb2, health_pb2_grpc
from temporalio.api.workflowservice.v1 import (
    GetSystemInfoRequest,
    PauseActivityRequest,
)
from temporalio.service import RPCError, RPCStatusCode

from engine.config import EngineConfig
from engine.errors import ConfigError
from engine.server import EngineServer
from engine.version import sundial_version

WORKFLOW_SERVICE = "temporal.api.workflowservice.v1.WorkflowService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_the_sdk_connects_and_reads_system_info(engine: EngineServer) -> None:
    client = await temporalio.client.Client.connect(f"127.0.0.1:{engine.port}")

    info = await client.workflow_service.get_system_info(GetSystemInfoRequest())

    assert info.server_version == sundial_version()
    capabilities = info.capabilities
    assert capabilities.sdk_metadata
    assert capabilities.signal_and_query_header
    assert capabilities.internal_error_differentiation
    assert capabilities.activity_failure_include_heartbeat
    assert capabilities.encoded_failure_attributes
    assert capabilities.upsert_memo
    assert capabilities.eager_workflow_start  # served: see test_eager_start_hands_the_first_task_to_the_starters_worker


async def test_unimplemented_rpcs_say_so_clearly(engine: EngineServer) -> None:
    client = await temporalio.client.Client.connect(f"127.0.0.1:{engine.port}")

    with pytest.raises(RPCError) as info:
        await client.workflow_service.pause_activity(PauseActivityRequest(namespace="default"))

    assert info.value.status == RPCStatusCode.UNIMPLEMENTED
    assert f"{WORKFLOW_SERVICE}/PauseActivity is not implemented" in info.value.message


@pytest.mark.parametrize("service", ["", WORKFLOW_SERVICE])
async def test_health_service_reports_serving(engine: EngineServer, service: str) -> None:
    async with grpc.aio.insecure_channel(engine.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        response = await health.Check(health_pb2.HealthCheckRequest(service=service))
    assert response.status == SERVING


async def test_health_watchers_see_not_serving_when_the_engine_shuts_down(
    engine: EngineServer,
) -> None:
    async with grpc.aio.insecure_channel(engine.address) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await watch.read()).status == SERVING

        stopping = asyncio.create_task(engine.stop(grace=5))
        assert (await asyncio.wait_for(watch.read(), 5)).status == NOT_SERVING
        watch.cancel()
        await asyncio.wait_for(stopping, 10)


async def test_a_second_engine_on_a_busy_port_refuses_to_start(engine: EngineServer) -> None:
    second = EngineServer(EngineConfig(port=engine.port, db_url="sqlite://:memory:"))
    try:
        with pytest.raises(ConfigError, match=f"port {engine.port} on 127.0.0.1 is already in use"):
            await second.start()
    finally:
        await second.stop()  # in case it did start


async def test_grpc_itself_refuses_a_shared_port_without_the_precheck(
    engine: EngineServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """grpc.aio turns SO_REUSEPORT on by default; the engine must turn it off."""
    monkeypatch.setattr("engine.server.ensure_port_free", lambda host, port: None)
    second = EngineServer(EngineConfig(port=engine.port, db_url="sqlite://:memory:"))
    try:
        with pytest.raises(ConfigError, match="already in use"):
            await second.start()
    finally:
        await second.stop()  # in case it did start
