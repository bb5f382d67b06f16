"""SQLite store: the embedded default.

One connection lives on one dedicated writer thread; every write is a function shipped to that
thread. SQLite allows a single writer anyway, and `commit()` gathers concurrent state transitions
into one transaction there (group commit, `group_commit.py`). Reads run on a second thread with
its own connection, so they never queue behind a batch (WAL lets them read the last commit);
an in-memory database has a single connection, so there reads share the writer thread.
WAL + `synchronous=NORMAL` survives an engine crash but may lose the last commits on power loss.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from engine.errors import ConfigError, StoreError
from engine.persistence import sqlite_executions as ops
from engine.persistence.group_commit import DEFAULT_MAX_BATCH, CommitStats, GroupCommitter, Outcome
from engine.persistence.migrations import SCHEMA_VERSION_TABLE, pending_migrations
from engine.persistence.records import (
    CurrentRun,
    ExecutionKey,
    ExecutionRow,
    HistoryBatch,
    NamespaceRecord,
    Transition,
)
from engine.persistence.store import DEFAULT_CLUSTER_NAME, ClusterMetadata
from engine.persistence.url import DatabaseUrl

T = TypeVar("T")

_BUSY_TIMEOUT = 5.0  # seconds a connection waits for another one's write lock
_PRAGMAS = (
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
)


class SqliteStore:
    def __init__(self, url: DatabaseUrl, *, commit_batch_size: int = DEFAULT_MAX_BATCH) -> None:
        self._url = url
        self._writer: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None  # touched only on the writer thread
        self._reader: ThreadPoolExecutor | None = None  # None: reads share the writer thread
        self._read_conn: sqlite3.Connection | None = None  # touched only on the reader thread
        self._commit_batch_size = commit_batch_size
        self._committer = GroupCommitter(self._write_batch, max_batch=commit_batch_size)

    @property
    def url(self) -> DatabaseUrl:
        return self._url

    @property
    def stats(self) -> CommitStats:
        return self._committer.stats

    async def open(self) -> None:
        self._committer = GroupCommitter(self._write_batch, max_batch=self._commit_batch_size)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sundial-sqlite-writer")
        try:
            self._conn = await self._run(_connect, self._url)
            if not self._url.is_memory:
                self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sundial-sqlite-reader")
                loop = asyncio.get_running_loop()
                self._read_conn = await loop.run_in_executor(self._reader, _connect_reader, self._url)
        except (sqlite3.Error, OSError) as exc:
            await self.close()
            raise ConfigError(f"cannot open engine database {self._url}: {exc}") from None
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Finish every queued commit, then close the connections and their threads."""
        await self._committer.close()
        loop = asyncio.get_running_loop()
        reader, self._reader = self._reader, None
        if reader is not None:
            await loop.run_in_executor(reader, self._close_read_connection)
            reader.shutdown(wait=False)
        writer, self._writer = self._writer, None
        if writer is None:
            return
        await loop.run_in_executor(writer, self._close_connection)
        writer.shutdown(wait=False)

    async def ping(self) -> None:
        try:
            await self.call(lambda conn: conn.execute("SELECT 1").fetchone())
        except sqlite3.Error as exc:
            raise StoreError(f"engine database {self._url} is unavailable: {exc}") from exc

    async def schema_version(self) -> int:
        return await self.call(_schema_version)

    async def cluster_metadata(self) -> ClusterMetadata:
        return await self.call(_cluster_metadata)

    # --- namespaces -------------------------------------------------------------------------

    async def create_namespace(self, record: NamespaceRecord) -> None:
        await self._write(ops.create_namespace, record)

    async def update_namespace(self, record: NamespaceRecord, *, expected_version: int) -> None:
        await self._write(ops.update_namespace, record, expected_version)

    async def get_namespace(self, *, name: str | None = None, id: str | None = None) -> NamespaceRecord | None:
        return await self._read(ops.get_namespace, name, id)

    async def list_namespaces(self, *, after_name: str, limit: int) -> list[NamespaceRecord]:
        return await self._read(ops.list_namespaces, after_name, limit)

    # --- executions -------------------------------------------------------------------------

    async def commit(self, transition: Transition) -> None:
        await self._committer.submit(transition)

    async def get_current_run(self, namespace_id: str, workflow_id: str) -> CurrentRun | None:
        return await self._read(ops.get_current_run, namespace_id, workflow_id)

    async def get_execution(self, key: ExecutionKey) -> ExecutionRow | None:
        return await self._read(ops.get_execution, key)

    async def read_history(self, key: ExecutionKey, *, from_event_id: int = 1) -> list[HistoryBatch]:
        return await self._read(ops.read_history, key, from_event_id)

    async def list_running_executions(self, *, after: ExecutionKey | None, limit: int) -> list[ExecutionRow]:
        return await self._read(ops.list_running_executions, after, limit)

    async def _write_batch(self, transitions: Sequence[Transition]) -> Sequence[Outcome]:
        return await self._write(ops.write_batch, transitions)

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)` on the writer thread; database failures become `StoreError`."""
        try:
            return await self.call(lambda conn: fn(conn, *args))
        except sqlite3.Error as exc:
            raise StoreError(f"engine database {self._url} failed: {exc}") from exc

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)` on the reader thread (the writer's for an in-memory database)."""
        if self._reader is None or self._read_conn is None:
            return await self._write(fn, *args)
        conn = self._read_conn
        try:
            return await asyncio.get_running_loop().run_in_executor(self._reader, lambda: fn(conn, *args))
        except sqlite3.Error as exc:
            raise StoreError(f"engine database {self._url} failed: {exc}") from exc

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(connection)` on the writer thread."""
        conn = self._conn
        if conn is None:
            raise StoreError("the engine store is not open")
        return await self._run(fn, conn)

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        if self._writer is None:
            raise StoreError("the engine store is not open")
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)

    def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _close_read_connection(self) -> None:
        conn, self._read_conn = self._read_conn, None
        if conn is not None:
            conn.close()


def _connect(url: DatabaseUrl) -> sqlite3.Connection:
    if not url.is_memory:
        Path(url.path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: no implicit transactions; we issue BEGIN/COMMIT ourselves.
    conn = sqlite3.connect(url.path, isolation_level=None, timeout=_BUSY_TIMEOUT)
    try:
        _enable_wal(conn)
        for pragma in _PRAGMAS:
            conn.execute(pragma)
        _migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _connect_reader(url: DatabaseUrl) -> sqlite3.Connection:
    """A second connection that only reads; opened after `_connect` has migrated the file."""
    conn = sqlite3.connect(url.path, isolation_level=None, timeout=_BUSY_TIMEOUT)
    conn.execute("PRAGMA query_only = ON")
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
