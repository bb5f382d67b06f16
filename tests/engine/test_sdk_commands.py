"""Less common commands and RPCs: markers, memo upserts, async completion by id, reverse history,
cluster info, namespaces, and an invalid command failing the workflow task with its cause."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration
from temporalio.api.command.v1 import Command, StartTimerCommandAttributes
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import CommandType, EventType, WorkflowTaskFailedCause
from temporalio.api.namespace.v1 import NamespaceConfig, UpdateNamespaceInfo
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    GetClusterInfoRequest,
    GetWorkflowExecutionHistoryReverseRequest,
    ListNamespacesRequest,
    PollWorkflowTaskQueueRequest,
    RegisterNamespaceRequest,
    RespondWorkflowTaskCompletedRequest,
    StartWorkflowExecutionRequest,
    UpdateNamespaceRequest,
)
from temporalio.client import Client
from temporalio.worker import Replayer

from tests.engine.sdk_app import WORKFLOWS, AsyncCompletionWorkflow, HelloWorkflow, PatchedMemoWorkflow
from tests.engine.sdk_support import new_id


async def test_patch_markers_and_memo_upserts_record_their_events(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(PatchedMemoWorkflow.run, id=new_id(), task_queue=task_queue)
    assert await handle.result() == "new"
    history = await handle.fetch_history()
    types = [e.event_type for e in history.events]
    assert EventType.EVENT_TYPE_MARKER_RECORDED in types
    assert EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED in types
    assert await (await handle.describe()).memo() == {"stage": "done"}
    replay = await Replayer(workflows=WORKFLOWS).replay_workflow(history, raise_on_replay_failure=True)
    assert replay.replay_failure is None


async def test_an_activity_completes_by_workflow_and_activity_id(client: Client, task_queue: str) -> None:
    import asyncio

    handle = await client.start_workflow(AsyncCompletionWorkflow.run, id=new_id(), task_queue=task_queue)
    for _ in range(100):
        pending = (await handle.describe()).raw_description.pending_activities
        if pending and pending[0].state == 2:  # PENDING_ACTIVITY_STATE_STARTED
            break
        await asyncio.sleep(0.05)
    await client.get_async_activity_handle(
        workflow_id=handle.id, run_id=None, activity_id="completed-elsewhere"
    ).complete("done")
    assert await handle.result() == "done"


async def test_reverse_history_pages_newest_first(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(HelloWorkflow.run, "r", id=new_id(), task_queue=task_queue)
    await handle.result()
    forward = [e.event_id for e in (await handle.fetch_history()).events]
    seen: list[int] = []
    token = b""
    while True:
        page = await client.workflow_service.get_workflow_execution_history_reverse(
            GetWorkflowExecutionHistoryReverseRequest(
                namespace="default",
                execution=WorkflowExecution(workflow_id=handle.id),
                maximum_page_size=4,
                next_page_token=token,
            )
        )
        seen.extend(e.event_id for e in page.history.events)
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(forward))


async def test_cluster_info_names_the_store(client: Client) -> None:
    info = await client.workflow_service.get_cluster_info(GetClusterInfoRequest())
    assert info.cluster_id
    assert info.persistence_store in {"sqlite", "postgresql"}


async def test_namespaces_register_describe_list_and_update(client: Client) -> None:
    service = client.workflow_service
    names = [f"ns-{new_id()}" for _ in range(3)]
    for name in names:
        await service.register_namespace(
            RegisterNamespaceRequest(
                namespace=name,
                description="team space",
                workflow_execution_retention_period=Duration(seconds=3 * 86400),
            )
        )
    described = await service.describe_namespace(DescribeNamespaceRequest(namespace=names[0]))
    assert described.namespace_info.description == "team space"
    assert described.config.workflow_execution_retention_ttl == Duration(seconds=3 * 86400)

    listed: list[str] = []
    token = b""
    while True:
        page = await service.list_namespaces(ListNamespacesRequest(page_size=2, next_page_token=token))
        listed.extend(n.namespace_info.name for n in page.namespaces)
        token = page.next_page_token
        if not token:
            break
    assert set(names) <= set(listed)
    assert listed == sorted(listed)

    await service.update_namespace(
        UpdateNamespaceRequest(
            namespace=names[1],
            update_info=UpdateNamespaceInfo(description="renamed purpose"),
            config=NamespaceConfig(workflow_execution_retention_ttl=Duration(seconds=7 * 86400)),
        )
    )
    updated = await service.describe_namespace(DescribeNamespaceRequest(namespace=names[1]))
    assert updated.namespace_info.description == "renamed purpose"
    assert updated.config.workflow_execution_retention_ttl == Duration(seconds=7 * 86400)
    # another namespace's workflows are invisible here: its id is unknown in this namespace
    run = await service.start_workflow_execution(
        StartWorkflowExecutionRequest(
            namespace=names[2],
            workflow_id="shared-id",
            workflow_type=WorkflowType(name="T"),
            task_queue=TaskQueue(name="q"),
            request_id="x",
        )
    )
    assert run.started
    other = Client(service_client=client.service_client, namespace=names[1])
    import pytest
    from temporalio.service import RPCError, RPCStatusCode

    with pytest.raises(RPCError) as caught:
        await other.get_workflow_handle("shared-id").describe()
    assert caught.value.status == RPCStatusCode.NOT_FOUND


async def test_an_invalid_command_fails_the_workflow_task_with_its_cause(client: Client) -> None:
    """Driven by raw RPCs: a StartTimer without a timer id."""
    service = client.workflow_service
    queue = f"raw-{new_id()}"
    workflow_id = new_id()
    await service.start_workflow_execution(
        StartWorkflowExecutionRequest(
            namespace="default",
            workflow_id=workflow_id,
            workflow_type=WorkflowType(name="Raw"),
            task_queue=TaskQueue(name=queue),
            request_id="raw",
        )
    )
    task = await service.poll_workflow_task_queue(
        PollWorkflowTaskQueueRequest(namespace="default", task_queue=TaskQueue(name=queue), identity="raw-worker")
    )
    assert task.task_token
    bad = Command(
        command_type=CommandType.COMMAND_TYPE_START_TIMER,
        start_timer_command_attributes=StartTimerCommandAttributes(start_to_fire_timeout=Duration(seconds=1)),
    )
    await service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(namespace="default", task_token=task.task_token, commands=[bad])
    )
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    failed = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert len(failed) == 1
    attrs = failed[0].workflow_task_failed_event_attributes
    assert attrs.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES
    assert "TimerId" in attrs.failure.message
    assert EventType.EVENT_TYPE_TIMER_STARTED not in [e.event_type for e in history.events]
