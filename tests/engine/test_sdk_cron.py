"""Cron workflows: the first run waits for the first cron time, each run is followed by the next
(with the previous result), a failed run is retried under its retry policy before the next cron
time, and terminating the workflow ends the chain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from temporalio.api.common.v1 import WorkflowType
from temporalio.api.enums.v1 import ContinueAsNewInitiator, EventType, RetryState
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.common import RetryPolicy
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from tests.engine.chain_app import CHAIN_WORKFLOWS, CronCounterWorkflow, CronFlakyWorkflow, chain_worker
from tests.engine.sdk_support import new_id


@pytest_asyncio.fixture
async def queue(client: Client) -> AsyncIterator[str]:
    async with chain_worker(client) as name:
        yield name


async def _runs(client: Client, workflow_id: str) -> list[tuple[str, Status | None]]:
    return [(r.run_id, r.status) async for r in client.list_workflows(f"WorkflowId = '{workflow_id}'")]


@pytest.mark.parametrize("schedule", ["@every 2s", "*/2 * * * * * *"])
async def test_a_cron_workflow_runs_repeatedly_and_stops_on_terminate(
    client: Client, queue: str, schedule: str
) -> None:
    handle = await client.start_workflow(CronCounterWorkflow.run, id=new_id(), task_queue=queue, cron_schedule=schedule)
    first = client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    start = (await first.fetch_history()).events[0].workflow_execution_started_event_attributes
    assert start.cron_schedule == schedule
    assert start.initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
    assert start.first_workflow_task_backoff.ToTimedelta() > timedelta(0)

    await asyncio.sleep(6)
    runs = await _runs(client, handle.id)
    completed = [run_id for run_id, status in runs if status == Status.COMPLETED]
    assert len(completed) >= 2

    # each run hands its result to the next
    history = await first.fetch_history()
    done = history.events[-1]
    assert done.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    second_id = done.workflow_execution_completed_event_attributes.new_execution_run_id
    second = await client.get_workflow_handle(handle.id, run_id=second_id).fetch_history()
    second_start = second.events[0].workflow_execution_started_event_attributes
    assert second_start.initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
    assert second_start.continued_execution_run_id == handle.first_execution_run_id
    assert second_start.last_completion_result.payloads[0].data == b"1"
    for h in (history, second):
        replay = await Replayer(workflows=CHAIN_WORKFLOWS).replay_workflow(h, raise_on_replay_failure=True)
        assert replay.replay_failure is None

    await handle.terminate("enough")
    described = await client.get_workflow_handle(handle.id).describe()
    assert described.status == Status.TERMINATED
    count = len(await _runs(client, handle.id))
    await asyncio.sleep(2.5)
    assert len(await _runs(client, handle.id)) == count
    assert (await client.get_workflow_handle(handle.id).describe()).run_id == described.run_id


async def test_a_failed_cron_run_is_retried_before_the_next_cron_time(client: Client, queue: str) -> None:
    handle = await client.start_workflow(
        CronFlakyWorkflow.run,
        id=new_id(),
        task_queue=queue,
        cron_schedule="@every 3s",
        retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=2),
    )
    first = client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    for _ in range(100):
        last = (await first.fetch_history()).events[-1]
        if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            break
        await asyncio.sleep(0.1)
    failed = last.workflow_execution_failed_event_attributes
    assert failed.retry_state == RetryState.RETRY_STATE_IN_PROGRESS
    retry = client.get_workflow_handle(handle.id, run_id=failed.new_execution_run_id)
    for _ in range(50):
        retry_history = await retry.fetch_history()
        if retry_history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            break
        await asyncio.sleep(0.1)
    start = retry_history.events[0].workflow_execution_started_event_attributes
    assert start.initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY
    assert start.attempt == 2
    assert start.first_workflow_task_backoff.ToTimedelta() < timedelta(seconds=2)  # not the cron wait
    completed = retry_history.events[-1].workflow_execution_completed_event_attributes
    following = await client.get_workflow_handle(handle.id, run_id=completed.new_execution_run_id).fetch_history()
    next_start = following.events[0].workflow_execution_started_event_attributes
    assert next_start.initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
    assert next_start.attempt == 1
    await handle.terminate("enough")


@pytest.mark.parametrize(
    ("schedule", "delay", "message"),
    [
        ("* * *", False, "invalid CronSchedule"),
        ("@every", False, "invalid CronSchedule"),
        ("@every 2s", True, "CronSchedule and WorkflowStartDelay may not be used together."),
    ],
)
async def test_a_bad_cron_schedule_is_refused(client: Client, schedule: str, delay: bool, message: str) -> None:
    request = StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=new_id(),
        workflow_type=WorkflowType(name="CronCounterWorkflow"),
        task_queue=TaskQueue(name="nobody-polls"),
        request_id=new_id(),
        cron_schedule=schedule,
    )
    if delay:
        request.workflow_start_delay.FromSeconds(5)
    with pytest.raises(RPCError) as caught:
        await client.workflow_service.start_workflow_execution(request)
    assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert message in caught.value.message


def _next_local(now: datetime, zone: str, hour: int) -> datetime:
    """The next ``hour``:00 in ``zone`` after ``now``."""
    local = now.astimezone(ZoneInfo(zone))
    candidate = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if candidate <= local:
        candidate = (local + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return candidate.astimezone(UTC)


def _next_boundary(now: datetime, step: timedelta) -> datetime:
    """The next UTC multiple of ``step`` (an hour, a day) after ``now``."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((now - epoch) // step + 1) * step


@pytest.mark.parametrize(
    ("schedule", "first_time"),
    [
        ("CRON_TZ=Asia/Tokyo 0 9 * * *", lambda now: _next_local(now, "Asia/Tokyo", 9)),
        ("@daily", lambda now: _next_boundary(now, timedelta(days=1))),
        ("@hourly", lambda now: _next_boundary(now, timedelta(hours=1))),
        ("0 */1 * * *", lambda now: _next_boundary(now, timedelta(hours=1))),
    ],
)
async def test_the_first_cron_run_waits_for_the_next_cron_time(
    client: Client, schedule: str, first_time: Callable[[datetime], datetime]
) -> None:
    """Temporal's dialect: CRON_TZ= names the zone, @daily / @hourly and 5-field lines; the first
    run's workflow task is held back until the first matching time after the start."""
    handle = await client.start_workflow(
        CronCounterWorkflow.run, id=new_id(), task_queue="nobody-polls", cron_schedule=schedule
    )
    start_event = (await handle.fetch_history()).events[0]
    started_at = start_event.event_time.ToDatetime(tzinfo=UTC)
    backoff = start_event.workflow_execution_started_event_attributes.first_workflow_task_backoff.ToTimedelta()
    expected = first_time(started_at) - started_at
    assert abs(backoff - expected) < timedelta(seconds=2), (schedule, backoff, expected)
    described = await handle.describe()
    assert described.status == Status.RUNNING
    await handle.terminate("dialect checked")
