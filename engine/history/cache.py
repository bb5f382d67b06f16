"""The in-memory side of runs: cached mutable state and history, and per-workflow locks.

The cache is authoritative only while it matches the store: every change goes through a
commit that checks `db_version`, and a failed commit reloads the entry from its last
committed bytes.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.history.v1 import History, HistoryEvent

from engine.history.state import MutableState, decode_state
from engine.persistence.records import ExecutionKey, ExecutionRow, HistoryBatch


@dataclass
class WorkflowEntry:
    key: ExecutionKey
    state: MutableState
    blob: bytes  # the last committed encoding of `state`
    db_version: int
    events: list[HistoryEvent] | None = None  # the run's history once loaded
    waiters: list[asyncio.Future[None]] = field(default_factory=list)  # woken by every change
    close_waiters: list[asyncio.Future[None]] = field(default_factory=list)  # woken when the run closes
    queries: dict[str, Any] = field(default_factory=dict)  # query id → PendingQuery (memory only)
    updates: dict[str, Any] = field(default_factory=dict)  # update id → PendingUpdate, admitted (memory only)
    # True while a commit is in flight: `state` already holds the change, `events` not yet
    committing: bool = False
    # A change kept in memory only (a workflow task handed to a worker): `state` holds it, its
    # events wait in `unsaved`; the run's next commit writes both. Lost in a crash, which then
    # looks to the run as if the task had never been handed out.
    unsaved: list[HistoryEvent] = field(default_factory=list)
    deferred_blob: bytes = b""  # the encoding of `state` with the deferred change: what a rollback keeps

    @classmethod
    def from_row(cls, row: ExecutionRow) -> WorkflowEntry:
        return cls(row.key, decode_state(row.state), row.state, row.db_version)

    @property
    def deferred(self) -> bool:
        return bool(self.deferred_blob)

    def rollback(self) -> None:
        """Undo an uncommitted change: back to the last committed state, deferred change included."""
        self.state = decode_state(self.deferred_blob or self.blob)

    def notify(self) -> None:
        waiters, self.waiters = self.waiters, []
        if self.close_waiters and not self.state.running:
            waiters += self.close_waiters
            self.close_waiters = []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def settled(self) -> None:
        """Wait out an in-flight commit, so that state and events agree (for lock-free readers)."""
        while self.committing:
            await self.wait_for_change(60.0)

    async def wait_for_change(self, timeout: float) -> bool:
        return await _wait(self.waiters, timeout)

    async def wait_for_close(self, timeout: float) -> bool:
        """Wait until the run closes (or a commit fails); cheaper for a result long poll than
        waking at every change of a running workflow."""
        return await _wait(self.close_waiters, timeout)


async def _wait(waiters: list[asyncio.Future[None]], timeout: float) -> bool:
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiters.append(waiter)
    try:
        await asyncio.wait_for(waiter, timeout)
        return True
    except TimeoutError:
        return False
    finally:
        if waiter in waiters:
            waiters.remove(waiter)


def events_from_batches(batches: list[HistoryBatch]) -> list[HistoryEvent]:
    events: list[HistoryEvent] = []
    for batch in batches:
        events.extend(History.FromString(batch.data).events)
    return events


class WorkflowCache:
    """Cached runs, least recently used first out once there are more than `capacity`.

    A run is never evicted while someone uses it (its workflow lock is held or awaited, a
    history long poll or a query waits on it): two live copies of one run would fight over its
    `db_version`; nor while it holds a deferred change the store does not have. Evicting is
    otherwise always safe: the store has everything.
    """

    def __init__(self, capacity: int, in_use: Callable[[ExecutionKey], bool]) -> None:
        self.capacity = capacity
        self._in_use = in_use
        self._entries: OrderedDict[ExecutionKey, WorkflowEntry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: ExecutionKey) -> WorkflowEntry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def peek(self, key: ExecutionKey) -> WorkflowEntry | None:
        """The cached entry, without making it the most recently used."""
        return self._entries.get(key)

    def __setitem__(self, key: ExecutionKey, entry: WorkflowEntry) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        if len(self._entries) > self.capacity:
            self._evict()

    def pop(self, key: ExecutionKey, default: WorkflowEntry | None = None) -> WorkflowEntry | None:
        return self._entries.pop(key, default)

    def _evict(self) -> None:
        excess = len(self._entries) - self.capacity
        for key in list(self._entries)[: excess * 2 + 8]:  # look a little past the excess
            if excess <= 0:
                return
            entry = self._entries[key]
            if entry.deferred or entry.waiters or entry.close_waiters or entry.queries or self._in_use(key):
                continue
            del self._entries[key]
            excess -= 1


class LockTable:
    """One asyncio lock per (namespace id, workflow id), dropped when nobody holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    def busy(self, namespace_id: str, workflow_id: str) -> bool:
        return (namespace_id, workflow_id) in self._locks

    @asynccontextmanager
    async def hold(self, namespace_id: str, workflow_id: str) -> AsyncIterator[None]:
        key = (namespace_id, workflow_id)
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
