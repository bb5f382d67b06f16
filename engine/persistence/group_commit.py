"""Group commit: many concurrent `commit()` calls share one database transaction.

Callers queue an item and wait on a future. One loop takes everything queued so far (at most
`max_batch` items), hands it to the backend's `write` function, which applies the items in one
transaction and reports one outcome per item, and resolves the futures once that transaction has
committed. While one batch is being written the next one accumulates, so batches grow with load
and a lone caller pays only its own commit (natural group commit).

A backend whose write does not wait on I/O (SQLite with WAL: a commit is a write() into the
log, run on the loop) would otherwise write almost every item alone, and a transaction has a
fixed cost (locks, the WAL frame header). With `linger`, a batch that starts less than `linger`
seconds after the previous one waits for the rest of that time first: under load items share a
transaction; a lone caller, after a quiet spell or committing again and again on its own (the
previous batch held only its item), waits for nothing.

`write` returns, per item, None (durable) or the exception that item alone failed with (a
`StoreConflict`: the backend rolled back only that item). If `write` itself raises, the whole
transaction is gone, and every item of the batch fails with `StoreError`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from engine.errors import StoreError

T = TypeVar("T")

Outcome = BaseException | None
WriteBatch = Callable[[Sequence[T]], Awaitable[Sequence[Outcome]]]

DEFAULT_MAX_BATCH = 256

log = logging.getLogger("engine.persistence")


@dataclass
class CommitStats:
    """Counters since the store opened; read by tests and benchmarks."""

    commits: int = 0  # items made durable
    conflicts: int = 0  # items refused by their own precondition (or otherwise failed alone)
    errors: int = 0  # items failed because their whole batch failed
    transactions: int = 0  # database transactions attempted, one per batch
    largest_batch: int = 0


class GroupCommitter(Generic[T]):
    def __init__(self, write: WriteBatch[T], *, max_batch: int = DEFAULT_MAX_BATCH, linger: float = 0.0) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._write = write
        self._max_batch = max_batch
        self._linger = linger
        self._last_batch = 0.0  # loop time the previous batch was taken
        self._last_size = 0  # items in the previous batch
        self._queue: deque[tuple[T, asyncio.Future[None]]] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.stats = CommitStats()

    async def submit(self, item: T) -> None:
        """Queue `item` and return once it is durable; raises its own failure.

        Cancelling the caller does not withdraw an item the loop has already taken: it may still
        be written.
        """
        if self._closing:
            raise StoreError("the engine store is closing")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._wakeup.set()
        if self._task is None or self._task.done():  # first commit, or the loop was cancelled
            self._task = asyncio.create_task(self._run(), name="sundial-group-commit")
        await future

    async def close(self) -> None:
        """Refuse new items, finish every queued one, stop the loop. Safe to call twice."""
        self._closing = True
        self._wakeup.set()
        task = self._task
        if task is not None and not task.done():
            await asyncio.shield(task)
        if self._queue:  # the loop was cancelled before it could drain: nothing will write these
            leftover = list(self._queue)
            self._queue.clear()
            self._fail(leftover, "the engine store closed before committing", None)

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if self._linger:
                now = asyncio.get_running_loop().time()
                wait = self._last_batch + self._linger - now
                busy = self._last_size > 1 or len(self._queue) > 1  # more than one caller about
                if wait > 0 and busy and len(self._queue) < self._max_batch:
                    await asyncio.sleep(wait)
                self._last_batch = asyncio.get_running_loop().time()
            batch = self._take_batch()
            self._last_size = len(batch)
            if batch:
                await self._write_batch(batch)
                # Let the callers just woken run once, so those that commit again at once join
                # the next batch. A zero-length yield, not a delay.
                await asyncio.sleep(0)

    def _take_batch(self) -> list[tuple[T, asyncio.Future[None]]]:
        batch: list[tuple[T, asyncio.Future[None]]] = []
        while self._queue and len(batch) < self._max_batch:
            item, future = self._queue.popleft()
            if not future.done():  # a caller cancelled before its item was taken: skip it
                batch.append((item, future))
        return batch

    async def _write_batch(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        stats = self.stats
        stats.transactions += 1
        stats.largest_batch = max(stats.largest_batch, len(batch))
        try:
            outcomes = await self._write([item for item, _ in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"batch writer returned {len(outcomes)} outcomes for {len(batch)} items")
        except asyncio.CancelledError:
            self._fail(batch, "the engine store stopped while committing", None)
            raise
        except StoreError as exc:
            self._fail(batch, str(exc), exc.__cause__)
            return
        except Exception as exc:
            log.exception("group commit batch failed")
            self._fail(batch, f"engine store commit failed: {exc}", exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if outcome is None:
                stats.commits += 1
                if not future.done():
                    future.set_result(None)
            else:
                stats.conflicts += 1
                if not future.done():
                    future.set_exception(outcome)

    def _fail(self, batch: list[tuple[T, asyncio.Future[None]]], message: str, cause: BaseException | None) -> None:
        """Fail every item of `batch`; each caller gets its own exception (tracebacks differ)."""
        self.stats.errors += len(batch)
        for _, future in batch:
            if not future.done():
                error = StoreError(message)
                error.__cause__ = cause
                future.set_exception(error)
