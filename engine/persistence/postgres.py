"""PostgreSQL store: psycopg 3 async with a connection pool.

Migrations run on a dedicated first connection, so an unreachable server surfaces as the driver's
own reason ("connection refused") rather than as a pool timeout. Several engine processes may
share one database: the migration transaction holds an advisory lock so they never race.
"""

from __future__ import annotations

import uuid

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from engine.errors import ConfigError, StoreError
from engine.persistence.migrations import SCHEMA_VERSION_TABLE, pending_migrations
from engine.persistence.store import DEFAULT_CLUSTER_NAME, ClusterMetadata
from engine.persistence.url import DatabaseUrl

# pg_advisory_xact_lock key held while migrating ("SUNDIAL" in ASCII).
_MIGRATION_LOCK_KEY = 0x53554E4449414C


class PostgresStore:
    def __init__(
        self,
        url: DatabaseUrl,
        *,
        pool_min_size: int = 1,
        pool_max_size: int = 10,
        connect_timeout: float = 5.0,
    ) -> None:
        self._url = url
        self._pool_min_size = pool_min_size
        self._pool_max_size = pool_max_size
        self._connect_timeout = connect_timeout
        self._pool: AsyncConnectionPool | None = None

    @property
    def url(self) -> DatabaseUrl:
        return self._url

    @property
    def pool(self) -> AsyncConnectionPool:
        if self._pool is None:
            raise StoreError("the engine store is not open")
        return self._pool

    async def open(self) -> None:
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
