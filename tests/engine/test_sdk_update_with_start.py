"""Update-with-start (ExecuteMultiOperation) through the official SDK."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.api.update.v1 import Input, Meta, Request
from temporalio.api.workflowservice.v1 import (
    ExecuteMultiOperationRequest,
    StartWorkflowExecutionRequest,
    UpdateWorkflowExecutionRequest,
)
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer, Worker

from tests.engine.sdk_support import new_id
from tests.engine.sdk_update_app import WORKFLOWS, Tally


@pytest_asyncio.fixture
async def update_queue(client: Client) -> AsyncIterator[str]:
    name = f"tq-uws-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=name, workflows=WORKFLOWS):
        yield name


def start_op(
    workflow_id: str, queue: str, policy: WorkflowIDConflictPolicy = WorkflowIDConflictPolicy.USE_EXISTING
) -> WithStartWorkflowOperation[Tally, int]:
    return WithStartWorkflowOperation(Tally.run, id=workflow_id, task_queue=queue, id_conflict_policy=policy)


async def test_update_with_start_starts_the_workflow_and_returns_the_update_result(
    client: Client, update_queue: str
) -> None:
    workflow_id = new_id()
    operation = start_op(workflow_id, update_queue)
    assert await client.execute_update_with_start_workflow(Tally.add, 6, start_workflow_operation=operation) == 6
    handle = await operation.workflow_handle()
    assert handle.id == workflow_id
    assert handle.first_execution_run_id
    history = await handle.fetch_history()
    types = [e.event_type for e in history.events]
    # the first workflow task carried the update: no extra task was needed for it
    assert types.count(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) == 1
    await handle.signal(Tally.finish)
    assert await handle.result() == 6
    await Replayer(workflows=WORKFLOWS).replay_workflow(await handle.fetch_history())


async def test_use_existing_updates_the_running_workflow(client: Client, update_queue: str) -> None:
    workflow_id = new_id()
    await client.execute_update_with_start_workflow(
        Tally.add, 1, start_workflow_operation=start_op(workflow_id, update_queue)
    )
    again = start_op(workflow_id, update_queue)
    assert await client.execute_update_with_start_workflow(Tally.add, 2, start_workflow_operation=again) == 3
    handle = await again.workflow_handle()
    await handle.signal(Tally.finish)
    assert await handle.result() == 3


async def test_conflict_policy_fail_on_a_running_workflow_is_already_started(client: Client, update_queue: str) -> None:
    workflow_id = new_id()
    await client.execute_update_with_start_workflow(
        Tally.add, 1, start_workflow_operation=start_op(workflow_id, update_queue)
    )
    with pytest.raises(WorkflowAlreadyStartedError):
        await client.execute_update_with_start_workflow(
            Tally.add, 2, start_workflow_operation=start_op(workflow_id, update_queue, WorkflowIDConflictPolicy.FAIL)
        )
    handle = client.get_workflow_handle(workflow_id)
    assert await handle.query(Tally.current) == 1
    await handle.terminate()


async def test_a_rejected_update_with_start_still_starts_the_workflow(client: Client, update_queue: str) -> None:
    operation = start_op(new_id(), update_queue)
    with pytest.raises(WorkflowUpdateFailedError):
        await client.execute_update_with_start_workflow(Tally.add, -5, start_workflow_operation=operation)
    handle = await operation.workflow_handle()
    assert await handle.query(Tally.current) == 0
    await handle.terminate()


async def test_start_update_with_start_returns_a_handle(client: Client, update_queue: str) -> None:
    from temporalio.client import WorkflowUpdateStage

    operation = start_op(new_id(), update_queue)
    update = await client.start_update_with_start_workflow(
        Tally.add_later, 3, start_workflow_operation=operation, wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    assert await update.result() == 3
    await (await operation.workflow_handle()).terminate()


def multi(workflow_id: str, queue: str, *, update_workflow_id: str | None = None) -> ExecuteMultiOperationRequest:
    start = StartWorkflowExecutionRequest(namespace="default", workflow_id=workflow_id, request_id=str(uuid.uuid4()))
    start.workflow_type.name = "Tally"
    start.task_queue.name = queue
    update = UpdateWorkflowExecutionRequest(
        namespace="default", request=Request(meta=Meta(update_id="u"), input=Input(name="add"))
    )
    update.workflow_execution.workflow_id = update_workflow_id if update_workflow_id is not None else workflow_id
    request = ExecuteMultiOperationRequest(namespace="default")
    request.operations.add().start_workflow.CopyFrom(start)
    request.operations.add().update_workflow.CopyFrom(update)
    return request


async def test_multi_operation_shape_and_consistency_are_checked(client: Client) -> None:
    request = multi(new_id(), "q")
    del request.operations[1]
    with pytest.raises(RPCError) as bad:
        await client.workflow_service.execute_multi_operation(request)
    assert bad.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert "exactly [Start, Update]" in bad.value.message
    with pytest.raises(RPCError) as inconsistent:
        await client.workflow_service.execute_multi_operation(multi(new_id(), "q", update_workflow_id="other"))
    assert inconsistent.value.status == RPCStatusCode.ABORTED
    assert "MultiOperation could not be executed" in inconsistent.value.message
