"""PostgreSQL store: psycopg 3 async with a connection pool.

Migrations run on a dedicated first connection, so an unreachable server surfaces as the driver's
own reason ("connection refused") rather than as a pool timeout. Several engine processes may
share one database: the migration transaction holds an advisory lock so they never race.
`commit()` gathers concurrent transitions into one transaction on one pooled connection (group
commit, `group_commit.py`; the SQL in `postgres_executions.py`); reads take any pooled connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from engine.errors import ConfigError, StoreError
from engine.persistence import postgres_executions as ops
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

# pg_advisory_xact_lock key held while migrating ("SUNDIAL" in ASCII).
_MIGRATION_LOCK_KEY = 0x53554E4449414C
_COMMIT_LINGER = 0.001  # under load, gather commits for up to 1 ms into one transaction


class PostgresStore:
    def __init__(
        self,
        url: DatabaseUrl,
        *,
        pool_min_size: int = 1,
        pool_max_size: int = 10,
        connect_timeout: float = 5.0,
        commit_batch_size: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self._url = url
        self._pool_min_size = pool_min_size
        self._pool_max_size = pool_max_size
        self._connect_timeout = connect_timeout
        self._commit_batch_size = commit_batch_size
        self._pool: AsyncConnectionPool | None = None
        self._committer = GroupCommitter(self._write_batch, max_batch=commit_batch_size, linger=_COMMIT_LINGER)

    @property
    def url(self) -> DatabaseUrl:
        return self._url

    @property
    def stats(self) -> CommitStats:
        return self._committer.stats

    @property
    def pool(self) -> AsyncConnectionPool:
        if self._pool is None:
            raise StoreError("the engine store is not open")
        return self._pool

    async def open(self) -> None:
        self._committer = GroupCommitter(self._write_batch, max_batch=self._commit_batch_size, linger=_COMMIT_LINGER)
        await self._migrate()
        pool = AsyncConnectionPool(
            self._url.raw,
            min_size=self._pool_min_size,
            max_size=self._pool_max_size,
            kwargs={"autocommit": True},
            open=False,
            name="sundial-engine",
        )
        try:
            await pool.open(wait=True, timeout=self._connect_timeout)
        except PoolTimeout:
            await pool.close()
            raise ConfigError(f"cannot connect to engine database {self._url}: connection pool timed out") from None
        self._pool = pool

    async def close(self) -> None:
        """Finish every queued commit, then close the pool."""
        await self._committer.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def ping(self) -> None:
        try:
            async with self.pool.connection() as conn:
                await conn.execute("SELECT 1")
        except (psycopg.Error, PoolTimeout) as exc:
            raise StoreError(f"engine database {self._url} is unavailable: {exc}") from exc

    async def schema_version(self) -> int:
        async with self.pool.connection() as conn:
            return await _schema_version(conn)

    async def cluster_metadata(self) -> ClusterMetadata:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT cluster_id, cluster_name, created_at FROM cluster_metadata WHERE singleton = 1"
            )
            row = await cur.fetchone()
        if row is None:
            raise StoreError("engine database has no cluster metadata")
        return ClusterMetadata(row[0], row[1], row[2])

    # --- namespaces -------------------------------------------------------------------------

    async def create_namespace(self, record: NamespaceRecord) -> None:
        await self._with_connection(ops.create_namespace, record)

    async def update_namespace(self, record: NamespaceRecord, *, expected_version: int) -> None:
        await self._with_connection(ops.update_namespace, record, expected_version)

    async def get_namespace(self, *, name: str | None = None, id: str | None = None) -> NamespaceRecord | None:
        return await self._with_connection(ops.get_namespace, name, id)

    async def list_namespaces(self, *, after_name: str, limit: int) -> list[NamespaceRecord]:
        return await self._with_connection(ops.list_namespaces, after_name, limit)

    # --- executions -------------------------------------------------------------------------

    async def commit(self, transition: Transition) -> None:
        await self._committer.submit(transition)

    async def get_current_run(self, namespace_id: str, workflow_id: str) -> CurrentRun | None:
        return await self._with_connection(ops.get_current_run, namespace_id, workflow_id)

    async def get_execution(self, key: ExecutionKey) -> ExecutionRow | None:
        return await self._with_connection(ops.get_execution, key)

    async def read_history(self, key: ExecutionKey, *, from_event_id: int = 1) -> list[HistoryBatch]:
        return await self._with_connection(ops.read_history, key, from_event_id)

    async def list_running_executions(self, *, after: ExecutionKey | None, limit: int) -> list[ExecutionRow]:
        return await self._with_connection(ops.list_running_executions, after, limit)

    async def _write_batch(self, transitions: Sequence[Transition]) -> Sequence[Outcome]:
        return await self._with_connection(ops.write_batch, transitions)

    async def _with_connection(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run `fn(connection, *args)` on a pooled connection; database failures become `StoreError`."""
        try:
            async with self.pool.connection() as conn:
                return await fn(conn, *args)
        except (psycopg.Error, PoolTimeout) as exc:
            raise StoreError(f"engine database {self._url} failed: {describe_error(exc)}") from exc

    async def _migrate(self) -> None:
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._url.raw, autocommit=True, connect_timeout=max(1, round(self._connect_timeout))
            )
        except psycopg.Error as exc:
            raise ConfigError(f"cannot connect to engine database {self._url}: {describe_error(exc)}") from None
        try:
            async with conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_KEY,))
                await conn.execute(SCHEMA_VERSION_TABLE["postgresql"])
                for migration in pending_migrations("postgresql", await _schema_version(conn)):
                    for statement in migration.statements:
                        await conn.execute(statement)
                    await conn.execute(
                        "INSERT INTO schema_version (version, description) VALUES (%s, %s)",
                        (migration.version, migration.description),
                    )
                await conn.execute(
                    "INSERT INTO cluster_metadata (singleton, cluster_id, cluster_name, created_at)"
                    " VALUES (1, %s, %s, now()) ON CONFLICT (singleton) DO NOTHING",
                    (str(uuid.uuid4()), DEFAULT_CLUSTER_NAME),
                )
        except psycopg.Error as exc:
            raise ConfigError(f"cannot migrate engine database {self._url}: {describe_error(exc)}") from None


async def _schema_version(conn: psycopg.AsyncConnection[TupleRow]) -> int:
    cur = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
    row = await cur.fetchone()
    return int(row[0]) if row is not None else 0


def describe_error(exc: psycopg.Error) -> str:
    """libpq's reason in one short line, e.g. 'connection refused'.

    libpq messages look like 'connection failed: connection to server at "h", port 1 failed:
    Connection refused' followed by hint lines; keep the last clause of the first line.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    reason = first.rsplit(" failed: ", 1)[-1]
    reason = reason.removeprefix("connection failed: ").removeprefix("FATAL:").strip()
    if reason[:1].isupper() and reason[1:2].islower():
        reason = reason[0].lower() + reason[1:]
    return reason
