"""Workflow run and execution timeouts end the run with WorkflowExecutionTimedOut; the run
timeout is retried under a retry policy, the execution timeout caps the whole chain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import ContinueAsNewInitiator, EventType, RetryState
from temporalio.api.enums.v1 import TimeoutType as ApiTimeoutType
from temporalio.client import Client, WorkflowFailureError
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.common import RetryPolicy
from temporalio.exceptions import TimeoutError, TimeoutType
from temporalio.worker import Replayer

from tests.engine.chain_app import CHAIN_WORKFLOWS, CountdownWorkflow, SleepWorkflow, chain_worker
from tests.engine.sdk_support import new_id


@pytest_asyncio.fixture
async def queue(client: Client) -> AsyncIterator[str]:
    async with chain_worker(client) as name:
        yield name


async def _last_event(client: Client, workflow_id: str) -> tuple[str, object]:
    described = await client.get_workflow_handle(workflow_id).describe()
    history = await client.get_workflow_handle(workflow_id, run_id=described.run_id).fetch_history()
    return described.run_id, history.events[-1]


async def test_the_run_timeout_times_the_workflow_out(client: Client, queue: str) -> None:
    handle = await client.start_workflow(
        SleepWorkflow.run, 30, id=new_id(), task_queue=queue, run_timeout=timedelta(seconds=1)
    )
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    assert isinstance(caught.value.cause, TimeoutError)
    assert caught.value.cause.type == TimeoutType.START_TO_CLOSE
    described = await handle.describe()
    assert described.status == Status.TIMED_OUT
    history = await handle.fetch_history()
    last = history.events[-1]
    assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT
    assert last.workflow_execution_timed_out_event_attributes.retry_state == RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET
    replay = await Replayer(workflows=CHAIN_WORKFLOWS).replay_workflow(history, raise_on_replay_failure=True)
    assert replay.replay_failure is None


async def test_the_execution_timeout_times_the_workflow_out(client: Client, queue: str) -> None:
    handle = await client.start_workflow(
        SleepWorkflow.run, 30, id=new_id(), task_queue=queue, execution_timeout=timedelta(seconds=1)
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert (await handle.describe()).status == Status.TIMED_OUT
    last = (await handle.fetch_history()).events[-1]
    assert last.workflow_execution_timed_out_event_attributes.retry_state == RetryState.RETRY_STATE_TIMEOUT


async def test_a_timed_out_run_is_retried_under_its_retry_policy(client: Client, queue: str) -> None:
    policy = RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=2)
    handle = await client.start_workflow(
        SleepWorkflow.run, 30, id=new_id(), task_queue=queue, run_timeout=timedelta(seconds=1), retry_policy=policy
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    first = await client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id).fetch_history()
    timed_out = first.events[-1].workflow_execution_timed_out_event_attributes
    assert timed_out.retry_state == RetryState.RETRY_STATE_IN_PROGRESS
    assert timed_out.new_execution_run_id
    second = await client.get_workflow_handle(handle.id, run_id=timed_out.new_execution_run_id).fetch_history()
    start = second.events[0].workflow_execution_started_event_attributes
    assert start.attempt == 2
    assert start.initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY
    assert start.continued_failure.timeout_failure_info.timeout_type == ApiTimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
    last = second.events[-1].workflow_execution_timed_out_event_attributes
    assert last.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    assert last.new_execution_run_id == ""
    assert (await client.get_workflow_handle(handle.id).describe()).status == Status.TIMED_OUT


async def test_the_execution_timeout_caps_a_chain_of_runs(client: Client, queue: str) -> None:
    """Runs that continue as new share the execution expiration: the chain times out in the
    run that is current when it passes."""
    handle = await client.start_workflow(
        CountdownWorkflow.run, 20, id=new_id(), task_queue=queue, execution_timeout=timedelta(seconds=2.5)
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    run_id, last = await _last_event(client, handle.id)
    assert run_id != handle.first_execution_run_id
    assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT  # type: ignore[attr-defined]
    attrs = last.workflow_execution_timed_out_event_attributes  # type: ignore[attr-defined]
    assert attrs.retry_state == RetryState.RETRY_STATE_TIMEOUT
