"""Following runs as they change, for the console's live pages: asyncio and ``grpc.aio``.

``follow_history`` long-polls ``GetWorkflowExecutionHistory(wait_new_event=true)`` for one run
and hands every event newer than the page's last one to a ``Listener``, then the run's final
status. ``watch_close`` does the same with the CLOSE_EVENT filter, which the engine answers
only when the run closes (cheaper than waking at every event), for a row of the list.

Each long poll carries a short gRPC deadline (``POLL_SECONDS``): the engine holds a poll up to
20 s, but the consumer re-checks the person's permission between polls, so a deadline with
nothing new is the normal "poll again", not an error. An engine that cannot be reached is told
to the listener and retried with a growing delay; what the engine refuses outright (an unknown
run) ends the watch.

The console's sync channel (``console.engine``) cannot serve an event loop, so each consumer
opens its own ``LiveEngine`` (one HTTP/2 connection, closed with the socket) with the same
bearer credential.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
import grpc.aio
from django.conf import settings
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import HistoryEventFilterType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
)
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub

from console.engine import TIMEOUT_SECONDS, ConsoleEngineError, metadata
from console.history import event_type_name
from console.workflows import status_name

# The gRPC deadline of one long poll, and so how often permissions are re-checked.
POLL_SECONDS = 5.0
# Waits between attempts while the engine cannot be reached (the last one repeats).
RETRY_DELAYS: Sequence[float] = (1.0, 2.0, 4.0, 8.0, 15.0)
# How many runs one list socket may watch (a list page shows at most 100 rows).
MAX_WATCHED_RUNS = 100


@dataclass(frozen=True)
class RunRef:
    workflow_id: str
    run_id: str


class Listener(Protocol):
    """What a watch reports; the consumer turns each into a message to the page."""

    async def events(self, run: RunRef, events: list[HistoryEvent]) -> None: ...

    async def status(self, run: RunRef, status: str) -> None: ...

    async def trouble(self, message: str) -> None:
        """The engine could not be reached; the watch retries by itself."""

    async def recovered(self) -> None:
        """An engine call succeeded again after ``trouble``."""

    async def gone(self, run: RunRef, error: ConsoleEngineError) -> None:
        """The engine refused the watch (e.g. no such run); the watch has ended."""


def engine_error(exc: grpc.aio.AioRpcError, timeout: float) -> ConsoleEngineError:
    code = exc.code()
    details = exc.details() or ""
    if code == grpc.StatusCode.UNAVAILABLE:
        details = f"the workflow engine at {settings.SUNDIAL_ENGINE_ADDRESS} is unreachable ({details})"
    elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
        details = f"the workflow engine did not answer within {timeout:g} seconds"
    return ConsoleEngineError(code, details)


class LiveEngine:
    """An async channel to the engine with the console's credential; ``close`` it when done."""

    def __init__(self) -> None:
        self.channel = grpc.aio.insecure_channel(str(settings.SUNDIAL_ENGINE_ADDRESS))
        # the generated stub is typed for sync channels; on an aio channel its calls are awaitable
        self.stub: Any = WorkflowServiceStub(self.channel)  # type: ignore[arg-type]
        self.metadata = metadata()

    async def close(self) -> None:
        await self.channel.close(None)

    async def history(
        self, namespace_id: str, run: RunRef, page_token: bytes, *, close_only: bool = False
    ) -> GetWorkflowExecutionHistoryResponse:
        """One long poll (``wait_new_event``): answers at once while there are events past the
        token, else when one is written (or the run closes), else ``DEADLINE_EXCEEDED``."""
        request = GetWorkflowExecutionHistoryRequest(
            namespace=namespace_id,
            execution=WorkflowExecution(workflow_id=run.workflow_id, run_id=run.run_id),
            next_page_token=page_token,
            wait_new_event=True,
            history_event_filter_type=(
                HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
                if close_only
                else HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT
            ),
        )
        try:
            response: GetWorkflowExecutionHistoryResponse = await self.stub.GetWorkflowExecutionHistory(
                request, metadata=self.metadata, timeout=POLL_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            raise engine_error(exc, POLL_SECONDS) from None
        return response

    async def status(self, namespace_id: str, run: RunRef) -> str:
        request = DescribeWorkflowExecutionRequest(
            namespace=namespace_id, execution=WorkflowExecution(workflow_id=run.workflow_id, run_id=run.run_id)
        )
        try:
            response = await self.stub.DescribeWorkflowExecution(
                request, metadata=self.metadata, timeout=TIMEOUT_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            raise engine_error(exc, TIMEOUT_SECONDS) from None
        return status_name(response.workflow_execution_info.status)


class _Retry:
    """The delays between attempts while the engine is away, and whether the listener knows."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.failures = 0

    async def failed(self, error: ConsoleEngineError) -> None:
        await self.listener.trouble(error.message)
        await asyncio.sleep(RETRY_DELAYS[min(self.failures, len(RETRY_DELAYS) - 1)])
        self.failures += 1

    async def succeeded(self) -> None:
        if self.failures:
            self.failures = 0
            await self.listener.recovered()


def _nothing_new(error: ConsoleEngineError) -> bool:
    return error.code == grpc.StatusCode.DEADLINE_EXCEEDED


async def follow_history(engine: LiveEngine, namespace_id: str, run: RunRef, after: int, listener: Listener) -> None:
    """Report the run's events with ids above ``after`` as the engine writes them; once the
    history ends (the run closed) report its status and return.

    The first polls page through what exists (a page answers at once); events the page already
    shows are skipped, so events written between the page load and the socket are not lost.
    """
    token = b""
    retry = _Retry(listener)
    while True:
        try:
            response = await engine.history(namespace_id, run, token)
        except ConsoleEngineError as exc:
            if _nothing_new(exc):
                continue
            if exc.unreachable:
                await retry.failed(exc)
                continue
            await listener.gone(run, exc)
            return
        await retry.succeeded()
        new = [event for event in response.history.events if event.event_id > after]
        if new:
            after = new[-1].event_id
            await listener.events(run, new)
        if not response.next_page_token:
            break
        token = response.next_page_token
    while True:
        try:
            status = await engine.status(namespace_id, run)
        except ConsoleEngineError as exc:
            if exc.unreachable:
                await retry.failed(exc)
                continue
            await listener.gone(run, exc)
            return
        await retry.succeeded()
        await listener.status(run, status)
        return


def close_status(event: HistoryEvent) -> str:
    """The run's status from its close event: ``WorkflowExecutionTerminated`` → ``Terminated``."""
    return event_type_name(event.event_type).removeprefix("WorkflowExecution")


async def watch_close(engine: LiveEngine, namespace_id: str, run: RunRef, listener: Listener) -> None:
    """Report the run's status once it closes (at once if it already has), then return."""
    token = b""
    retry = _Retry(listener)
    while True:
        try:
            response = await engine.history(namespace_id, run, token, close_only=True)
        except ConsoleEngineError as exc:
            if _nothing_new(exc):
                continue
            if exc.unreachable:
                await retry.failed(exc)
                continue
            await listener.gone(run, exc)
            return
        await retry.succeeded()
        if response.history.events:
            await listener.status(run, close_status(response.history.events[-1]))
            return
        token = response.next_page_token
