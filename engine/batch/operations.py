"""Batch operations: terminate, cancel, signal or delete every workflow a visibility query (or a list)
names, at a bounded rate, with progress anyone can read.

A job resolves its targets once, when it starts (the query's matches at that moment, as run
keys), stores them with its record, and then works through them at `max_operations_per_second`
(default 50, Temporal Cloud's rate), saving its progress every `SAVE_EVERY` operations. After a
restart a running job resumes where its saved progress left it (an operation done but not yet
saved is done again: terminate and cancel of a closed run count as failures, a signal is
de-duplicated by its request id). One job runs at a time per namespace, as in Temporal Cloud.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import msgspec
from temporalio.api.batch.v1 import BatchOperationInfo, BatchOperationSignal, BatchOperationTermination
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import BatchOperationState, BatchOperationType, ExecutionType
from temporalio.api.workflowservice.v1 import (
    DescribeBatchOperationResponse,
    ListBatchOperationsResponse,
    StartBatchOperationRequest,
)

from engine.history.errors import (
    FailedPrecondition,
    HistoryError,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    WorkflowAlreadyStarted,
)
from engine.history.history_service import HistoryService
from engine.history.service import NamespaceRef
from engine.history.workflow_ops import StartSignal
from engine.persistence.store import Store
from engine.visibility.listing import Visibility

log = logging.getLogger("engine.batch")

DEFAULT_RPS = 50.0
MAX_RPS = 1000.0
MAX_TARGETS = 100_000
SAVE_EVERY = 50
MAX_ID_LENGTH = 1000
RUNNING = BatchOperationState.BATCH_OPERATION_STATE_RUNNING
COMPLETED = BatchOperationState.BATCH_OPERATION_STATE_COMPLETED
FAILED = BatchOperationState.BATCH_OPERATION_STATE_FAILED
TERMINATE = BatchOperationType.BATCH_OPERATION_TYPE_TERMINATE
CANCEL = BatchOperationType.BATCH_OPERATION_TYPE_CANCEL
SIGNAL = BatchOperationType.BATCH_OPERATION_TYPE_SIGNAL
DELETE = BatchOperationType.BATCH_OPERATION_TYPE_DELETE


class Target(msgspec.Struct, array_like=True, frozen=True):
    workflow_id: str
    run_id: str


class BatchRecord(msgspec.Struct, kw_only=True):
    namespace: str
    job_id: str
    operation_type: int
    operation: bytes  # the serialized operation message (termination / signal / cancellation)
    state: int = RUNNING
    start_time: float
    close_time: float = 0.0
    identity: str = ""
    reason: str = ""
    query: str = ""
    executions: list[Target] = msgspec.field(default_factory=list)  # as requested (not resolved)
    targets: list[Target] = msgspec.field(default_factory=list)  # dropped once the job ends
    total: int = 0
    done: int = 0  # targets[:done] have been handled
    complete: int = 0
    failure: int = 0
    rps: float = DEFAULT_RPS


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(BatchRecord)


class BatchOperations:
    def __init__(
        self,
        store: Store,
        history: HistoryService,
        visibility: Visibility,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.history = history
        self.visibility = visibility
        self.clock = clock
        self.jobs: dict[tuple[str, str], BatchRecord] = {}
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}

    async def start(self) -> None:
        after: tuple[str, str] | None = None
        while rows := await self.store.list_batches(after=after, limit=500):
            for namespace_id, job_id, data in rows:
                record = _decoder.decode(data)
                self.jobs[(namespace_id, job_id)] = record
                if record.state == RUNNING:
                    self._run(namespace_id, record)
            after = (rows[-1][0], rows[-1][1])

    async def stop(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    # --- RPC logic --------------------------------------------------------------------------

    async def start_job(self, ns: NamespaceRef, req: StartBatchOperationRequest) -> None:
        operation_type, operation = _operation(req)
        if not req.job_id:
            raise InvalidArgument("job_id is required")
        if len(req.job_id) > MAX_ID_LENGTH:
            raise InvalidArgument(f"job_id is longer than {MAX_ID_LENGTH} characters")
        if not req.reason:
            raise InvalidArgument("reason is required")
        if bool(req.visibility_query) == bool(req.executions):
            raise InvalidArgument("give either visibility_query or executions (one of them)")
        if req.max_operations_per_second < 0 or req.max_operations_per_second > MAX_RPS:
            raise InvalidArgument(f"max_operations_per_second must be between 0 and {MAX_RPS:g}")
        if (ns.id, req.job_id) in self.jobs:
            raise WorkflowAlreadyStarted(f"batch job {req.job_id} already exists", start_request_id="", run_id="")
        if any(r.state == RUNNING for (nid, _), r in self.jobs.items() if nid == ns.id):
            raise ResourceExhausted("Max concurrent batch operations is reached: one batch job runs at a time")
        if req.visibility_query:
            targets = await self._resolve(ns, req.visibility_query)
        else:
            for execution in req.executions:
                if not execution.workflow_id:
                    raise InvalidArgument("every execution needs a workflow_id")
            targets = [Target(e.workflow_id, e.run_id) for e in req.executions]
        record = BatchRecord(
            namespace=ns.name,
            job_id=req.job_id,
            operation_type=operation_type,
            operation=operation,
            start_time=self.clock(),
            identity=_identity(req),
            reason=req.reason,
            query=req.visibility_query,
            executions=[Target(e.workflow_id, e.run_id) for e in req.executions],
            targets=targets,
            total=len(targets),
            rps=req.max_operations_per_second or DEFAULT_RPS,
        )
        await self._save(ns.id, record)
        self.jobs[(ns.id, req.job_id)] = record
        self._run(ns.id, record)

    async def stop_job(self, ns: NamespaceRef, job_id: str, reason: str) -> None:
        record = self._job(ns, job_id)
        if record.state != RUNNING:
            raise FailedPrecondition(f"batch job {job_id} is not running")
        task = self._tasks.pop((ns.id, job_id), None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        record.reason = reason or record.reason
        await self._finish(ns.id, record, FAILED)

    async def forget_namespace(self, namespace_id: str) -> None:
        """A deleted namespace's jobs: running ones stop, none is listed again (their rows go
        when the namespace is purged)."""
        for key in [k for k in self._tasks if k[0] == namespace_id]:
            task = self._tasks.pop(key)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for key in [k for k in self.jobs if k[0] == namespace_id]:
            del self.jobs[key]

    def describe(self, ns: NamespaceRef, job_id: str) -> DescribeBatchOperationResponse:
        record = self._job(ns, job_id)
        response = DescribeBatchOperationResponse(
            operation_type=record.operation_type,  # type: ignore[arg-type]
            job_id=record.job_id,
            state=record.state,  # type: ignore[arg-type]
            total_operation_count=record.total,
            complete_operation_count=record.complete,
            failure_operation_count=record.failure,
            identity=record.identity,
            reason=record.reason,
            query=record.query,
        )
        for target in record.executions:
            response.executions.add(
                type=ExecutionType.EXECUTION_TYPE_WORKFLOW, business_id=target.workflow_id, run_id=target.run_id
            )
        response.start_time.FromNanoseconds(int(record.start_time * 1e9))
        if record.close_time:
            response.close_time.FromNanoseconds(int(record.close_time * 1e9))
        return response

    def list_jobs(self, ns: NamespaceRef, *, page_size: int, page_token: bytes) -> ListBatchOperationsResponse:
        after = page_token.decode("utf-8", "replace")
        size = page_size if 0 < page_size <= 1000 else 1000
        ids = sorted(job for (nid, job) in self.jobs if nid == ns.id and job > after)
        response = ListBatchOperationsResponse()
        for job_id in ids[:size]:
            record = self.jobs[(ns.id, job_id)]
            info = BatchOperationInfo(job_id=job_id, state=record.state)  # type: ignore[arg-type]
            info.start_time.FromNanoseconds(int(record.start_time * 1e9))
            if record.close_time:
                info.close_time.FromNanoseconds(int(record.close_time * 1e9))
            response.operation_info.append(info)
        if len(ids) > size:
            response.next_page_token = ids[size - 1].encode()
        return response

    def _job(self, ns: NamespaceRef, job_id: str) -> BatchRecord:
        if not job_id:
            raise InvalidArgument("job_id is required")
        record = self.jobs.get((ns.id, job_id))
        if record is None:
            raise NotFound(f"batch job {job_id} not found")
        return record

    async def _resolve(self, ns: NamespaceRef, query: str) -> list[Target]:
        targets: list[Target] = []
        token = b""
        while True:
            infos, token = await self.visibility.list(ns.id, query, page_size=1000, page_token=token)
            targets += [Target(i.execution.workflow_id, i.execution.run_id) for i in infos]
            if len(targets) > MAX_TARGETS:
                raise InvalidArgument(f"the query matches more than {MAX_TARGETS} workflows: narrow it")
            if not token:
                return targets

    async def _save(self, namespace_id: str, record: BatchRecord) -> None:
        await self.store.save_batch(namespace_id, record.job_id, _encoder.encode(record))

    # --- the work ---------------------------------------------------------------------------

    def _run(self, namespace_id: str, record: BatchRecord) -> None:
        task = asyncio.create_task(self._work(namespace_id, record), name=f"sundial-batch-{record.job_id}")
        self._tasks[(namespace_id, record.job_id)] = task
        task.add_done_callback(lambda _: self._tasks.pop((namespace_id, record.job_id), None))

    async def _work(self, namespace_id: str, record: BatchRecord) -> None:
        interval = 1.0 / record.rps
        next_at = time.monotonic()
        while record.done < len(record.targets):
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # the rate limit: the hot path keeps the loop
            next_at = max(next_at + interval, time.monotonic())
            target = record.targets[record.done]
            try:
                await self._apply(namespace_id, record, target)
                record.complete += 1
            except HistoryError as error:
                record.failure += 1
                log.info("batch %s: %s/%s failed: %s", record.job_id, target.workflow_id, target.run_id, error)
            record.done += 1
            if record.done % SAVE_EVERY == 0:
                await self._save(namespace_id, record)
        await self._finish(namespace_id, record, COMPLETED)

    async def _finish(self, namespace_id: str, record: BatchRecord, state: int) -> None:
        """An ended job keeps its counts, not its target list (up to 100 000 keys, which every
        start-up would otherwise load again)."""
        record.state, record.close_time, record.targets = state, self.clock(), []
        await self._save(namespace_id, record)

    async def _apply(self, namespace_id: str, record: BatchRecord, target: Target) -> None:
        ns = NamespaceRef(namespace_id, record.namespace)
        key = await self.history.resolve(ns, WorkflowExecution(workflow_id=target.workflow_id, run_id=target.run_id))
        if record.operation_type == TERMINATE:
            termination = BatchOperationTermination.FromString(record.operation)
            await self.history.terminate(
                key,
                reason=record.reason,
                details=termination.details if termination.HasField("details") else None,
                identity=record.identity,
            )
        elif record.operation_type == CANCEL:
            await self.history.request_cancel(key, identity=record.identity, reason=record.reason)
        elif record.operation_type == DELETE:
            await self.history.delete_run(key, identity=record.identity)
        else:
            signal = BatchOperationSignal.FromString(record.operation)
            await self.history.signal(
                key,
                StartSignal(
                    name=signal.signal,
                    input=signal.input if signal.HasField("input") else None,
                    identity=record.identity,
                    request_id=f"batch:{record.job_id}:{key.run_id}",
                    header=signal.header if signal.HasField("header") else None,
                ),
            )


def _identity(req: StartBatchOperationRequest) -> str:
    which = req.WhichOneof("operation")
    return getattr(getattr(req, which), "identity", "") if which else ""


def _operation(req: StartBatchOperationRequest) -> tuple[int, bytes]:
    which = req.WhichOneof("operation")
    if which == "termination_operation":
        return TERMINATE, req.termination_operation.SerializeToString()
    if which == "cancellation_operation":
        return CANCEL, req.cancellation_operation.SerializeToString()
    if which == "deletion_operation":
        return DELETE, req.deletion_operation.SerializeToString()
    if which == "signal_operation":
        if not req.signal_operation.signal:
            raise InvalidArgument("signal_operation.signal (the signal name) is required")
        return SIGNAL, req.signal_operation.SerializeToString()
    if which is None:
        raise InvalidArgument("an operation is required (termination, cancellation, signal, …)")
    raise InvalidArgument(f"batch operation {which} is not supported by this engine yet")
