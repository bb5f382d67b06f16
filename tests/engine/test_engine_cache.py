"""The run cache stays bounded, and evicted runs carry on from the store."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.client import Client
from temporalio.worker import Worker

from engine.config import EngineConfig
from engine.history.cache import WorkflowCache, WorkflowEntry
from engine.history.state import MutableState, encode_state
from engine.persistence.records import ExecutionKey
from engine.server import EngineServer
from tests.engine.sdk_app import ACTIVITIES, WORKFLOWS, SignalWorkflow


def _entry(n: int) -> WorkflowEntry:
    key = ExecutionKey("ns", f"wf-{n}", f"run-{n}")
    state = MutableState(
        namespace_id="ns",
        namespace="n",
        workflow_id=key.workflow_id,
        run_id=key.run_id,
        workflow_type="T",
        task_queue="q",
        start_time=0.0,
    )
    return WorkflowEntry(key, state, encode_state(state), 1)


def test_the_least_recently_used_idle_runs_are_evicted() -> None:
    busy = {"wf-0"}
    cache = WorkflowCache(3, lambda key: key.workflow_id in busy)
    entries = [_entry(n) for n in range(5)]
    for entry in entries[:3]:
        cache[entry.key] = entry
    assert cache.get(entries[1].key) is entries[1]  # now most recently used
    cache[entries[3].key] = entries[3]
    cache[entries[4].key] = entries[4]
    assert len(cache) == 3
    assert entries[0].key in cache  # in use: never evicted
    assert entries[1].key not in cache  # idle and least recently used once 4 arrived
    assert entries[2].key not in cache
    assert entries[4].key in cache


@pytest_asyncio.fixture
async def tiny_cache_engine(engine_db_url: str) -> AsyncIterator[EngineServer]:
    server = EngineServer(EngineConfig(port=0, db_url=engine_db_url, dev=True, grace_period=1, cache_size=2))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_workflows_complete_when_the_cache_holds_only_two(tiny_cache_engine: EngineServer) -> None:
    client = await Client.connect(f"127.0.0.1:{tiny_cache_engine.port}", namespace="default")
    queue = f"tiny-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=ACTIVITIES):  # type: ignore[arg-type]
        handles = [
            await client.start_workflow(SignalWorkflow.run, id=f"tiny-{queue}-{i}", task_queue=queue) for i in range(8)
        ]
        for i, handle in enumerate(handles):
            await handle.signal(SignalWorkflow.greet, f"guest-{i}")
        for handle in handles:
            await handle.signal(SignalWorkflow.finish)
        results = await asyncio.gather(*(h.result() for h in handles))
    assert results == [[f"guest-{i}"] for i in range(8)]
    history = tiny_cache_engine._history
    assert history is not None
    assert len(history.entries) < 8  # runs were evicted and reloaded from the store along the way
