"""DeleteWorkflowExecution: open runs are terminated then deleted, closed runs deleted; the run
is gone from describe, history and listings, and its workflow id can be used again."""

from __future__ import annotations

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.engine.sdk_app import HelloWorkflow, WaitForeverWorkflow
from tests.engine.sdk_support import new_id


async def delete(client: Client, workflow_id: str, run_id: str = "", namespace: str = "default") -> None:
    await client.workflow_service.delete_workflow_execution(
        DeleteWorkflowExecutionRequest(
            namespace=namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id)
        )
    )


async def assert_gone(client: Client, workflow_id: str) -> None:
    handle = client.get_workflow_handle(workflow_id)
    with pytest.raises(RPCError) as caught:
        await handle.describe()
    assert caught.value.status == RPCStatusCode.NOT_FOUND
    with pytest.raises(RPCError) as caught:
        await handle.fetch_history()
    assert caught.value.status == RPCStatusCode.NOT_FOUND
    assert [w.id async for w in client.list_workflows(f"WorkflowId = '{workflow_id}'")] == []


async def test_deleting_open_and_closed_runs(client: Client, task_queue: str) -> None:
    closed = await client.start_workflow(HelloWorkflow.run, "bye", id=new_id(), task_queue=task_queue)
    await closed.result()
    running = await client.start_workflow(WaitForeverWorkflow.run, id=new_id(), task_queue=task_queue)
    await delete(client, closed.id, closed.result_run_id or "")
    await delete(client, running.id)
    await assert_gone(client, closed.id)
    await assert_gone(client, running.id)
    again = await client.start_workflow(HelloWorkflow.run, "again", id=closed.id, task_queue=task_queue)
    assert await again.result() == "Hello, again!"  # the id is free


async def test_deleting_one_run_leaves_the_newer_run_of_the_id(client: Client, task_queue: str) -> None:
    workflow_id = new_id()
    first = await client.start_workflow(HelloWorkflow.run, "one", id=workflow_id, task_queue=task_queue)
    await first.result()
    second = await client.start_workflow(HelloWorkflow.run, "two", id=workflow_id, task_queue=task_queue)
    await second.result()
    await delete(client, workflow_id, first.result_run_id or "")
    described = await client.get_workflow_handle(workflow_id).describe()
    assert described.run_id == second.result_run_id
    assert [w.run_id async for w in client.list_workflows(f"WorkflowId = '{workflow_id}'")] == [described.run_id]


@pytest.mark.parametrize(
    ("workflow_id", "run_id", "namespace", "status"),
    [
        ("never-started", "", "default", RPCStatusCode.NOT_FOUND),
        ("", "", "default", RPCStatusCode.INVALID_ARGUMENT),
        ("x", "not-a-uuid", "default", RPCStatusCode.INVALID_ARGUMENT),
        ("x", "", "missing-namespace", RPCStatusCode.NOT_FOUND),
    ],
)
async def test_bad_deletes(
    client: Client, workflow_id: str, run_id: str, namespace: str, status: RPCStatusCode
) -> None:
    with pytest.raises(RPCError) as caught:
        await delete(client, workflow_id, run_id, namespace)
    assert caught.value.status == status
