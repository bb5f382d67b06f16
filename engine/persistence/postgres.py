"""PostgreSQL store: asyncpg with a connection pool.

asyncpg rather than psycopg (which the control plane uses through Django): its protocol and
codecs run in C and it keeps each connection registered with the loop, so a statement costs
the engine ~35-60 µs of CPU instead of ~115 µs (measured in docs/performance.md), and the
store sits on the hot path of every workflow.

Migrations run on a dedicated first connection, so an unreachable server surfaces as the driver's
own reason ("connection refused") rather than as a pool timeout. Several engine processes may
share one database: the migration transaction holds an advisory lock so they never race.
`commit()` gathers concurrent transitions into one transaction on one pooled connection (group
commit, `group_commit.py`; the SQL in `postgres_executions.py`); reads take any pooled connection.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg

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
        self._pool: Any = None  # asyncpg.Pool
        self._committer = GroupCommitter(self._write_batch, max_batch=commit_batch_size, linger=_COMMIT_LINGER)

    @property
    def url(self) -> DatabaseUrl:
        return self._url

    @property
    def stats(self) -> CommitStats:
        return self._committer.stats

    @property
    def pool(self) -> Any:
        if self._pool is None:
            raise StoreError("the engine store is not open")
        return self._pool

    async def open(self) -> None:
        self._committer = GroupCommitter(self._write_batch, max_batch=self._commit_batch_size, linger=_COMMIT_LINGER)
        await self._migrate()
        try:
            self._pool = await asyncpg.create_pool(
                self._url.raw,
                min_size=self._pool_min_size,
                max_size=self._pool_max_size,
                timeout=self._connect_timeout,
                statement_cache_size=256,
            )
        except _FAILURES as exc:
            raise ConfigError(f"cannot connect to engine database {self._url}: {describe_error(exc)}") from None

    async def close(self) -> None:
        """Finish every queued commit, then close the pool."""
        await self._committer.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def ping(self) -> None:
        try:
            async with self.pool.acquire(timeout=self._connect_timeout) as conn:
                await conn.fetchval("SELECT 1")
        except _FAILURES as exc:
            raise StoreError(f"engine database {self._url} is unavailable: {describe_error(exc)}") from exc

    async def schema_version(self) -> int:
        return await self._with_connection(_schema_version)

    async def cluster_metadata(self) -> ClusterMetadata:
        row = await self._with_connection(_fetch_cluster_metadata)
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
            async with self.pool.acquire(timeout=self._connect_timeout) as conn:
                return await fn(conn, *args)
        except _FAILURES as exc:
            raise StoreError(f"engine database {self._url} failed: {describe_error(exc)}") from exc

    async def _migrate(self) -> None:
        try:
            conn = await asyncpg.connect(self._url.raw, timeout=self._connect_timeout)
        except _FAILURES as exc:
            raise ConfigError(f"cannot connect to engine database {self._url}: {describe_error(exc)}") from None
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK_KEY)
                await conn.execute(SCHEMA_VERSION_TABLE["postgresql"])
                for migration in pending_migrations("postgresql", await _schema_version(conn)):
                    for statement in migration.statements:
                        await conn.execute(statement)
                    await conn.execute(
                        "INSERT INTO schema_version (version, description) VALUES ($1, $2)",
                        migration.version,
                        migration.description,
                    )
                await conn.execute(
                    "INSERT INTO cluster_metadata (singleton, cluster_id, cluster_name, created_at)"
                    " VALUES (1, $1, $2, now()) ON CONFLICT (singleton) DO NOTHING",
                    str(uuid.uuid4()),
                    DEFAULT_CLUSTER_NAME,
                )
        except _DRIVER_ERRORS as exc:
            raise ConfigError(f"cannot migrate engine database {self._url}: {describe_error(exc)}") from None
        finally:
            await conn.close()


# What asyncpg raises: server errors (PostgresError) and client-side ones (InterfaceError,
# e.g. a connection that died); OSError and timeouts are caught alongside.
_DRIVER_ERRORS: tuple[type[Exception], ...] = (asyncpg.PostgresError, asyncpg.InterfaceError)
_FAILURES: tuple[type[Exception], ...] = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


async def _schema_version(conn: Any) -> int:
    return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))


async def _fetch_cluster_metadata(conn: Any) -> Any:
    return await conn.fetchrow("SELECT cluster_id, cluster_name, created_at FROM cluster_metadata WHERE singleton = 1")


def describe_error(exc: BaseException) -> str:
    """The driver's reason in one short line, e.g. 'connection refused'."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror
    if reason[:1].isupper() and reason[1:2].islower():
        reason = reason[0].lower() + reason[1:]
    return reason
