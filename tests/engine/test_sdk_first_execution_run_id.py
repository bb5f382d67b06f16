"""Terminate and cancel with `first_execution_run_id` (what the SDKs send from a handle that
started the workflow), as Temporal's history checks it: the run id is ignored, the current run
is acted on when it is running and its chain starts at that run — across continue-as-new — and
a workflow id reused by another chain answers NOT_FOUND "workflow execution not found"."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    RequestCancelWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import CancelledError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer, Worker

from tests.engine.schedule_chain_app import SCHEDULE_CHAIN_WORKFLOWS, ContinueOnceWorkflow


@pytest.fixture
async def queue(client: Client) -> AsyncIterator[str]:
    name = f"first-run-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=name, workflows=SCHEDULE_CHAIN_WORKFLOWS):
        yield name


async def start_continued(client: Client, queue: str, workflow_id: str = "") -> tuple[WorkflowHandle[Any, Any], str]:
    """A workflow that continued as new once and now waits: its start handle and its second run."""
    handle = await client.start_workflow(
        ContinueOnceWorkflow.run, 0, id=workflow_id or f"first-run-{uuid.uuid4().hex[:8]}", task_queue=queue
    )
    assert handle.first_execution_run_id
    current = client.get_workflow_handle(handle.id)
    deadline = time.monotonic() + 15
    while (run_id := (await current.describe()).run_id) == handle.first_execution_run_id:
        assert time.monotonic() < deadline, "the workflow did not continue as new"
        await asyncio.sleep(0.05)
    assert run_id is not None
    return handle, run_id


async def status_of(client: Client, workflow_id: str, run_id: str) -> WorkflowExecutionStatus | None:
    return (await client.get_workflow_handle(workflow_id, run_id=run_id).describe()).status


async def assert_replays(client: Client, workflow_id: str, run_id: str) -> None:
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    replay = await Replayer(workflows=SCHEDULE_CHAIN_WORKFLOWS).replay_workflow(history, raise_on_replay_failure=True)
    assert replay.replay_failure is None


async def test_terminate_follows_the_chain_from_its_first_run(client: Client, queue: str) -> None:
    handle, second = await start_continued(client, queue)
    await handle.terminate("enough")  # the SDK sends workflow id + first_execution_run_id
    assert await status_of(client, handle.id, second) == WorkflowExecutionStatus.TERMINATED
    assert await status_of(client, handle.id, handle.first_execution_run_id or "") == (
        WorkflowExecutionStatus.CONTINUED_AS_NEW
    )
    with pytest.raises(RPCError) as refused:  # the chain is over
        await handle.terminate("again")
    assert refused.value.status == RPCStatusCode.NOT_FOUND
    assert "workflow execution already completed" in refused.value.message
    await assert_replays(client, handle.id, second)


async def test_cancel_follows_the_chain_from_its_first_run(client: Client, queue: str) -> None:
    handle, second = await start_continued(client, queue)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert isinstance(failed.value.cause, CancelledError)
    assert await status_of(client, handle.id, second) == WorkflowExecutionStatus.CANCELED
    await assert_replays(client, handle.id, second)


async def test_another_chain_of_the_same_workflow_id_is_not_found(client: Client, queue: str) -> None:
    old, _ = await start_continued(client, queue)
    await old.terminate("make room")
    new, new_second = await start_continued(client, queue, workflow_id=old.id)
    for act in (old.terminate, old.cancel):
        with pytest.raises(RPCError) as refused:
            await act()
        assert refused.value.status == RPCStatusCode.NOT_FOUND
        assert refused.value.message == "workflow execution not found"
    assert await status_of(client, new.id, new_second) == WorkflowExecutionStatus.RUNNING
    stranger = client.get_workflow_handle(new.id, first_execution_run_id=str(uuid.uuid4()))
    with pytest.raises(RPCError) as refused:
        await stranger.terminate()
    assert refused.value.status == RPCStatusCode.NOT_FOUND
    await client.get_workflow_handle(new.id, first_execution_run_id=new.first_execution_run_id).terminate()
    assert await status_of(client, new.id, new_second) == WorkflowExecutionStatus.TERMINATED


async def test_the_run_id_is_ignored_when_the_first_run_id_is_given(client: Client, queue: str) -> None:
    handle, second = await start_continued(client, queue)
    first = handle.first_execution_run_id or ""
    service = client.workflow_service
    closed_run = WorkflowExecution(workflow_id=handle.id, run_id=first)
    with pytest.raises(RPCError) as refused:  # the first run itself is closed
        await service.request_cancel_workflow_execution(
            RequestCancelWorkflowExecutionRequest(namespace=client.namespace, workflow_execution=closed_run)
        )
    assert refused.value.status == RPCStatusCode.NOT_FOUND
    await service.terminate_workflow_execution(
        TerminateWorkflowExecutionRequest(
            namespace=client.namespace, workflow_execution=closed_run, first_execution_run_id=first, reason="by chain"
        )
    )
    assert await status_of(client, handle.id, second) == WorkflowExecutionStatus.TERMINATED
