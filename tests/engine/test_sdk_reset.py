"""ResetWorkflowExecution with the real SDK as client and worker: a reset run re-runs the workflow
from the reset point with the signals received after it, the replaced run is terminated and
names its reset run, pending activities run again, bad requests are refused as Temporal refuses
them, the reset survives a SIGKILL, and the SDK's Replayer replays every history produced."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio import activity, workflow
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import (
    EventType,
    ResetReapplyExcludeType,
    ResetReapplyType,
    UpdateAdmittedEventOrigin,
    WorkflowTaskFailedCause,
)
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker

from engine.history.errors import InvalidArgument
from engine.history.events import make_event
from engine.history.rebuild import rebuild_state
from engine.history.reset_ops import reapply_exclusions
from engine.persistence import Store
from engine.persistence.records import CurrentRunWrite, ExecutionConflict, ExecutionKey, HistoryBatch, Transition
from engine.visibility.aliases import EMPTY
from tests.engine.sdk_support import new_id
from tests.engine.test_engine_crash import EngineProcess, engine_process  # noqa: F401  (a fixture)

E = EventType


@workflow.defn
class Collector:
    """Collects `add` signals until `finish`; its first task runs an activity that waits for the
    test's gate."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.done = False

    @workflow.run
    async def run(self, gated: bool) -> list[str]:
        if gated:
            self.items.append(await workflow.execute_activity(pass_gate, start_to_close_timeout=timedelta(seconds=30)))
        await workflow.wait_condition(lambda: self.done)
        return self.items

    @workflow.signal
    def add(self, item: str) -> None:
        self.items.append(item)

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.update
    def add_item(self, item: str) -> int:
        self.items.append(item)
        return len(self.items)

    @workflow.query
    def seen(self) -> list[str]:
        return self.items


GATE: dict[str, asyncio.Event] = {}
GATE_CALLS: list[str] = []


@activity.defn
async def pass_gate() -> str:
    info = activity.info()
    GATE_CALLS.append(info.workflow_run_id or "")
    gate = GATE.setdefault(info.workflow_id or "", asyncio.Event())
    await gate.wait()
    return f"gate of {info.workflow_run_id}"


@pytest_asyncio.fixture
async def worker(client: Client) -> AsyncIterator[str]:
    queue = f"reset-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[Collector],
        activities=[pass_gate],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        yield queue


async def reset(
    client: Client,
    workflow_id: str,
    event_id: int,
    *,
    run_id: str = "",
    request_id: str | None = None,
    reason: str = "bad deploy",
    namespace: str = "default",
    **fields: object,
) -> str:
    response = await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
            reason=reason,
            workflow_task_finish_event_id=event_id,
            request_id=str(uuid.uuid4()) if request_id is None else request_id,
            **fields,  # type: ignore[arg-type]
        )
    )
    return response.run_id


async def history(client: Client, workflow_id: str, run_id: str) -> WorkflowHistory:
    return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()


def types_of(h: WorkflowHistory) -> list[int]:
    return [e.event_type for e in h.events]


async def replay(histories: Sequence[WorkflowHistory]) -> None:
    replayer = Replayer(workflows=[Collector], workflow_runner=UnsandboxedWorkflowRunner())
    for h in histories:
        await replayer.replay_workflow(h)


async def eventually(check: object, timeout: float = 10) -> None:
    async def poll() -> None:
        while not await check():  # type: ignore[operator]
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


# --- reset to the first workflow task ---------------------------------------------------------


async def test_reset_to_the_first_workflow_task_reruns_and_keeps_the_signals(client: Client, worker: str) -> None:
    handle = await client.start_workflow(Collector.run, False, id=new_id(), task_queue=worker)
    await eventually(lambda: _seen(handle, []))  # the first workflow task is done: signals come later
    await handle.signal(Collector.add, "a")
    await handle.signal(Collector.add, "b")
    await eventually(lambda: _seen(handle, ["a", "b"]))
    old_run = handle.result_run_id or ""
    before = await history(client, handle.id, old_run)
    first_completed = next(e.event_id for e in before.events if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)

    new_run = await reset(client, handle.id, first_completed, run_id=old_run)
    assert new_run != old_run

    old = await client.get_workflow_handle(handle.id, run_id=old_run).describe()
    assert old.status == WorkflowExecutionStatus.TERMINATED
    assert old.raw_description.workflow_extended_info.reset_run_id == new_run
    old_history = await history(client, handle.id, old_run)
    terminated = old_history.events[-1].workflow_execution_terminated_event_attributes
    assert (terminated.reason, terminated.identity) == ("bad deploy", "history-resetter")

    current = client.get_workflow_handle(handle.id)  # the reset run is the workflow's current run
    assert (await current.describe()).run_id == new_run
    await eventually(lambda: _seen(current, ["a", "b"]))
    reset_history = await history(client, handle.id, new_run)
    assert types_of(reset_history)[:7] == [
        E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    ]
    assert reset_history.events[0] == before.events[0]  # the start event is the base run's own
    failed = reset_history.events[3].workflow_task_failed_event_attributes
    assert failed.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
    assert (failed.base_run_id, failed.new_run_id, failed.identity) == (old_run, new_run, "history-service")
    assert failed.failure.message == "bad deploy"
    assert failed.failure.HasField("reset_workflow_failure_info")

    await current.signal(Collector.finish)
    assert await current.result() == ["a", "b"]
    await replay([old_history, await history(client, handle.id, new_run)])


async def _seen(handle: WorkflowHandle[Any, Any], expected: list[str]) -> bool:
    try:
        return await handle.query(Collector.seen) == expected
    except RPCError:
        return False


async def test_reset_of_a_closed_run_without_signals_and_the_same_request_again(client: Client, worker: str) -> None:
    handle = await client.start_workflow(Collector.run, False, id=new_id(), task_queue=worker)
    await eventually(lambda: _seen(handle, []))  # the first workflow task is done: signals come later
    await handle.signal(Collector.add, "x")
    await handle.signal(Collector.finish)
    assert await handle.result() == ["x"]
    old_run = handle.result_run_id or ""
    base = await history(client, handle.id, old_run)
    first_completed = next(e.event_id for e in base.events if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)

    request_id = str(uuid.uuid4())
    new_run = await reset(
        client,
        handle.id,
        first_completed,
        request_id=request_id,
        reset_reapply_type=ResetReapplyType.RESET_REAPPLY_TYPE_NONE,
        reset_reapply_exclude_types=[ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL],
    )
    assert await reset(client, handle.id, first_completed, request_id=request_id) == new_run  # a retry: same run
    old = await client.get_workflow_handle(handle.id, run_id=old_run).describe()
    assert old.status == WorkflowExecutionStatus.COMPLETED  # a closed base run stays as it was
    assert old.raw_description.workflow_extended_info.reset_run_id == new_run

    current = client.get_workflow_handle(handle.id)
    assert (await current.describe()).status == WorkflowExecutionStatus.RUNNING
    assert E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED not in types_of(await history(client, handle.id, new_run))
    await current.signal(Collector.add, "y")
    await current.signal(Collector.finish)
    assert await current.result() == ["y"]
    # listed: both runs of the workflow id, the reset one completed too
    runs = [w.run_id async for w in client.list_workflows(f"WorkflowId = '{handle.id}'")]
    assert sorted(runs) == sorted([old_run, new_run])
    await replay([base, await history(client, handle.id, new_run)])


# --- updates: re-applied after the point, rebuilt before it -----------------------------------


async def _signal_update_signal(client: Client, worker: str) -> tuple[WorkflowHandle[Any, Any], str, WorkflowHistory]:
    """A Collector that saw signal s1, update u1 (accepted and completed) and signal s2 after its
    first workflow task: its handle, run id and history."""
    handle = await client.start_workflow(Collector.run, False, id=new_id(), task_queue=worker)
    await eventually(lambda: _seen(handle, []))
    await handle.signal(Collector.add, "s1")
    assert await handle.execute_update(Collector.add_item, "u1", id="u1") == 2
    await handle.signal(Collector.add, "s2")
    await eventually(lambda: _seen(handle, ["s1", "u1", "s2"]))
    run_id = handle.result_run_id or ""
    return handle, run_id, await history(client, handle.id, run_id)


async def test_a_reset_reapplies_the_updates_accepted_after_its_point(client: Client, worker: str) -> None:
    handle, old_run, before = await _signal_update_signal(client, worker)
    first_completed = next(e.event_id for e in before.events if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    new_run = await reset(client, handle.id, first_completed, run_id=old_run)  # no reapply type: all eligible

    current = client.get_workflow_handle(handle.id)
    await eventually(lambda: _seen(current, ["s1", "u1", "s2"]))  # in their order, the update run again
    reset_history = await history(client, handle.id, new_run)
    kinds = types_of(reset_history)
    assert kinds[4:7] == [
        E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    ]
    admitted = reset_history.events[5].workflow_execution_update_admitted_event_attributes
    assert admitted.request.meta.update_id == "u1"
    assert admitted.origin == UpdateAdmittedEventOrigin.UPDATE_ADMITTED_EVENT_ORIGIN_REAPPLY
    accepted = next(e for e in reset_history.events if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    attrs = accepted.workflow_execution_update_accepted_event_attributes
    assert attrs.protocol_instance_id == "u1"
    assert not attrs.HasField("accepted_request")  # the Admitted event holds it, as in Temporal
    assert kinds.count(E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED) == 1

    # the same update id again: the reset run's outcome, without running the handler again
    assert await current.execute_update(Collector.add_item, "u1", id="u1") == 2
    await current.signal(Collector.finish)
    assert await current.result() == ["s1", "u1", "s2"]
    await replay([before, await history(client, handle.id, new_run)])


@pytest.mark.parametrize(
    "exclusion",
    [
        {"reset_reapply_exclude_types": [ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE]},
        {"reset_reapply_type": ResetReapplyType.RESET_REAPPLY_TYPE_SIGNAL},
    ],
)
async def test_a_reset_can_leave_the_updates_out(client: Client, worker: str, exclusion: dict[str, Any]) -> None:
    handle, old_run, before = await _signal_update_signal(client, worker)
    first_completed = next(e.event_id for e in before.events if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    new_run = await reset(client, handle.id, first_completed, run_id=old_run, **exclusion)
    current = client.get_workflow_handle(handle.id)
    await eventually(lambda: _seen(current, ["s1", "s2"]))
    kinds = types_of(await history(client, handle.id, new_run))
    assert E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED not in kinds
    assert kinds.count(E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 2
    await current.signal(Collector.finish)
    assert await current.result() == ["s1", "s2"]


async def test_a_reset_after_an_update_rebuilds_it(client: Client, worker: str) -> None:
    handle, old_run, before = await _signal_update_signal(client, worker)
    last_completed = max(e.event_id for e in before.events if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    new_run = await reset(client, handle.id, last_completed, run_id=old_run)
    current = client.get_workflow_handle(handle.id)
    await eventually(lambda: _seen(current, ["s1", "u1", "s2"]))
    kinds = types_of(await history(client, handle.id, new_run))
    assert E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED not in kinds  # it is before the point
    assert kinds.count(E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 1  # the copied one
    assert await current.execute_update(Collector.add_item, "u1", id="u1") == 2  # remembered, not run again
    assert await current.execute_update(Collector.add_item, "u2", id="u2") == 4
    await current.signal(Collector.finish)
    assert await current.result() == ["s1", "u1", "s2", "u2"]
    await replay([before, await history(client, handle.id, new_run)])


# --- a pending activity, a workflow task's Started as the reset point -------------------------


async def test_an_activity_pending_at_the_reset_point_runs_again(client: Client, worker: str) -> None:
    handle = await client.start_workflow(Collector.run, True, id=new_id(), task_queue=worker)
    old_run = handle.result_run_id or ""
    await eventually(lambda: _has_calls(old_run, 1))
    await handle.signal(Collector.add, "early")  # a second workflow task while the activity waits
    await eventually(lambda: _seen(handle, ["early"]))
    before = await history(client, handle.id, old_run)
    completed = [e.event_id for e in before.events if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
    assert len(completed) == 2
    second_started = completed[1] - 1  # its WorkflowTaskStarted: Temporal accepts it too

    new_run = await reset(client, handle.id, second_started)
    await eventually(lambda: _has_calls(new_run, 1))  # the activity is handed out again, for the new run
    GATE[handle.id].set()
    current = client.get_workflow_handle(handle.id)
    await eventually(lambda: _seen(current, ["early", f"gate of {new_run}"]))
    await current.signal(Collector.finish)
    assert await current.result() == ["early", f"gate of {new_run}"]
    reset_history = await history(client, handle.id, new_run)
    # the task was only scheduled before the reset point: the server starts it to fail it
    restarted, failed = reset_history.events[second_started - 1 : second_started + 1]
    assert restarted.workflow_task_started_event_attributes.identity == "history-service"
    assert failed.event_type == E.EVENT_TYPE_WORKFLOW_TASK_FAILED
    await replay([await history(client, handle.id, old_run), reset_history])


async def _has_calls(run_id: str, count: int) -> bool:
    return GATE_CALLS.count(run_id) >= count


# --- refusals ---------------------------------------------------------------------------------


async def test_bad_resets_are_refused(client: Client, worker: str) -> None:
    handle = await client.start_workflow(Collector.run, False, id=new_id(), task_queue=worker)
    await eventually(lambda: _seen(handle, []))  # the first workflow task is done: signals come later
    await handle.signal(Collector.add, "a")
    await eventually(lambda: _seen(handle, ["a"]))
    events = (await handle.fetch_history()).events
    completed = next(e.event_id for e in events if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    signaled = next(e.event_id for e in events if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)

    async def refused(code: RPCStatusCode, message: str, event_id: int, **kw: object) -> None:
        with pytest.raises(RPCError) as caught:
            await reset(client, kw.pop("workflow_id", handle.id), event_id, **kw)  # type: ignore[arg-type]
        assert caught.value.status == code
        assert message in caught.value.message

    bounds = "Workflow task finish ID must be > 1 && <= workflow last event ID."
    await refused(RPCStatusCode.INVALID_ARGUMENT, bounds, 1)
    await refused(RPCStatusCode.INVALID_ARGUMENT, bounds, len(events) + 5)
    await refused(RPCStatusCode.INVALID_ARGUMENT, "Can only reset workflow to event ID in range", signaled + 1)
    await refused(RPCStatusCode.INVALID_ARGUMENT, "request_id is required", completed, request_id="")
    await refused(RPCStatusCode.INVALID_ARGUMENT, "workflow_id is required", completed, workflow_id="")
    await refused(RPCStatusCode.INVALID_ARGUMENT, "invalid run id", completed, run_id="not-a-uuid")
    await refused(RPCStatusCode.INVALID_ARGUMENT, "unknown reset reapply type", completed, reset_reapply_type=9)
    await refused(RPCStatusCode.NOT_FOUND, "workflow execution not found", completed, workflow_id="never-started")
    await refused(RPCStatusCode.NOT_FOUND, "Namespace missing is not found", completed, namespace="missing")
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # nothing happened
    assert len((await handle.fetch_history()).events) == len(events)
    await handle.signal(Collector.finish)
    assert await handle.result() == ["a"]


# --- one transaction --------------------------------------------------------------------------


async def test_linked_transitions_are_written_all_or_none(engine_store: Store) -> None:
    old = ExecutionKey("ns", "wf", str(uuid.uuid4()))
    new = ExecutionKey("ns", "wf", str(uuid.uuid4()))
    batch = HistoryBatch(1, 1, b"")
    await engine_store.commit(
        Transition(old, b"s", 2, 0, True, batch, CurrentRunWrite(old.run_id, True, "r1", 1), visibility=None)
    )
    stale = Transition(old, b"t", 3, 7, False)  # the old run is not at version 7
    create = Transition(new, b"n", 2, 0, True, batch, CurrentRunWrite(new.run_id, True, "r2", 1, old.run_id))
    with pytest.raises(ExecutionConflict):
        await engine_store.commit(replace(create, linked=(stale,)))
    assert await engine_store.get_execution(new) is None
    current = await engine_store.get_current_run("ns", "wf")
    assert current is not None
    assert current.run_id == old.run_id

    ended = Transition(old, b"t", 3, 1, False, current_status=(False, 5))
    await engine_store.commit(replace(create, linked=(ended,)))
    row = await engine_store.get_execution(old)
    assert row is not None
    assert (row.running, row.db_version) == (False, 2)
    current = await engine_store.get_current_run("ns", "wf")
    assert current is not None
    assert (current.run_id, current.running) == (new.run_id, True)


# --- crash safety -----------------------------------------------------------------------------


@pytest.mark.slow
async def test_a_reset_run_goes_on_after_sigkill(engine_process: EngineProcess, tmp_path: Path) -> None:  # noqa: F811
    client = await Client.connect(f"127.0.0.1:{engine_process.port}")
    queue = f"reset-{uuid.uuid4().hex[:8]}"
    workflow_id = new_id()
    async with Worker(
        client,
        task_queue=queue,
        workflows=[Collector],
        activities=[pass_gate],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await client.start_workflow(Collector.run, False, id=workflow_id, task_queue=queue)
        await eventually(lambda: _seen(handle, []))
        await handle.signal(Collector.add, "kept")
        await eventually(lambda: _seen(handle, ["kept"]))
    events = (await handle.fetch_history()).events
    completed = next(e.event_id for e in events if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    new_run = await reset(client, workflow_id, completed)  # no worker: the new task waits in the queue
    engine_process.kill()
    engine_process.start()
    client = await Client.connect(f"127.0.0.1:{engine_process.port}")
    async with Worker(
        client,
        task_queue=queue,
        workflows=[Collector],
        activities=[pass_gate],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        current = client.get_workflow_handle(workflow_id)
        assert (await current.describe()).run_id == new_run
        await eventually(lambda: _seen(current, ["kept"]), timeout=20)
        await current.signal(Collector.finish)
        assert await asyncio.wait_for(current.result(), 20) == ["kept"]
    await replay([await history(client, workflow_id, new_run)])


# --- pure parts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reapply_type", "exclude", "excluded"),
    [
        (ResetReapplyType.RESET_REAPPLY_TYPE_UNSPECIFIED, [], set()),
        (ResetReapplyType.RESET_REAPPLY_TYPE_ALL_ELIGIBLE, [], set()),
        (ResetReapplyType.RESET_REAPPLY_TYPE_SIGNAL, [], {ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE}),
        (
            ResetReapplyType.RESET_REAPPLY_TYPE_NONE,
            [],
            {
                ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL,
                ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE,
            },
        ),
        (
            ResetReapplyType.RESET_REAPPLY_TYPE_UNSPECIFIED,
            [ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL],
            {ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL},
        ),
    ],
)
def test_reapply_exclusions(reapply_type: int, exclude: list[int], excluded: set[int]) -> None:
    assert reapply_exclusions(reapply_type, exclude) == excluded


def test_a_history_with_events_the_engine_cannot_rebuild_is_refused() -> None:
    started = make_event(E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 1, 0.0, workflow_id="w")
    child = make_event(E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, 2, 0.0)
    with pytest.raises(InvalidArgument, match="START_CHILD_WORKFLOW_EXECUTION_INITIATED"):
        rebuild_state([started, child], namespace_id="n", namespace="n", run_id="r", custom=EMPTY)
    gap = make_event(E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 3, 0.0)
    with pytest.raises(InvalidArgument, match="event 3 where event 2 belongs"):
        rebuild_state([started, gap], namespace_id="n", namespace="n", run_id="r", custom=EMPTY)
