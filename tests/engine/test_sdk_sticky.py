"""Sticky task queues: the worker that has a run cached gets its next task with partial history,
and a run whose sticky worker is gone moves back to the normal queue."""

from __future__ import annotations

import uuid

from temporalio.api.enums.v1 import EventType, TaskQueueKind
from temporalio.api.workflowservice.v1 import ResetStickyTaskQueueRequest
from temporalio.client import Client
from temporalio.worker import Worker

from tests.engine.sdk_app import ACTIVITIES, WORKFLOWS, SignalWorkflow
from tests.engine.sdk_support import new_id


def _scheduled_kinds(events: list) -> list[int]:
    return [
        e.workflow_task_scheduled_event_attributes.task_queue.kind
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
    ]


async def test_later_workflow_tasks_go_to_the_sticky_queue(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(SignalWorkflow.run, id=new_id(), task_queue=task_queue)
    await handle.signal(SignalWorkflow.greet, "one")
    # Once the worker has answered a query the run is cached there, so the next signal's
    # workflow task is a later one (on a busy machine all signals could otherwise arrive
    # before the first task is polled and be handled by it alone).
    assert await handle.query(SignalWorkflow.greeted) == ["one"]
    await handle.signal(SignalWorkflow.greet, "two")
    await handle.signal(SignalWorkflow.finish)
    assert await handle.result() == ["one", "two"]
    kinds = _scheduled_kinds(list((await handle.fetch_history()).events))
    assert kinds[0] == TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    assert TaskQueueKind.TASK_QUEUE_KIND_STICKY in kinds[1:]


async def test_a_run_moves_to_another_worker_when_its_sticky_worker_shuts_down(client: Client) -> None:
    queue = f"sticky-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=ACTIVITIES):  # type: ignore[arg-type]
        handle = await client.start_workflow(SignalWorkflow.run, id=new_id(), task_queue=queue)
        await handle.signal(SignalWorkflow.greet, "before")
        assert await handle.query(SignalWorkflow.greeted) == ["before"]
    # the first worker is gone (its shutdown named its sticky queue); a new one takes over
    async with Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=ACTIVITIES):  # type: ignore[arg-type]
        await handle.signal(SignalWorkflow.greet, "after")
        await handle.signal(SignalWorkflow.finish)
        assert await handle.result() == ["before", "after"]


async def test_reset_sticky_task_queue_sends_the_next_task_to_the_normal_queue(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(SignalWorkflow.run, id=new_id(), task_queue=task_queue)
    await handle.signal(SignalWorkflow.greet, "x")
    assert await handle.query(SignalWorkflow.greeted) == ["x"]
    await client.workflow_service.reset_sticky_task_queue(
        ResetStickyTaskQueueRequest(namespace="default", execution={"workflow_id": handle.id})  # type: ignore[arg-type]
    )
    await handle.signal(SignalWorkflow.finish)
    await handle.result()
    kinds = _scheduled_kinds(list((await handle.fetch_history()).events))
    assert kinds[-1] == TaskQueueKind.TASK_QUEUE_KIND_NORMAL
