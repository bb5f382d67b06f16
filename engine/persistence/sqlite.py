"""SQLite store: the embedded default.

One connection, used on the event loop's own thread: with WAL and `synchronous=NORMAL` a commit
is a write() into the WAL (no fsync), tens of microseconds, cheaper than handing the work to a
thread and back (two context switches per call, the largest cost under load). `commit()`
gathers the transitions queued in one loop iteration into one transaction (group commit,
`group_commit.py`). The fsyncs happen in checkpoints, which a background thread runs on its own
connection (`WalCheckpointer`), so they never stall the loop. WAL + `synchronous=NORMAL` survives
an engine crash but may lose the last commits on power loss.

Another process holding the write lock makes a write answer SQLITE_BUSY at once; the store then
retries without blocking the loop, for up to `_BUSY_TIMEOUT` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, LiteralString, TypeVar

from engine.errors import ConfigError, StoreError
from engine.persistence import sqlite_access as access_ops
from engine.persistence import sqlite_executions as ops
from engine.persistence.group_commit import DEFAULT_MAX_BATCH
from engine.persistence.migrations import SCHEMA_VERSION_TABLE, pending_migrations
from engine.persistence.ops_store import OpsStore
from engine.persistence.store import DEFAULT_CLUSTER_NAME, ClusterMetadata
from engine.persistence.url import DatabaseUrl

T = TypeVar("T")

log = logging.getLogger("engine.persistence")

_BUSY_TIMEOUT = 5.0  # seconds a write keeps retrying while another connection holds the lock
_BUSY_RETRY = 0.002
_CHECKPOINT_INTERVAL = 1.0  # seconds between background WAL checkpoints
_OPTIMIZE_FIRST, _OPTIMIZE_EVERY = 10, 300  # planner statistics: 10 checkpoints in, then every 300
_PRAGMAS = (
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
)


class SqliteStore(OpsStore):
    _ops = ops
    _access_ops = access_ops

    def __init__(self, url: DatabaseUrl, *, commit_batch_size: int = DEFAULT_MAX_BATCH) -> None:
        self._conn: sqlite3.Connection | None = None  # used on the event loop's thread only
        self._checkpointer: WalCheckpointer | None = None
        # visibility queries may scan many rows: they run on a thread with their own connection
        # (WAL readers never wait for the writer), one at a time
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = asyncio.Lock()
        super().__init__(url, commit_batch_size=commit_batch_size)

    async def open(self) -> None:
        self._committer = self._new_committer()
        try:
            # connecting may wait for another engine migrating the same file: off the loop
            self._conn = await asyncio.to_thread(_connect, self._url)
            if not self._url.is_memory:
                self._checkpointer = WalCheckpointer(self._url)
        except (sqlite3.Error, OSError) as exc:
            await self.close()
            raise ConfigError(f"cannot open engine database {self._url}: {exc}") from None
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Finish every queued commit, then close the connection and stop the checkpointer."""
        await self._committer.close()
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            await asyncio.to_thread(checkpointer.stop)
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        async with self._reader_lock:
            reader, self._reader = self._reader, None
            if reader is not None:
                reader.close()

    async def query_visibility(self, sql: LiteralString, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if self._url.is_memory:  # a second connection would see another database
            return await super().query_visibility(sql, params)
        async with self._reader_lock:
            try:
                return await asyncio.to_thread(self._read, sql, params)
            except sqlite3.Error as exc:
                raise StoreError(f"engine database {self._url} failed: {exc}") from exc

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if self._conn is None:
            raise StoreError("the engine store is not open")
        if self._reader is None:
            self._reader = sqlite3.connect(self._url.path, check_same_thread=False, isolation_level=None)
            self._reader.execute("PRAGMA query_only = ON")
            self._reader.execute("PRAGMA busy_timeout = 5000")
        return ops.query_rows(self._reader, sql, params)

    async def ping(self) -> None:
        try:
            await self.call(lambda conn: conn.execute("SELECT 1").fetchone())
        except sqlite3.Error as exc:
            raise StoreError(f"engine database {self._url} is unavailable: {exc}") from exc

    async def schema_version(self) -> int:
        return await self.call(_schema_version)

    async def cluster_metadata(self) -> ClusterMetadata:
        return await self.call(_cluster_metadata)

    async def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return await self.call(lambda conn: fn(conn, *args))
        except sqlite3.Error as exc:
            raise StoreError(f"engine database {self._url} failed: {exc}") from exc

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(connection)` on the loop, retrying (without blocking) while the database is busy.

        `fn` must leave no transaction open when it raises, so that a retry starts afresh.
        """
        deadline = time.monotonic() + _BUSY_TIMEOUT
        while True:
            conn = self._conn
            if conn is None:
                raise StoreError("the engine store is not open")
            try:
                return fn(conn)
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode not in _BUSY_CODES or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(_BUSY_RETRY)


_BUSY_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


class WalCheckpointer:
    """Copies the WAL into the database file once a second, on its own thread and connection.

    The loop's connection has automatic checkpoints switched off: a checkpoint fsyncs, and an
    fsync on the loop would stall every RPC. PASSIVE never blocks the writer.

    It also keeps the query planner's statistics fresh (`ANALYZE` with a small
    `analysis_limit`: milliseconds whatever the size): without them SQLite answers a selective visibility
    query (`WorkflowId = …`) by walking the listing order's index instead of the selective one.
    """

    def __init__(self, url: DatabaseUrl, interval: float = _CHECKPOINT_INTERVAL) -> None:
        self._url = url
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sundial-sqlite-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self._url.path, isolation_level=None, timeout=_BUSY_TIMEOUT)
        ticks = 0
        try:
            conn.execute("PRAGMA analysis_limit = 400")
            while not self._stop.wait(self._interval):
                ticks += 1
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if ticks % _OPTIMIZE_EVERY == _OPTIMIZE_FIRST:
                        conn.execute("ANALYZE")  # approximate (analysis_limit): milliseconds
                except sqlite3.Error as exc:
                    log.warning("WAL checkpoint of %s failed: %s", self._url, exc)
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            log.warning("final WAL checkpoint of %s failed: %s", self._url, exc)
        finally:
            conn.close()


def _connect(url: DatabaseUrl) -> sqlite3.Connection:
    if not url.is_memory:
        Path(url.path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: no implicit transactions; we issue BEGIN/COMMIT ourselves.
    conn = sqlite3.connect(url.path, isolation_level=None, timeout=_BUSY_TIMEOUT, check_same_thread=False)
    try:
        _enable_wal(conn)
        for pragma in _PRAGMAS:
            conn.execute(pragma)
        _migrate(conn)
        # from here on the connection lives on the event loop: never wait there for a lock
        # (the store retries asynchronously), and leave checkpoints to `WalCheckpointer`
        conn.execute("PRAGMA busy_timeout = 0")
        if not url.is_memory:
            conn.execute("PRAGMA wal_autocheckpoint = 0")
    except BaseException:
        conn.close()
        raise
    return conn


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL, retrying by hand: the switch answers SQLITE_BUSY at once, without waiting
    for the busy timeout, while another engine is creating the same new database file."""
    deadline = time.monotonic() + _BUSY_TIMEOUT
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _migrate(conn: sqlite3.Connection) -> None:
    """Apply pending migrations and seed cluster metadata in one write transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(SCHEMA_VERSION_TABLE["sqlite"])
        now = datetime.now(UTC).isoformat()
        for migration in pending_migrations("sqlite", _schema_version(conn)):
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.description, now),
            )
        conn.execute(
            "INSERT OR IGNORE INTO cluster_metadata"
            " (singleton, cluster_id, cluster_name, created_at) VALUES (1, ?, ?, ?)",
            (str(uuid.uuid4()), DEFAULT_CLUSTER_NAME, now),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    return int(row[0])


def _cluster_metadata(conn: sqlite3.Connection) -> ClusterMetadata:
    row = conn.execute(
        "SELECT cluster_id, cluster_name, created_at FROM cluster_metadata WHERE singleton = 1"
    ).fetchone()
    if row is None:
        raise StoreError("engine database has no cluster metadata")
    return ClusterMetadata(row[0], row[1], datetime.fromisoformat(row[2]))
