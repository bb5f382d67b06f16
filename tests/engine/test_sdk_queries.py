"""Queries through the official SDK: answered by the worker, never written to history."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.common import QueryRejectCondition

from tests.engine.sdk_app import SignalWorkflow
from tests.engine.sdk_support import new_id


async def test_a_query_sees_the_signals_so_far(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(SignalWorkflow.run, id=new_id(), task_queue=task_queue)
    await handle.signal(SignalWorkflow.greet, "ada")
    assert await handle.query(SignalWorkflow.greeted) == ["ada"]
    await handle.signal(SignalWorkflow.greet, "grace")
    assert await handle.query(SignalWorkflow.greeted) == ["ada", "grace"]
    await handle.signal(SignalWorkflow.finish)
    await handle.result()


async def test_queries_leave_no_trace_in_history(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(SignalWorkflow.run, id=new_id(), task_queue=task_queue)
    await handle.signal(SignalWorkflow.greet, "x")
    await handle.query(SignalWorkflow.greeted)
    before = len((await handle.fetch_history()).events)
    for _ in range(3):
        await handle.query(SignalWorkflow.greeted)
    assert len((await handle.fetch_history()).events) == before
    await handle.signal(SignalWorkflow.finish)
    await handle.result()


async def test_a_closed_workflow_can_still_be_queried(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(SignalWorkflow.run, id=new_id(), task_queue=task_queue)
    await handle.signal(SignalWorkflow.greet, "last")
    await handle.signal(SignalWorkflow.finish)
    await handle.result()
    assert await handle.query(SignalWorkflow.greeted) == ["last"]
    events = (await handle.fetch_history()).events
    assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


async def test_a_failing_query_reaches_the_client_as_query_failed(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(SignalWorkflow.run, id=new_id(), task_queue=task_queue)
    with pytest.raises(WorkflowQueryFailedError, match="this query always fails"):
        await handle.query(SignalWorkflow.broken)
    await handle.signal(SignalWorkflow.finish)
    await handle.result()


async def test_the_reject_condition_refuses_a_closed_workflow(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(SignalWorkflow.run, id=new_id(), task_queue=task_queue)
    await handle.signal(SignalWorkflow.finish)
    await handle.result()
    with pytest.raises(WorkflowQueryRejectedError):
        await handle.query(SignalWorkflow.greeted, reject_condition=QueryRejectCondition.NOT_OPEN)
