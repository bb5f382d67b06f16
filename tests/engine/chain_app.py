"""Workflows whose runs form chains (continue-as-new, retries, cron, timeouts), for the engine's
chain tests; `chain_worker` runs them on a fresh task queue."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker


@dataclass
class RunInfo:
    """What a run saw of its place in the chain."""

    value: int
    attempt: int
    run_id: str
    first_execution_run_id: str
    continued_run_id: str | None
    memo: dict[str, str] = field(default_factory=dict)
    last_result: int | None = None


def _info(value: int) -> RunInfo:
    info = workflow.info()
    return RunInfo(
        value=value,
        attempt=info.attempt,
        run_id=info.run_id,
        first_execution_run_id=info.first_execution_run_id,
        continued_run_id=info.continued_run_id,
        memo={k: str(workflow.memo_value(k, type_hint=str)) for k in workflow.memo()},
    )


@workflow.defn
class CountdownWorkflow:
    """Continues as new `n` times, then returns what its last run saw."""

    @workflow.run
    async def run(self, n: int) -> RunInfo:
        if n > 0:
            workflow.continue_as_new(n - 1)
        return _info(n)


@workflow.defn
class CanWithOptionsWorkflow:
    """Continues as new once with a new memo, a retry policy and a run timeout."""

    @workflow.run
    async def run(self, first: bool) -> RunInfo:
        if first:
            workflow.continue_as_new(
                False,
                memo={"stage": "second"},
                retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=100)),
            )
        return _info(0)


@workflow.defn
class FailUntilWorkflow:
    """Fails its first `failures` attempts; raises a non-retryable error when `non_retryable`."""

    @workflow.run
    async def run(self, failures: int, non_retryable: bool = False) -> RunInfo:
        attempt = workflow.info().attempt
        if attempt <= failures:
            raise ApplicationError(f"attempt {attempt} failed", type="Flaky", non_retryable=non_retryable)
        return _info(attempt)


@workflow.defn
class SleepWorkflow:
    """Sleeps `seconds` (a durable timer), then returns its attempt."""

    @workflow.run
    async def run(self, seconds: float) -> RunInfo:
        await asyncio.sleep(seconds)
        return _info(workflow.info().attempt)


@workflow.defn
class CronCounterWorkflow:
    """Each cron run returns the previous run's result plus one (starting at 1)."""

    @workflow.run
    async def run(self) -> int:
        last = workflow.get_last_completion_result(int) if workflow.has_last_completion_result() else 0
        return (last or 0) + 1


@workflow.defn
class CronFlakyWorkflow:
    """A cron run that fails on its first attempt and succeeds on its second."""

    @workflow.run
    async def run(self) -> int:
        attempt = workflow.info().attempt
        if attempt == 1:
            raise ApplicationError("first attempt fails", type="Flaky")
        return attempt


CHAIN_WORKFLOWS = [
    CountdownWorkflow,
    CanWithOptionsWorkflow,
    FailUntilWorkflow,
    SleepWorkflow,
    CronCounterWorkflow,
    CronFlakyWorkflow,
]


@asynccontextmanager
async def chain_worker(client: Client) -> AsyncIterator[str]:
    """A worker for the chain workflows on a fresh task queue; yields the queue's name."""
    name = f"chain-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=name, workflows=CHAIN_WORKFLOWS):
        yield name
