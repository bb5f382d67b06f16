"""A running workflow survives SIGKILL of the engine: nothing lost, nothing done twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.engine.sdk_app import ACTIVITIES, RUNS, WORKFLOWS, TimerBetweenActivitiesWorkflow
from tests.engine.test_engine_workflow_task_rules import COMPLETE, RawWorker

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


class EngineProcess:
    """`python -m engine` in a subprocess, so the test can SIGKILL it."""

    def __init__(self, db_url: str, port: int, log: Path) -> None:
        self.db_url, self.port, self.log = db_url, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        started_before = self.log.read_bytes().count(b"engine listening") if self.log.exists() else 0
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("ENGINE_DATABASE_URL", None)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "engine", "--dev", "--port", str(self.port), "--db", self.db_url],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while self.log.read_bytes().count(b"engine listening") <= started_before:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"engine did not start:\n{self.log.read_text()}")
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)


@pytest.fixture
def engine_process(engine_db_url: str, free_port: int, tmp_path: Path) -> Iterator[EngineProcess]:
    process = EngineProcess(engine_db_url, free_port, tmp_path / "engine.log")
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def _wait_for_event(client: Client, workflow_id: str, event_type: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        if any(e.event_type == event_type for e in history.events):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {EventType.Name(event_type)} in {timeout}s")  # type: ignore[arg-type]


async def test_a_workflow_in_a_timer_survives_sigkill(engine_process: EngineProcess) -> None:
    client = await Client.connect(f"127.0.0.1:{engine_process.port}", namespace="default")
    prefix = uuid.uuid4().hex[:8]
    workflow_id = f"crash-{prefix}"
    task_queue = f"crash-{prefix}"
    async with Worker(client, task_queue=task_queue, workflows=WORKFLOWS, activities=ACTIVITIES):  # type: ignore[arg-type]
        handle = await client.start_workflow(
            TimerBetweenActivitiesWorkflow.run, args=[prefix, 3.0], id=workflow_id, task_queue=task_queue
        )
        await _wait_for_event(client, workflow_id, EventType.EVENT_TYPE_TIMER_STARTED)
        engine_process.kill()
        await asyncio.sleep(0.5)
        engine_process.start()  # same port, same store
        result = await asyncio.wait_for(handle.result(), timeout=60)
    assert result == [f"{prefix}-before", f"{prefix}-after"]
    assert RUNS[f"{prefix}-before"] == 1
    assert RUNS[f"{prefix}-after"] == 1
    history = await handle.fetch_history()
    types = [e.event_type for e in history.events]
    assert types.count(EventType.EVENT_TYPE_TIMER_FIRED) == 1
    assert types.count(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) == 2


async def test_a_workflow_task_handed_out_before_sigkill_is_handed_out_again(engine_process: EngineProcess) -> None:
    """A workflow task's start is written with its completion (one commit fewer on the poll's
    path): a crash in between forgets the start, so after the restart the task is polled again
    and the first worker's token, which names the forgotten start, no longer fits."""
    client = await Client.connect(f"127.0.0.1:{engine_process.port}", namespace="default")
    raw = RawWorker(client)
    await raw.start()
    first = await raw.poll()
    assert [e.event_type for e in first.history.events][-1] == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
    engine_process.kill()
    engine_process.start()
    client = await Client.connect(f"127.0.0.1:{engine_process.port}", namespace="default")
    raw.service = client.workflow_service
    second = await raw.poll()
    assert second.started_event_id == first.started_event_id  # the same task, started anew
    with pytest.raises(RPCError) as stale:
        await raw.complete(first.task_token, COMPLETE)
    assert stale.value.status == RPCStatusCode.NOT_FOUND
    await raw.complete(second.task_token, COMPLETE)
    history = await client.get_workflow_handle(raw.workflow_id).fetch_history()
    types = [e.event_type for e in history.events]
    assert types.count(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) == 1
    assert types[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
