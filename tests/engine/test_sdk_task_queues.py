"""DescribeTaskQueue and ListTaskQueuePartitions through the official SDK's client."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    ListTaskQueuePartitionsRequest,
    RegisterNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.engine.sdk_app import HelloWorkflow
from tests.engine.sdk_support import new_id


def describe(name: str, kind: TaskQueueType.ValueType, namespace: str = "default") -> DescribeTaskQueueRequest:
    return DescribeTaskQueueRequest(
        namespace=namespace,
        task_queue=TaskQueue(name=name, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        task_queue_type=kind,
        report_stats=True,
        include_task_queue_status=True,
    )


async def test_the_running_worker_is_listed_as_a_poller_of_both_kinds(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(HelloWorkflow.run, "pollers", id=new_id(), task_queue=task_queue)
    await handle.result()  # the worker has polled both kinds by now
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        answer = await client.workflow_service.describe_task_queue(describe(task_queue, kind))
        identities = {p.identity for p in answer.pollers}
        assert client.identity in identities
        assert all(p.last_access_time.seconds > 0 for p in answer.pollers)
        assert answer.stats.approximate_backlog_count == 0


async def test_a_queue_without_workers_shows_its_backlog(client: Client) -> None:
    queue = f"idle-{new_id()}"
    for _ in range(3):
        await client.start_workflow(HelloWorkflow.run, "waiting", id=new_id(), task_queue=queue)
    await asyncio.sleep(1.1)
    answer = await client.workflow_service.describe_task_queue(describe(queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
    assert list(answer.pollers) == []
    assert answer.stats.approximate_backlog_count == 3
    assert answer.stats.approximate_backlog_age.seconds >= 1
    assert answer.task_queue_status.backlog_count_hint == 3
    activity = await client.workflow_service.describe_task_queue(
        describe(queue, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
    )
    assert activity.stats.approximate_backlog_count == 0


async def test_another_namespace_sees_neither_pollers_nor_backlog(client: Client, task_queue: str) -> None:
    other = f"ns-{new_id()}"
    await client.workflow_service.register_namespace(RegisterNamespaceRequest(namespace=other))
    handle = await client.start_workflow(HelloWorkflow.run, "walls", id=new_id(), task_queue=task_queue)
    await handle.result()
    answer = await client.workflow_service.describe_task_queue(
        describe(task_queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, namespace=other)
    )
    assert list(answer.pollers) == []
    assert answer.stats.approximate_backlog_count == 0


async def test_partitions_name_the_queue(client: Client) -> None:
    answer = await client.workflow_service.list_task_queue_partitions(
        ListTaskQueuePartitionsRequest(namespace="default", task_queue=TaskQueue(name="orders"))
    )
    assert [p.key for p in answer.workflow_task_queue_partitions] == ["orders"]
    assert [p.key for p in answer.activity_task_queue_partitions] == ["orders"]


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (describe("", TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW), RPCStatusCode.INVALID_ARGUMENT),
        (describe("q", TaskQueueType.TASK_QUEUE_TYPE_NEXUS), RPCStatusCode.INVALID_ARGUMENT),
        (describe("q", TaskQueueType.ValueType(99)), RPCStatusCode.INVALID_ARGUMENT),
        (describe("q", TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, namespace="missing"), RPCStatusCode.NOT_FOUND),
        (
            DescribeTaskQueueRequest(
                namespace="default",
                task_queue=TaskQueue(name="q", kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            ),
            RPCStatusCode.INVALID_ARGUMENT,
        ),
        ("x" * 1001, RPCStatusCode.INVALID_ARGUMENT),
    ],
)
async def test_bad_describe_requests(client: Client, request_: object, status: RPCStatusCode) -> None:
    if isinstance(request_, str):
        request_ = describe(request_, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)
    with pytest.raises(RPCError) as caught:
        await client.workflow_service.describe_task_queue(request_)  # type: ignore[arg-type]
    assert caught.value.status == status
