"""Retention: closed runs disappear once their namespace's retention period has passed; open
runs, and closed runs of namespaces that keep them longer, stay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from engine.config import EngineConfig
from engine.server import EngineServer
from tests.engine.sdk_app import ACTIVITIES, WORKFLOWS, HelloWorkflow, WaitForeverWorkflow
from tests.engine.sdk_support import new_id


@pytest_asyncio.fixture
async def short_retention_engine(engine_db_url: str) -> AsyncIterator[EngineServer]:
    config = EngineConfig(
        port=0, db_url=engine_db_url, dev=True, grace_period=1, min_retention=1, retention_interval=0.2
    )
    server = EngineServer(config)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def run_workflows(client: Client, count: int) -> tuple[list[str], str]:
    """`count` completed hello workflows and one that stays open; their ids."""
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=ACTIVITIES):  # type: ignore[arg-type]
        closed = []
        for n in range(count):
            handle = await client.start_workflow(HelloWorkflow.run, f"r{n}", id=new_id(), task_queue=queue)
            await handle.result()
            closed.append(handle.id)
        open_handle = await client.start_workflow(WaitForeverWorkflow.run, id=new_id(), task_queue=queue)
    return closed, open_handle.id


async def test_closed_runs_disappear_after_retention_and_open_ones_stay(
    short_retention_engine: EngineServer,
) -> None:
    address = f"127.0.0.1:{short_retention_engine.port}"
    await (await Client.connect(address)).workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace="short", workflow_execution_retention_period=Duration(seconds=2))
    )
    short = await Client.connect(address, namespace="short")
    default = await Client.connect(address, namespace="default")
    closed, still_open = await run_workflows(short, 3)
    kept_closed, _ = await run_workflows(default, 1)  # default keeps closed runs for a day

    assert sorted([w.id async for w in short.list_workflows()]) == sorted([*closed, still_open])
    for _ in range(100):  # retention 2 s, sweeps every 0.2 s
        if [w.id async for w in short.list_workflows()] == [still_open]:
            break
        await asyncio.sleep(0.1)
    assert [w.id async for w in short.list_workflows()] == [still_open]
    for workflow_id in closed:
        with pytest.raises(RPCError) as caught:
            await short.get_workflow_handle(workflow_id).describe()
        assert caught.value.status == RPCStatusCode.NOT_FOUND
        with pytest.raises(RPCError):
            await short.get_workflow_handle(workflow_id).fetch_history()
    assert (await short.get_workflow_handle(still_open).describe()).status is not None
    assert (await default.get_workflow_handle(kept_closed[0]).describe()).close_time is not None
    assert kept_closed[0] in [w.id async for w in default.list_workflows()]

    # the id of a deleted run is free again
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(short, task_queue=queue, workflows=WORKFLOWS, activities=ACTIVITIES):  # type: ignore[arg-type]
        again = await short.start_workflow(HelloWorkflow.run, "again", id=closed[0], task_queue=queue)
        assert await again.result() == "Hello, again!"


async def test_retention_shorter_than_the_minimum_is_refused(short_retention_engine: EngineServer) -> None:
    client = await Client.connect(f"127.0.0.1:{short_retention_engine.port}")
    with pytest.raises(RPCError) as caught:
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(namespace="tiny", workflow_execution_retention_period=Duration(nanos=500_000_000))
        )
    assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT
