"""Workflow updates through the official SDK: stages, validators, de-duplication, errors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType, UpdateWorkflowExecutionLifecycleStage
from temporalio.api.update.v1 import Input, Meta, Request, UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import PollWorkflowExecutionUpdateRequest, UpdateWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer, Worker

from tests.engine.sdk_support import new_id
from tests.engine.sdk_update_app import WORKFLOWS, Tally
from tests.engine.test_engine_crash import EngineProcess, engine_process  # noqa: F401  (fixture)

ADMITTED = UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
COMPLETED = UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
ACCEPTED_EVENT = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
COMPLETED_EVENT = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED


@pytest_asyncio.fixture
async def update_queue(client: Client) -> AsyncIterator[str]:
    name = f"tq-upd-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=name, workflows=WORKFLOWS):
        yield name


async def start_tally(client: Client, queue: str) -> WorkflowHandle[Tally, int]:
    return await client.start_workflow(Tally.run, id=new_id(), task_queue=queue)


async def event_types(handle: WorkflowHandle[Tally, int]) -> list[int]:
    return [e.event_type for e in (await handle.fetch_history()).events]


async def finish_and_replay(handle: WorkflowHandle[Tally, int]) -> int:
    await handle.signal(Tally.finish)
    result = await handle.result()
    await Replayer(workflows=WORKFLOWS).replay_workflow(await handle.fetch_history())
    return result


async def test_an_accepted_update_returns_its_result(client: Client, update_queue: str) -> None:
    handle = await start_tally(client, update_queue)
    assert await handle.execute_update(Tally.add, 5, id="first") == 5
    assert await handle.execute_update(Tally.add, 2) == 7
    events = (await handle.fetch_history()).events
    accepted = [e for e in events if e.event_type == ACCEPTED_EVENT]
    completed = [e for e in events if e.event_type == COMPLETED_EVENT]
    assert len(accepted) == len(completed) == 2
    attrs = accepted[0].workflow_execution_update_accepted_event_attributes
    assert attrs.protocol_instance_id == "first"
    assert attrs.accepted_request_message_id == "first/request"
    assert attrs.accepted_request.meta.update_id == "first"
    assert attrs.accepted_request.input.name == "add"
    assert 0 < attrs.accepted_request_sequencing_event_id < accepted[0].event_id
    done = completed[0].workflow_execution_update_completed_event_attributes
    assert done.accepted_event_id == accepted[0].event_id
    assert done.meta.update_id == "first"
    assert done.outcome.HasField("success")
    assert await finish_and_replay(handle) == 7


async def test_a_validator_rejection_raises_update_failed_and_writes_no_update_event(
    client: Client, update_queue: str
) -> None:
    handle = await start_tally(client, update_queue)
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(Tally.add, -1)
    assert isinstance(failed.value.cause, ApplicationError)
    assert "negative amounts are refused" in str(failed.value.cause)
    types = await event_types(handle)
    assert ACCEPTED_EVENT not in types
    assert COMPLETED_EVENT not in types
    assert await handle.execute_update(Tally.add, 3) == 3  # the workflow goes on
    assert await finish_and_replay(handle) == 3


async def test_a_repeated_update_id_returns_the_first_outcome_without_running_twice(
    client: Client, update_queue: str
) -> None:
    handle = await start_tally(client, update_queue)
    assert await handle.execute_update(Tally.add, 5, id="once") == 5
    assert await handle.execute_update(Tally.add, 5, id="once") == 5
    assert await handle.query(Tally.current) == 5
    assert (await event_types(handle)).count(ACCEPTED_EVENT) == 1
    assert await finish_and_replay(handle) == 5
    # the run is closed: the id still answers with its outcome, a new id is refused
    assert await handle.execute_update(Tally.add, 5, id="once") == 5
    with pytest.raises(RPCError) as refused:
        await handle.execute_update(Tally.add, 1, id="new")
    assert refused.value.status == RPCStatusCode.NOT_FOUND
    assert "workflow execution already completed" in refused.value.message


async def test_start_update_waits_for_acceptance_and_the_handle_polls_the_result(
    client: Client, update_queue: str
) -> None:
    handle = await start_tally(client, update_queue)
    update = await handle.start_update(Tally.add_later, 4, id="later", wait_for_stage=WorkflowUpdateStage.ACCEPTED)
    assert await update.result() == 4
    # a handle made from ids alone polls PollWorkflowExecutionUpdate
    assert await client.get_workflow_handle(handle.id).get_update_handle("later").result() == 4
    assert await finish_and_replay(handle) == 4


async def test_a_handler_failure_completes_the_update_with_a_failure(client: Client, update_queue: str) -> None:
    handle = await start_tally(client, update_queue)
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(Tally.broken)
    assert "this update fails in its handler" in str(failed.value.cause)
    types = await event_types(handle)
    assert types.count(ACCEPTED_EVENT) == 1
    assert types.count(COMPLETED_EVENT) == 1
    assert await finish_and_replay(handle) == 0


async def test_an_update_can_complete_the_workflow(client: Client, update_queue: str) -> None:
    handle = await start_tally(client, update_queue)
    await handle.execute_update(Tally.add, 9)
    assert await handle.execute_update(Tally.finish_now) == 9
    assert await handle.result() == 9
    await Replayer(workflows=WORKFLOWS).replay_workflow(await handle.fetch_history())


async def test_updates_sent_together_all_complete(client: Client, update_queue: str) -> None:
    handle = await start_tally(client, update_queue)
    results = await asyncio.gather(*(handle.execute_update(Tally.add, 1, id=f"u{i}") for i in range(5)))
    assert sorted(results) == [1, 2, 3, 4, 5]
    assert await finish_and_replay(handle) == 5


# --- the RPCs directly -------------------------------------------------------------------------


def update_request(workflow_id: str, update_id: str, stage: int, name: str = "add") -> UpdateWorkflowExecutionRequest:
    request = UpdateWorkflowExecutionRequest(
        namespace="default",
        request=Request(meta=Meta(update_id=update_id), input=Input(name=name)),
        wait_policy=WaitPolicy(lifecycle_stage=stage),  # type: ignore[arg-type]
    )
    request.workflow_execution.workflow_id = workflow_id
    return request


async def test_wait_stage_admitted_answers_at_once_without_a_worker(client: Client) -> None:
    handle = await client.start_workflow(Tally.run, id=new_id(), task_queue=f"nobody-{uuid.uuid4().hex[:6]}")
    response = await client.workflow_service.update_workflow_execution(update_request(handle.id, "a", ADMITTED))
    assert response.stage == ADMITTED
    assert not response.HasField("outcome")
    assert response.update_ref.workflow_execution.run_id == handle.result_run_id
    # a long poll that runs out answers the stage reached so far, with no outcome
    response = await client.workflow_service.update_workflow_execution(
        update_request(handle.id, "a", COMPLETED), timeout=timedelta(seconds=2)
    )
    assert response.stage == ADMITTED
    assert not response.HasField("outcome")
    await handle.terminate()


@pytest.mark.parametrize(
    ("update_id", "name", "message"),
    [("", "add", "meta.update_id is not set"), ("x", "", "input.name is not set")],
)
async def test_bad_update_requests_are_invalid_argument(
    client: Client, update_queue: str, update_id: str, name: str, message: str
) -> None:
    handle = await start_tally(client, update_queue)
    with pytest.raises(RPCError) as bad:
        await client.workflow_service.update_workflow_execution(update_request(handle.id, update_id, COMPLETED, name))
    assert bad.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert message in bad.value.message
    await handle.terminate()


async def test_polling_an_unknown_update_is_not_found(client: Client, update_queue: str) -> None:
    handle = await start_tally(client, update_queue)
    request = PollWorkflowExecutionUpdateRequest(
        namespace="default",
        update_ref=UpdateRef(update_id="never"),
        wait_policy=WaitPolicy(lifecycle_stage=COMPLETED),
    )
    request.update_ref.workflow_execution.workflow_id = handle.id
    with pytest.raises(RPCError) as missing:
        await client.workflow_service.poll_workflow_execution_update(request)
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    await handle.terminate()


async def test_an_update_of_an_unknown_workflow_is_not_found(client: Client) -> None:
    with pytest.raises(RPCError) as missing:
        await client.workflow_service.update_workflow_execution(update_request("no-such-workflow", "a", COMPLETED))
    assert missing.value.status == RPCStatusCode.NOT_FOUND


@pytest.mark.slow
async def test_an_accepted_update_survives_sigkill_and_completes_once(engine_process: EngineProcess) -> None:  # noqa: F811
    client = await Client.connect(f"127.0.0.1:{engine_process.port}", namespace="default")
    queue = f"crash-upd-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=WORKFLOWS):
        handle = await start_tally(client, queue)
        update = await handle.start_update(
            Tally.add_after, args=[7, 2.0], id="durable", wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        engine_process.kill()
        engine_process.start()  # same port, same store: the Accepted event is in history
        assert await asyncio.wait_for(update.result(), timeout=60) == 7
        assert await handle.execute_update(Tally.add_after, args=[7, 2.0], id="durable") == 7
        assert await handle.query(Tally.current) == 7
        assert await finish_and_replay(handle) == 7
    assert (await event_types(handle)).count(COMPLETED_EVENT) == 1
