"""PostgreSQL bodies of the access methods (`access_statements.py`): functions of an asyncpg
connection, each write in one transaction that also bumps `access_version`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.persistence import access_statements as sql
from engine.persistence.access_records import AccessConflict, AccessState, ApiKeyRow, NamespaceAuth, PrincipalRow
from engine.persistence.records import NamespaceConflict, NamespaceRecord
from engine.persistence.statements import postgres

Connection = Any  # asyncpg.Connection


def _rowcount(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1]) if status else 0


async def put_namespace_auth(conn: Connection, auth: NamespaceAuth) -> None:
    async with conn.transaction():
        await conn.execute(postgres(sql.UPSERT_NAMESPACE_AUTH), *sql.namespace_auth_params(auth))
        await conn.execute(sql.BUMP_ACCESS_VERSION)


async def get_namespace_auth(conn: Connection, namespace_id: str) -> NamespaceAuth | None:
    row = await conn.fetchrow(postgres(sql.SELECT_NAMESPACE_AUTH), namespace_id)
    return sql.namespace_auth_from_row(row) if row is not None else None


async def replace_account_access(
    conn: Connection, account_id: str, principals: Sequence[PrincipalRow], api_keys: Sequence[ApiKeyRow]
) -> None:
    async with conn.transaction():
        for statement in (sql.DELETE_ACCOUNT_GRANTS, sql.DELETE_ACCOUNT_PRINCIPALS, sql.DELETE_ACCOUNT_KEYS):
            await conn.execute(postgres(statement), account_id)
        if principals:
            await conn.executemany(
                postgres(sql.INSERT_PRINCIPAL), [sql.principal_params(account_id, p) for p in principals]
            )
        present = await conn.fetch(postgres(sql.SELECT_ACCOUNT_PRINCIPAL_IDS), account_id)
        if taken := sql.missing_ids([p.principal_id for p in principals], present):
            raise AccessConflict(f"principal {taken[0]} belongs to another account")
        if grants := sql.grant_params(principals):
            await conn.executemany(postgres(sql.INSERT_GRANT), grants)
        if api_keys:
            await conn.executemany(postgres(sql.INSERT_KEY), [sql.key_params(account_id, k) for k in api_keys])
        present = await conn.fetch(postgres(sql.SELECT_ACCOUNT_KEY_IDS), account_id)
        if taken := sql.missing_ids([k.key_id for k in api_keys], present):
            raise AccessConflict(f"API key {taken[0]} belongs to another account")
        await conn.execute(sql.BUMP_ACCESS_VERSION)


async def access_version(conn: Connection) -> int:
    return int(await conn.fetchval(sql.SELECT_ACCESS_VERSION))


async def load_access(conn: Connection) -> AccessState:
    # one consistent snapshot of all four tables, even while a sync commits
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        version = await access_version(conn)
        namespaces = await conn.fetch(postgres(sql.SELECT_ACCESS_NAMESPACES), sql.NAMESPACE_STATE_DELETED)
        principals = await conn.fetch(sql.SELECT_PRINCIPALS)
        grants = await conn.fetch(sql.SELECT_GRANTS)
        keys = await conn.fetch(sql.SELECT_KEYS)
    return AccessState(
        version=version,
        namespaces=tuple(sql.access_namespace_from_row(row) for row in namespaces),
        principals=sql.principals_from_rows(principals, grants),
        api_keys=tuple(sql.key_from_row(row) for row in keys),
    )


async def mark_namespace_deleted(conn: Connection, record: NamespaceRecord, expected_version: int) -> None:
    async with conn.transaction():
        params = (record.name, record.state, record.data, expected_version + 1, record.id, expected_version)
        if _rowcount(await conn.execute(postgres(sql.MARK_NAMESPACE_DELETED), *params)) == 0:
            raise NamespaceConflict(f"namespace {record.id} is not at version {expected_version}")
        await conn.execute(postgres(sql.DELETE_NAMESPACE_AUTH), record.id)
        await conn.execute(sql.BUMP_ACCESS_VERSION)


async def purge_namespace(conn: Connection, namespace_id: str) -> None:
    async with conn.transaction():
        for statement in sql.PURGE_NAMESPACE:
            await conn.execute(postgres(statement), namespace_id)
