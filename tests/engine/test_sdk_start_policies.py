"""Starting workflows: request ids, id-reuse and id-conflict policies, start delay, memo."""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import WorkflowType
from temporalio.api.enums.v1 import EventType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from tests.engine.sdk_app import ActivityCall, HelloWorkflow, RunActivityWorkflow, WaitForeverWorkflow
from tests.engine.sdk_support import new_id


async def test_a_retried_start_request_returns_the_same_run(client: Client) -> None:
    request = StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=new_id(),
        workflow_type=WorkflowType(name="Anything"),
        task_queue=TaskQueue(name="nobody-polls"),
        request_id="the-same-request",
    )
    first = await client.workflow_service.start_workflow_execution(request)
    second = await client.workflow_service.start_workflow_execution(request)
    assert first.run_id == second.run_id


async def test_reject_duplicate_refuses_a_closed_id(client: Client, task_queue: str) -> None:
    workflow_id = new_id()
    await client.execute_workflow(HelloWorkflow.run, "a", id=workflow_id, task_queue=task_queue)
    with pytest.raises(WorkflowAlreadyStartedError):
        await client.start_workflow(
            HelloWorkflow.run,
            "b",
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )


async def test_allow_duplicate_failed_only_follows_the_last_outcome(client: Client, task_queue: str) -> None:
    ok_id, failed_id = new_id(), new_id()
    await client.execute_workflow(HelloWorkflow.run, "a", id=ok_id, task_queue=task_queue)
    with pytest.raises(WorkflowAlreadyStartedError):
        await client.start_workflow(
            HelloWorkflow.run,
            "b",
            id=ok_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    with pytest.raises(WorkflowFailureError):
        await client.execute_workflow(
            RunActivityWorkflow.run, ActivityCall("refuse"), id=failed_id, task_queue=task_queue
        )
    again = await client.start_workflow(
        HelloWorkflow.run,
        "c",
        id=failed_id,
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    )
    assert await again.result() == "Hello, c!"


async def test_allow_duplicate_starts_a_new_run_after_completion(client: Client, task_queue: str) -> None:
    workflow_id = new_id()
    first = await client.start_workflow(HelloWorkflow.run, "a", id=workflow_id, task_queue=task_queue)
    await first.result()
    second = await client.start_workflow(HelloWorkflow.run, "b", id=workflow_id, task_queue=task_queue)
    assert second.result_run_id != first.result_run_id
    assert await second.result() == "Hello, b!"


async def test_use_existing_returns_the_running_run(client: Client, task_queue: str) -> None:
    workflow_id = new_id()
    first = await client.start_workflow(WaitForeverWorkflow.run, id=workflow_id, task_queue=task_queue)
    second = await client.start_workflow(
        WaitForeverWorkflow.run,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    assert second.result_run_id == first.result_run_id
    await first.terminate()


async def test_terminate_existing_replaces_the_running_run(client: Client, task_queue: str) -> None:
    workflow_id = new_id()
    first = await client.start_workflow(WaitForeverWorkflow.run, id=workflow_id, task_queue=task_queue)
    second = await client.start_workflow(
        HelloWorkflow.run,
        "new",
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )
    assert second.result_run_id != first.result_run_id
    old_run = client.get_workflow_handle(workflow_id, run_id=first.result_run_id)
    assert (await old_run.describe()).status == WorkflowExecutionStatus.TERMINATED
    assert await second.result() == "Hello, new!"


async def test_start_delay_holds_back_the_first_workflow_task(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(
        HelloWorkflow.run, "later", id=new_id(), task_queue=task_queue, start_delay=timedelta(seconds=1)
    )
    assert await handle.result() == "Hello, later!"
    events = (await handle.fetch_history()).events
    started = events[0].workflow_execution_started_event_attributes
    assert started.first_workflow_task_backoff == Duration(seconds=1)
    first_task = next(e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
    assert first_task.event_time.ToDatetime() - events[0].event_time.ToDatetime() >= timedelta(seconds=1)


async def test_memo_is_stored_and_returned(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(
        WaitForeverWorkflow.run, id=new_id(), task_queue=task_queue, memo={"owner": "alice", "priority": 3}
    )
    assert await (await handle.describe()).memo() == {"owner": "alice", "priority": 3}
    await handle.terminate()
