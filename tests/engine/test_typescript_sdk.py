"""The official TypeScript SDK (worker and client from npm, run with the machine's Node.js)
completes hello-activity, a signal and a query on the engine: the engine is SDK-neutral."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from engine.server import EngineServer
from tests.support.typescript import ensure_node_modules, run_ts_client, start_ts_worker

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def ts_sdk() -> None:
    # a missing Node.js is a failure, not a skip: `make test` must prove SDK neutrality
    ensure_node_modules()


async def test_typescript_worker_and_client(ts_sdk: None, engine: EngineServer, tmp_path: Path) -> None:
    queue = f"ts-{uuid.uuid4().hex[:8]}"
    worker = await asyncio.to_thread(start_ts_worker, engine.address, "default", queue, log_dir=tmp_path)
    try:
        hello = await asyncio.to_thread(
            run_ts_client, engine.address, "default", ["hello", f"hello-{queue}", "Ada"], task_queue=queue
        )
        assert hello["result"] == "Hello, Ada!"
        polled = await asyncio.to_thread(
            run_ts_client, engine.address, "default", ["hello-no-eager", f"poll-{queue}", "Bea"], task_queue=queue
        )
        assert polled["result"] == "Hello, Bea!"
        signalled = await asyncio.to_thread(
            run_ts_client, engine.address, "default", ["signal-query", f"signal-{queue}"], task_queue=queue
        )
        assert signalled["queried"] == "Bonjour"
        assert signalled["result"] == "Bonjour"
    finally:
        await asyncio.to_thread(worker.stop)
