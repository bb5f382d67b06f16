"""Continue-as-new: the next run of the chain is created with the close, the client follows the
chain to the last run's result, and the runs carry what Temporal carries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.command.v1 import Command
from temporalio.api.enums.v1 import (
    CommandType,
    ContinueAsNewInitiator,
    EventType,
    WorkflowExecutionStatus,
    WorkflowTaskFailedCause,
)
from temporalio.client import Client
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.worker import Replayer

from tests.engine.chain_app import CHAIN_WORKFLOWS, CanWithOptionsWorkflow, CountdownWorkflow, chain_worker
from tests.engine.sdk_support import new_id
from tests.engine.test_engine_crash import EngineProcess
from tests.engine.test_engine_workflow_task_rules import RawWorker


@pytest_asyncio.fixture
async def queue(client: Client) -> AsyncIterator[str]:
    async with chain_worker(client) as name:
        yield name


async def test_a_workflow_that_continues_as_new_three_times_returns_from_its_last_run(
    client: Client, queue: str
) -> None:
    handle = await client.start_workflow(CountdownWorkflow.run, 3, id=new_id(), task_queue=queue)
    result = await handle.result()
    assert result.value == 0
    assert result.attempt == 1
    assert result.first_execution_run_id == handle.first_execution_run_id
    assert result.continued_run_id is not None
    assert result.continued_run_id != handle.first_execution_run_id

    described = await client.get_workflow_handle(handle.id).describe()
    assert described.status == Status.COMPLETED
    assert described.run_id == result.run_id
    assert described.raw_description.workflow_execution_info.first_run_id == handle.first_execution_run_id

    # the chain: three closed runs continued as new, each naming the next
    run_id = handle.first_execution_run_id or ""
    seen = []
    while True:
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        replay = await Replayer(workflows=CHAIN_WORKFLOWS).replay_workflow(history, raise_on_replay_failure=True)
        assert replay.replay_failure is None
        start = history.events[0].workflow_execution_started_event_attributes
        assert start.first_execution_run_id == handle.first_execution_run_id
        last = history.events[-1]
        seen.append(last.event_type)
        if last.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            break
        next_run = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        successor = await client.get_workflow_handle(handle.id, run_id=next_run).fetch_history()
        first = successor.events[0].workflow_execution_started_event_attributes
        assert first.continued_execution_run_id == run_id
        assert first.initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW
        assert first.original_execution_run_id == next_run
        assert first.first_workflow_task_backoff.ToTimedelta().total_seconds() > 0  # runs ≥ 1 s apart
        status = (await client.get_workflow_handle(handle.id, run_id=run_id).describe()).raw_description
        assert (
            status.workflow_execution_info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
        )
        run_id = next_run
    assert seen == [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW] * 3 + [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    ]


async def test_continue_as_new_carries_memo_retry_policy_and_timeouts(client: Client, queue: str) -> None:
    handle = await client.start_workflow(
        CanWithOptionsWorkflow.run,
        True,
        id=new_id(),
        task_queue=queue,
        memo={"stage": "first"},
        execution_timeout=timedelta(minutes=5),
    )
    result = await handle.result()
    assert result.memo == {"stage": "second"}
    described = await client.get_workflow_handle(handle.id).describe()
    assert described.run_id == result.run_id
    history = await client.get_workflow_handle(handle.id, run_id=result.run_id).fetch_history()
    start = history.events[0].workflow_execution_started_event_attributes
    assert start.retry_policy.maximum_attempts == 3
    assert start.retry_policy.backoff_coefficient == 2.0  # defaults filled, as Temporal does
    assert start.workflow_execution_timeout.ToTimedelta().total_seconds() == 300
    first_run = client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    first = (await first_run.fetch_history()).events[0].workflow_execution_started_event_attributes
    assert start.workflow_execution_expiration_time == first.workflow_execution_expiration_time


async def test_listing_the_id_shows_the_continued_run_and_the_last_one(client: Client, queue: str) -> None:
    handle = await client.start_workflow(CountdownWorkflow.run, 1, id=new_id(), task_queue=queue)
    await handle.result()
    runs = [r async for r in client.list_workflows(f"WorkflowId = '{handle.id}'")]
    statuses = sorted(r.status.name for r in runs if r.status is not None)
    assert statuses == ["COMPLETED", "CONTINUED_AS_NEW"]


@pytest.fixture
def engine_process(engine_db_url: str, free_port: int, tmp_path: Path) -> Iterator[EngineProcess]:
    process = EngineProcess(engine_db_url, free_port, tmp_path / "engine.log")
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.mark.slow
async def test_a_chain_waiting_for_its_next_run_survives_sigkill(engine_process: EngineProcess) -> None:
    """The next run is created with the close, and its delayed first task is re-armed after a
    crash: the chain goes on to its last run exactly once."""
    client = await Client.connect(f"127.0.0.1:{engine_process.port}", namespace="default")
    async with chain_worker(client) as queue:
        handle = await client.start_workflow(CountdownWorkflow.run, 2, id=new_id(), task_queue=queue)
        for _ in range(100):  # the first run continued as new: its successor waits out its backoff
            if (await client.get_workflow_handle(handle.id).describe()).run_id != handle.first_execution_run_id:
                break
            await asyncio.sleep(0.05)
        engine_process.kill()
        engine_process.start()
        result = await asyncio.wait_for(handle.result(), timeout=60)
    assert result.value == 0
    runs = [r async for r in client.list_workflows(f"WorkflowId = '{handle.id}'")]
    assert sorted(r.status.name for r in runs if r.status is not None) == [
        "COMPLETED",
        "CONTINUED_AS_NEW",
        "CONTINUED_AS_NEW",
    ]


async def test_a_continue_as_new_with_a_bad_retry_policy_fails_the_workflow_task(client: Client) -> None:
    raw = RawWorker(client)
    await raw.start()
    task = await raw.poll()
    command = Command(command_type=CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION)
    command.continue_as_new_workflow_execution_command_attributes.retry_policy.backoff_coefficient = 0.5
    await raw.complete(task.task_token, command)
    history = await client.get_workflow_handle(raw.workflow_id).fetch_history()
    failed = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    attrs = failed[0].workflow_task_failed_event_attributes
    assert attrs.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES
    assert "backoff_coefficient" in attrs.failure.message
    assert (await client.get_workflow_handle(raw.workflow_id).describe()).status == Status.RUNNING
