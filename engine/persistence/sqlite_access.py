"""SQLite bodies of the access methods (`access_statements.py`): plain functions of the loop's
connection, each write in one `BEGIN IMMEDIATE` transaction that also bumps `access_version`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import TypeVar

from engine.persistence import access_statements as sql
from engine.persistence.access_records import AccessConflict, AccessState, ApiKeyRow, NamespaceAuth, PrincipalRow
from engine.persistence.records import NamespaceConflict, NamespaceRecord

T = TypeVar("T")


def _transaction(conn: sqlite3.Connection, body: Callable[[], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = body()
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def put_namespace_auth(conn: sqlite3.Connection, auth: NamespaceAuth) -> None:
    def body() -> None:
        conn.execute(sql.UPSERT_NAMESPACE_AUTH, sql.namespace_auth_params(auth))
        conn.execute(sql.BUMP_ACCESS_VERSION)

    _transaction(conn, body)


def get_namespace_auth(conn: sqlite3.Connection, namespace_id: str) -> NamespaceAuth | None:
    row = conn.execute(sql.SELECT_NAMESPACE_AUTH, (namespace_id,)).fetchone()
    return sql.namespace_auth_from_row(row) if row is not None else None


def replace_account_access(
    conn: sqlite3.Connection, account_id: str, principals: Sequence[PrincipalRow], api_keys: Sequence[ApiKeyRow]
) -> None:
    def body() -> None:
        for statement in (sql.DELETE_ACCOUNT_GRANTS, sql.DELETE_ACCOUNT_PRINCIPALS, sql.DELETE_ACCOUNT_KEYS):
            conn.execute(statement, (account_id,))
        conn.executemany(sql.INSERT_PRINCIPAL, [sql.principal_params(account_id, p) for p in principals])
        present = conn.execute(sql.SELECT_ACCOUNT_PRINCIPAL_IDS, (account_id,)).fetchall()
        if taken := sql.missing_ids([p.principal_id for p in principals], present):
            raise AccessConflict(f"principal {taken[0]} belongs to another account")
        conn.executemany(sql.INSERT_GRANT, sql.grant_params(principals))
        conn.executemany(sql.INSERT_KEY, [sql.key_params(account_id, k) for k in api_keys])
        present = conn.execute(sql.SELECT_ACCOUNT_KEY_IDS, (account_id,)).fetchall()
        if taken := sql.missing_ids([k.key_id for k in api_keys], present):
            raise AccessConflict(f"API key {taken[0]} belongs to another account")
        conn.execute(sql.BUMP_ACCESS_VERSION)

    _transaction(conn, body)


def access_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute(sql.SELECT_ACCESS_VERSION).fetchone()[0])


def load_access(conn: sqlite3.Connection) -> AccessState:
    # one connection on one thread: no write can interleave between these reads
    return AccessState(
        version=access_version(conn),
        namespaces=tuple(
            sql.access_namespace_from_row(row)
            for row in conn.execute(sql.SELECT_ACCESS_NAMESPACES, (sql.NAMESPACE_STATE_DELETED,))
        ),
        principals=sql.principals_from_rows(
            conn.execute(sql.SELECT_PRINCIPALS).fetchall(), conn.execute(sql.SELECT_GRANTS).fetchall()
        ),
        api_keys=tuple(sql.key_from_row(row) for row in conn.execute(sql.SELECT_KEYS)),
    )


def mark_namespace_deleted(conn: sqlite3.Connection, record: NamespaceRecord, expected_version: int) -> None:
    def body() -> None:
        params = (record.name, record.state, record.data, expected_version + 1, record.id, expected_version)
        if conn.execute(sql.MARK_NAMESPACE_DELETED, params).rowcount == 0:
            raise NamespaceConflict(f"namespace {record.id} is not at version {expected_version}")
        conn.execute(sql.DELETE_NAMESPACE_AUTH, (record.id,))
        conn.execute(sql.BUMP_ACCESS_VERSION)

    _transaction(conn, body)


def purge_namespace(conn: sqlite3.Connection, namespace_id: str) -> None:
    def body() -> None:
        for statement in sql.PURGE_NAMESPACE:
            conn.execute(statement, (namespace_id,))

    _transaction(conn, body)
