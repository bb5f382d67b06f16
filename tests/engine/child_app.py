"""Workflows for the child-workflow, external signal/cancel and parent-close-policy tests.

Kept free of engine imports: the SDK's workflow sandbox re-imports this module.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ChildWorkflowError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy


@workflow.defn
class EchoChild:
    @workflow.run
    async def run(self, name: str) -> str:
        info = workflow.info()
        parent = info.parent.workflow_id if info.parent else "-"
        return f"child {name} of {parent}"


@workflow.defn
class FailingChild:
    @workflow.run
    async def run(self) -> str:
        raise ApplicationError("child gave up", type="ChildGaveUp", non_retryable=True)


@workflow.defn
class WaitingChild:
    """Waits for a "finish" signal; cancellation makes it close as cancelled."""

    def __init__(self) -> None:
        self.finished = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.finished)
        return "finished"

    @workflow.signal
    def finish(self) -> None:
        self.finished = True


@workflow.defn
class SequenceParent:
    @workflow.run
    async def run(self, names: list[str]) -> list[str]:
        results = []
        for name in names:
            results.append(
                await workflow.execute_child_workflow(EchoChild.run, name, id=f"{workflow.info().workflow_id}-{name}")
            )
        return results


@workflow.defn
class FailingChildParent:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_child_workflow(FailingChild.run, id=f"{workflow.info().workflow_id}-child")
        except ChildWorkflowError as err:
            cause = err.cause
            return f"{type(cause).__name__}: {cause}"
        return "no error"


@workflow.defn
class TakenIdParent:
    """Starts a child with an id a running workflow holds."""

    @workflow.run
    async def run(self, child_id: str) -> str:
        try:
            await workflow.start_child_workflow(WaitingChild.run, id=child_id)
        except WorkflowAlreadyStartedError as err:
            return type(err).__name__
        return "started"


@workflow.defn
class PolicyParent:
    """Starts a waiting child with the given close policy, then completes (or waits)."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self, child_id: str, policy: str, wait: bool) -> str:
        await workflow.start_child_workflow(
            WaitingChild.run, id=child_id, parent_close_policy=ParentClosePolicy[policy]
        )
        if wait:
            await workflow.wait_condition(lambda: self.done)
        return "parent done"

    @workflow.signal
    def release(self) -> None:
        self.done = True


@workflow.defn
class AwaitingParent:
    """Awaits a waiting child and reports how it ended."""

    @workflow.run
    async def run(self, child_id: str, cancel: bool) -> str:
        handle = await workflow.start_child_workflow(
            WaitingChild.run,
            id=child_id,
            cancellation_type=workflow.ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        if cancel:
            await asyncio.sleep(0.1)
            handle.cancel()
        try:
            return await handle
        except ChildWorkflowError as err:
            return type(err.cause).__name__


@workflow.defn
class Signaller:
    @workflow.run
    async def run(self, target_id: str, value: str) -> str:
        try:
            await workflow.get_external_workflow_handle(target_id).signal("poke", value)
        except Exception as err:
            return f"failed: {type(err).__name__}"
        return "signalled"


@workflow.defn
class Canceller:
    @workflow.run
    async def run(self, target_id: str) -> str:
        try:
            await workflow.get_external_workflow_handle(target_id).cancel()
        except Exception as err:
            return f"failed: {type(err).__name__}"
        return "cancel requested"


@workflow.defn
class Receiver:
    """Returns the value of the first "poke" signal; cancelled, it says so."""

    def __init__(self) -> None:
        self.value: str | None = None

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.wait_condition(lambda: self.value is not None)
        except asyncio.CancelledError:
            return "receiver cancelled"
        return f"got {self.value}"

    @workflow.signal
    def poke(self, value: str) -> None:
        self.value = value


@workflow.defn
class SleepyParent:
    """Starts a child that sleeps, then sleeps itself (for the crash test)."""

    @workflow.run
    async def run(self, child_id: str) -> str:
        result = await workflow.execute_child_workflow(EchoChild.run, "crash", id=child_id)
        await workflow.sleep(timedelta(milliseconds=10))
        return result


CHILD_WORKFLOWS = [
    EchoChild,
    FailingChild,
    WaitingChild,
    SequenceParent,
    FailingChildParent,
    TakenIdParent,
    PolicyParent,
    AwaitingParent,
    Signaller,
    Canceller,
    Receiver,
    SleepyParent,
]
