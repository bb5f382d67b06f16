"""Child workflows through the official SDK: start, results, failures, a taken id, cancellation,
termination, DescribeWorkflowExecution's family view, and bad StartChildWorkflowExecution commands."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.api.command.v1 import Command, StartChildWorkflowExecutionCommandAttributes
from temporalio.api.common.v1 import WorkflowType
from temporalio.api.enums.v1 import (
    CommandType,
    EventType,
    ParentClosePolicy,
    StartChildWorkflowExecutionFailedCause,
    WorkflowExecutionStatus,
    WorkflowTaskFailedCause,
)
from temporalio.client import Client

from engine.config import EngineConfig
from engine.server import EngineServer
from tests.engine.child_app import (
    AwaitingParent,
    FailingChildParent,
    PolicyParent,
    SequenceParent,
    SleepyParent,
    TakenIdParent,
)
from tests.engine.child_support import assert_replays, child_worker, event_types, wait_for_event
from tests.engine.sdk_support import new_id
from tests.engine.test_engine_workflow_task_rules import RawWorker

E = EventType


async def test_a_parent_runs_two_children_in_sequence(client: Client) -> None:
    async with child_worker(client) as queue:
        parent_id = new_id()
        handle = await client.start_workflow(SequenceParent.run, ["a", "b"], id=parent_id, task_queue=queue)
        assert await handle.result() == [f"child a of {parent_id}", f"child b of {parent_id}"]
    history = await handle.fetch_history()
    types = [e.event_type for e in history.events]
    family = [
        t
        for t in types
        if t
        in (
            E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
            E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
        )
    ]
    assert (
        family
        == [
            E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
            E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
        ]
        * 2
    )
    initiated = next(e for e in history.events if e.event_type == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    attrs = initiated.start_child_workflow_execution_initiated_event_attributes
    assert attrs.workflow_id == f"{parent_id}-a"
    assert attrs.task_queue.name == queue  # the parent's queue by default
    assert attrs.parent_close_policy == ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE
    completed = next(e for e in history.events if e.event_type == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED)
    done = completed.child_workflow_execution_completed_event_attributes
    assert done.initiated_event_id == initiated.event_id
    assert done.started_event_id > done.initiated_event_id
    assert done.workflow_execution.workflow_id == f"{parent_id}-a"

    child = client.get_workflow_handle(f"{parent_id}-a")
    child_history = await child.fetch_history()
    started = child_history.events[0].workflow_execution_started_event_attributes
    assert started.parent_workflow_execution.workflow_id == parent_id
    assert started.parent_workflow_execution.run_id == handle.result_run_id
    assert started.parent_initiated_event_id == initiated.event_id
    assert started.root_workflow_execution.workflow_id == parent_id
    described = (await child.describe()).raw_description.workflow_execution_info
    assert described.parent_execution.workflow_id == parent_id
    assert described.root_execution.workflow_id == parent_id
    assert (await child.describe()).parent_id == parent_id
    await assert_replays(handle)
    await assert_replays(child)


async def test_a_failing_child_fails_in_its_parent(client: Client) -> None:
    async with child_worker(client) as queue:
        handle = await client.start_workflow(FailingChildParent.run, id=new_id(), task_queue=queue)
        assert await handle.result() == "ApplicationError: ChildGaveUp: child gave up"
    assert E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED in await event_types(handle)
    await assert_replays(handle)


async def test_a_child_whose_id_is_taken_fails_to_start(client: Client) -> None:
    async with child_worker(client) as queue:
        holder = await client.start_workflow(
            PolicyParent.run, args=[new_id(), "ABANDON", True], id=new_id(), task_queue=queue
        )
        handle = await client.start_workflow(TakenIdParent.run, holder.id, id=new_id(), task_queue=queue)
        assert await handle.result() == "WorkflowAlreadyStartedError"
        await holder.terminate()
    history = await handle.fetch_history()
    failed = next(e for e in history.events if e.event_type == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED)
    attrs = failed.start_child_workflow_execution_failed_event_attributes
    assert (
        attrs.cause
        == StartChildWorkflowExecutionFailedCause.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS
    )
    assert attrs.workflow_id == holder.id
    await assert_replays(handle)


async def test_a_parent_cancels_its_child(client: Client) -> None:
    async with child_worker(client) as queue:
        child_id = new_id()
        handle = await client.start_workflow(AwaitingParent.run, args=[child_id, True], id=new_id(), task_queue=queue)
        assert await handle.result() == "CancelledError"
    types = await event_types(handle)
    assert E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED in types
    assert E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED in types
    assert E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED in types
    child = client.get_workflow_handle(child_id)
    assert (await child.describe()).raw_description.workflow_execution_info.status == (
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED
    )
    await assert_replays(handle)


async def test_a_terminated_child_is_reported_to_its_parent(client: Client) -> None:
    async with child_worker(client) as queue:
        child_id = new_id()
        handle = await client.start_workflow(AwaitingParent.run, args=[child_id, False], id=new_id(), task_queue=queue)
        await wait_for_event(handle, E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
        await client.get_workflow_handle(child_id).terminate("enough")
        assert await handle.result() == "TerminatedError"
    assert E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED in await event_types(handle)
    await assert_replays(handle)


async def test_describe_shows_pending_children(client: Client) -> None:
    async with child_worker(client) as queue:
        child_id = new_id()
        handle = await client.start_workflow(
            PolicyParent.run, args=[child_id, "ABANDON", True], id=new_id(), task_queue=queue
        )
        await wait_for_event(handle, E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
        pending = (await handle.describe()).raw_description.pending_children
        assert len(pending) == 1
        assert pending[0].workflow_id == child_id
        assert pending[0].workflow_type_name == "WaitingChild"
        assert pending[0].parent_close_policy == ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON
        assert pending[0].run_id == (await client.get_workflow_handle(child_id).describe()).run_id
        assert pending[0].initiated_id > 0
        await client.get_workflow_handle(child_id).signal("finish")
        await handle.signal(PolicyParent.release)
        assert await handle.result() == "parent done"
        child_info = (await client.get_workflow_handle(child_id).describe()).raw_description.workflow_execution_info
        assert child_info.parent_namespace_id
        assert child_info.parent_execution.workflow_id == handle.id


def _start_child(**fields: object) -> Command:
    attrs = StartChildWorkflowExecutionCommandAttributes(workflow_type=WorkflowType(name="EchoChild"), **fields)  # type: ignore[arg-type]
    return Command(
        command_type=CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
        start_child_workflow_execution_command_attributes=attrs,
    )


@pytest.mark.parametrize(
    ("command", "cause", "message"),
    [
        (
            _start_child(workflow_id=""),
            WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES,
            "Required field WorkflowId is not set",
        ),
        (
            _start_child(workflow_id="c", namespace="elsewhere"),
            WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES,
            "cross namespace commands are not allowed",
        ),
        (
            Command(
                command_type=CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
                start_child_workflow_execution_command_attributes=StartChildWorkflowExecutionCommandAttributes(
                    workflow_id="c"
                ),
            ),
            WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES,
            "Required field WorkflowType is not set",
        ),
    ],
)
async def test_a_bad_start_child_command_fails_the_workflow_task(
    client: Client, command: Command, cause: int, message: str
) -> None:
    raw = RawWorker(client)
    await raw.start()
    task = await raw.poll()
    await raw.complete(task.task_token, command)
    history = await client.get_workflow_handle(raw.workflow_id).fetch_history()
    failed = history.events[-1]
    assert failed.event_type == E.EVENT_TYPE_WORKFLOW_TASK_FAILED
    assert failed.workflow_task_failed_event_attributes.cause == cause
    assert message in failed.workflow_task_failed_event_attributes.failure.message


async def _skip(*args: object) -> None:
    return None


@pytest.mark.parametrize("lost", ["drive_start_child", "drive_notify_parent"])
async def test_cross_run_work_lost_in_a_crash_is_driven_at_recovery(engine_db_url: str, lost: str) -> None:
    """The engine stops right after a commit that owes another run something — the child's
    start (the parent's Initiated event is committed, the child does not exist), or the parent's
    notice (the child closed, the parent does not know): the next engine's recovery does it,
    once."""
    parent_id, child_id = new_id(), new_id()
    server = EngineServer(EngineConfig(port=0, db_url=engine_db_url, dev=True, grace_period=1))
    await server.start()
    try:
        client = await Client.connect(f"127.0.0.1:{server.port}", namespace="default")
        assert server._history is not None
        setattr(server._history, lost, _skip)  # the crash: the drive never runs
        async with child_worker(client) as queue:
            handle = await client.start_workflow(SleepyParent.run, child_id, id=parent_id, task_queue=queue)
            await wait_for_event(handle, E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
            if lost == "drive_notify_parent":
                await wait_for_event(client.get_workflow_handle(child_id), E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
            await asyncio.sleep(0.2)
            assert E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED not in await event_types(handle)
    finally:
        await server.stop()
    server = EngineServer(EngineConfig(port=0, db_url=engine_db_url, dev=True, grace_period=1))
    await server.start()
    try:
        client = await Client.connect(f"127.0.0.1:{server.port}", namespace="default")
        async with child_worker(client, queue):
            handle = client.get_workflow_handle(parent_id)
            assert await asyncio.wait_for(handle.result(), 30) == f"child crash of {parent_id}"
        types = await event_types(handle)
        assert types.count(E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED) == 1
        assert types.count(E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED) == 1
        child_runs = await client.list_workflows(f"WorkflowId = '{child_id}'").__anext__()
        assert child_runs.id == child_id
        await assert_replays(handle)
    finally:
        await server.stop()
