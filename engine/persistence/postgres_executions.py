"""PostgreSQL bodies of the namespace and execution methods: plain functions of a connection.

`write_batch` writes a group-commit batch in one transaction on one connection, in pipeline mode:
every transition opens its own savepoint (`t0`, `t1`, …) and all statements of the batch go out
before the first result is awaited, so a batch costs a few round trips instead of one per
statement. A failed precondition is a guarded statement that touched no row, not an error: after
the sync, the first transition whose guard touched nothing is rolled back to its savepoint (which
also undoes the transitions sent after it) and those later ones are sent again. Conflicts are
rare; the resend window halves after each one, so even a batch full of conflicts stays linear.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, LiteralString

from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import TupleRow

from engine.persistence.group_commit import Outcome
from engine.persistence.records import (
    CurrentRun,
    ExecutionKey,
    ExecutionRow,
    HistoryBatch,
    NamespaceConflict,
    NamespaceRecord,
    Transition,
)
from engine.persistence.statements import (
    INSERT_NAMESPACE,
    LIST_NAMESPACES,
    SELECT_CURRENT,
    SELECT_EXECUTION,
    SELECT_HISTORY,
    SELECT_RUNNING_AFTER,
    SELECT_RUNNING_FIRST,
    UPDATE_NAMESPACE,
    Guard,
    current_from_row,
    execution_from_row,
    failure,
    history_from_row,
    key_params,
    namespace_from_row,
    namespace_params,
    namespace_query,
    plan,
    postgres,
)

Connection = AsyncConnection[TupleRow]
Cursor = AsyncCursor[TupleRow]


@cache
def _savepoint(i: int) -> tuple[LiteralString, LiteralString]:
    """(SAVEPOINT tI, ROLLBACK TO SAVEPOINT tI): names are built from an int, never from input."""
    return f"SAVEPOINT t{i}", f"ROLLBACK TO SAVEPOINT t{i}"


async def write_batch(conn: Connection, transitions: Sequence[Transition]) -> list[Outcome]:
    """Apply `transitions` in one transaction; one outcome each (None = written).

    Raises the driver's error if the transaction as a whole failed (nothing was written).
    """
    n = len(transitions)
    outcomes: list[Outcome] = [None] * n
    plans = [plan(t) for t in transitions]
    async with conn.pipeline() as pipeline, conn.transaction():
        start, window = 0, n
        while start < n:
            end = min(n, start + window)
            sent: list[list[tuple[Cursor, Guard | None]]] = []
            for i in range(start, end):
                await conn.execute(_savepoint(i)[0], prepare=False)
                sent.append([(await conn.execute(postgres(s.sql), s.params), s.guard) for s in plans[i]])
            await pipeline.sync()
            failed = _first_failure(sent)
            if failed is None:
                start, window = end, window * 2
                continue
            offset, guard = failed
            i = start + offset
            await conn.execute(_savepoint(i)[1], prepare=False)
            current = None
            if guard is Guard.CURRENT:
                key = transitions[i].key
                cursor = await conn.execute(postgres(SELECT_CURRENT), (key.namespace_id, key.workflow_id))
                await pipeline.sync()
                row = await cursor.fetchone()
                current = current_from_row(row) if row is not None else None
            outcomes[i] = failure(guard, transitions[i], current)
            start, window = i + 1, max(1, window // 2)
    return outcomes


def _first_failure(sent: list[list[tuple[Cursor, Guard | None]]]) -> tuple[int, Guard] | None:
    for offset, steps in enumerate(sent):
        for cursor, guard in steps:
            if guard is not None and cursor.rowcount == 0:
                return offset, guard
    return None


async def create_namespace(conn: Connection, record: NamespaceRecord) -> None:
    cursor = await conn.execute(postgres(INSERT_NAMESPACE), namespace_params(record))
    if cursor.rowcount == 0:
        raise NamespaceConflict(f"namespace {record.name!r} (id {record.id}) already exists")


async def update_namespace(conn: Connection, record: NamespaceRecord, expected_version: int) -> None:
    params = (record.state, record.data, expected_version + 1, record.id, expected_version)
    cursor = await conn.execute(postgres(UPDATE_NAMESPACE), params)
    if cursor.rowcount == 0:
        raise NamespaceConflict(f"namespace {record.name!r} is not at version {expected_version}")


async def get_namespace(conn: Connection, name: str | None, id: str | None) -> NamespaceRecord | None:
    sql, params = namespace_query(name, id)
    row = await _fetchone(conn, sql, params)
    return namespace_from_row(row) if row is not None else None


async def list_namespaces(conn: Connection, after_name: str, limit: int) -> list[NamespaceRecord]:
    cursor = await conn.execute(postgres(LIST_NAMESPACES), (after_name, limit))
    return [namespace_from_row(row) for row in await cursor.fetchall()]


async def get_current_run(conn: Connection, namespace_id: str, workflow_id: str) -> CurrentRun | None:
    row = await _fetchone(conn, SELECT_CURRENT, (namespace_id, workflow_id))
    return current_from_row(row) if row is not None else None


async def get_execution(conn: Connection, key: ExecutionKey) -> ExecutionRow | None:
    row = await _fetchone(conn, SELECT_EXECUTION, key_params(key))
    return execution_from_row(row) if row is not None else None


async def read_history(conn: Connection, key: ExecutionKey, from_event_id: int) -> list[HistoryBatch]:
    cursor = await conn.execute(postgres(SELECT_HISTORY), (*key_params(key), from_event_id))
    return [history_from_row(row) for row in await cursor.fetchall()]


async def list_running_executions(conn: Connection, after: ExecutionKey | None, limit: int) -> list[ExecutionRow]:
    if after is None:
        cursor = await conn.execute(postgres(SELECT_RUNNING_FIRST), (limit,))
    else:
        cursor = await conn.execute(postgres(SELECT_RUNNING_AFTER), (*key_params(after), limit))
    return [execution_from_row(row) for row in await cursor.fetchall()]


async def _fetchone(conn: Connection, sql: LiteralString, params: tuple[Any, ...]) -> TupleRow | None:
    cursor = await conn.execute(postgres(sql), params)
    return await cursor.fetchone()
