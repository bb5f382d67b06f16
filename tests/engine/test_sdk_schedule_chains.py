"""Schedules follow the chains of the workflows they start (Temporal's schedule watcher): a
scheduled workflow that continues-as-new or is retried is one action until its chain ends —
the overlap policy sees it running, DescribeSchedule shows its first run, and the next start's
`last_completion_result` comes from the chain's final run. A restart keeps following."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import WorkflowExecutionStatus as RawStatus
from temporalio.api.workflowservice.v1 import DescribeScheduleRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    WorkflowHandle,
)
from temporalio.common import RetryPolicy
from temporalio.worker import Replayer, Worker

from engine.config import EngineConfig
from engine.server import EngineServer
from tests.engine.schedule_chain_app import (
    SCHEDULE_CHAIN_WORKFLOWS,
    ContinueOnceWorkflow,
    FailFirstAttemptWorkflow,
)


@asynccontextmanager
async def chain_worker(client: Client, queue: str = "") -> AsyncIterator[str]:
    queue = queue or f"sched-chain-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=SCHEDULE_CHAIN_WORKFLOWS):
        yield queue


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


def every(seconds: float) -> ScheduleSpec:
    return ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=seconds))])


async def started(handle: ScheduleHandle, index: int) -> ScheduleActionExecutionStartWorkflow:
    """The `index`-th workflow the schedule started, once it has."""

    async def has() -> bool:
        return len((await handle.describe()).info.recent_actions) > index

    await eventually(has)
    action = (await handle.describe()).info.recent_actions[index].action
    assert isinstance(action, ScheduleActionExecutionStartWorkflow)
    return action


async def continued(client: Client, action: ScheduleActionExecutionStartWorkflow) -> str:
    """Wait until the workflow's current run is no longer its first run; that run's id."""
    handle = client.get_workflow_handle(action.workflow_id)

    async def moved() -> bool:
        return (await handle.describe()).run_id != action.first_execution_run_id

    await eventually(moved)
    return (await handle.describe()).run_id or ""


async def raw_statuses(client: Client, schedule_id: str) -> list[int]:
    described = await client.workflow_service.describe_schedule(
        DescribeScheduleRequest(namespace=client.namespace, schedule_id=schedule_id)
    )
    return [a.start_workflow_status for a in described.info.recent_actions]


async def assert_replays(handle: WorkflowHandle[Any, Any]) -> None:
    history = await handle.fetch_history()
    replay = await Replayer(workflows=SCHEDULE_CHAIN_WORKFLOWS).replay_workflow(history, raise_on_replay_failure=True)
    assert replay.replay_failure is None


async def test_a_continued_workflow_is_one_action_until_its_chain_ends(client: Client) -> None:
    async with chain_worker(client) as queue:
        schedule_id = f"can-skip-{uuid.uuid4().hex[:6]}"
        handle = await client.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    ContinueOnceWorkflow.run, 0, id=f"can-wf-{uuid.uuid4().hex[:6]}", task_queue=queue
                ),
                spec=every(1),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )
        first = await started(handle, 0)
        second_run = await continued(client, first)
        await asyncio.sleep(2.5)  # two or three more due times while the chain runs: skipped
        described = await handle.describe()
        assert described.info.num_actions == 1
        assert described.info.num_actions_skipped_overlap >= 2
        assert described.info.running_actions == [first]  # the first run, as Temporal shows it
        assert await raw_statuses(client, schedule_id) == [RawStatus.WORKFLOW_EXECUTION_STATUS_RUNNING]

        workflow = client.get_workflow_handle(first.workflow_id)
        await workflow.signal(ContinueOnceWorkflow.finish)
        chain_result = await workflow.result()
        assert chain_result == f"final={second_run} seen=None"

        following = await started(handle, 1)  # the next due time starts the next workflow
        await handle.pause()
        assert following.workflow_id != first.workflow_id
        assert (await raw_statuses(client, schedule_id))[0] == RawStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED
        await continued(client, following)
        next_workflow = client.get_workflow_handle(following.workflow_id)
        await next_workflow.signal(ContinueOnceWorkflow.finish)
        assert (await next_workflow.result()).endswith(f"seen={chain_result}")  # the chain's final result

        for run_id in (first.first_execution_run_id, second_run):
            await assert_replays(client.get_workflow_handle(first.workflow_id, run_id=run_id))
        await handle.delete()


async def test_a_retried_failure_neither_pauses_nor_ends_the_action(client: Client) -> None:
    async with chain_worker(client) as queue:
        schedule_id = f"retry-{uuid.uuid4().hex[:6]}"
        handle = await client.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    FailFirstAttemptWorkflow.run,
                    id=f"retry-wf-{uuid.uuid4().hex[:6]}",
                    task_queue=queue,
                    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=2),
                ),
                spec=every(3600),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, pause_on_failure=True),
            ),
        )
        await handle.trigger()
        first = await started(handle, 0)
        await continued(client, first)  # the first attempt failed into its retry
        await handle.trigger()  # the chain still runs: skipped
        described = await handle.describe()
        assert not described.schedule.state.paused
        assert described.info.num_actions == 1
        assert described.info.num_actions_skipped_overlap == 1
        workflow = client.get_workflow_handle(first.workflow_id)
        first_result = await workflow.result()
        assert first_result == "attempt=2 seen=None"

        async def closed() -> bool:
            return not (await handle.describe()).info.running_actions

        await eventually(closed)
        assert not (await handle.describe()).schedule.state.paused
        assert await raw_statuses(client, schedule_id) == [RawStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED]
        await handle.trigger()
        following = await started(handle, 1)
        result = await client.get_workflow_handle(following.workflow_id).result()
        assert result == f"attempt=2 seen={first_result}"  # the retry run keeps the chain's last result
        await handle.delete()


async def test_a_restart_keeps_following_the_chain(engine_db_url: str) -> None:
    """The engine restarts while a scheduled workflow's second run is running: the schedule
    still sees the action running, and counts it finished when that run completes."""
    schedule_id = f"restart-chain-{uuid.uuid4().hex[:6]}"
    queue = f"sched-chain-{uuid.uuid4().hex[:8]}"
    config = EngineConfig(port=0, db_url=engine_db_url, dev=True, grace_period=1)
    engine = EngineServer(config)
    await engine.start()
    try:
        client = await Client.connect(f"127.0.0.1:{engine.port}")
        async with chain_worker(client, queue):
            handle = await client.create_schedule(
                schedule_id,
                Schedule(
                    action=ScheduleActionStartWorkflow(
                        ContinueOnceWorkflow.run, 0, id=f"restart-wf-{uuid.uuid4().hex[:6]}", task_queue=queue
                    ),
                    spec=every(1),
                ),
            )
            first = await started(handle, 0)
            await continued(client, first)
    finally:
        await engine.stop()
    engine = EngineServer(EngineConfig(port=0, db_url=engine_db_url, dev=True, grace_period=1))
    await engine.start()
    try:
        client = await Client.connect(f"127.0.0.1:{engine.port}")
        handle = client.get_schedule_handle(schedule_id)
        async with chain_worker(client, queue):
            await asyncio.sleep(2.5)
            described = await handle.describe()
            assert described.info.num_actions == 1
            assert described.info.running_actions == [first]
            await client.get_workflow_handle(first.workflow_id).signal(ContinueOnceWorkflow.finish)
            following = await started(handle, 1)
            await handle.pause()
            assert following.workflow_id != first.workflow_id
            await handle.delete()
    finally:
        await engine.stop()
