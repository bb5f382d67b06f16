"""Running schedules: every schedule is held in memory, with a timer at its next action time.

When a timer fires, every nominal time since the schedule's `last_processed` whose actual
(jittered) time has come is handled in order: skipped while paused or out of actions, counted
as missed when older than the catch-up window, else acted on under the overlap policy. Then the
record is saved and the next timer armed.

Durability without doubles: a start's workflow id and request id are derived from the schedule
and the nominal time, so a time handled again after a crash (its start was made, the record not
yet saved) finds the run it already started instead of starting another; and since
`last_processed` is saved only after the starts, no time is missed either.

The workflows a schedule started are followed through history's close listener, chain by chain
as Temporal's schedule watcher does: a run that continues-as-new, is retried or is reset closes
into the next run of its chain, which is followed in its place (`RunningWorkflow.latest_run_id`);
only when the chain ends does the action count as finished — then the schedule's buffer may
start the next, the final run's result or failure is handed to later starts, and
`pause_on_failure` pauses it on a failure. Overlap cancels and terminates reach the chain's
latest run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
from temporalio.api.common.v1 import SearchAttributes
from temporalio.api.enums.v1 import ScheduleOverlapPolicy, WorkflowExecutionStatus, WorkflowIdReusePolicy
from temporalio.api.schedule.v1 import Schedule
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest

from engine.history.errors import NotFound, WorkflowAlreadyStarted, WorkflowNotRunning
from engine.history.history_service import HistoryService
from engine.history.service import NamespaceRef
from engine.persistence.records import ExecutionKey, ScheduleRow
from engine.persistence.store import Store
from engine.schedules.spec import CompiledSpec, compile_spec
from engine.schedules.state import (
    MAX_RECENT_ACTIONS,
    ActionResult,
    BufferedStart,
    RunningWorkflow,
    ScheduleRecord,
    decode_record,
    encode_record,
)
from engine.timers.timer_queue import TimerQueue
from engine.visibility.attributes import SaType, typed_payload

log = logging.getLogger("engine.schedules")

Overlap = ScheduleOverlapPolicy
DEFAULT_CATCHUP_WINDOW = 365 * 86400.0  # Temporal's default: a year
MIN_CATCHUP_WINDOW = 10.0
MAX_TIMES_PER_PASS = 1000  # a long outage is worked through in passes, yielding in between
CHAIN_ACT_ATTEMPTS = 5  # a cancel/terminate that meets a run just closed into its successor tries that one
_FAILED = {
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED,
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
}
RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING


@dataclass
class ScheduleEntry:
    namespace_id: str
    schedule_id: str
    record: ScheduleRecord
    version: int
    schedule: Schedule
    spec: CompiledSpec
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    generation: int = 0  # bumped whenever the timer must be re-armed; older timers are ignored
    deleted: bool = False

    @property
    def ns(self) -> NamespaceRef:
        return NamespaceRef(self.namespace_id, self.record.namespace)


def to_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class Scheduler:
    def __init__(self, store: Store, history: HistoryService, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.history = history
        self.clock = clock
        self.entries: dict[tuple[str, str], ScheduleEntry] = {}
        self._by_run: dict[ExecutionKey, tuple[str, str]] = {}  # started run → its schedule
        self._timers = TimerQueue(self._fire, clock=clock)
        self._tasks: set[asyncio.Task[None]] = set()

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        after: tuple[str, str] | None = None
        while True:
            rows = await self.store.list_schedules(after=after, limit=500)
            if not rows:
                break
            for row in rows:
                entry = self._entry_of(row)
                self.entries[(row.namespace_id, row.schedule_id)] = entry
                for run in entry.record.running:
                    self._by_run[self._key(entry, run)] = (row.namespace_id, row.schedule_id)
            after = (rows[-1].namespace_id, rows[-1].schedule_id)
        self.history.close_listeners.append(self._on_close)
        self._timers.start()
        for entry in self.entries.values():
            self._spawn(self._resume(entry))

    async def stop(self) -> None:
        if self._on_close in self.history.close_listeners:
            self.history.close_listeners.remove(self._on_close)
        await self._timers.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _entry_of(self, row: ScheduleRow) -> ScheduleEntry:
        record = decode_record(row.data)
        schedule = Schedule.FromString(record.schedule)
        spec = compile_spec(schedule.spec, schedule_id=row.schedule_id)
        return ScheduleEntry(row.namespace_id, row.schedule_id, record, row.version, schedule, spec)

    async def _resume(self, entry: ScheduleEntry) -> None:
        """After a restart: forget runs that closed meanwhile, then catch up and arm."""
        async with entry.lock:
            await self._refresh_running(entry)
            await self._start_buffered(entry)
            await self._process(entry)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- registry (the API module calls these, holding entry.lock where it changes one) ----

    async def add(self, entry: ScheduleEntry) -> None:
        await self.store.create_schedule(
            ScheduleRow(entry.namespace_id, entry.schedule_id, encode_record(entry.record))
        )
        self.entries[(entry.namespace_id, entry.schedule_id)] = entry
        self.arm(entry)

    def get(self, namespace_id: str, schedule_id: str) -> ScheduleEntry | None:
        return self.entries.get((namespace_id, schedule_id))

    async def remove(self, entry: ScheduleEntry) -> None:
        await self.store.delete_schedule(entry.namespace_id, entry.schedule_id)
        entry.deleted = True
        entry.generation += 1
        self.entries.pop((entry.namespace_id, entry.schedule_id), None)
        for run in entry.record.running:
            self._by_run.pop(self._key(entry, run), None)

    async def remove_namespace(self, namespace_id: str) -> None:
        """Delete every schedule of a deleted namespace: none of them starts anything again."""
        for entry in [e for (owner, _), e in self.entries.items() if owner == namespace_id]:
            async with entry.lock:
                if not entry.deleted:
                    await self.remove(entry)

    async def save(self, entry: ScheduleEntry) -> None:
        entry.record.schedule = entry.schedule.SerializeToString()
        row = ScheduleRow(entry.namespace_id, entry.schedule_id, encode_record(entry.record))
        await self.store.update_schedule(row, expected_version=entry.version)
        entry.version += 1

    def arm(self, entry: ScheduleEntry) -> None:
        """Arm the timer for the next action time (none while paused or out of actions)."""
        entry.generation += 1
        if not self.acting(entry):
            return
        upcoming = entry.spec.next_time(to_datetime(entry.record.last_processed))
        if upcoming is not None:
            when = upcoming.actual.timestamp()
            self._timers.schedule(when, (entry.namespace_id, entry.schedule_id, entry.generation))

    @staticmethod
    def out_of_actions(entry: ScheduleEntry) -> bool:
        state = entry.schedule.state
        return state.limited_actions and state.remaining_actions <= 0

    @classmethod
    def acting(cls, entry: ScheduleEntry) -> bool:
        return not entry.schedule.state.paused and not cls.out_of_actions(entry)

    # --- the passing of time --------------------------------------------------------------

    async def _fire(self, payload: tuple[str, str, int]) -> None:
        namespace_id, schedule_id, generation = payload
        entry = self.entries.get((namespace_id, schedule_id))
        if entry is None or entry.generation != generation:
            return
        async with entry.lock:
            if not entry.deleted and entry.generation == generation:
                await self._process(entry)

    async def _process(self, entry: ScheduleEntry) -> None:
        """Handle every due time, save, and arm the next timer. Caller holds the lock."""
        record, now = entry.record, self.clock()
        if not self.acting(entry):  # paused: time passes without actions, and is not caught up later
            if record.last_processed < now:
                record.last_processed = now
                await self.save(entry)
            return
        policies = entry.schedule.policies
        catchup = policies.catchup_window.ToTimedelta().total_seconds() if policies.HasField("catchup_window") else 0
        catchup = max(catchup, MIN_CATCHUP_WINDOW) if catchup else DEFAULT_CATCHUP_WINDOW
        handled = 0
        upcoming = entry.spec.next_time(to_datetime(record.last_processed))
        while upcoming is not None and upcoming.actual.timestamp() <= now and handled < MAX_TIMES_PER_PASS:
            record.last_processed = upcoming.nominal.timestamp()
            handled += 1
            if self.acting(entry):
                if now - upcoming.actual.timestamp() > catchup:
                    record.missed_catchup_window += 1
                else:
                    await self.act(entry, upcoming.nominal.timestamp(), now, self.overlap(entry))
            upcoming = entry.spec.next_time(upcoming.nominal)
        if handled:
            await self.save(entry)
        if handled >= MAX_TIMES_PER_PASS:
            self._timers.schedule(self.clock(), (entry.namespace_id, entry.schedule_id, entry.generation))
            return
        self.arm(entry)

    @staticmethod
    def overlap(entry: ScheduleEntry, override: int = 0) -> int:
        policy = override or entry.schedule.policies.overlap_policy
        return policy or Overlap.SCHEDULE_OVERLAP_POLICY_SKIP

    # --- actions --------------------------------------------------------------------------

    async def act(
        self, entry: ScheduleEntry, nominal: float, actual: float, overlap: int, *, manual: bool = False
    ) -> None:
        """One action time under an overlap policy. Caller holds the lock and saves.

        A manual action (trigger, backfill) is taken even while the schedule is paused or out of
        actions, and does not use up its remaining actions, as in Temporal."""
        record = entry.record
        await self._refresh_running(entry)
        buffered = BufferedStart(nominal, actual, overlap, manual)
        if not record.running or overlap == Overlap.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL:
            await self._start(entry, nominal, actual, manual=manual)
        elif overlap == Overlap.SCHEDULE_OVERLAP_POLICY_SKIP:
            record.overlap_skipped += 1
        elif overlap == Overlap.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE:
            if record.buffered:
                record.buffer_dropped += 1
            else:
                record.buffered.append(buffered)
        elif overlap == Overlap.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL:
            record.buffered.append(buffered)
        elif overlap == Overlap.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER:
            record.buffered.append(buffered)
            for run in list(record.running):
                await self._on_chain(
                    entry,
                    run,
                    lambda key: self.history.request_cancel(
                        key, identity="sundial-scheduler", reason="schedule overlap: cancel other"
                    ),
                )
        else:  # TERMINATE_OTHER
            for run in list(record.running):
                await self._on_chain(
                    entry,
                    run,
                    lambda key: self.history.terminate(
                        key, reason="schedule overlap: terminate other", details=None, identity="sundial-scheduler"
                    ),
                )
            await self._refresh_running(entry)
            await self._start(entry, nominal, actual, manual=manual)

    async def _on_chain(
        self, entry: ScheduleEntry, run: RunningWorkflow, act: Callable[[ExecutionKey], Awaitable[None]]
    ) -> None:
        """`act` on the latest run of a started workflow's chain; when that run has just closed
        into a successor, on the successor (Temporal names the workflow id and its first run)."""
        key = self._key(entry, run)
        for _ in range(CHAIN_ACT_ATTEMPTS):
            try:
                await act(key)
                return
            except NotFound:
                return
            except WorkflowNotRunning:
                end, status = await self._chain_end(key)
                if status != RUNNING or end == key:
                    return
                key = end

    @staticmethod
    def _key(entry: ScheduleEntry, run: RunningWorkflow) -> ExecutionKey:
        """The run of `run`'s chain the scheduler follows now."""
        return ExecutionKey(entry.namespace_id, run.workflow_id, run.latest)

    async def _chain_end(self, key: ExecutionKey) -> tuple[ExecutionKey, int]:
        """Where the chain of the run `key` stands: its running run (status RUNNING), or the run
        that ended it and that run's status. Follows `new_execution_run_id` (continue-as-new,
        retry, cron) and a reset's new run, as Temporal's watcher follows the chain."""
        while True:
            try:
                run = await self.history.read(key)
            except NotFound:
                return key, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED
            state = run.state
            if state.running:
                return key, RUNNING
            following = state.new_execution_run_id or state.reset_run_id
            if not following:
                return key, state.status
            key = ExecutionKey(key.namespace_id, key.workflow_id, following)

    def _follow(self, entry: ScheduleEntry, run: RunningWorkflow, latest: ExecutionKey) -> None:
        """The chain of `run` goes on in the run `latest`: follow that one from now on."""
        if latest.run_id == run.latest:
            return
        running = entry.record.running
        moved = msgspec.structs.replace(run, latest_run_id=latest.run_id)
        running[running.index(run)] = moved
        self._by_run.pop(self._key(entry, run), None)
        self._by_run[latest] = (entry.namespace_id, entry.schedule_id)

    async def _start(self, entry: ScheduleEntry, nominal: float, actual: float, *, manual: bool) -> None:
        record, schedule = entry.record, entry.schedule
        action = schedule.action.start_workflow
        workflow_id = action.workflow_id
        if not schedule.policies.keep_original_workflow_id:
            workflow_id += "-" + to_datetime(nominal).strftime("%Y-%m-%dT%H:%M:%SZ")
        req = StartWorkflowExecutionRequest(
            namespace=record.namespace,
            workflow_id=workflow_id,
            workflow_type=action.workflow_type,
            task_queue=action.task_queue,
            input=action.input,
            identity="sundial-scheduler",
            request_id=f"schedule:{entry.schedule_id}:{nominal:.6f}",
            workflow_id_reuse_policy=action.workflow_id_reuse_policy
            or WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
        )
        for name in (
            "workflow_execution_timeout",
            "workflow_run_timeout",
            "workflow_task_timeout",
            "retry_policy",
            "memo",
            "header",
            "user_metadata",
            "priority",
        ):
            if action.HasField(name):
                getattr(req, name).CopyFrom(getattr(action, name))
        req.cron_schedule = action.cron_schedule
        if record.last_completion_result:
            req.last_completion_result.MergeFromString(record.last_completion_result)
        if record.continued_failure:
            req.continued_failure.MergeFromString(record.continued_failure)
        attributes = SearchAttributes()  # stored by field: the aliases of now go into the start
        attributes.CopyFrom(self.history.search_attribute_types(entry.ns.id).to_aliases(action.search_attributes))
        attributes.indexed_fields["TemporalScheduledById"].CopyFrom(typed_payload(entry.schedule_id, SaType.KEYWORD))
        start_time = to_datetime(nominal).strftime("%Y-%m-%dT%H:%M:%SZ")
        attributes.indexed_fields["TemporalScheduledStartTime"].CopyFrom(typed_payload(start_time, SaType.DATETIME))
        req.search_attributes.CopyFrom(attributes)
        try:
            run_id, _ = await self.history.start_workflow(entry.ns, req)
        except WorkflowAlreadyStarted as error:
            log.info("schedule %s: workflow %s already running (%s)", entry.schedule_id, workflow_id, error)
            record.overlap_skipped += 1
            return
        except Exception:
            log.exception("schedule %s could not start workflow %s", entry.schedule_id, workflow_id)
            return
        if any(r.run_id == run_id for r in record.running):
            return  # this time was handled before a restart: its run is already ours
        run = RunningWorkflow(workflow_id, run_id)
        record.running.append(run)
        self._by_run[self._key(entry, run)] = (entry.namespace_id, entry.schedule_id)
        record.recent.append(
            ActionResult(
                schedule_time=nominal, actual_time=actual, workflow_id=workflow_id, run_id=run_id, status=RUNNING
            )
        )
        del record.recent[:-MAX_RECENT_ACTIONS]
        record.action_count += 1
        state = schedule.state
        if state.limited_actions and not manual:
            state.remaining_actions = max(0, state.remaining_actions - 1)

    async def _refresh_running(self, entry: ScheduleEntry) -> None:
        """Follow every started workflow's chain to its latest run, and forget the workflows whose
        chain ended (while the engine was down, or just now), keeping their outcome."""
        for run in list(entry.record.running):
            end, status = await self._chain_end(self._key(entry, run))
            if status == RUNNING:
                self._follow(entry, run, end)
            else:
                await self._remember_outcome(entry, end, status)
                self._closed(entry, run, status)

    def _running_of(self, entry: ScheduleEntry, key: ExecutionKey) -> RunningWorkflow | None:
        for run in entry.record.running:
            if run.workflow_id == key.workflow_id and run.latest == key.run_id:
                return run
        return None

    def _closed(self, entry: ScheduleEntry, run: RunningWorkflow, status: int) -> None:
        """The chain of `run` ended with a run of `status`: the action is over."""
        record = entry.record
        if run in record.running:
            record.running.remove(run)
        self._by_run.pop(self._key(entry, run), None)
        for result in record.recent:
            if result.run_id == run.run_id:
                result.status = status
        if status in _FAILED and entry.schedule.policies.pause_on_failure:
            entry.schedule.state.paused = True
            entry.schedule.state.notes = f"paused because workflow {run.workflow_id} failed"

    def _on_close(self, key: ExecutionKey, status: int) -> None:
        owner = self._by_run.get(key)
        if owner is not None:
            self._spawn(self._workflow_closed(owner, key, status))

    async def _workflow_closed(self, owner: tuple[str, str], key: ExecutionKey, status: int) -> None:
        entry = self.entries.get(owner)
        if entry is None:
            return
        async with entry.lock:
            if entry.deleted:
                return
            run = self._running_of(entry, key)
            if run is None:
                return  # already followed past this run, or forgotten
            end, status = await self._chain_end(key)
            if status == RUNNING:  # continued as new, retried, reset: the action goes on
                self._follow(entry, run, end)
                await self.save(entry)
                return
            await self._remember_outcome(entry, end, status)
            self._closed(entry, run, status)
            await self._start_buffered(entry)
            await self.save(entry)
            self.arm(entry)

    async def _remember_outcome(self, entry: ScheduleEntry, key: ExecutionKey, status: int) -> None:
        """Keep the result (or failure) of the run that ended a chain for the schedule's next
        starts, as Temporal's scheduler hands them on (`last_completion_result`, `continued_failure`)."""
        if status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED and status not in _FAILED:
            return
        try:
            run = await self.history.load(key)
            events = await self.history.history_of(run)
        except NotFound:
            return
        last = events[-1] if events else None
        if last is None:
            return
        record = entry.record
        if last.HasField("workflow_execution_completed_event_attributes"):
            completed = last.workflow_execution_completed_event_attributes
            record.last_completion_result = (
                completed.result.SerializeToString() if completed.HasField("result") else b""
            )
            record.continued_failure = b""
        elif last.HasField("workflow_execution_failed_event_attributes"):
            record.continued_failure = last.workflow_execution_failed_event_attributes.failure.SerializeToString()

    async def _start_buffered(self, entry: ScheduleEntry) -> None:
        record = entry.record
        while record.buffered and not record.running:
            if not (record.buffered[0].manual or self.acting(entry)):
                break
            start = record.buffered.pop(0)
            await self._start(entry, start.nominal, self.clock(), manual=start.manual)
