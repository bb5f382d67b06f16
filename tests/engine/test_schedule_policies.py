"""Schedule policies with a clock the test moves: the catch-up window, remaining actions, jitter,
pause while time passes, and pause on failure (with the official SDK as worker)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio
from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import WorkflowType
from temporalio.api.enums.v1 import ScheduleOverlapPolicy
from temporalio.api.schedule import v1 as pb
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflow.v1 import NewWorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import CreateScheduleRequest
from temporalio.client import Client, Schedule, ScheduleActionStartWorkflow, SchedulePolicy, ScheduleSpec

from engine.frontend.namespaces import DEV_NAMESPACE, NamespaceRegistry
from engine.history.history_service import HistoryService
from engine.history.service import NamespaceRef
from engine.matching.task_queues import Matching
from engine.persistence.store import Store
from engine.schedules.api import ScheduleApi
from engine.schedules.scheduler import Scheduler
from engine.visibility.aliases import EMPTY
from tests.engine.sdk_app import ActivityCall, RunActivityWorkflow

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@dataclass
class Clock:
    now: float = START

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    clock: Clock
    scheduler: Scheduler
    api: ScheduleApi
    ns: NamespaceRef

    async def create(self, schedule: pb.Schedule) -> str:
        schedule_id = f"s-{uuid.uuid4().hex[:6]}"
        await self.api.create(self.ns, CreateScheduleRequest(schedule_id=schedule_id, schedule=schedule))
        return schedule_id

    async def advance(self, schedule_id: str, seconds: float) -> None:
        """Move time on and let the schedule handle what became due (as its timer would)."""
        self.clock.now += seconds
        entry = self.scheduler.get(self.ns.id, schedule_id)
        assert entry is not None
        async with entry.lock:
            await self.scheduler._process(entry)


@pytest_asyncio.fixture
async def rig(engine_store: Store) -> AsyncIterator[Rig]:
    clock = Clock()
    history = HistoryService(engine_store, Matching(), clock=clock)
    namespaces = NamespaceRegistry(engine_store)
    await namespaces.ensure(DEV_NAMESPACE)
    await history.start()
    scheduler = Scheduler(engine_store, history, clock=clock)
    await scheduler.start()
    try:
        yield Rig(
            clock, scheduler, ScheduleApi(scheduler, lambda _: EMPTY, clock=clock), await namespaces.ref("default")
        )
    finally:
        await scheduler.stop()
        await history.stop()


def every_second(catchup_window: Duration | None = None) -> pb.Schedule:
    return pb.Schedule(
        spec=pb.ScheduleSpec(interval=[pb.IntervalSpec(interval=Duration(seconds=1))]),
        action=pb.ScheduleAction(
            start_workflow=NewWorkflowExecutionInfo(
                workflow_id="w", workflow_type=WorkflowType(name="Anything"), task_queue=TaskQueue(name="nobody")
            )
        ),
        policies=pb.SchedulePolicies(
            overlap_policy=ScheduleOverlapPolicy.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL, catchup_window=catchup_window
        ),
    )


async def test_times_older_than_the_catchup_window_are_missed(rig: Rig) -> None:
    schedule_id = await rig.create(every_second(catchup_window=Duration(seconds=10)))
    await rig.advance(schedule_id, 100)  # as after 100 s of downtime
    info = rig.api.describe(rig.ns, schedule_id).info
    assert info.action_count == 11  # the last 10 s and now: within the window
    assert info.missed_catchup_window == 89
    started = [a.schedule_time.ToSeconds() for a in info.recent_actions]
    assert started == [int(START) + s for s in range(91, 101)]  # the newest ten are remembered


async def test_a_catchup_window_below_ten_seconds_counts_as_ten(rig: Rig) -> None:
    schedule_id = await rig.create(every_second(catchup_window=Duration(seconds=1)))
    await rig.advance(schedule_id, 30)
    info = rig.api.describe(rig.ns, schedule_id).info
    assert (info.action_count, info.missed_catchup_window) == (11, 19)


async def test_remaining_actions_run_out(rig: Rig) -> None:
    schedule = every_second()
    schedule.state.limited_actions = True
    schedule.state.remaining_actions = 3
    schedule_id = await rig.create(schedule)
    for _ in range(6):
        await rig.advance(schedule_id, 1)
    described = rig.api.describe(rig.ns, schedule_id)
    assert described.info.action_count == 3
    assert described.schedule.state.remaining_actions == 0
    assert list(described.info.future_action_times) == []


async def test_time_passing_while_paused_is_not_caught_up(rig: Rig) -> None:
    schedule_id = await rig.create(every_second())
    await rig.advance(schedule_id, 2)
    await rig.api.patch(rig.ns, schedule_id, pb.SchedulePatch(pause="hold"))
    await rig.advance(schedule_id, 50)
    await rig.api.patch(rig.ns, schedule_id, pb.SchedulePatch(unpause="go"))
    await rig.advance(schedule_id, 2)
    info = rig.api.describe(rig.ns, schedule_id).info
    assert info.action_count == 4  # two before the pause, two after it
    assert info.missed_catchup_window == 0


async def test_jitter_delays_each_action_within_its_bound(rig: Rig) -> None:
    schedule = every_second()
    schedule.spec.interval[0].interval.seconds = 60
    schedule.spec.jitter.seconds = 30
    schedule_id = await rig.create(schedule)
    described = rig.api.describe(rig.ns, schedule_id)
    futures = [t.ToSeconds() for t in described.info.future_action_times]
    nominal = [int(START) + 60 * k for k in range(1, 11)]
    assert all(n <= f < n + 30 for n, f in zip(nominal, futures, strict=True))
    assert len({f - n for n, f in zip(nominal, futures, strict=True)}) > 1  # not one fixed delay
    await rig.advance(schedule_id, 60 + 30)
    assert rig.api.describe(rig.ns, schedule_id).info.action_count == 1


async def test_pause_on_failure(client: Client, task_queue: str) -> None:
    handle = await client.create_schedule(
        f"fails-{uuid.uuid4().hex[:6]}",
        Schedule(
            action=ScheduleActionStartWorkflow(
                RunActivityWorkflow.run, ActivityCall("refuse"), id="failing", task_queue=task_queue
            ),
            spec=ScheduleSpec(),
            policy=SchedulePolicy(pause_on_failure=True),
        ),
    )
    await handle.trigger()
    for _ in range(100):
        described = await handle.describe()
        if described.schedule.state.paused:
            break
        await asyncio.sleep(0.1)
    assert described.schedule.state.paused
    assert "failed" in (described.schedule.state.note or "")
    assert described.info.running_actions == []
