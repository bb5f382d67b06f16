"""Garbage in: mutated and random requests to every served RPC never crash the engine, never
surface as an internal error, and never change stored data."""

from __future__ import annotations

import os
import random

import grpc
import pytest
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payloads, WorkflowExecution, WorkflowType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice import v1 as ws
from temporalio.client import Client

from engine.server import EngineServer
from tests.engine.sdk_app import HelloWorkflow, SignalWorkflow
from tests.engine.sdk_support import new_id

SERVICE = "/temporal.api.workflowservice.v1.WorkflowService"
# SUNDIAL_FUZZ_ROUNDS / SUNDIAL_FUZZ_SEED run a longer or different campaign by hand
ROUNDS = int(os.environ.get("SUNDIAL_FUZZ_ROUNDS", "600"))
SEED = int(os.environ.get("SUNDIAL_FUZZ_SEED", "20261125"))


def _seeds(workflow_id: str) -> dict[str, Message]:
    """One plausible request per served RPC; the fuzzer mutates their bytes."""
    execution = WorkflowExecution(workflow_id=workflow_id)
    queue = TaskQueue(name="fuzz-queue")
    return {
        "StartWorkflowExecution": ws.StartWorkflowExecutionRequest(
            namespace="default", workflow_id="fuzz", workflow_type=WorkflowType(name="T"), task_queue=queue
        ),
        "SignalWorkflowExecution": ws.SignalWorkflowExecutionRequest(
            namespace="default", workflow_execution=execution, signal_name="s", input=Payloads()
        ),
        "SignalWithStartWorkflowExecution": ws.SignalWithStartWorkflowExecutionRequest(
            namespace="default",
            workflow_id="fuzz2",
            workflow_type=WorkflowType(name="T"),
            task_queue=queue,
            signal_name="s",
        ),
        "RequestCancelWorkflowExecution": ws.RequestCancelWorkflowExecutionRequest(
            namespace="default", workflow_execution=execution
        ),
        "TerminateWorkflowExecution": ws.TerminateWorkflowExecutionRequest(
            namespace="default", workflow_execution=WorkflowExecution(workflow_id="fuzz")
        ),
        "GetWorkflowExecutionHistory": ws.GetWorkflowExecutionHistoryRequest(namespace="default", execution=execution),
        "DescribeWorkflowExecution": ws.DescribeWorkflowExecutionRequest(namespace="default", execution=execution),
        "QueryWorkflow": ws.QueryWorkflowRequest(namespace="default", execution=execution),
        "RespondWorkflowTaskCompleted": ws.RespondWorkflowTaskCompletedRequest(task_token=b"\x99\xa1w"),
        "RespondWorkflowTaskFailed": ws.RespondWorkflowTaskFailedRequest(task_token=b"\x99\xa1w"),
        "RespondActivityTaskCompleted": ws.RespondActivityTaskCompletedRequest(task_token=b"\x99\xa1a"),
        "RespondActivityTaskFailed": ws.RespondActivityTaskFailedRequest(task_token=b"\x99\xa1a"),
        "RespondActivityTaskCanceled": ws.RespondActivityTaskCanceledRequest(task_token=b"\x99\xa1a"),
        "RecordActivityTaskHeartbeat": ws.RecordActivityTaskHeartbeatRequest(task_token=b"\x99\xa1a"),
        "RespondActivityTaskCompletedById": ws.RespondActivityTaskCompletedByIdRequest(
            namespace="default", workflow_id=workflow_id, activity_id="1"
        ),
        "RespondQueryTaskCompleted": ws.RespondQueryTaskCompletedRequest(task_token=b"\x99\xa1q"),
        "ResetStickyTaskQueue": ws.ResetStickyTaskQueueRequest(namespace="default", execution=execution),
        "PollWorkflowTaskQueue": ws.PollWorkflowTaskQueueRequest(namespace="default", task_queue=queue),
        "PollActivityTaskQueue": ws.PollActivityTaskQueueRequest(namespace="default", task_queue=queue),
        "RegisterNamespace": ws.RegisterNamespaceRequest(namespace="fuzz-ns"),
        "DescribeNamespace": ws.DescribeNamespaceRequest(namespace="default"),
        "UpdateNamespace": ws.UpdateNamespaceRequest(namespace="fuzz-ns"),
        "ListNamespaces": ws.ListNamespacesRequest(page_size=3),
        "ShutdownWorker": ws.ShutdownWorkerRequest(namespace="default", sticky_task_queue="sticky"),
    }


def _mutate(data: bytes, rng: random.Random) -> bytes:
    choice = rng.randrange(4)
    buf = bytearray(data)
    if choice == 0 and buf:  # flip bytes
        for _ in range(rng.randint(1, 4)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif choice == 1 and buf:  # truncate
        del buf[rng.randrange(len(buf)) :]
    elif choice == 2:  # append noise
        buf += rng.randbytes(rng.randint(1, 32))
    else:  # pure noise
        buf = bytearray(rng.randbytes(rng.randint(0, 64)))
    return bytes(buf)


@pytest.mark.slow
async def test_garbage_never_breaks_the_engine(engine: EngineServer, client: Client, task_queue: str) -> None:
    done = await client.start_workflow(HelloWorkflow.run, "kept", id=new_id(), task_queue=task_queue)
    await done.result()
    before = (await done.fetch_history()).to_json()
    running = await client.start_workflow(SignalWorkflow.run, id=new_id(), task_queue=task_queue)

    rng = random.Random(SEED)
    seeds = _seeds(running.id)
    internal: list[str] = []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{engine.port}") as channel:
        for _ in range(ROUNDS):
            method = rng.choice(sorted(seeds))
            payload = _mutate(seeds[method].SerializeToString(), rng)
            call = channel.unary_unary(f"{SERVICE}/{method}")  # type: ignore[call-arg]
            try:
                await call(payload, timeout=0.3 if method.startswith("Poll") else 5)
            except grpc.aio.AioRpcError as exc:
                code, details = exc.code(), exc.details() or ""
                if code == grpc.StatusCode.UNKNOWN or "internal engine error" in details:
                    internal.append(f"{method}: {code.name} {details}")
    assert internal == []

    # still serving, the finished workflow's history untouched; the fuzzed calls may legitimately
    # have cancelled or terminated `running`, so a fresh workflow proves the engine still works
    assert (await done.fetch_history()).to_json() == before
    fresh = await client.start_workflow(SignalWorkflow.run, id=new_id(), task_queue=task_queue)
    await fresh.signal(SignalWorkflow.greet, "after the storm")
    await fresh.signal(SignalWorkflow.finish)
    assert await fresh.result() == ["after the storm"]
    await running.describe()  # readable, whatever state the storm left it in
