"""Workflows for the child-option tests: a child's execution timeout, its retry policy, and a
child that continues-as-new.

Kept free of engine imports: the SDK's workflow sandbox re-imports this module.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, ChildWorkflowError


@workflow.defn
class SlowChild:
    @workflow.run
    async def run(self) -> str:
        await asyncio.sleep(60)
        return "woke up"


@workflow.defn
class FlakyChild:
    """Fails its first two attempts, then returns its attempt."""

    @workflow.run
    async def run(self) -> str:
        attempt = workflow.info().attempt
        if attempt <= 2:
            raise ApplicationError(f"attempt {attempt} failed", type="Flaky")
        return f"attempt {attempt}"


@workflow.defn
class ContinuingChild:
    """Continues as new `n` times, then returns its run id and its first run's id."""

    @workflow.run
    async def run(self, n: int) -> str:
        if n > 0:
            workflow.continue_as_new(n - 1)
        info = workflow.info()
        return f"run={info.run_id} first={info.first_execution_run_id}"


@workflow.defn
class TimeoutParent:
    """Runs SlowChild with a 2 s execution timeout; returns what the timeout looked like."""

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_child_workflow(
                SlowChild.run, id=f"{workflow.info().workflow_id}-child", execution_timeout=timedelta(seconds=2)
            )
        except ChildWorkflowError as err:
            return f"{type(err.cause).__name__} retry_state={int(err.retry_state or 0)}"
        return "no error"


@workflow.defn
class RetryParent:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_child_workflow(
            FlakyChild.run,
            id=f"{workflow.info().workflow_id}-child",
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=5),
        )


@workflow.defn
class ContinuingParent:
    @workflow.run
    async def run(self, n: int) -> str:
        return await workflow.execute_child_workflow(ContinuingChild.run, n, id=f"{workflow.info().workflow_id}-child")


CHILD_OPTION_WORKFLOWS = [SlowChild, FlakyChild, ContinuingChild, TimeoutParent, RetryParent, ContinuingParent]
