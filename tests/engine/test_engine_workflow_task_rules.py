"""Workflow-task edge rules, driven by raw RPCs the way a worker sends them: stale tokens,
tasks that keep failing on a bad command, and readers arriving while a commit is in flight."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.command.v1 import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    StartTimerCommandAttributes,
)
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import CommandType, EventType, HistoryEventFilterType, WorkflowTaskFailedCause
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    QueryWorkflowRequest,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskFailedRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from engine.persistence.records import Transition
from engine.server import EngineServer
from tests.engine.sdk_support import new_id

BAD_TIMER = Command(
    command_type=CommandType.COMMAND_TYPE_START_TIMER,
    start_timer_command_attributes=StartTimerCommandAttributes(start_to_fire_timeout=Duration(seconds=1)),
)
COMPLETE = Command(
    command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
    complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(),
)


class RawWorker:
    """One workflow on its own queue, answered by hand."""

    def __init__(self, client: Client, task_timeout: int = 10) -> None:
        self.service = client.workflow_service
        self.client = client
        self.queue = f"raw-{new_id()}"
        self.workflow_id = new_id()
        self.task_timeout = task_timeout

    async def start(self) -> None:
        await self.service.start_workflow_execution(
            StartWorkflowExecutionRequest(
                namespace="default",
                workflow_id=self.workflow_id,
                workflow_type=WorkflowType(name="Raw"),
                task_queue=TaskQueue(name=self.queue),
                workflow_task_timeout=Duration(seconds=self.task_timeout),
                request_id=new_id(),
            )
        )

    async def poll(self) -> PollWorkflowTaskQueueResponse:
        task = await self.service.poll_workflow_task_queue(
            PollWorkflowTaskQueueRequest(namespace="default", task_queue=TaskQueue(name=self.queue), identity="raw")
        )
        assert task.task_token, "no workflow task arrived"
        return task

    async def complete(self, token: bytes, *commands: Command) -> None:
        await self.service.respond_workflow_task_completed(
            RespondWorkflowTaskCompletedRequest(namespace="default", task_token=token, commands=list(commands))
        )

    async def fail(self, token: bytes) -> None:
        await self.service.respond_workflow_task_failed(
            RespondWorkflowTaskFailedRequest(
                namespace="default",
                task_token=token,
                cause=WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
            )
        )

    async def event_types(self) -> list[int]:
        history = await self.client.get_workflow_handle(self.workflow_id).fetch_history()
        return [e.event_type for e in history.events]


async def test_a_stale_attempt_token_cannot_complete_a_newer_attempt(client: Client) -> None:
    """Retries of a failing task reuse the same event ids; only the token of the current
    attempt may answer it."""
    raw = RawWorker(client)
    await raw.start()
    first = await raw.poll()
    await raw.fail(first.task_token)
    second = await raw.poll()
    assert second.attempt == 2
    await raw.fail(second.task_token)
    third = await raw.poll()
    assert third.attempt == 3
    assert third.started_event_id == second.started_event_id  # transient attempts: same ids

    with pytest.raises(RPCError) as caught:
        await raw.complete(second.task_token, COMPLETE)
    assert caught.value.status == RPCStatusCode.NOT_FOUND
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED not in await raw.event_types()

    await raw.complete(third.task_token, COMPLETE)
    assert (await raw.event_types())[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


async def test_a_task_that_keeps_failing_on_a_bad_command_waits_for_its_timeout(client: Client) -> None:
    """Attempt 1 records WorkflowTaskFailed; a retry failing the same way is answered
    INVALID_ARGUMENT and left to time out, instead of being retried at once forever."""
    raw = RawWorker(client, task_timeout=1)
    await raw.start()
    first = await raw.poll()
    await raw.complete(first.task_token, BAD_TIMER)
    second = await raw.poll()
    assert second.attempt == 2

    with pytest.raises(RPCError) as caught:
        await raw.complete(second.task_token, BAD_TIMER)
    assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert "TimerId" in caught.value.message

    described = await raw.service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(namespace="default", execution=WorkflowExecution(workflow_id=raw.workflow_id))
    )
    assert described.pending_workflow_task.attempt == 2  # still started: nothing was re-dispatched

    third = await raw.poll()  # after the 1 s start-to-close timeout
    assert third.attempt == 3
    types = await raw.event_types()
    assert types.count(EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED) == 1
    await raw.complete(third.task_token, COMPLETE)
    assert (await raw.event_types())[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


@pytest.mark.parametrize(
    ("command_type", "cause"),
    [
        (
            CommandType.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION,
            WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_NEXUS_OPERATION_ATTRIBUTES,
        ),
        (
            CommandType.COMMAND_TYPE_REQUEST_CANCEL_NEXUS_OPERATION,
            WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_NEXUS_OPERATION_ATTRIBUTES,
        ),
    ],
)
async def test_a_command_the_engine_cannot_run_yet_fails_the_task_with_its_own_cause(
    client: Client, command_type: int, cause: int
) -> None:
    raw = RawWorker(client)
    await raw.start()
    task = await raw.poll()
    await raw.complete(task.task_token, Command(command_type=command_type))  # type: ignore[arg-type]
    history = await client.get_workflow_handle(raw.workflow_id).fetch_history()
    failed = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert [e.workflow_task_failed_event_attributes.cause for e in failed] == [cause]
    assert "not supported" in failed[0].workflow_task_failed_event_attributes.failure.message


async def test_an_unknown_command_type_or_a_command_after_the_close_is_invalid_argument(client: Client) -> None:
    raw = RawWorker(client)
    await raw.start()
    task = await raw.poll()
    for commands in ([Command(command_type=999)], [COMPLETE, COMPLETE]):  # type: ignore[arg-type]
        with pytest.raises(RPCError) as caught:
            await raw.complete(task.task_token, *commands)
        assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT
    await raw.complete(task.task_token, COMPLETE)  # the task is still the worker's to answer
    assert (await raw.event_types())[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


class GatedStore:
    """The engine's real store, with commits held until the test opens the gate."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def commit(self, transition: Transition) -> None:
        self.waiting.set()
        await self.gate.wait()
        await self._store.commit(transition)


async def test_readers_never_see_a_close_whose_commit_is_in_flight(engine: EngineServer, client: Client) -> None:
    """The client's result() asks for the close event without the workflow lock; while the
    closing commit is in flight it waits for it instead of failing."""
    history = engine._history
    assert history is not None
    raw = RawWorker(client)
    await raw.start()
    task = await raw.poll()
    gated = GatedStore(history.store)
    history.store = gated
    try:
        completing = asyncio.create_task(raw.complete(task.task_token, COMPLETE))
        await asyncio.wait_for(gated.waiting.wait(), 10)
        request = GetWorkflowExecutionHistoryRequest(
            namespace="default",
            execution=WorkflowExecution(workflow_id=raw.workflow_id),
            history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
        )
        reading = asyncio.create_task(raw.service.get_workflow_execution_history(request))
        describing = asyncio.create_task(
            raw.service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace="default", execution=WorkflowExecution(workflow_id=raw.workflow_id)
                )
            )
        )
        await asyncio.sleep(0.3)
        assert not reading.done()  # it waits for the commit
        assert not describing.done()
        gated.gate.set()
        await completing
        answer = await reading
        described = await describing
    finally:
        history.store = gated._store
    assert [e.event_type for e in answer.history.events] == [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED]
    assert described.workflow_execution_info.history_length == len(await raw.event_types())


async def _query(raw: RawWorker) -> None:
    await raw.service.query_workflow(
        QueryWorkflowRequest(
            namespace="default",
            execution=WorkflowExecution(workflow_id=raw.workflow_id),
            query=WorkflowQuery(query_type="state"),
        ),
        timeout=timedelta(seconds=5),
    )


async def test_a_query_fails_fast_while_the_workflow_task_keeps_failing(client: Client) -> None:
    """As Temporal: from the third attempt a query is FAILED_PRECONDITION at once instead of
    waiting for a worker that cannot answer."""
    raw = RawWorker(client)
    await raw.start()
    await raw.fail((await raw.poll()).task_token)
    await raw.fail((await raw.poll()).task_token)  # the next attempt is the third
    with pytest.raises(RPCError) as caught:
        await _query(raw)
    assert caught.value.status == RPCStatusCode.FAILED_PRECONDITION
    assert caught.value.message == "Unable to query workflow due to Workflow Task in failed state."


async def test_a_query_of_a_run_closed_before_its_first_task_fails(client: Client) -> None:
    raw = RawWorker(client)
    await raw.start()
    await client.get_workflow_handle(raw.workflow_id).terminate("before any task")
    with pytest.raises(RPCError) as caught:
        await _query(raw)
    assert caught.value.status == RPCStatusCode.FAILED_PRECONDITION
    assert caught.value.message == "Workflow closed before task started."
