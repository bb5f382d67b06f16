"""CPU of the engine's own logic per one-activity workflow, without gRPC or an SDK.

Calls the WorkflowService servicer methods in-process with the requests an SDK worker sends
for a one-activity workflow (start, poll, complete with an eager activity, activity result,
poll, complete, result long poll), N workflows at a time, each driver on its own task queue.
What it prints is the engine's share of `bench/load.py`'s engine CPU; the rest is gRPC.
With `--grpc` the same calls travel over gRPC (a bare grpc.aio client, no SDK) to
`python -m engine` in its own process, whose CPU is then measured: the difference is the cost
of gRPC itself.

    .venv/bin/python bench/engine_core.py [--workflows 2000] [--concurrency 50] [--pg URL] [--grpc]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
import psycopg
from bench_support import cpu_seconds, free_port
from google.protobuf.duration_pb2 import Duration
from psycopg import sql
from temporalio.api.command.v1 import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
)
from temporalio.api.common.v1 import ActivityType, Payload, Payloads, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import CommandType, HistoryEventFilterType
from temporalio.api.taskqueue.v1 import StickyExecutionAttributes, TaskQueue
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    PollWorkflowTaskQueueRequest,
    RespondActivityTaskCompletedRequest,
    RespondWorkflowTaskCompletedRequest,
    StartWorkflowExecutionRequest,
    service_pb2_grpc,
)

from engine.batch.operations import BatchOperations
from engine.cli import run_event_loop, tune_garbage_collector
from engine.config import EngineConfig
from engine.frontend.namespaces import DEV_NAMESPACE, NamespaceRegistry
from engine.frontend.workflow_service import WorkflowService
from engine.history.history_service import HistoryService
from engine.matching.task_queues import Matching
from engine.persistence import open_store
from engine.schedules.api import ScheduleApi
from engine.schedules.scheduler import Scheduler
from engine.visibility.listing import Visibility
from engine.visibility.registry import SearchAttributeRegistry

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')])


class Context:
    """What the servicer reads from a grpc.aio context on the success path."""

    def time_remaining(self) -> float:
        return 60.0

    def invocation_metadata(self) -> tuple[Any, ...]:
        return ()


class RemoteService:
    """The servicer's call shape (request, context) over a grpc.aio channel."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = service_pb2_grpc.WorkflowServiceStub(channel)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._stub, name)
        return lambda request, _ctx: method(request, timeout=70)


async def run_remote(db_url: str, total: int, concurrency: int) -> None:
    port = free_port()
    engine = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "engine",
        "--dev",
        "--port",
        str(port),
        "--db",
        db_url,
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await asyncio.wait_for(channel.channel_ready(), 30)
            await asyncio.sleep(1)  # the dev namespace is registered just after the port opens
            await drive_all(RemoteService(channel), total, concurrency, lambda: cpu_seconds(engine.pid), "gRPC")
    finally:
        engine.terminate()
        await asyncio.wait_for(engine.wait(), 30)


async def drive_all(service: Any, total: int, concurrency: int, cpu_clock: Any, how: str) -> None:
    run_id = uuid.uuid4().hex[:6]
    for i in range(20):
        await one_workflow(service, f"warm-{run_id}", i)
    per_driver = total // concurrency

    async def drive(d: int) -> None:
        for i in range(per_driver):
            await one_workflow(service, f"q{d}-{run_id}", i)

    cpu0, t0 = cpu_clock(), time.perf_counter()
    await asyncio.gather(*(drive(d) for d in range(concurrency)))
    cpu, elapsed = cpu_clock() - cpu0, time.perf_counter() - t0
    done = per_driver * concurrency
    print(f"  workflows/s          {done / elapsed:8.1f}   ({done} workflows in {elapsed:.2f} s, {how})")
    print(f"  engine CPU/workflow  {cpu / done * 1000:8.2f} ms")


async def one_workflow(service: Any, queue: str, n: int) -> None:
    ctx = Context()
    workflow_id = f"{queue}-{n}"
    await service.StartWorkflowExecution(
        StartWorkflowExecutionRequest(
            namespace="default",
            workflow_id=workflow_id,
            workflow_type=WorkflowType(name="OneActivity"),
            task_queue=TaskQueue(name=queue),
            input=PAYLOAD,
            request_id=str(uuid.uuid4()),
            identity="bench",
        ),
        ctx,
    )
    result = asyncio.ensure_future(
        service.GetWorkflowExecutionHistory(
            GetWorkflowExecutionHistoryRequest(
                namespace="default",
                execution=WorkflowExecution(workflow_id=workflow_id),
                wait_new_event=True,
                history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
            ),
            ctx,
        )
    )
    poll = PollWorkflowTaskQueueRequest(namespace="default", task_queue=TaskQueue(name=queue), identity="bench")
    sticky = StickyExecutionAttributes(
        worker_task_queue=TaskQueue(name=f"{queue}-sticky"), schedule_to_start_timeout=Duration(seconds=10)
    )
    task = await service.PollWorkflowTaskQueue(poll, ctx)
    schedule = Command(
        command_type=CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
        schedule_activity_task_command_attributes=ScheduleActivityTaskCommandAttributes(
            activity_id="1",
            activity_type=ActivityType(name="echo"),
            task_queue=TaskQueue(name=queue),
            input=PAYLOAD,
            start_to_close_timeout=Duration(seconds=30),
            request_eager_execution=True,
        ),
    )
    completed = await service.RespondWorkflowTaskCompleted(
        RespondWorkflowTaskCompletedRequest(
            namespace="default", task_token=task.task_token, commands=[schedule], sticky_attributes=sticky
        ),
        ctx,
    )
    activity = completed.activity_tasks[0]
    await service.RespondActivityTaskCompleted(
        RespondActivityTaskCompletedRequest(namespace="default", task_token=activity.task_token, result=PAYLOAD),
        ctx,
    )
    sticky_poll = PollWorkflowTaskQueueRequest(
        namespace="default", task_queue=TaskQueue(name=f"{queue}-sticky"), identity="bench"
    )
    task = await service.PollWorkflowTaskQueue(sticky_poll, ctx)
    complete = Command(
        command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(result=PAYLOAD),
    )
    await service.RespondWorkflowTaskCompleted(
        RespondWorkflowTaskCompletedRequest(namespace="default", task_token=task.task_token, commands=[complete]),
        ctx,
    )
    answer = await result
    assert len(answer.history.events) == 1, "no close event"


async def run(db_url: str, total: int, concurrency: int) -> None:
    store = await open_store(EngineConfig(port=0, db_url=db_url, dev=True).database)
    history = HistoryService(store, Matching())
    namespaces = NamespaceRegistry(store)
    await namespaces.ensure(DEV_NAMESPACE)
    await history.start()
    registry = SearchAttributeRegistry(store)
    schedules = ScheduleApi(Scheduler(store, history), registry.types)
    visibility = Visibility(store, registry)
    batches = BatchOperations(store, history, visibility)
    service = WorkflowService(history, namespaces, visibility, schedules, batches)  # type: ignore[abstract]
    try:
        await drive_all(service, total, concurrency, time.process_time, f"in-process, {type(store).__name__}")
    finally:
        await history.stop()
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workflows", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--pg", help="PostgreSQL server URL; a fresh database is created and dropped")
    parser.add_argument("--grpc", action="store_true", help="call a separate engine process over gRPC")
    args = parser.parse_args()
    runner = run_remote if args.grpc else run
    tune_garbage_collector()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.pg:
            run_event_loop(runner(f"sqlite:///{tmp}/engine.sqlite3", args.workflows, args.concurrency))
            return
        database = f"sundial_bench_{uuid.uuid4().hex[:8]}"
        base = args.pg.rstrip("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        try:
            run_event_loop(runner(f"{base}/{database}", args.workflows, args.concurrency))
        finally:
            with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


if __name__ == "__main__":
    main()
