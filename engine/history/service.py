"""The history service: applies every state change of a run atomically, then acts on it.

Each operation takes the workflow's lock, changes the cached mutable state through a
`Mutation`, commits events + state (+ current-run change) as one store transition, and only
then hands new tasks to matching, arms timers and wakes history long-polls. A failed commit
rolls the cached state back. At start-up, `recover()` rebuilds tasks and timers from the
mutable state of every running execution.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History, HistoryEvent

from engine.history.cache import LockTable, WorkflowCache, WorkflowEntry, events_from_batches
from engine.history.chain_ops import successor_of
from engine.history.errors import NotFound, WorkflowNotRunning
from engine.history.listing import visibility_row
from engine.history.mutation import DEFAULT_STICKY_SCHEDULE_TO_START, Mutation
from engine.history.state import MutableState, encode_state
from engine.matching.task_queues import KIND_ACTIVITY, KIND_WORKFLOW, Matching, QueueKey, Task
from engine.persistence.records import (
    CurrentRunWrite,
    ExecutionKey,
    HistoryBatch,
    Transition,
)
from engine.persistence.store import Store
from engine.timers.timer_queue import TimerQueue
from engine.visibility.aliases import EMPTY, CustomAttributes
from engine.visibility.index import attribute_rows

log = logging.getLogger("engine.history")

R = TypeVar("R")

RECOVERY_PAGE = 500
DRIVE_ATTEMPTS = 6  # tries of a drive before it waits for the next recovery
DEFAULT_CACHE_SIZE = 10_000  # runs kept in memory; Temporal's default host cache holds 128k


@dataclass(frozen=True)
class _Prepared:
    """A change ready for the store, and what the cache keeps once it is durable."""

    transition: Transition
    events: list[HistoryEvent]
    blob: bytes
    closing: bool


@dataclass(frozen=True)
class NamespaceRef:
    id: str
    name: str


class HistoryCore:
    """Cache, locks, commit and side effects; the operations live in the mixins below."""

    def __init__(
        self,
        store: Store,
        matching: Matching,
        *,
        clock: Callable[[], float] = time.time,
        cache_size: int = DEFAULT_CACHE_SIZE,
        suggest_continue_as_new: tuple[int, int] = (4 * 1024, 4 * 1024 * 1024),
    ) -> None:
        self.store = store
        # (events, bytes): history at which workflow tasks suggest continue-as-new
        self.suggest_continue_as_new = suggest_continue_as_new
        self.matching = matching
        self.clock = clock
        self.locks = LockTable()
        self.entries = WorkflowCache(cache_size, lambda key: self.locks.busy(key.namespace_id, key.workflow_id))
        self.timers = TimerQueue(self._on_timer, clock=clock)
        # told of every run that closes (key, status) once the close is durable: schedules
        self.close_listeners: list[Callable[[ExecutionKey, int], None]] = []
        # a namespace's custom search attributes (alias → type, and stored fields); the
        # frontend's registry sets it
        self.search_attribute_types: Callable[[str], CustomAttributes] = lambda namespace_id: EMPTY
        # work on other runs in flight (`drive`): a child to start, a signal to deliver, …
        self.background: set[asyncio.Task[None]] = set()

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await self.recover()
        self.timers.start()

    async def stop(self) -> None:
        await self.timers.stop()
        for task in list(self.background):
            task.cancel()  # recorded in committed state: `recover()` drives it again
        await asyncio.gather(*self.background, return_exceptions=True)

    async def recover(self) -> None:
        """Re-offer every dispatchable task and re-arm every deadline of the running runs."""
        after: ExecutionKey | None = None
        count = 0
        while True:
            rows = await self.store.list_running_executions(after=after, limit=RECOVERY_PAGE)
            for row in rows:
                entry = WorkflowEntry.from_row(row)
                self.entries[row.key] = entry
                self.rearm(entry)
                self.redrive(entry)
                count += 1
            if len(rows) < RECOVERY_PAGE:
                break
            after = rows[-1].key
        if count:
            log.info("recovered %d running workflow executions", count)

    # --- polls ----------------------------------------------------------------------------

    async def poll_task(
        self,
        queue: QueueKey,
        *,
        identity: str,
        timeout: float,
        record: Callable[[Task], Awaitable[R | None]],
    ) -> R | None:
        """Long-poll `queue` until `record` turns a task into a started one (it answers None for
        a stale task, left behind by a run that moved on: the poll goes on), or time is up."""
        deadline = self.clock() + timeout
        while True:
            remaining = deadline - self.clock()
            if remaining <= 0:
                return None
            task = await self.matching.poll(queue, timeout=remaining, identity=identity)
            if task is None:
                return None
            response = await record(task)
            if response is not None:
                return response

    # --- cache ----------------------------------------------------------------------------

    async def load(self, key: ExecutionKey) -> WorkflowEntry:
        entry = self.entries.get(key)
        if entry is None:
            row = await self.store.get_execution(key)
            if row is None:
                raise NotFound(
                    f"workflow execution not found for workflow id {key.workflow_id!r} and run id {key.run_id!r}"
                )
            entry = self.entries.get(key)  # someone else may have loaded it meanwhile: keep theirs
            if entry is None:
                entry = self.entries[key] = WorkflowEntry.from_row(row)
        return entry

    async def read(self, key: ExecutionKey) -> WorkflowEntry:
        """The run for a reader that does not take the workflow lock: never mid-commit."""
        entry = await self.load(key)
        await entry.settled()
        return entry

    async def resolve(self, namespace: NamespaceRef, execution: WorkflowExecution) -> ExecutionKey:
        """The run an execution names: its run id, or the current run of its workflow id."""
        if execution.run_id:
            try:
                uuid.UUID(execution.run_id)
            except ValueError:
                from engine.history.errors import InvalidArgument

                raise InvalidArgument(f"invalid run id {execution.run_id!r}: not a UUID") from None
            return ExecutionKey(namespace.id, execution.workflow_id, execution.run_id)
        current = await self.store.get_current_run(namespace.id, execution.workflow_id)
        if current is None:
            raise NotFound(f"workflow execution not found for workflow id {execution.workflow_id!r}")
        return ExecutionKey(namespace.id, execution.workflow_id, current.run_id)

    async def history_of(self, entry: WorkflowEntry) -> list[HistoryEvent]:
        while entry.events is None:
            await entry.settled()
            version = entry.db_version
            events = events_from_batches(await self.store.read_history(entry.key))
            if entry.events is None and entry.db_version == version and not entry.committing:
                entry.events = events  # else a commit landed while reading: read again
        return entry.events

    @staticmethod
    def require_running(entry: WorkflowEntry) -> MutableState:
        if not entry.state.running:
            raise WorkflowNotRunning("workflow execution already completed")
        return entry.state

    # --- commit ---------------------------------------------------------------------------

    async def commit(
        self,
        entry: WorkflowEntry,
        m: Mutation,
        *,
        create: bool = False,
        current: CurrentRunWrite | None = None,
        linked: Sequence[tuple[WorkflowEntry, Mutation]] = (),
    ) -> None:
        """Write `m` (and the `linked` changes of other runs of the workflow, whose lock the
        caller holds) in one transaction, then act on it."""
        if m.successor is not None:  # the run closes into the next run of its chain: one transaction
            start = (await self.history_of(entry))[0]
            custom = self.search_attribute_types(entry.key.namespace_id)
            successor, first, write = successor_of(entry, m, start, custom)
            m.successor = None
            self.entries[successor.key] = successor
            await self.commit(successor, first, create=True, current=write, linked=[(entry, m), *linked])
            return
        prepared = self._prepare(entry, m, create=create, current=current)
        others = [(e, lm, self._prepare(e, lm, create=False, current=None)) for e, lm in linked]
        transition = prepared.transition
        if others:
            transition = replace(transition, linked=tuple(p.transition for _, _, p in others))
        for e in (entry, *(e for e, _, _ in others)):
            e.committing = True
        try:
            await self.store.commit(transition)
        except BaseException:
            for e in (entry, *(e for e, _, _ in others)):
                e.committing = False
                if create and e is entry:
                    self.entries.pop(e.key, None)
                else:
                    e.rollback()
                e.notify()
            raise
        self._committed(entry, m, prepared, create=create)
        for e, lm, p in others:
            self._committed(e, lm, p, create=False)

    def _prepare(
        self, entry: WorkflowEntry, m: Mutation, *, create: bool, current: CurrentRunWrite | None
    ) -> _Prepared:
        state = m.state
        m.finish()
        history = None
        events = [*entry.unsaved, *m.events] if entry.unsaved else m.events
        if events:
            history = HistoryBatch(events[0].event_id, events[-1].event_id, History(events=events).SerializeToString())
            state.history_size_bytes += len(history.data)
        closing = m.was_running and not state.running
        state.state_transition_count += 1
        visibility = None
        if create or closing or m.visibility_changed or m.attributes_changed:
            rows = None
            if m.attributes_changed or (create and state.search_attributes):
                by_field = self.search_attribute_types(state.namespace_id).by_field
                rows = attribute_rows(state.search_attributes, by_field)
            visibility = visibility_row(state, rows)
        blob = encode_state(state)
        current_status = None
        if not create and closing and current is None:
            current_status = (False, state.status)
        transition = Transition(
            key=entry.key,
            state=blob,
            next_event_id=state.next_event_id,
            expected_db_version=0 if create else entry.db_version,
            running=state.running,
            history=history,
            current=current,
            current_status=current_status,
            visibility=visibility,
        )
        return _Prepared(transition, events, blob, closing)

    def _committed(self, entry: WorkflowEntry, m: Mutation, prepared: _Prepared, *, create: bool) -> None:
        entry.committing = False
        entry.blob = prepared.blob
        entry.db_version = 1 if create else entry.db_version + 1
        entry.unsaved, entry.deferred_blob = [], b""
        if entry.events is not None:
            entry.events.extend(prepared.events)
        elif create:
            entry.events = list(prepared.events)
        self.apply_effects(entry, m)
        if prepared.closing:
            for listener in self.close_listeners:
                listener(entry.key, entry.state.status)

    def defer(self, entry: WorkflowEntry, m: Mutation) -> None:
        """Apply `m` in memory only; the run's next commit writes its state and events.

        For a change that a crash may safely forget: a workflow task handed to a worker (after a
        restart the task is simply handed out again, as if the first worker had never polled).
        It saves a commit on the poll's path; readers of history see its events once written.
        """
        m.finish()
        entry.unsaved.extend(m.events)
        entry.deferred_blob = encode_state(entry.state)
        self.apply_effects(entry, m, notify=False)  # no reader can see anything new yet

    def apply_effects(self, entry: WorkflowEntry, m: Mutation, *, notify: bool = True) -> None:
        state = entry.state
        effects = m.effects
        if effects.dispatch_workflow_task and state.workflow_task is not None:
            self.offer_workflow_task(entry)
        for scheduled_id, attempt in effects.dispatch_activities:
            info = state.activities.get(scheduled_id)
            if info is not None and info.attempt == attempt and not info.started:
                self.matching.offer(
                    QueueKey(entry.key.namespace_id, info.task_queue, KIND_ACTIVITY),
                    Task(entry.key, scheduled_id, attempt),
                )
        for when, payload in effects.timers:
            self.timers.schedule(when, (entry.key, *payload))
        for work in effects.cross_run:
            self.drive(entry.key, work)
        if notify:
            entry.notify()

    def offer_workflow_task(self, entry: WorkflowEntry) -> None:
        wft = entry.state.workflow_task
        if wft is None or wft.started_event_id:
            return
        if entry.state.first_workflow_task_time > self.clock():
            self.timers.schedule(
                entry.state.first_workflow_task_time, (entry.key, "workflow_task_dispatch", wft.scheduled_event_id)
            )
            return
        queue = wft.task_queue
        if wft.sticky and self.matching.is_dead(QueueKey(entry.key.namespace_id, queue, KIND_WORKFLOW)):
            queue = entry.state.task_queue  # its worker shut down: any worker of the normal queue may take it
        self.matching.offer(
            QueueKey(entry.key.namespace_id, queue, KIND_WORKFLOW),
            Task(entry.key, wft.scheduled_event_id, wft.attempt),
        )

    def drive(self, key: ExecutionKey, work: tuple[Any, ...]) -> None:
        """Do work on other runs for the run `key` in the background: `drive_<kind>(key, *args)`.
        The work is recorded in the run's committed state and every drive is idempotent, so a
        drive that fails or is cut short by a crash is simply driven again (`redrive`)."""
        kind, *args = work
        handler = getattr(self, f"drive_{kind}")
        task = asyncio.get_running_loop().create_task(self._drive(handler, key, args))
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _drive(self, handler: Callable[..., Awaitable[None]], key: ExecutionKey, args: list[Any]) -> None:
        for attempt in range(DRIVE_ATTEMPTS):
            try:
                await handler(key, *args)
                return
            except Exception:
                log.exception("%s for %s failed (attempt %d)", handler.__name__, key, attempt + 1)
                await asyncio.sleep(0.05 * 2**attempt)

    def redrive(self, entry: WorkflowEntry) -> None:
        """After recovery: drive again the work on other runs that the run's state records (the
        mixins that record such work extend this)."""

    def rearm(self, entry: WorkflowEntry) -> None:
        """After recovery: offer what is dispatchable and arm every deadline from the state."""
        state, key, now = entry.state, entry.key, self.clock()
        wft = state.workflow_task
        if wft is not None:
            if wft.started_event_id:
                self.timers.schedule(
                    wft.started_time + wft.start_to_close_timeout,
                    (key, "workflow_task_timeout", wft.scheduled_event_id, wft.started_event_id),
                )
            else:
                self.offer_workflow_task(entry)
                if wft.sticky:
                    timeout = state.sticky_schedule_to_start_timeout or DEFAULT_STICKY_SCHEDULE_TO_START
                    self.timers.schedule(wft.scheduled_time + timeout, (key, "sticky_timeout", wft.scheduled_event_id))
        for timer in state.timers.values():
            self.timers.schedule(timer.expiry_time, (key, "user_timer", timer.timer_id, timer.started_event_id))
        if state.run_expiration_time:  # workflow_timeouts.py
            self.timers.schedule(state.run_expiration_time, (key, "run_timeout", state.run_expiration_time))
        for scheduled_id, info in state.activities.items():
            if info.schedule_to_close_timeout:
                self.timers.schedule(
                    info.scheduled_time + info.schedule_to_close_timeout,
                    (key, "activity_timeout", scheduled_id, 0, "schedule_to_close"),
                )
            if info.started:
                if info.start_to_close_timeout:
                    self.timers.schedule(
                        info.started_time + info.start_to_close_timeout,
                        (key, "activity_timeout", scheduled_id, info.attempt, "start_to_close"),
                    )
                if info.heartbeat_timeout:
                    last = max(info.last_heartbeat_time, info.started_time)
                    self.timers.schedule(
                        last + info.heartbeat_timeout,
                        (key, "activity_timeout", scheduled_id, info.attempt, "heartbeat"),
                    )
            elif info.attempt_scheduled_time > now:
                self.timers.schedule(
                    info.attempt_scheduled_time, (key, "activity_dispatch", scheduled_id, info.attempt)
                )
            else:
                self.matching.offer(
                    QueueKey(key.namespace_id, info.task_queue, KIND_ACTIVITY), Task(key, scheduled_id, info.attempt)
                )
                if info.schedule_to_start_timeout:
                    self.timers.schedule(
                        info.attempt_scheduled_time + info.schedule_to_start_timeout,
                        (key, "activity_timeout", scheduled_id, info.attempt, "schedule_to_start"),
                    )

    # --- timers ---------------------------------------------------------------------------

    async def _on_timer(self, payload: tuple[Any, ...]) -> None:
        key, kind, *args = payload
        handler = getattr(self, f"fire_{kind}", None)
        if handler is None:
            log.error("unknown timer kind %r", kind)
            return
        cached = self.entries.peek(key)
        if cached is not None and not cached.state.running and not cached.committing:
            return  # most deadlines outlive their run (task timeouts): no lock, no load
        async with self.locks.hold(key.namespace_id, key.workflow_id):
            try:
                entry = await self.load(key)
            except NotFound:
                return
            if not entry.state.running:
                return
            await handler(entry, *args)

    async def fire_workflow_task_dispatch(self, entry: WorkflowEntry, scheduled_id: int) -> None:
        wft = entry.state.workflow_task
        if wft is not None and wft.scheduled_event_id == scheduled_id and not wft.started_event_id:
            self.matching.offer(
                QueueKey(entry.key.namespace_id, wft.task_queue, KIND_WORKFLOW),
                Task(entry.key, wft.scheduled_event_id, wft.attempt),
            )

    async def fire_user_timer(self, entry: WorkflowEntry, timer_id: str, started_event_id: int) -> None:
        timer = entry.state.timers.get(timer_id)
        if timer is None or timer.started_event_id != started_event_id:
            return  # cancelled, or a newer timer reuses the id
        m = Mutation(entry.state, self.clock())
        del m.state.timers[timer_id]
        m.add_or_buffer(EventType.EVENT_TYPE_TIMER_FIRED, timer_id=timer_id, started_event_id=started_event_id)
        await self.commit(entry, m)


def execution_of(key: ExecutionKey) -> WorkflowExecution:
    return WorkflowExecution(workflow_id=key.workflow_id, run_id=key.run_id)
