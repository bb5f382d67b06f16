"""Batch operations through the official SDK's client: terminate over a query, cancel and signal
over lists, progress counts, stop, listing, bad input, and the namespace wall."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.api.batch.v1 import (
    BatchOperationCancellation,
    BatchOperationDeletion,
    BatchOperationReset,
    BatchOperationSignal,
    BatchOperationTermination,
)
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import BatchOperationState, BatchOperationType
from temporalio.api.workflowservice.v1 import (
    DescribeBatchOperationRequest,
    DescribeBatchOperationResponse,
    ListBatchOperationsRequest,
    RegisterNamespaceRequest,
    StartBatchOperationRequest,
    StopBatchOperationRequest,
)
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from tests.engine.sdk_app import SignalWorkflow, WaitForeverWorkflow

RUNNING = BatchOperationState.BATCH_OPERATION_STATE_RUNNING
COMPLETED = BatchOperationState.BATCH_OPERATION_STATE_COMPLETED
FAILED = BatchOperationState.BATCH_OPERATION_STATE_FAILED


async def start_waiting(client: Client, task_queue: str, prefix: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        handle = await client.start_workflow(WaitForeverWorkflow.run, id=f"{prefix}{n}", task_queue=task_queue)
        ids.append(handle.id)
    return ids


async def wait_done(client: Client, job_id: str, namespace: str = "default") -> DescribeBatchOperationResponse:
    for _ in range(200):
        answer = await client.workflow_service.describe_batch_operation(
            DescribeBatchOperationRequest(namespace=namespace, job_id=job_id)
        )
        if answer.state != RUNNING:
            return answer
        await asyncio.sleep(0.05)
    raise AssertionError("the batch job did not finish")


async def test_a_terminate_over_a_query_terminates_exactly_the_matching_running_workflows(
    client: Client, task_queue: str
) -> None:
    prefix = f"batch-{uuid.uuid4().hex[:6]}-"
    targets = await start_waiting(client, task_queue, prefix, 4)
    bystanders = await start_waiting(client, task_queue, f"other-{uuid.uuid4().hex[:6]}-", 2)
    finished = await client.start_workflow(SignalWorkflow.run, id=f"{prefix}done", task_queue=task_queue)
    await finished.signal(SignalWorkflow.finish)
    await finished.result()  # matches the prefix but is not running: the query leaves it out

    job_id = f"job-{uuid.uuid4().hex[:6]}"
    query = f"WorkflowId STARTS_WITH '{prefix}' AND ExecutionStatus = 'Running'"
    await client.workflow_service.start_batch_operation(
        StartBatchOperationRequest(
            namespace="default",
            job_id=job_id,
            reason="cleanup",
            visibility_query=query,
            termination_operation=BatchOperationTermination(identity="ops@example.com"),
        )
    )
    answer = await wait_done(client, job_id)
    assert answer.state == COMPLETED
    assert answer.operation_type == BatchOperationType.BATCH_OPERATION_TYPE_TERMINATE
    assert (answer.total_operation_count, answer.complete_operation_count, answer.failure_operation_count) == (4, 4, 0)
    assert answer.query == query
    assert answer.reason == "cleanup"
    assert answer.identity == "ops@example.com"
    assert answer.close_time.seconds >= answer.start_time.seconds > 0
    for workflow_id in targets:
        assert (await client.get_workflow_handle(workflow_id).describe()).status == WorkflowExecutionStatus.TERMINATED
    for workflow_id in bystanders:
        assert (await client.get_workflow_handle(workflow_id).describe()).status == WorkflowExecutionStatus.RUNNING
    assert (await finished.describe()).status == WorkflowExecutionStatus.COMPLETED
    listed = await client.workflow_service.list_batch_operations(ListBatchOperationsRequest(namespace="default"))
    assert [(i.job_id, i.state) for i in listed.operation_info] == [(job_id, COMPLETED)]
    for workflow_id in bystanders:
        await client.get_workflow_handle(workflow_id).terminate()


async def test_signal_and_cancel_over_a_list_of_executions(client: Client, task_queue: str) -> None:
    handles = [
        await client.start_workflow(SignalWorkflow.run, id=f"sig-{uuid.uuid4().hex[:8]}", task_queue=task_queue)
        for _ in range(3)
    ]
    executions = [WorkflowExecution(workflow_id=h.id) for h in handles]
    from temporalio.converter import default

    payloads = default().payload_converter.to_payloads(["batched"])
    signal_job = f"signal-{uuid.uuid4().hex[:6]}"
    await client.workflow_service.start_batch_operation(
        StartBatchOperationRequest(
            namespace="default",
            job_id=signal_job,
            reason="greet everyone",
            executions=executions,
            signal_operation=BatchOperationSignal(signal="greet", input={"payloads": payloads}),  # type: ignore[arg-type]
        )
    )
    assert (await wait_done(client, signal_job)).complete_operation_count == 3
    for handle in handles:
        assert await handle.query(SignalWorkflow.greeted) == ["batched"]
    cancel_job = f"cancel-{uuid.uuid4().hex[:6]}"
    await client.workflow_service.start_batch_operation(
        StartBatchOperationRequest(
            namespace="default",
            job_id=cancel_job,
            reason="stop them",
            executions=[*executions, WorkflowExecution(workflow_id="never-started")],
            cancellation_operation=BatchOperationCancellation(),
        )
    )
    answer = await wait_done(client, cancel_job)
    assert (answer.complete_operation_count, answer.failure_operation_count) == (3, 1)  # the unknown id fails
    assert [e.business_id for e in answer.executions] == [*(h.id for h in handles), "never-started"]
    for handle in handles:
        assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED


async def test_a_stopped_job_stops_part_way(client: Client, task_queue: str) -> None:
    prefix = f"slow-{uuid.uuid4().hex[:6]}-"
    ids = await start_waiting(client, task_queue, prefix, 6)
    job_id = f"slow-{uuid.uuid4().hex[:6]}"
    await client.workflow_service.start_batch_operation(
        StartBatchOperationRequest(
            namespace="default",
            job_id=job_id,
            reason="slowly",
            visibility_query=f"WorkflowId STARTS_WITH '{prefix}'",
            max_operations_per_second=2,
            termination_operation=BatchOperationTermination(),
        )
    )
    await asyncio.sleep(1.2)
    await client.workflow_service.stop_batch_operation(
        StopBatchOperationRequest(namespace="default", job_id=job_id, reason="changed my mind")
    )
    answer = await wait_done(client, job_id)
    assert answer.state == FAILED
    assert 1 <= answer.complete_operation_count < 6
    statuses = [(await client.get_workflow_handle(i).describe()).status for i in ids]
    assert statuses.count(WorkflowExecutionStatus.TERMINATED) == answer.complete_operation_count
    with pytest.raises(RPCError) as caught:
        await client.workflow_service.stop_batch_operation(
            StopBatchOperationRequest(namespace="default", job_id=job_id, reason="again")
        )
    assert caught.value.status == RPCStatusCode.FAILED_PRECONDITION


def _request(**fields: object) -> StartBatchOperationRequest:
    base: dict[str, object] = {
        "namespace": "default",
        "job_id": f"bad-{uuid.uuid4().hex[:6]}",
        "reason": "r",
        "visibility_query": "WorkflowId = 'nothing'",
        "termination_operation": BatchOperationTermination(),
    }
    base.update(fields)
    return StartBatchOperationRequest(**{k: v for k, v in base.items() if v is not None})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("request_", "status", "words"),
    [
        (_request(job_id=None), RPCStatusCode.INVALID_ARGUMENT, "job_id"),
        (_request(reason=None), RPCStatusCode.INVALID_ARGUMENT, "reason"),
        (_request(visibility_query=None), RPCStatusCode.INVALID_ARGUMENT, "visibility_query"),
        (
            _request(executions=[WorkflowExecution(workflow_id="x")]),
            RPCStatusCode.INVALID_ARGUMENT,
            "visibility_query",
        ),
        (_request(termination_operation=None), RPCStatusCode.INVALID_ARGUMENT, "operation"),
        (
            _request(termination_operation=None, reset_operation=BatchOperationReset()),
            RPCStatusCode.INVALID_ARGUMENT,
            "not supported",
        ),
        (_request(max_operations_per_second=5000), RPCStatusCode.INVALID_ARGUMENT, "max_operations_per_second"),
        (_request(visibility_query="WorkflowId = "), RPCStatusCode.INVALID_ARGUMENT, "position"),
        (_request(namespace="missing"), RPCStatusCode.NOT_FOUND, "missing"),
        (
            _request(termination_operation=None, signal_operation=BatchOperationSignal()),
            RPCStatusCode.INVALID_ARGUMENT,
            "signal",
        ),
    ],
)
async def test_bad_batch_requests(
    client: Client, request_: StartBatchOperationRequest, status: RPCStatusCode, words: str
) -> None:
    with pytest.raises(RPCError) as caught:
        await client.workflow_service.start_batch_operation(request_)
    assert caught.value.status == status
    assert words in caught.value.message
    listed = await client.workflow_service.list_batch_operations(ListBatchOperationsRequest(namespace="default"))
    assert list(listed.operation_info) == []


async def test_one_job_at_a_time_unique_ids_and_the_namespace_wall(client: Client, task_queue: str) -> None:
    prefix = f"one-{uuid.uuid4().hex[:6]}-"
    await start_waiting(client, task_queue, prefix, 3)
    first = _request(job_id="first", visibility_query=f"WorkflowId STARTS_WITH '{prefix}'", max_operations_per_second=1)
    await client.workflow_service.start_batch_operation(first)
    with pytest.raises(RPCError) as caught:
        await client.workflow_service.start_batch_operation(_request(job_id="second"))
    assert caught.value.status == RPCStatusCode.RESOURCE_EXHAUSTED
    other = f"ns-{uuid.uuid4().hex[:8]}"
    await client.workflow_service.register_namespace(RegisterNamespaceRequest(namespace=other))
    with pytest.raises(RPCError) as caught:
        await client.workflow_service.describe_batch_operation(
            DescribeBatchOperationRequest(namespace=other, job_id="first")
        )
    assert caught.value.status == RPCStatusCode.NOT_FOUND
    await client.workflow_service.stop_batch_operation(
        StopBatchOperationRequest(namespace="default", job_id="first", reason="done")
    )
    with pytest.raises(RPCError) as caught:
        await client.workflow_service.start_batch_operation(_request(job_id="first"))
    assert caught.value.status == RPCStatusCode.ALREADY_EXISTS


async def test_a_delete_over_a_query_removes_the_runs_open_or_closed(client: Client, task_queue: str) -> None:
    prefix = f"del-{uuid.uuid4().hex[:6]}-"
    running = await start_waiting(client, task_queue, prefix, 2)
    finished = await client.start_workflow(SignalWorkflow.run, id=f"{prefix}done", task_queue=task_queue)
    await finished.signal(SignalWorkflow.finish)
    await finished.result()
    kept = await start_waiting(client, task_queue, f"keep-{uuid.uuid4().hex[:6]}-", 1)
    job_id = f"delete-{uuid.uuid4().hex[:6]}"
    await client.workflow_service.start_batch_operation(
        StartBatchOperationRequest(
            namespace="default",
            job_id=job_id,
            reason="forget them",
            visibility_query=f"WorkflowId STARTS_WITH '{prefix}'",
            deletion_operation=BatchOperationDeletion(),
        )
    )
    answer = await wait_done(client, job_id)
    assert (answer.total_operation_count, answer.complete_operation_count) == (3, 3)
    assert [w.id async for w in client.list_workflows(f"WorkflowId STARTS_WITH '{prefix}'")] == []
    for workflow_id in [*running, finished.id]:
        with pytest.raises(RPCError) as caught:
            await client.get_workflow_handle(workflow_id).describe()
        assert caught.value.status == RPCStatusCode.NOT_FOUND
    assert (await client.get_workflow_handle(kept[0]).describe()).status == WorkflowExecutionStatus.RUNNING
    await client.get_workflow_handle(kept[0]).terminate()


async def test_a_running_job_resumes_after_a_restart(engine_db_url: str) -> None:
    """Stopped half-way by an engine restart, a job carries on from its saved progress: every
    target is handled, none is left out."""
    from temporalio.worker import Worker

    from engine.config import EngineConfig
    from engine.server import EngineServer
    from tests.engine.sdk_app import ACTIVITIES, WORKFLOWS

    config = EngineConfig(port=0, db_url=engine_db_url, dev=True, grace_period=1)
    prefix = f"resume-{uuid.uuid4().hex[:6]}-"
    queue = f"tq-{uuid.uuid4().hex[:6]}"
    first = EngineServer(config)
    await first.start()
    try:
        client = await Client.connect(f"127.0.0.1:{first.port}")
        async with Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=ACTIVITIES):  # type: ignore[arg-type]
            ids = await start_waiting(client, queue, prefix, 60)
        await client.workflow_service.start_batch_operation(
            StartBatchOperationRequest(
                namespace="default",
                job_id="resumable",
                reason="restart in the middle",
                visibility_query=f"WorkflowId STARTS_WITH '{prefix}'",
                max_operations_per_second=100,
                termination_operation=BatchOperationTermination(),
            )
        )
        await asyncio.sleep(0.3)
        before = await client.workflow_service.describe_batch_operation(
            DescribeBatchOperationRequest(namespace="default", job_id="resumable")
        )
        assert before.state == RUNNING  # stopped in the middle
        assert before.complete_operation_count < 60
    finally:
        await first.stop()
    second = EngineServer(EngineConfig(port=0, db_url=engine_db_url, dev=True, grace_period=1))
    await second.start()
    try:
        client = await Client.connect(f"127.0.0.1:{second.port}")
        answer = await wait_done(client, "resumable")
        assert answer.state == COMPLETED
        assert answer.total_operation_count == 60
        assert answer.complete_operation_count + answer.failure_operation_count >= 60
        assert answer.complete_operation_count >= 60 - 50  # at most one unsaved stretch is done twice
        for workflow_id in ids:
            status = (await client.get_workflow_handle(workflow_id).describe()).status
            assert status == WorkflowExecutionStatus.TERMINATED
    finally:
        await second.stop()
