"""Child workflow options through the official SDK: a child's execution timeout ends it TimedOut
and its parent sees ChildWorkflowExecutionTimedOut; a child retried under its retry policy
reports once, when a retry completes; a child that continues-as-new reports its final run's
result. Every history replays in the SDK's Replayer."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.worker import Replayer, Worker

from tests.engine.child_options_app import (
    CHILD_OPTION_WORKFLOWS,
    ContinuingParent,
    RetryParent,
    TimeoutParent,
)

E = EventType


async def run_parent(client: Client, workflow: Any, *args: Any) -> tuple[WorkflowHandle[Any, Any], Any]:
    queue = f"child-options-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=CHILD_OPTION_WORKFLOWS):
        handle = await client.start_workflow(workflow, *args, id=f"parent-{uuid.uuid4().hex[:8]}", task_queue=queue)
        return handle, await handle.result()


async def events_of(handle: WorkflowHandle[Any, Any]) -> list[Any]:
    return list((await handle.fetch_history()).events)


async def assert_replays(handle: WorkflowHandle[Any, Any]) -> None:
    history = await handle.fetch_history()
    replay = await Replayer(workflows=CHILD_OPTION_WORKFLOWS).replay_workflow(history, raise_on_replay_failure=True)
    assert replay.replay_failure is None


async def child_runs(client: Client, workflow_id: str) -> list[tuple[str, WorkflowExecutionStatus | None]]:
    """The child's runs, oldest first."""
    runs = [(w.run_id, w.status, w.start_time) async for w in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    return [(run_id, status) for run_id, status, _ in sorted(runs, key=lambda r: r[2])]


async def test_a_child_execution_timeout_reaches_its_parent(client: Client) -> None:
    parent, result = await run_parent(client, TimeoutParent.run)
    assert result == f"TimeoutError retry_state={RetryState.RETRY_STATE_TIMEOUT}"
    events = await events_of(parent)
    kinds = [e.event_type for e in events]
    assert E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED in kinds
    timed_out = next(e for e in events if e.event_type == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT)
    attrs = timed_out.child_workflow_execution_timed_out_event_attributes
    assert attrs.retry_state == RetryState.RETRY_STATE_TIMEOUT
    assert attrs.workflow_execution.workflow_id == f"{parent.id}-child"
    child = client.get_workflow_handle(f"{parent.id}-child")
    assert (await child.describe()).status == WorkflowExecutionStatus.TIMED_OUT
    child_events = await events_of(child)
    assert child_events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT
    await assert_replays(parent)
    await assert_replays(child)


async def test_a_retried_child_reports_once_when_a_retry_completes(client: Client) -> None:
    parent, result = await run_parent(client, RetryParent.run)
    assert result == "attempt 3"
    kinds = [e.event_type for e in await events_of(parent)]
    assert kinds.count(E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED) == 1
    assert kinds.count(E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED) == 1
    assert E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED not in kinds
    runs = await child_runs(client, f"{parent.id}-child")
    assert [status for _, status in runs] == [
        WorkflowExecutionStatus.FAILED,
        WorkflowExecutionStatus.FAILED,
        WorkflowExecutionStatus.COMPLETED,
    ]
    started = next(e for e in await events_of(parent) if e.event_type == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
    assert started.child_workflow_execution_started_event_attributes.workflow_execution.run_id == runs[0][0]
    await assert_replays(parent)
    for run_id, _ in runs:
        await assert_replays(client.get_workflow_handle(f"{parent.id}-child", run_id=run_id))


async def test_a_continued_child_reports_its_final_result(client: Client) -> None:
    parent, result = await run_parent(client, ContinuingParent.run, 2)
    runs = await child_runs(client, f"{parent.id}-child")
    assert [status for _, status in runs] == [
        WorkflowExecutionStatus.CONTINUED_AS_NEW,
        WorkflowExecutionStatus.CONTINUED_AS_NEW,
        WorkflowExecutionStatus.COMPLETED,
    ]
    assert result == f"run={runs[-1][0]} first={runs[0][0]}"
    events = await events_of(parent)
    kinds = [e.event_type for e in events]
    assert kinds.count(E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED) == 1
    completed = next(e for e in events if e.event_type == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED)
    attrs = completed.child_workflow_execution_completed_event_attributes
    assert attrs.workflow_execution.run_id == runs[-1][0]  # the run that ended the chain
    await assert_replays(parent)
    for run_id, _ in runs:
        await assert_replays(client.get_workflow_handle(f"{parent.id}-child", run_id=run_id))
