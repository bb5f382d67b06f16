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

import uuid
from typing import Any, TypeVar

import asyncpg

from engine.errors import ConfigError, StoreError
from engine.persistence import postgres_access as access_ops
from engine.persistence import postgres_executions as ops
from engine.persistence.group_commit import DEFAULT_MAX_BATCH
from engine.persistence.migrations import SCHEMA_VERSION_TABLE, pending_migrations
from engine.persistence.ops_store import OpsStore
from engine.persistence.store import DEFAULT_CLUSTER_NAME, ClusterMetadata
from engine.persistence.url import DatabaseUrl

T = TypeVar("T")

# pg_advisory_xact_lock key held while migrating ("SUNDIAL" in ASCII).
_MIGRATION_LOCK_KEY = 0x53554E4449414C


class PostgresStore(OpsStore):
    _ops = ops
    _access_ops = access_ops

    def __init__(
        self,
        url: DatabaseUrl,
        *,
        pool_min_size: int = 1,
        pool_max_size: int = 10,
        connect_timeout: float = 5.0,
        commit_batch_size: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self._pool_min_size = pool_min_size
        self._pool_max_size = pool_max_size
        self._connect_timeout = connect_timeout
        self._pool: Any = None  # asyncpg.Pool
        super().__init__(url, commit_batch_size=commit_batch_size)

    @property
    def pool(self) -> Any:
        if self._pool is None:
            raise StoreError("the engine store is not open")
        return self._pool

    async def open(self) -> None:
        self._committer = self._new_committer()
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
        return int(await self._call(_schema_version))

    async def cluster_metadata(self) -> ClusterMetadata:
        row = await self._call(_fetch_cluster_metadata)
        if row is None:
            raise StoreError("engine database has no cluster metadata")
        return ClusterMetadata(row[0], row[1], row[2])

    async def _call(self, fn: Any, *args: Any) -> Any:
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
_FAILURES: tuple[type[Exception], ...] = (OSError, TimeoutError, *_DRIVER_ERRORS)


async def _schema_version(conn: Any) -> int:
    return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))


async def _fetch_cluster_metadata(conn: Any) -> Any:
    return await conn.fetchrow("SELECT cluster_id, cluster_name, created_at FROM cluster_metadata WHERE singleton = 1")


def describe_error(exc: BaseException) -> str:
    """The driver's reason in one short line, e.g. 'connection refused'."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror
    if reason[:1].isupper() and reason[1:2].islower():
        reason = reason[0].lower() + reason[1:]
    return reason
