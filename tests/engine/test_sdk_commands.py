"""Less common commands and RPCs: markers, memo upserts, async completion by id, reverse history,
cluster info, namespaces, and an invalid command failing the workflow task with its cause."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest_asyncio
from google.protobuf.duration_pb2 import Duration
from temporalio.api.command.v1 import Command, StartTimerCommandAttributes
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import CommandType, EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
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
from temporalio.worker import Replayer, Worker

from engine.config import EngineConfig
from engine.server import EngineServer
from tests.engine.sdk_app import (
    ACTIVITIES,
    WORKFLOWS,
    AsyncCompletionWorkflow,
    HelloWorkflow,
    PatchedMemoWorkflow,
    SummariesWorkflow,
)
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


def _summary(event: HistoryEvent) -> str:
    return json.loads(event.user_metadata.summary.data) if event.HasField("user_metadata") else ""


async def test_summaries_travel_on_the_start_activity_and_timer_events(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(
        SummariesWorkflow.run,
        id=new_id(),
        task_queue=task_queue,
        static_summary="nightly report",
        static_details="for the finance team",
    )
    assert await handle.result() is False  # a short history: no continue-as-new suggested
    described = await handle.describe()
    assert await described.static_summary() == "nightly report"
    assert await described.static_details() == "for the finance team"
    events = (await handle.fetch_history()).events
    assert _summary(events[0]) == "nightly report"
    scheduled = [e for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
    assert [_summary(e) for e in scheduled] == ["say hello"]
    timers = [e for e in events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED]
    assert [_summary(e) for e in timers] == ["no wait at all", "a short nap"]
    assert timers[0].timer_started_event_attributes.start_to_fire_timeout.ToTimedelta() == timedelta(0)
    fired = [e for e in events if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED]
    assert len(fired) == 2  # the zero-length timer fired too
    replay = await Replayer(workflows=WORKFLOWS).replay_workflow(await handle.fetch_history())
    assert replay.replay_failure is None


@pytest_asyncio.fixture
async def short_history_engine(engine_db_url: str) -> AsyncIterator[EngineServer]:
    config = EngineConfig(port=0, db_url=engine_db_url, dev=True, grace_period=1, suggest_continue_as_new_events=10)
    server = EngineServer(config)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_a_long_history_suggests_continue_as_new(short_history_engine: EngineServer) -> None:
    client = await Client.connect(f"127.0.0.1:{short_history_engine.port}", namespace="default")
    queue = new_id()
    async with Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=ACTIVITIES):  # type: ignore[arg-type]
        handle = await client.start_workflow(SummariesWorkflow.run, id=new_id(), task_queue=queue)
        assert await handle.result() is True
    started = [
        e.workflow_task_started_event_attributes.suggest_continue_as_new
        for e in (await handle.fetch_history()).events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
    ]
    assert started[0] is False  # 3 events at the first task
    assert started[-1] is True
