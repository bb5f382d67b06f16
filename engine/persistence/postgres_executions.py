"""PostgreSQL bodies of the namespace and execution methods: plain functions of a connection.

`write_batch` writes a group-commit batch in one transaction on one connection, in pipeline mode:
every transition opens its own savepoint (`t0`, `t1`, …) and all statements of the batch go out
before the first result is awaited, so a batch costs a few round trips instead of one per
statement. A failed precondition is a guarded statement that touched no row, not an error: after
the sync, the first transition whose guard touched nothing is rolled back to its savepoint (which
also undoes the transitions sent after it) and those later ones are sent again. Conflicts are
rare; the resend window halves after each one, so even a batch full of conflicts stays linear.

That path costs psycopg's per-statement Python overhead 3–5 times per transition. So when no two
transitions share a workflow id, the updates that leave the current run alone (most of them) are
written by one statement for the whole batch instead (`postgres_batch.py`), and only creates and
current-run changes take savepoints, in the same transaction. Should that statement hit stored
history (a caller's bug), nothing was written and the batch is redone the savepoint way, which
names the culprit exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, LiteralString

from psycopg import AsyncConnection, AsyncCursor, AsyncPipeline
from psycopg.errors import UniqueViolation
from psycopg.rows import TupleRow

from engine.persistence.group_commit import Outcome
from engine.persistence.postgres_batch import Split, create_statement, simple_statement, split_batch
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
    split = split_batch(transitions)
    if split is not None and (split.simple or split.creates):
        try:
            return await _write_split(conn, transitions, split)
        except UniqueViolation:
            pass  # stored events or an existing run id (a bug): nothing was written; find it one by one
    outcomes: list[Outcome] = [None] * len(transitions)
    async with conn.pipeline() as pipeline, conn.transaction():
        await _write_with_savepoints(conn, pipeline, transitions, range(len(transitions)), outcomes)
    return outcomes


async def _write_split(conn: Connection, transitions: Sequence[Transition], split: Split) -> list[Outcome]:
    """Simple updates with one statement, new workflows with another, the rest through
    savepoints, in one transaction.

    A lone statement is the transaction by itself (autocommit): one round trip for the whole
    batch. Otherwise the statements go first in the pipeline, before any savepoint, so rolling
    back to a savepoint never undoes them.
    """
    outcomes: list[Outcome] = [None] * len(transitions)
    simple = [transitions[i] for i in split.simple]
    creates = [transitions[i] for i in split.creates]
    statements = []
    if simple:
        statements.append(simple_statement(simple))
    if creates:
        statements.append(create_statement(creates))
    if len(statements) > 1 or split.rest:
        async with conn.pipeline() as pipeline, conn.transaction():
            cursors = [await conn.execute(sql, params) for sql, params in statements]
            if split.rest:
                await _write_with_savepoints(conn, pipeline, transitions, split.rest, outcomes)
            results = [await cursor.fetchall() for cursor in cursors]
    else:
        sql, params = statements[0]
        results = [await (await conn.execute(sql, params)).fetchall()]
    if simple:
        updated = {(row[0], row[1], row[2]) for row in results[0]}
        for i, t in zip(split.simple, simple, strict=True):
            if (t.key.namespace_id, t.key.workflow_id, t.key.run_id) not in updated:
                outcomes[i] = failure(Guard.EXECUTION, t, None)
    if creates:
        await _create_outcomes(conn, results[-1], split.creates, creates, outcomes)
    return outcomes


async def _create_outcomes(
    conn: Connection,
    rows: list[TupleRow],
    positions: Sequence[int],
    creates: Sequence[Transition],
    outcomes: list[Outcome],
) -> None:
    """A new workflow whose run id is taken failed on its execution row, as the savepoint path
    reports it; one whose current-run row was not inserted, with the row that was there."""
    kinds: dict[str, dict[tuple[str, str], TupleRow]] = {"created": {}, "run": {}, "current": {}}
    for row in rows:
        kinds[row[0]][(row[1], row[2])] = row
    for i, t in zip(positions, creates, strict=True):
        workflow = (t.key.namespace_id, t.key.workflow_id)
        if workflow in kinds["created"]:
            continue
        if workflow in kinds["run"]:
            outcomes[i] = failure(Guard.EXECUTION, t, None)
            continue
        before = kinds["current"].get(workflow)
        if before is None:  # inserted by another engine after this statement's snapshot was taken
            cursor = await conn.execute(postgres(SELECT_CURRENT), workflow)
            found = await cursor.fetchone()
            outcomes[i] = failure(Guard.CURRENT, t, current_from_row(found) if found is not None else None)
        else:
            outcomes[i] = failure(Guard.CURRENT, t, current_from_row((*workflow, *before[3:])))


async def _write_with_savepoints(
    conn: Connection,
    pipeline: AsyncPipeline,
    transitions: Sequence[Transition],
    positions: Sequence[int],
    outcomes: list[Outcome],
) -> None:
    """Write `transitions[i]` for each i in `positions`, each under its own savepoint (see above).

    Sets `outcomes[i]` of those refused by a precondition; the caller holds the transaction.
    """
    n = len(positions)
    plans = [plan(transitions[i]) for i in positions]
    start, window = 0, n
    while start < n:
        end = min(n, start + window)
        sent: list[list[tuple[Cursor, Guard | None]]] = []
        for j in range(start, end):
            await conn.execute(_savepoint(j)[0], prepare=False)
            sent.append([(await conn.execute(postgres(s.sql), s.params), s.guard) for s in plans[j]])
        await pipeline.sync()
        failed = _first_failure(sent)
        if failed is None:
            start, window = end, window * 2
            continue
        offset, guard = failed
        j = start + offset
        t = transitions[positions[j]]
        await conn.execute(_savepoint(j)[1], prepare=False)
        current = None
        if guard is Guard.CURRENT:
            cursor = await conn.execute(postgres(SELECT_CURRENT), (t.key.namespace_id, t.key.workflow_id))
            await pipeline.sync()
            row = await cursor.fetchone()
            current = current_from_row(row) if row is not None else None
        outcomes[positions[j]] = failure(guard, t, current)
        start, window = j + 1, max(1, window // 2)


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
