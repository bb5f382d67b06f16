"""The official TypeScript SDK (worker and client from npm) runs child workflows and workflow
updates on the engine: executeChild in sequence, parent close policies, executeUpdate with a
validator that rejects, a handler that fails, and update-with-start (tests/ts/workflows.js and
the `children`, `child-policies`, `update`, `update-with-start` commands of tests/ts/client.js).
Each history the TypeScript worker produced is replayed by the TypeScript SDK's own replayer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus
from temporalio.client import Client

from engine.server import EngineServer
from tests.support.typescript import TsWorker, ensure_node_modules, run_ts_client, start_ts_worker

pytestmark = pytest.mark.slow

E = EventType


@pytest.fixture(scope="session")
def ts_sdk() -> None:
    # a missing Node.js is a failure, not a skip, as in test_typescript_sdk.py
    ensure_node_modules()


@pytest_asyncio.fixture
async def ts_queue(ts_sdk: None, engine: EngineServer, tmp_path: Path) -> AsyncIterator[str]:
    """A task queue with a TypeScript worker (tests/ts/worker.js) polling it."""
    queue = f"ts-{uuid.uuid4().hex[:8]}"
    worker: TsWorker = await asyncio.to_thread(start_ts_worker, engine.address, "default", queue, log_dir=tmp_path)
    try:
        yield queue
    finally:
        await asyncio.to_thread(worker.stop)


async def ts_client(engine: EngineServer, queue: str, *args: str) -> dict[str, Any]:
    return await asyncio.to_thread(run_ts_client, engine.address, "default", list(args), task_queue=queue)


async def ts_replay(engine: EngineServer, workflow_id: str, run_id: str = "") -> None:
    """The TypeScript SDK's replayer runs the run's history again without a nondeterminism error."""
    out = await asyncio.to_thread(
        run_ts_client, engine.address, "default", ["replay", workflow_id, run_id or "-"], timeout=180
    )
    assert out["replayed"] is True, out


async def event_types(client: Client, workflow_id: str, run_id: str | None = None) -> list[int]:
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    return [event.event_type for event in history.events]


async def test_typescript_parent_runs_two_children(engine: EngineServer, client: Client, ts_queue: str) -> None:
    parent_id = f"ts-parent-{uuid.uuid4().hex[:8]}"
    out = await ts_client(engine, ts_queue, "children", parent_id, "Ada")
    assert out["result"] == "Hello, Ada 1! | Hello, Ada 2!"

    history = await client.get_workflow_handle(parent_id).fetch_history()
    family = [
        event
        for event in history.events
        if event.event_type
        in (
            E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
            E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
        )
    ]
    assert [event.event_type for event in family] == [
        E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
    ] * 2
    completed = [e for e in family if e.event_type == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED]
    assert [
        e.child_workflow_execution_completed_event_attributes.workflow_execution.workflow_id for e in completed
    ] == [
        f"{parent_id}-child-1",
        f"{parent_id}-child-2",
    ]
    assert history.events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED

    # each child knows its parent and completed with its own greeting
    for number in (1, 2):
        child = client.get_workflow_handle(f"{parent_id}-child-{number}")
        assert await child.result() == f"Hello, Ada {number}!"
        info = (await child.describe()).raw_description.workflow_execution_info
        assert info.parent_execution.workflow_id == parent_id
        assert info.parent_execution.run_id == out["runId"]
        assert info.type.name == "childGreeting"
        await ts_replay(engine, f"{parent_id}-child-{number}")
    await ts_replay(engine, parent_id)


async def test_typescript_parent_close_policies(engine: EngineServer, client: Client, ts_queue: str) -> None:
    parent_id = f"ts-policies-{uuid.uuid4().hex[:8]}"
    out = await ts_client(engine, ts_queue, "child-policies", parent_id)
    children = out["result"]
    assert children["abandoned"]["workflowId"] == f"{parent_id}-abandoned"
    assert children["terminated"]["workflowId"] == f"{parent_id}-terminated"

    # the TERMINATE child is terminated once its parent closed; the ABANDON child keeps running
    terminated = client.get_workflow_handle(children["terminated"]["workflowId"])
    status = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED
    for _ in range(300):
        if (await terminated.describe()).raw_description.workflow_execution_info.status == status:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the TERMINATE child was not terminated after its parent completed")
    abandoned = client.get_workflow_handle(children["abandoned"]["workflowId"])
    running = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    assert (await abandoned.describe()).raw_description.workflow_execution_info.status == running

    await abandoned.signal("finish")
    assert await abandoned.result() == "Hello"
    await ts_replay(engine, parent_id)
    await ts_replay(engine, children["abandoned"]["workflowId"])


async def test_typescript_updates(engine: EngineServer, client: Client, ts_queue: str) -> None:
    workflow_id = f"ts-cart-{uuid.uuid4().hex[:8]}"
    out = await ts_client(engine, ts_queue, "update", workflow_id)
    assert out["accepted"] == "Hello, apple!"
    assert out["repeated"] == "Hello, apple!"  # the same update id answers the first outcome
    rejected = out["rejected"]["error"]
    assert rejected["name"] == "WorkflowUpdateFailedError"
    assert rejected["cause"]["message"] == "item must be a non-empty string"
    failed = out["failed"]["error"]
    assert failed["name"] == "WorkflowUpdateFailedError"
    assert failed["cause"] == {"name": "ApplicationFailure", "message": "cannot add pear", "type": "OutOfStock"}
    assert out["items"] == ["apple"]
    assert out["result"] == ["apple"]

    # the accepted updates are in the history (addItem once, failItem once); the rejected one is not
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    accepted = [
        e.workflow_execution_update_accepted_event_attributes
        for e in history.events
        if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert [(a.protocol_instance_id, a.accepted_request.input.name) for a in accepted] == [
        ("add-apple", "addItem"),
        ("fail-pear", "failItem"),
    ]
    completed = [
        e.workflow_execution_update_completed_event_attributes
        for e in history.events
        if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
    ]
    assert [c.meta.update_id for c in completed] == ["add-apple", "fail-pear"]
    assert completed[0].outcome.HasField("success")
    assert completed[1].outcome.failure.message == "cannot add pear"
    assert history.events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    await ts_replay(engine, workflow_id)


async def test_typescript_update_with_start(engine: EngineServer, client: Client, ts_queue: str) -> None:
    workflow_id = f"ts-uws-{uuid.uuid4().hex[:8]}"
    out = await ts_client(engine, ts_queue, "update-with-start", workflow_id)
    assert out["first"] == "Hello, plum!"
    assert out["second"] == "Hello, fig!"
    rejected = out["rejected"]["error"]
    assert rejected["name"] == "WorkflowUpdateFailedError"
    assert rejected["cause"]["message"] == "item must be a non-empty string"
    # USE_EXISTING: the second operation reached the run the first one started
    assert out["runId"]
    assert out["secondRunId"] == out["runId"]
    assert out["result"] == ["plum", "fig"]

    types = await event_types(client, workflow_id)
    assert types.count(E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) == 1
    assert types.count(E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 2
    assert types.count(E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED) == 2
    desc = await client.get_workflow_handle(workflow_id).describe()
    assert desc.run_id == out["runId"]
    await ts_replay(engine, workflow_id)
