"""Helpers for the child-workflow tests: a worker for `child_app`, history and describe probes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer, Worker

from tests.engine.child_app import CHILD_WORKFLOWS


@asynccontextmanager
async def child_worker(client: Client, queue: str = "") -> AsyncIterator[str]:
    """A worker for every workflow of child_app on `queue` or a fresh task queue (its name is yielded)."""
    queue = queue or f"children-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=CHILD_WORKFLOWS):
        yield queue


async def event_types(handle: WorkflowHandle[Any, Any]) -> list[int]:
    return [e.event_type for e in (await handle.fetch_history()).events]


async def wait_for_event(handle: WorkflowHandle[Any, Any], event_type: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if event_type in await event_types(handle):
                return
        except RPCError as err:  # a child run may not exist yet
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {EventType.Name(event_type)} in {timeout}s")  # type: ignore[arg-type]


async def wait_for_status(handle: WorkflowHandle[Any, Any], status: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await handle.describe()).raw_description.workflow_execution_info.status == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"status is not {status} after {timeout}s")


async def assert_replays(handle: WorkflowHandle[Any, Any]) -> None:
    """The SDK's Replayer runs the workflow's history again without a nondeterminism error."""
    history = await handle.fetch_history()
    replay = await Replayer(workflows=CHILD_WORKFLOWS).replay_workflow(history, raise_on_replay_failure=True)
    assert replay.replay_failure is None
