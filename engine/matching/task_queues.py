"""In-memory task queues with long-poll hand-off (sync match).

A task offered while a poller waits goes straight to that poller; otherwise it waits in the
queue's backlog. The backlog is a cache: after a restart, history re-offers every dispatchable
task from the runs' mutable state, so nothing here needs to be durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field

from engine.persistence.records import ExecutionKey

KIND_WORKFLOW = 1  # temporal.api.enums.v1.TaskQueueType values
KIND_ACTIVITY = 2
POLLER_TTL = 300.0  # a poller is listed for 5 minutes after its last poll, as in Temporal


@dataclass(frozen=True)
class QueueKey:
    namespace_id: str
    name: str
    kind: int


@dataclass(frozen=True)
class Task:
    """A reference to a dispatchable task; history checks it is still current when a poller takes it."""

    key: ExecutionKey
    scheduled_event_id: int
    attempt: int
    query_id: str = ""  # set for a legacy query task
    created: float = field(default_factory=time.time, compare=False)


@dataclass
class PollerInfo:
    identity: str
    last_access_time: float


class TaskQueue:
    def __init__(self) -> None:
        self.backlog: deque[Task] = deque()
        self.waiters: deque[asyncio.Future[Task]] = deque()
        self.pollers: dict[str, PollerInfo] = {}

    def offer(self, task: Task, *, front: bool = False) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(task)
                return
        if front:
            self.backlog.appendleft(task)
        else:
            self.backlog.append(task)


class Matching:
    def __init__(self) -> None:
        self._queues: dict[QueueKey, TaskQueue] = {}
        self._dead: set[QueueKey] = set()  # sticky queues whose worker said it shut down

    def mark_dead(self, key: QueueKey) -> list[Task]:
        """A sticky queue's worker is gone: forget the queue; return the tasks it held."""
        self._dead.add(key)
        queue = self._queues.pop(key, None)
        if queue is None:
            return []
        for waiter in queue.waiters:
            waiter.cancel()
        return list(queue.backlog)

    def is_dead(self, key: QueueKey) -> bool:
        return key in self._dead

    def queue(self, key: QueueKey) -> TaskQueue:
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = TaskQueue()
        return queue

    def offer(self, key: QueueKey, task: Task) -> None:
        self.queue(key).offer(task)

    async def poll(self, key: QueueKey, *, timeout: float, identity: str = "") -> Task | None:
        """The next task of the queue, waiting up to `timeout` seconds; None when none came."""
        self._dead.discard(key)  # a poller is back
        queue = self.queue(key)
        queue.pollers[identity] = PollerInfo(identity, time.time())
        if queue.backlog:
            return queue.backlog.popleft()
        waiter: asyncio.Future[Task] = asyncio.get_running_loop().create_future()
        queue.waiters.append(waiter)
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            # a task may have arrived in the same instant the wait timed out
            return waiter.result() if waiter.done() and not waiter.cancelled() else None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                queue.offer(waiter.result(), front=True)  # the poller left after the hand-off
            raise
        finally:
            if not waiter.done():
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    queue.waiters.remove(waiter)

    def pollers(self, key: QueueKey, *, within: float = POLLER_TTL) -> list[PollerInfo]:
        """Who polled the queue in the last `within` seconds, most recent first."""
        queue = self._queues.get(key)
        if queue is None:
            return []
        cutoff = time.time() - within
        recent = [p for p in queue.pollers.values() if p.last_access_time >= cutoff]
        return sorted(recent, key=lambda p: p.last_access_time, reverse=True)

    def backlog(self, key: QueueKey) -> tuple[int, float]:
        """(tasks waiting for a poller, seconds the oldest has waited). Tasks a run has since
        moved past are counted until a poller meets and drops them."""
        queue = self._queues.get(key)
        if queue is None or not queue.backlog:
            return 0, 0.0
        return len(queue.backlog), max(0.0, time.time() - queue.backlog[0].created)

    def backlog_size(self, key: QueueKey) -> int:
        queue = self._queues.get(key)
        return len(queue.backlog) if queue else 0
