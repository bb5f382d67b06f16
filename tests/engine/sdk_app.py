"""Workflows and activities the SDK tests run on the engine.

Kept free of engine imports: the SDK's workflow sandbox re-imports this module.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError


@activity.defn
async def greet(name: str) -> str:
    return f"Hello, {name}!"


@activity.defn
async def flaky(failures: int) -> str:
    """Fails `failures` times, then reports the attempt it succeeded on."""
    info = activity.info()
    if info.attempt <= failures:
        raise ApplicationError(f"attempt {info.attempt} failed", type="Flaky")
    return f"succeeded on attempt {info.attempt}"


@activity.defn
async def refuse() -> str:
    raise ApplicationError("card declined", type="CardDeclined", non_retryable=True)


@activity.defn
async def sleep_for(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "slept"


@activity.defn
async def count_with_heartbeats(target: int) -> str:
    """Heartbeats its progress; the first attempt dies half-way, the next resumes from the details."""
    info = activity.info()
    start = info.heartbeat_details[0] if info.heartbeat_details else 0
    for i in range(start, target):
        activity.heartbeat(i)
        if info.attempt == 1 and i == target // 2:
            raise ApplicationError("crashed half-way")
    return f"attempt {info.attempt} resumed from {start}"


@activity.defn
async def heartbeat_until_cancelled() -> str:
    try:
        while True:
            activity.heartbeat()
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        return "cancelled"


RUNS: dict[str, int] = {}  # activity executions per key, for exactly-once checks in this process


@activity.defn
async def record_run(key: str) -> str:
    RUNS[key] = RUNS.get(key, 0) + 1
    return key


@activity.defn
async def complete_later() -> str:
    """Hands its completion to someone else (the test completes it by workflow and activity id)."""
    activity.raise_complete_async()


@dataclass
class ActivityCall:
    activity: str
    arg: int | float | str | None = None
    start_to_close: float | None = 10.0
    schedule_to_close: float | None = None
    schedule_to_start: float | None = None
    heartbeat: float | None = None
    maximum_attempts: int = 0
    initial_interval: float = 0.05
    task_queue: str | None = None


@workflow.defn
class HelloWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(greet, name, start_to_close_timeout=timedelta(seconds=10))


@workflow.defn
class RunActivityWorkflow:
    """Runs one activity with the given options and returns its result."""

    @workflow.run
    async def run(self, call: ActivityCall) -> str:
        def seconds(value: float | None) -> timedelta | None:
            return timedelta(seconds=value) if value is not None else None

        args = [] if call.arg is None else [call.arg]
        return await workflow.execute_activity(
            call.activity,
            args=args,
            start_to_close_timeout=seconds(call.start_to_close),
            schedule_to_close_timeout=seconds(call.schedule_to_close),
            schedule_to_start_timeout=seconds(call.schedule_to_start),
            heartbeat_timeout=seconds(call.heartbeat),
            task_queue=call.task_queue,
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=call.initial_interval),
                maximum_attempts=call.maximum_attempts,
            ),
            result_type=str,
        )


@workflow.defn
class TimerWorkflow:
    @workflow.run
    async def run(self, seconds: float) -> str:
        await workflow.sleep(seconds)
        return "timer fired"


@workflow.defn
class SignalWorkflow:
    def __init__(self) -> None:
        self.greetings: list[str] = []
        self.done = False

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: self.done)
        return self.greetings

    @workflow.signal
    def greet(self, name: str) -> None:
        self.greetings.append(name)

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def greeted(self) -> list[str]:
        return list(self.greetings)

    @workflow.query
    def broken(self) -> str:
        raise ValueError("this query always fails")


@workflow.defn
class TimerBetweenActivitiesWorkflow:
    """activity → timer → activity: the crash test kills the engine during the timer."""

    @workflow.run
    async def run(self, prefix: str, seconds: float) -> list[str]:
        first = await workflow.execute_activity(
            record_run, f"{prefix}-before", start_to_close_timeout=timedelta(seconds=10)
        )
        await workflow.sleep(seconds)
        second = await workflow.execute_activity(
            record_run, f"{prefix}-after", start_to_close_timeout=timedelta(seconds=10)
        )
        return [first, second]


with workflow.unsafe.imports_passed_through():
    import tests.engine.wft_failures as wft_failures


@workflow.defn
class FlakyTaskWorkflow:
    """Its workflow task fails (a bug in workflow code) a set number of times, then succeeds."""

    @workflow.run
    async def run(self) -> str:
        workflow_id = workflow.info().workflow_id
        if wft_failures.REMAINING_FAILURES.get(workflow_id, 0) > 0:
            wft_failures.REMAINING_FAILURES[workflow_id] -= 1
            raise RuntimeError("a bug in the workflow code")
        return "recovered"


@workflow.defn
class PatchedMemoWorkflow:
    """Uses a patch marker and upserts its memo: RecordMarker, UpsertWorkflowSearchAttributes and
    ModifyWorkflowProperties commands."""

    @workflow.run
    async def run(self) -> str:
        version = "new" if workflow.patched("use-new-greeting") else "old"
        workflow.upsert_memo({"stage": "done"})
        return version


@workflow.defn
class AsyncCompletionWorkflow:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            complete_later, start_to_close_timeout=timedelta(seconds=30), activity_id="completed-elsewhere"
        )


@workflow.defn
class ManyTimersWorkflow:
    """A long history: `count` short timers in a row (about five events each)."""

    @workflow.run
    async def run(self, count: int) -> int:
        for _ in range(count):
            await workflow.sleep(0.001)
        return count


@workflow.defn
class WaitForeverWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)


@workflow.defn
class CancelActivityWorkflow:
    """Starts a heartbeating activity, then cancels it and returns what the activity reported."""

    @workflow.run
    async def run(self) -> str:
        handle = workflow.start_activity(
            heartbeat_until_cancelled,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=5),
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        await workflow.sleep(0.5)
        handle.cancel()
        try:
            return await handle
        except Exception as exc:  # the SDK reports a cancelled activity as an error
            return f"activity ended: {type(exc).__name__}: {exc.cause!r}" if hasattr(exc, "cause") else repr(exc)


@workflow.defn
class SummariesWorkflow:
    """An activity and timers with summaries (user_metadata), then whether history is long
    enough for the engine to suggest continue-as-new."""

    @workflow.run
    async def run(self) -> bool:
        await workflow.execute_activity(
            greet, "summary", start_to_close_timeout=timedelta(seconds=30), summary="say hello"
        )
        await workflow.sleep(0, summary="no wait at all")
        await workflow.sleep(0.1, summary="a short nap")
        return workflow.info().is_continue_as_new_suggested()


@workflow.defn
class UpsertProgressWorkflow:
    """Upserts the Int search attribute Progress (as a string when `progress` < 0, which the
    engine must refuse), then waits for `finish`."""

    def __init__(self) -> None:
        self.done = False
        self.did_upsert = False

    @workflow.run
    async def run(self, progress: int) -> int:
        if progress < 0:
            workflow.upsert_search_attributes([SearchAttributeKey.for_keyword("Progress").value_set("lots")])
        else:
            workflow.upsert_search_attributes([SearchAttributeKey.for_int("Progress").value_set(progress)])
        self.did_upsert = True
        await workflow.wait_condition(lambda: self.done)
        return progress

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def upserted(self) -> bool:
        return self.did_upsert


@workflow.defn
class TaggingWorkflow:
    """Upserts a Keyword search attribute per `tag` signal (name, value) until `finish`."""

    def __init__(self) -> None:
        self.done = False
        self.tags = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.tags

    @workflow.signal
    def tag(self, name: str, value: str) -> None:
        workflow.upsert_search_attributes([SearchAttributeKey.for_keyword(name).value_set(value)])
        self.tags += 1

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def tagged(self) -> int:
        return self.tags


@workflow.defn
class CountingWorkflow:
    """Returns one more than the previous scheduled run's result (0 for the first)."""

    @workflow.run
    async def run(self) -> int:
        last = workflow.get_last_completion_result(type_hint=int) if workflow.has_last_completion_result() else 0
        return (last or 0) + 1


WORKFLOWS = [
    HelloWorkflow,
    CountingWorkflow,
    UpsertProgressWorkflow,
    TaggingWorkflow,
    SummariesWorkflow,
    RunActivityWorkflow,
    TimerWorkflow,
    SignalWorkflow,
    WaitForeverWorkflow,
    CancelActivityWorkflow,
    TimerBetweenActivitiesWorkflow,
    FlakyTaskWorkflow,
    PatchedMemoWorkflow,
    AsyncCompletionWorkflow,
    ManyTimersWorkflow,
]
ACTIVITIES = [
    greet,
    flaky,
    refuse,
    sleep_for,
    count_with_heartbeats,
    heartbeat_until_cancelled,
    record_run,
    complete_later,
]
