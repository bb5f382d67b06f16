"""Workflow retry policies: a failed run is retried as a new run of the chain (attempt + 1,
initiator RETRY) until the policy or the execution timeout says no."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import RetryPolicy as ApiRetryPolicy
from temporalio.api.common.v1 import WorkflowType
from temporalio.api.enums.v1 import ContinueAsNewInitiator, EventType, RetryState
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest
from temporalio.client import Client, WorkflowFailureError
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from tests.engine.chain_app import CHAIN_WORKFLOWS, FailUntilWorkflow, chain_worker
from tests.engine.sdk_support import new_id

FAST = RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=3)


@pytest_asyncio.fixture
async def queue(client: Client) -> AsyncIterator[str]:
    async with chain_worker(client) as name:
        yield name


async def test_a_failing_workflow_is_retried_until_it_succeeds(client: Client, queue: str) -> None:
    handle = await client.start_workflow(FailUntilWorkflow.run, 2, id=new_id(), task_queue=queue, retry_policy=FAST)
    result = await handle.result()
    assert result.attempt == 3
    assert result.first_execution_run_id == handle.first_execution_run_id
    described = await client.get_workflow_handle(handle.id).describe()
    assert described.status == Status.COMPLETED
    assert described.run_id == result.run_id

    first = await client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id).fetch_history()
    failed = first.events[-1]
    assert failed.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
    attrs = failed.workflow_execution_failed_event_attributes
    assert attrs.retry_state == RetryState.RETRY_STATE_IN_PROGRESS
    second_id = attrs.new_execution_run_id
    second = await client.get_workflow_handle(handle.id, run_id=second_id).fetch_history()
    start = second.events[0].workflow_execution_started_event_attributes
    assert start.attempt == 2
    assert start.initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY
    assert start.continued_execution_run_id == handle.first_execution_run_id
    assert start.continued_failure.message == "attempt 1 failed"
    assert start.first_workflow_task_backoff.ToTimedelta() >= timedelta(milliseconds=100)
    for history in (first, second):
        replay = await Replayer(workflows=CHAIN_WORKFLOWS).replay_workflow(history, raise_on_replay_failure=True)
        assert replay.replay_failure is None


async def test_the_retries_stop_at_maximum_attempts(client: Client, queue: str) -> None:
    handle = await client.start_workflow(FailUntilWorkflow.run, 5, id=new_id(), task_queue=queue, retry_policy=FAST)
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.message == "attempt 3 failed"
    described = await client.get_workflow_handle(handle.id).describe()
    assert described.status == Status.FAILED
    last = (await client.get_workflow_handle(handle.id, run_id=described.run_id).fetch_history()).events[-1]
    attrs = last.workflow_execution_failed_event_attributes
    assert attrs.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    assert attrs.new_execution_run_id == ""
    runs = [r async for r in client.list_workflows(f"WorkflowId = '{handle.id}'")]
    assert len(runs) == 3


@pytest.mark.parametrize("non_retryable", ["flag", "type"])
async def test_a_non_retryable_failure_is_not_retried(client: Client, queue: str, non_retryable: str) -> None:
    policy = RetryPolicy(
        initial_interval=timedelta(milliseconds=100),
        non_retryable_error_types=["Flaky"] if non_retryable == "type" else None,
    )
    handle = await client.start_workflow(
        FailUntilWorkflow.run, args=[5, non_retryable == "flag"], id=new_id(), task_queue=queue, retry_policy=policy
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    last = (await handle.fetch_history()).events[-1]
    assert last.workflow_execution_failed_event_attributes.retry_state == RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
    assert (await client.get_workflow_handle(handle.id).describe()).run_id == handle.first_execution_run_id


async def test_without_a_retry_policy_a_failure_ends_the_workflow(client: Client, queue: str) -> None:
    handle = await client.start_workflow(FailUntilWorkflow.run, 1, id=new_id(), task_queue=queue)
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    last = (await handle.fetch_history()).events[-1]
    assert last.workflow_execution_failed_event_attributes.retry_state == RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET


async def test_the_execution_timeout_stops_the_retries(client: Client, queue: str) -> None:
    policy = RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=1.0)
    handle = await client.start_workflow(
        FailUntilWorkflow.run,
        10,
        id=new_id(),
        task_queue=queue,
        retry_policy=policy,
        execution_timeout=timedelta(seconds=3),
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    described = await client.get_workflow_handle(handle.id).describe()
    last = (await client.get_workflow_handle(handle.id, run_id=described.run_id).fetch_history()).events[-1]
    assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
    assert last.workflow_execution_failed_event_attributes.retry_state == RetryState.RETRY_STATE_TIMEOUT


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (ApiRetryPolicy(backoff_coefficient=0.5), "backoff_coefficient"),
        (
            ApiRetryPolicy(initial_interval=Duration(seconds=5), maximum_interval=Duration(seconds=1)),
            "maximum_interval",
        ),
        (ApiRetryPolicy(maximum_attempts=-1), "maximum_attempts"),
    ],
)
async def test_a_bad_retry_policy_is_refused(client: Client, policy: ApiRetryPolicy, message: str) -> None:
    request = StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=new_id(),
        workflow_type=WorkflowType(name="FailUntilWorkflow"),
        task_queue=TaskQueue(name="nobody-polls"),
        request_id=new_id(),
        retry_policy=policy,
    )
    with pytest.raises(RPCError) as caught:
        await client.workflow_service.start_workflow_execution(request)
    assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert message in caught.value.message
