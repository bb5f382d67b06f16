"""The official Python SDK runs workflows, activities, timers and signals on the engine."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError, TimeoutType
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from engine.server import EngineServer
from tests.engine.sdk_app import (
    WORKFLOWS,
    ActivityCall,
    HelloWorkflow,
    RunActivityWorkflow,
    SignalWorkflow,
    TimerWorkflow,
    WaitForeverWorkflow,
)
from tests.engine.sdk_support import new_id


async def test_hello_activity(client: Client, task_queue: str) -> None:
    result = await client.execute_workflow(HelloWorkflow.run, "Sundial", id=new_id(), task_queue=task_queue)
    assert result == "Hello, Sundial!"


async def test_an_activity_that_fails_twice_succeeds_on_attempt_three(client: Client, task_queue: str) -> None:
    call = ActivityCall("flaky", 2)
    result = await client.execute_workflow(RunActivityWorkflow.run, call, id=new_id(), task_queue=task_queue)
    assert result == "succeeded on attempt 3"


async def test_a_non_retryable_failure_reaches_the_client_with_its_type(client: Client, task_queue: str) -> None:
    with pytest.raises(WorkflowFailureError) as caught:
        await client.execute_workflow(
            RunActivityWorkflow.run, ActivityCall("refuse"), id=new_id(), task_queue=task_queue
        )
    activity_error = caught.value.cause
    assert isinstance(activity_error, ActivityError)
    app_error = activity_error.cause
    assert isinstance(app_error, ApplicationError)
    assert app_error.type == "CardDeclined"
    assert app_error.message == "card declined"


async def test_maximum_attempts_stop_the_retries(client: Client, task_queue: str) -> None:
    call = ActivityCall("flaky", 5, maximum_attempts=2)
    with pytest.raises(WorkflowFailureError) as caught:
        await client.execute_workflow(RunActivityWorkflow.run, call, id=new_id(), task_queue=task_queue)
    cause = caught.value.cause
    assert isinstance(cause, ActivityError)
    assert isinstance(cause.cause, ApplicationError)
    assert cause.cause.message == "attempt 2 failed"


@pytest.mark.parametrize(
    ("call", "timeout_type"),
    [
        (ActivityCall("sleep_for", 5, start_to_close=0.5, maximum_attempts=1), TimeoutType.START_TO_CLOSE),
        (ActivityCall("sleep_for", 5, start_to_close=None, schedule_to_close=1.0), TimeoutType.SCHEDULE_TO_CLOSE),
        (ActivityCall("sleep_for", 5, heartbeat=0.5, maximum_attempts=1), TimeoutType.HEARTBEAT),
        (
            ActivityCall("greet", "nobody", schedule_to_start=0.5, task_queue="no-worker-polls-this"),
            TimeoutType.SCHEDULE_TO_START,
        ),
    ],
    ids=["start_to_close", "schedule_to_close", "heartbeat", "schedule_to_start"],
)
async def test_each_activity_timeout_fails_the_activity(
    client: Client, task_queue: str, call: ActivityCall, timeout_type: TimeoutType
) -> None:
    with pytest.raises(WorkflowFailureError) as caught:
        await client.execute_workflow(RunActivityWorkflow.run, call, id=new_id(), task_queue=task_queue)
    cause = caught.value.cause
    assert isinstance(cause, ActivityError)
    timeout = cause.cause
    assert isinstance(timeout, TimeoutError)
    assert timeout.type == timeout_type


async def test_heartbeat_details_reach_the_next_attempt(client: Client, task_queue: str) -> None:
    call = ActivityCall("count_with_heartbeats", 10, heartbeat=5)
    result = await client.execute_workflow(RunActivityWorkflow.run, call, id=new_id(), task_queue=task_queue)
    assert result == "attempt 2 resumed from 5"


async def test_a_timer_fires(client: Client, task_queue: str) -> None:
    assert await client.execute_workflow(TimerWorkflow.run, 0.3, id=new_id(), task_queue=task_queue) == "timer fired"


async def test_signals_are_delivered_in_order(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(SignalWorkflow.run, id=new_id(), task_queue=task_queue)
    for name in ("ada", "grace", "edsger"):
        await handle.signal(SignalWorkflow.greet, name)
    await handle.signal(SignalWorkflow.finish)
    assert await handle.result() == ["ada", "grace", "edsger"]


async def test_signal_with_start_delivers_the_signal_before_the_first_task(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(
        SignalWorkflow.run, id=new_id(), task_queue=task_queue, start_signal="greet", start_signal_args=["first"]
    )
    await handle.signal(SignalWorkflow.finish)
    assert await handle.result() == ["first"]


async def test_cancel_ends_the_workflow_as_cancelled(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(WaitForeverWorkflow.run, id=new_id(), task_queue=task_queue)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    history = await handle.fetch_history()
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED


async def test_terminate_ends_the_workflow(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(WaitForeverWorkflow.run, id=new_id(), task_queue=task_queue)
    await handle.terminate(reason="enough")
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    last = (await handle.fetch_history()).events[-1]
    assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
    assert last.workflow_execution_terminated_event_attributes.reason == "enough"


async def test_a_duplicate_workflow_id_is_rejected(client: Client, task_queue: str) -> None:
    from temporalio.exceptions import WorkflowAlreadyStartedError

    workflow_id = new_id()
    first = await client.start_workflow(WaitForeverWorkflow.run, id=workflow_id, task_queue=task_queue)
    with pytest.raises(WorkflowAlreadyStartedError) as caught:
        await client.start_workflow(WaitForeverWorkflow.run, id=workflow_id, task_queue=task_queue)
    assert caught.value.run_id == first.result_run_id
    await first.terminate()


async def test_an_unknown_workflow_is_not_found(client: Client) -> None:
    with pytest.raises(RPCError) as caught:
        await client.get_workflow_handle("no-such-workflow").signal("anything")
    assert caught.value.status == RPCStatusCode.NOT_FOUND


async def test_the_history_replays_without_nondeterminism(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(SignalWorkflow.run, id=new_id(), task_queue=task_queue)
    await handle.signal(SignalWorkflow.greet, "replay")
    await handle.signal(SignalWorkflow.finish)
    await handle.result()
    hello = await client.start_workflow(HelloWorkflow.run, "r", id=new_id(), task_queue=task_queue)
    timer = await client.start_workflow(TimerWorkflow.run, 0.1, id=new_id(), task_queue=task_queue)
    await hello.result()
    await timer.result()
    for workflow_id in (handle.id, hello.id, timer.id):
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        result = await Replayer(workflows=WORKFLOWS).replay_workflow(history, raise_on_replay_failure=True)
        assert result.replay_failure is None


async def test_a_completed_workflow_reports_completed(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(HelloWorkflow.run, "x", id=new_id(), task_queue=task_queue)
    await handle.result()
    history = await handle.fetch_history()
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


async def test_cancellation_reaches_a_heartbeating_activity(client: Client, task_queue: str) -> None:
    from tests.engine.sdk_app import CancelActivityWorkflow

    result = await client.execute_workflow(CancelActivityWorkflow.run, id=new_id(), task_queue=task_queue)
    assert result == "cancelled"  # the activity saw the cancel through its heartbeat and said so


async def test_describe_shows_status_and_pending_activity(client: Client, task_queue: str) -> None:
    from temporalio.client import WorkflowExecutionStatus

    call = ActivityCall("sleep_for", 30, start_to_close=60)
    handle = await client.start_workflow(RunActivityWorkflow.run, call, id=new_id(), task_queue=task_queue)
    for _ in range(100):
        description = await handle.describe()
        if description.raw_description.pending_activities:
            break
        await asyncio.sleep(0.05)
    assert description.status == WorkflowExecutionStatus.RUNNING
    assert description.workflow_type == "RunActivityWorkflow"
    [pending] = description.raw_description.pending_activities
    assert pending.activity_type.name == "sleep_for"
    assert pending.attempt == 1
    await handle.terminate(reason="done looking")
    assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED


async def test_retried_workflow_tasks_stay_out_of_history(client: Client, task_queue: str) -> None:
    """Temporal's transient workflow tasks: only the first failure is recorded; the attempt
    that finally succeeds is written with its attempt number."""
    from tests.engine import wft_failures
    from tests.engine.sdk_app import FlakyTaskWorkflow

    workflow_id = new_id()
    wft_failures.REMAINING_FAILURES[workflow_id] = 3
    # the SDK reports only the first failure and lets later attempts time out: keep that short
    result = await client.execute_workflow(
        FlakyTaskWorkflow.run, id=workflow_id, task_queue=task_queue, task_timeout=timedelta(seconds=1)
    )
    assert result == "recovered"
    events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
    types = [e.event_type for e in events]
    assert types.count(EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED) == 1
    scheduled = [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED]
    assert [e.workflow_task_scheduled_event_attributes.attempt for e in scheduled] == [1, 4]
    assert [e.event_id for e in events] == list(range(1, len(events) + 1))


async def test_a_long_history_reaches_an_uncached_worker_in_pages(client: Client, engine: EngineServer) -> None:
    """With no run cache the worker replays the whole history on every task; past 256 events the
    task carries the first page and a token, and the worker fetches the rest."""
    from temporalio.worker import Worker

    from tests.engine.sdk_app import ACTIVITIES, ManyTimersWorkflow

    history_service = engine._history
    assert history_service is not None
    later_pages: list[bytes] = []
    read_history = history_service.read_history

    async def spy(key, *, page_token: bytes, **kwargs):
        if page_token:
            later_pages.append(page_token)
        return await read_history(key, page_token=page_token, **kwargs)

    history_service.read_history = spy  # type: ignore[method-assign]
    queue = f"uncached-{new_id()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=ACTIVITIES,  # type: ignore[arg-type]
        max_cached_workflows=0,
    ):
        handle = await client.start_workflow(ManyTimersWorkflow.run, 70, id=new_id(), task_queue=queue)
        assert await handle.result() == 70
    assert later_pages  # the worker fetched pages after the first
    history = await handle.fetch_history()
    assert len(history.events) > 300
    result = await Replayer(workflows=WORKFLOWS).replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


async def test_eager_start_hands_the_first_task_to_the_starters_worker(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(
        HelloWorkflow.run, "eager", id=new_id(), task_queue=task_queue, request_eager_start=True
    )
    assert await handle.result() == "Hello, eager!"
    started = (await handle.fetch_history()).events[0].workflow_execution_started_event_attributes
    assert started.eager_execution_accepted


async def test_workflow_info_reports_the_history_size(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(TimerWorkflow.run, 0.05, id=new_id(), task_queue=task_queue)
    await handle.result()
    started = [
        e.workflow_task_started_event_attributes.history_size_bytes
        for e in (await handle.fetch_history()).events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
    ]
    assert started[0] > 0
    assert started == sorted(started)
    assert started[-1] > started[0]
