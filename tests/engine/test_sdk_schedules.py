"""Schedules through the official SDK: interval runs, pause, trigger, backfill, each overlap
policy, describe/list/update/delete, bad input, and a restart that neither skips nor doubles."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import Payload, SearchAttributes, WorkflowType
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.schedule import v1 as pb
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflow.v1 import NewWorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    CountSchedulesRequest,
    CreateScheduleRequest,
    DescribeScheduleRequest,
    ListScheduleMatchingTimesRequest,
    PatchScheduleRequest,
    RegisterNamespaceRequest,
    UpdateScheduleRequest,
)
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleBackfill,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from engine.config import EngineConfig
from engine.server import EngineServer
from tests.engine.sdk_app import ACTIVITIES, WORKFLOWS, CountingWorkflow, HelloWorkflow, SignalWorkflow


def hello_action(task_queue: str, workflow_id: str | None = None) -> ScheduleActionStartWorkflow:
    return ScheduleActionStartWorkflow(
        HelloWorkflow.run, "schedule", id=workflow_id or f"sched-wf-{uuid.uuid4().hex[:8]}", task_queue=task_queue
    )


def waiting_action(task_queue: str) -> ScheduleActionStartWorkflow:
    return ScheduleActionStartWorkflow(SignalWorkflow.run, id=f"waiting-{uuid.uuid4().hex[:8]}", task_queue=task_queue)


def every(seconds: float) -> ScheduleSpec:
    return ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=seconds))])


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


async def scheduled_ids(client: Client, schedule_id: str) -> list[str]:
    return [w.id async for w in client.list_workflows(f"TemporalScheduledById = '{schedule_id}'")]


async def test_an_interval_schedule_runs_pauses_and_triggers(client: Client, task_queue: str) -> None:
    schedule_id = f"every-second-{uuid.uuid4().hex[:6]}"
    handle = await client.create_schedule(schedule_id, Schedule(action=hello_action(task_queue), spec=every(1)))
    await asyncio.sleep(3.5)
    described = await handle.describe()
    assert described.info.num_actions >= 2
    assert len(described.info.recent_actions) == described.info.num_actions
    assert len(described.info.next_action_times) == 10
    assert described.info.next_action_times[0] > datetime.now(UTC) - timedelta(seconds=1)
    started = await scheduled_ids(client, schedule_id)
    assert len(started) >= 2
    first = client.get_workflow_handle(started[-1])
    assert await first.result() == "Hello, schedule!"
    attributes = (await first.describe()).typed_search_attributes
    assert any(p.key.name == "TemporalScheduledById" and p.value == schedule_id for p in attributes)

    await handle.pause(note="maintenance")
    paused = await handle.describe()
    assert paused.schedule.state.paused
    assert paused.schedule.state.note == "maintenance"
    count = paused.info.num_actions
    await asyncio.sleep(2.2)
    assert (await handle.describe()).info.num_actions == count  # nothing while paused
    assert len((await handle.describe()).info.next_action_times) == 10  # still shown, as Temporal does

    await handle.trigger()
    assert (await handle.describe()).info.num_actions == count + 1
    await handle.unpause()
    await eventually(lambda: _actions_at_least(handle, count + 2))
    await handle.delete()
    with pytest.raises(RPCError) as caught:
        await handle.describe()
    assert caught.value.status == RPCStatusCode.NOT_FOUND


async def _actions_at_least(handle: ScheduleHandle, n: int) -> bool:
    return (await handle.describe()).info.num_actions >= n


async def test_backfill_starts_one_run_per_past_time(client: Client, task_queue: str) -> None:
    schedule_id = f"backfill-{uuid.uuid4().hex[:6]}"
    handle = await client.create_schedule(
        schedule_id,
        Schedule(action=hello_action(task_queue), spec=every(60), state=ScheduleState(paused=True)),
    )
    start = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    await handle.backfill(
        ScheduleBackfill(start_at=start, end_at=start + timedelta(minutes=4), overlap=ScheduleOverlapPolicy.ALLOW_ALL)
    )
    described = await handle.describe()
    assert described.info.num_actions == 5  # 09:00, 09:01, 09:02, 09:03, 09:04
    times = sorted(a.scheduled_at for a in described.info.recent_actions)
    assert times == [start + timedelta(minutes=m) for m in range(5)]
    ids = await scheduled_ids(client, schedule_id)
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert sorted(ids) == sorted(f"{action.id}-{t.strftime('%Y-%m-%dT%H:%M:%SZ')}" for t in times)


async def waiting_schedule(
    client: Client, task_queue: str, overlap: ScheduleOverlapPolicy
) -> tuple[ScheduleHandle, str]:
    schedule_id = f"overlap-{overlap.name.lower()}-{uuid.uuid4().hex[:6]}"
    handle = await client.create_schedule(
        schedule_id,
        Schedule(
            action=waiting_action(task_queue),
            spec=every(3600),
            policy=SchedulePolicy(overlap=overlap),
            state=ScheduleState(paused=True),  # only triggers act
        ),
    )
    return handle, schedule_id


async def running_ids(handle: ScheduleHandle) -> list[tuple[str, str]]:
    """(workflow id, run id) of the schedule's running workflows: two triggers in one second
    share a workflow id (it carries the nominal time to the second), not a run."""
    running = (await handle.describe()).info.running_actions
    return [
        (r.workflow_id, r.first_execution_run_id)
        for r in running
        if isinstance(r, ScheduleActionExecutionStartWorkflow)
    ]


async def finish(client: Client, run: tuple[str, str]) -> None:
    workflow = client.get_workflow_handle(run[0], run_id=run[1])
    await workflow.signal(SignalWorkflow.finish)
    await workflow.result()


async def test_overlap_skip(client: Client, task_queue: str) -> None:
    handle, _ = await waiting_schedule(client, task_queue, ScheduleOverlapPolicy.SKIP)
    await handle.trigger()
    await handle.trigger()
    described = await handle.describe()
    assert described.info.num_actions == 1
    assert described.info.num_actions_skipped_overlap == 1
    assert len(described.info.running_actions) == 1
    await finish(client, (await running_ids(handle))[0])


async def test_overlap_buffer_one(client: Client, task_queue: str) -> None:
    handle, _ = await waiting_schedule(client, task_queue, ScheduleOverlapPolicy.BUFFER_ONE)
    for _ in range(3):
        await handle.trigger()
    described = await handle.describe()
    assert described.info.num_actions == 1
    assert described.raw_description.info.buffer_size == 1
    assert described.raw_description.info.buffer_dropped == 1  # the third found the buffer full
    first = (await running_ids(handle))[0]
    await finish(client, first)
    await eventually(lambda: _running_other_than(handle, first))
    described = await handle.describe()
    assert described.info.num_actions == 2
    assert described.raw_description.info.buffer_size == 0
    await finish(client, (await running_ids(handle))[0])


async def _running_other_than(handle: ScheduleHandle, run: tuple[str, str] | None) -> bool:
    running = await running_ids(handle)
    return bool(running) and run not in running


async def test_overlap_buffer_all(client: Client, task_queue: str) -> None:
    handle, _ = await waiting_schedule(client, task_queue, ScheduleOverlapPolicy.BUFFER_ALL)
    for _ in range(3):
        await handle.trigger()
    assert (await handle.describe()).raw_description.info.buffer_size == 2
    seen: list[tuple[str, str]] = []
    for _ in range(3):
        await eventually(lambda: _running_other_than(handle, seen[-1] if seen else None))
        current = (await running_ids(handle))[0]
        seen.append(current)
        await finish(client, current)
    assert len(set(seen)) == 3
    described = await handle.describe()
    assert described.info.num_actions == 3
    assert described.raw_description.info.buffer_size == 0


async def test_overlap_cancel_other(client: Client, task_queue: str) -> None:
    handle, _ = await waiting_schedule(client, task_queue, ScheduleOverlapPolicy.CANCEL_OTHER)
    await handle.trigger()
    first = (await running_ids(handle))[0]
    await handle.trigger()
    await eventually(lambda: _running_other_than(handle, first))
    assert (await client.get_workflow_handle(first[0], run_id=first[1]).describe()).status == Status.CANCELED
    second = (await running_ids(handle))[0]
    await finish(client, second)


async def test_overlap_terminate_other(client: Client, task_queue: str) -> None:
    handle, _ = await waiting_schedule(client, task_queue, ScheduleOverlapPolicy.TERMINATE_OTHER)
    await handle.trigger()
    first = (await running_ids(handle))[0]
    await handle.trigger()
    running = await running_ids(handle)
    assert len(running) == 1
    assert running[0] != first
    assert (await client.get_workflow_handle(first[0], run_id=first[1]).describe()).status == Status.TERMINATED
    await finish(client, running[0])


async def test_overlap_allow_all(client: Client, task_queue: str) -> None:
    handle, _ = await waiting_schedule(client, task_queue, ScheduleOverlapPolicy.ALLOW_ALL)
    await handle.trigger()
    await asyncio.sleep(1.1)  # a second later: another nominal time, so another workflow id
    await handle.trigger()
    running = await running_ids(handle)
    assert len(running) == 2
    for run in running:
        await finish(client, run)


async def test_describe_list_update_and_conflict_tokens(client: Client, task_queue: str) -> None:
    schedule_id = f"listed-{uuid.uuid4().hex[:6]}"
    handle = await client.create_schedule(
        schedule_id, Schedule(action=hello_action(task_queue), spec=ScheduleSpec(cron_expressions=["0 12 * * MON"]))
    )
    described = await handle.describe()
    assert described.schedule.spec.cron_expressions == []  # answered as structured calendars, as Temporal does
    assert len(described.schedule.spec.calendars) == 1
    next_time = described.info.next_action_times[0]
    assert (next_time.weekday(), next_time.hour, next_time.minute) == (0, 12, 0)
    with pytest.raises(ScheduleAlreadyRunningError):
        await client.create_schedule(schedule_id, Schedule(action=hello_action(task_queue), spec=every(60)))

    def to_every_minute(update: ScheduleUpdateInput) -> ScheduleUpdate:
        update.description.schedule.spec = every(60)
        return ScheduleUpdate(schedule=update.description.schedule)

    await handle.update(to_every_minute)
    assert (await handle.describe()).schedule.spec.intervals[0].every == timedelta(seconds=60)
    listed = [s.id async for s in await client.list_schedules()]
    assert schedule_id in listed
    await handle.delete()
    assert schedule_id not in [s.id async for s in await client.list_schedules()]


def _raw(**changes: object) -> CreateScheduleRequest:
    """A valid CreateScheduleRequest with `changes` applied (dotted paths into the message)."""
    request = CreateScheduleRequest(
        namespace="default",
        schedule_id=f"bad-{uuid.uuid4().hex[:6]}",
        schedule=pb.Schedule(
            spec=pb.ScheduleSpec(interval=[pb.IntervalSpec(interval=Duration(seconds=60))]),
            action=pb.ScheduleAction(
                start_workflow=NewWorkflowExecutionInfo(
                    workflow_id="w", workflow_type=WorkflowType(name="HelloWorkflow"), task_queue=TaskQueue(name="q")
                )
            ),
        ),
    )
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        target: Any = request
        for part in parents:
            target = getattr(target, part)
        if value is None:
            target.ClearField(leaf)
        elif isinstance(value, list):
            getattr(target, leaf).extend(value)
        elif hasattr(value, "SerializeToString"):
            getattr(target, leaf).CopyFrom(value)
        else:
            setattr(target, leaf, value)
    return request


@pytest.mark.parametrize(
    ("request_", "status", "words"),
    [
        (_raw(schedule_id=""), RPCStatusCode.INVALID_ARGUMENT, "schedule_id"),
        (_raw(schedule_id="x" * 1001), RPCStatusCode.INVALID_ARGUMENT, "schedule_id"),
        (_raw(schedule=None), RPCStatusCode.INVALID_ARGUMENT, "schedule"),
        (_raw(**{"schedule.action": None}), RPCStatusCode.INVALID_ARGUMENT, "start_workflow"),
        (_raw(**{"schedule.action.start_workflow.workflow_id": ""}), RPCStatusCode.INVALID_ARGUMENT, "workflow_id"),
        (_raw(**{"schedule.action.start_workflow.workflow_type": None}), RPCStatusCode.INVALID_ARGUMENT, "type"),
        (_raw(**{"schedule.action.start_workflow.task_queue": None}), RPCStatusCode.INVALID_ARGUMENT, "task_queue"),
        (_raw(**{"schedule.spec.cron_string": ["61 * * * *"]}), RPCStatusCode.INVALID_ARGUMENT, "minute"),
        (_raw(**{"schedule.spec.timezone_name": "Mars/Olympus"}), RPCStatusCode.INVALID_ARGUMENT, "Mars/Olympus"),
        (
            _raw(**{"schedule.spec.interval": [pb.IntervalSpec(interval=Duration(seconds=0))]}),
            RPCStatusCode.INVALID_ARGUMENT,
            "interval",
        ),
        (
            _raw(**{"schedule.policies.catchup_window": Duration(seconds=-5)}),
            RPCStatusCode.INVALID_ARGUMENT,
            "catchup_window",
        ),
        (_raw(**{"schedule.policies.overlap_policy": 99}), RPCStatusCode.INVALID_ARGUMENT, "overlap"),
        (_raw(**{"schedule.state.remaining_actions": -1}), RPCStatusCode.INVALID_ARGUMENT, "remaining_actions"),
        (
            _raw(
                **{
                    "schedule.action.start_workflow.search_attributes": SearchAttributes(
                        indexed_fields={"NotDefined": Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')}
                    )
                }
            ),
            RPCStatusCode.INVALID_ARGUMENT,
            "NotDefined",
        ),
        (_raw(namespace="missing"), RPCStatusCode.NOT_FOUND, "missing"),
    ],
)
async def test_bad_schedules_are_refused(
    client: Client, request_: CreateScheduleRequest, status: RPCStatusCode, words: str
) -> None:
    with pytest.raises(RPCError) as caught:
        await client.workflow_service.create_schedule(request_)
    assert caught.value.status == status
    assert words in caught.value.message
    assert [s.id async for s in await client.list_schedules()] == []


async def test_bad_schedule_requests_after_create(client: Client, task_queue: str) -> None:
    service = client.workflow_service
    request = _raw()
    await service.create_schedule(request)
    schedule_id = request.schedule_id

    async def refused(call: Awaitable[object], status: RPCStatusCode, words: str) -> None:
        with pytest.raises(RPCError) as caught:
            await call
        assert caught.value.status == status
        assert words in caught.value.message

    await refused(
        service.update_schedule(
            UpdateScheduleRequest(
                namespace="default", schedule_id=schedule_id, schedule=request.schedule, conflict_token=b"41"
            )
        ),
        RPCStatusCode.FAILED_PRECONDITION,
        "conflict token",
    )
    await refused(
        service.patch_schedule(
            PatchScheduleRequest(
                namespace="default", schedule_id=schedule_id, patch=pb.SchedulePatch(pause="a", unpause="b")
            )
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "pause",
    )
    backfill = pb.BackfillRequest()
    backfill.start_time.FromDatetime(datetime(2026, 1, 2, tzinfo=UTC))
    backfill.end_time.FromDatetime(datetime(2026, 1, 1, tzinfo=UTC))
    await refused(
        service.patch_schedule(
            PatchScheduleRequest(
                namespace="default", schedule_id=schedule_id, patch=pb.SchedulePatch(backfill_request=[backfill])
            )
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "end time",
    )
    await refused(
        service.list_schedule_matching_times(
            ListScheduleMatchingTimesRequest(namespace="default", schedule_id=schedule_id)
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "start_time",
    )
    await refused(
        service.describe_schedule(DescribeScheduleRequest(namespace="default", schedule_id="nope")),
        RPCStatusCode.NOT_FOUND,
        "nope",
    )
    other = f"ns-{uuid.uuid4().hex[:8]}"
    await service.register_namespace(RegisterNamespaceRequest(namespace=other))
    await refused(  # the namespace wall
        service.describe_schedule(DescribeScheduleRequest(namespace=other, schedule_id=schedule_id)),
        RPCStatusCode.NOT_FOUND,
        schedule_id,
    )
    assert (await service.count_schedules(CountSchedulesRequest(namespace=other))).count == 0
    assert (await service.count_schedules(CountSchedulesRequest(namespace="default"))).count == 1
    matching = ListScheduleMatchingTimesRequest(namespace="default", schedule_id=schedule_id)
    matching.start_time.FromDatetime(datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
    matching.end_time.FromDatetime(datetime(2026, 1, 1, 9, 3, tzinfo=UTC))
    times = (await service.list_schedule_matching_times(matching)).start_time
    assert [t.ToDatetime(tzinfo=UTC).minute for t in times] == [0, 1, 2, 3]


async def test_a_restart_neither_skips_nor_doubles(engine_db_url: str) -> None:
    """A schedule every second, the engine down for three seconds in between: after the restart
    the missed times are caught up, and every nominal time has exactly one run."""
    config = EngineConfig(port=0, db_url=engine_db_url, dev=True, grace_period=1)
    schedule_id = f"restart-{uuid.uuid4().hex[:6]}"
    queue = f"tq-{uuid.uuid4().hex[:6]}"
    first = EngineServer(config)
    await first.start()
    try:
        client = await Client.connect(f"127.0.0.1:{first.port}")
        await client.create_schedule(
            schedule_id,
            Schedule(
                action=hello_action(queue, workflow_id="restart-wf"),
                spec=every(1),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL),
            ),
        )
        await asyncio.sleep(2.5)
    finally:
        await first.stop()
    stopped_at = datetime.now(UTC)
    await asyncio.sleep(3)
    second = EngineServer(EngineConfig(port=0, db_url=engine_db_url, dev=True, grace_period=1))
    await second.start()
    try:
        client = await Client.connect(f"127.0.0.1:{second.port}")
        async with Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=ACTIVITIES):  # type: ignore[arg-type]
            await asyncio.sleep(2.5)
            handle = client.get_schedule_handle(schedule_id)
            await handle.pause()
            ids = await scheduled_ids(client, schedule_id)
    finally:
        await second.stop()
    times = sorted(datetime.strptime(i.removeprefix("restart-wf-"), "%Y-%m-%dT%H:%M:%SZ") for i in ids)
    assert len(times) == len(set(times)), "a nominal time ran twice"
    steps = {(b - a).total_seconds() for a, b in itertools.pairwise(times)}
    assert steps == {1.0}, f"a nominal time was skipped: {times}"
    assert times[0].replace(tzinfo=UTC) < stopped_at < times[-1].replace(tzinfo=UTC)
    assert len(times) >= 7


async def test_list_and_count_schedules_by_query(client: Client, task_queue: str) -> None:
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace="default", search_attributes={"Team": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD}
        )
    )
    team = SearchAttributeKey.for_keyword("Team")
    made = {}
    for name, paused, owner in (("a", False, "billing"), ("b", True, "billing"), ("c", True, "ops")):
        schedule_id = f"q-{name}-{uuid.uuid4().hex[:6]}"
        await client.create_schedule(
            schedule_id,
            Schedule(action=hello_action(task_queue), spec=every(3600), state=ScheduleState(paused=paused)),
            search_attributes=TypedSearchAttributes([SearchAttributePair(team, owner)]),
        )
        made[name] = schedule_id

    async def listed(query: str) -> list[str]:
        return sorted([s.id async for s in await client.list_schedules(query=query)])

    assert await listed("TemporalSchedulePaused = true") == sorted([made["b"], made["c"]])
    assert await listed("Team = 'billing' AND TemporalSchedulePaused = false") == [made["a"]]
    assert await listed(f"WorkflowId = '{made['c']}'") == [made["c"]]
    assert await listed("") == sorted(made.values())
    counted = await client.workflow_service.count_schedules(
        CountSchedulesRequest(namespace="default", query="Team = 'billing'")
    )
    assert counted.count == 2
    for bad in ("Team = ", "Nope = 1", "ORDER BY Team"):
        with pytest.raises(RPCError) as caught:
            await listed(bad)
        assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT


async def test_each_run_gets_the_last_completion_result(client: Client, task_queue: str) -> None:
    handle = await client.create_schedule(
        f"counting-{uuid.uuid4().hex[:6]}",
        Schedule(
            action=ScheduleActionStartWorkflow(CountingWorkflow.run, id="counting", task_queue=task_queue),
            spec=every(3600),
            state=ScheduleState(paused=True),
        ),
    )
    results = []
    for started in range(1, 4):
        await handle.trigger()

        async def recorded(count: int = started) -> bool:
            return len((await handle.describe()).info.recent_actions) >= count

        # The run may finish before a look at the running actions: read it from the recent ones.
        await eventually(recorded)
        action = (await handle.describe()).info.recent_actions[started - 1].action
        assert isinstance(action, ScheduleActionExecutionStartWorkflow)
        results.append(
            await client.get_workflow_handle(action.workflow_id, run_id=action.first_execution_run_id).result()
        )
        await eventually(lambda: _no_running(handle))
        await asyncio.sleep(1.05)  # the next trigger is another second: another workflow id
    assert results == [1, 2, 3]


async def _no_running(handle: ScheduleHandle) -> bool:
    return not await running_ids(handle)
