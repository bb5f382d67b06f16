"""Parent close policies: a parent that closes with a child still running terminates it, asks it
to cancel, or abandons it; and a child whose parent closed while the engine was down gets the
policy at recovery."""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus
from temporalio.client import Client

from engine.config import EngineConfig
from engine.server import EngineServer
from tests.engine.child_app import PolicyParent
from tests.engine.child_support import assert_replays, child_worker, event_types, wait_for_event, wait_for_status
from tests.engine.sdk_support import new_id

E = EventType
S = WorkflowExecutionStatus


async def test_terminate_policy_terminates_the_child(client: Client) -> None:
    async with child_worker(client) as queue:
        child_id = new_id()
        parent = await client.start_workflow(
            PolicyParent.run, args=[child_id, "TERMINATE", False], id=new_id(), task_queue=queue
        )
        assert await parent.result() == "parent done"
        child = client.get_workflow_handle(child_id)
        await wait_for_status(child, S.WORKFLOW_EXECUTION_STATUS_TERMINATED)
    history = await child.fetch_history()
    terminated = history.events[-1]
    assert terminated.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
    assert terminated.workflow_execution_terminated_event_attributes.reason == "by parent close policy"
    await assert_replays(parent)


async def test_request_cancel_policy_asks_the_child_to_cancel(client: Client) -> None:
    async with child_worker(client) as queue:
        child_id = new_id()
        parent = await client.start_workflow(
            PolicyParent.run, args=[child_id, "REQUEST_CANCEL", False], id=new_id(), task_queue=queue
        )
        assert await parent.result() == "parent done"
        child = client.get_workflow_handle(child_id)
        await wait_for_status(child, S.WORKFLOW_EXECUTION_STATUS_CANCELED)
    history = await child.fetch_history()
    requested = next(e for e in history.events if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    attrs = requested.workflow_execution_cancel_requested_event_attributes
    assert attrs.external_workflow_execution.workflow_id == parent.id
    assert attrs.external_workflow_execution.run_id == parent.result_run_id
    await assert_replays(child)


async def test_abandon_policy_leaves_the_child_running(client: Client) -> None:
    async with child_worker(client) as queue:
        child_id = new_id()
        parent = await client.start_workflow(
            PolicyParent.run, args=[child_id, "ABANDON", False], id=new_id(), task_queue=queue
        )
        assert await parent.result() == "parent done"
        child = client.get_workflow_handle(child_id)
        await wait_for_event(child, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        await asyncio.sleep(0.3)
        assert (await child.describe()).raw_description.workflow_execution_info.status == (
            S.WORKFLOW_EXECUTION_STATUS_RUNNING
        )
        await child.signal("finish")
        assert await child.result() == "finished"
    assert E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED not in await event_types(child)


async def test_terminating_the_parent_applies_the_policy_too(client: Client) -> None:
    async with child_worker(client) as queue:
        child_id = new_id()
        parent = await client.start_workflow(
            PolicyParent.run, args=[child_id, "TERMINATE", True], id=new_id(), task_queue=queue
        )
        await wait_for_event(parent, E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
        await parent.terminate("stop")
        await wait_for_status(client.get_workflow_handle(child_id), S.WORKFLOW_EXECUTION_STATUS_TERMINATED)


async def test_a_policy_missed_in_a_crash_applies_at_recovery(engine_db_url: str) -> None:
    """The parent closes while the engine is not driving its close (as after a crash between
    the close's commit and the policy): the next engine's recovery finds the running child of a
    closed parent and terminates it."""
    server = EngineServer(EngineConfig(port=0, db_url=engine_db_url, dev=True, grace_period=1))
    await server.start()
    child_id = new_id()
    try:
        client = await Client.connect(f"127.0.0.1:{server.port}", namespace="default")
        async with child_worker(client) as queue:
            parent = await client.start_workflow(
                PolicyParent.run, args=[child_id, "TERMINATE", True], id=new_id(), task_queue=queue
            )
            await wait_for_event(parent, E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
            history = server._history
            assert history is not None
            vars(history)["drive_parent_close"] = _skip  # the crash: the policy never runs
            await parent.signal(PolicyParent.release)
            assert await parent.result() == "parent done"
            child = client.get_workflow_handle(child_id)
            assert (await child.describe()).raw_description.workflow_execution_info.status == (
                S.WORKFLOW_EXECUTION_STATUS_RUNNING
            )
    finally:
        await server.stop()
    server = EngineServer(EngineConfig(port=0, db_url=engine_db_url, dev=True, grace_period=1))
    await server.start()
    try:
        client = await Client.connect(f"127.0.0.1:{server.port}", namespace="default")
        await wait_for_status(client.get_workflow_handle(child_id), S.WORKFLOW_EXECUTION_STATUS_TERMINATED)
    finally:
        await server.stop()


async def _skip(*args: object) -> None:
    return None
