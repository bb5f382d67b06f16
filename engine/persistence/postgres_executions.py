"""PostgreSQL bodies of the namespace and execution methods: plain functions of an asyncpg
connection.

`write_batch` writes a group-commit batch in one transaction. The common transitions go by one
statement per kind for the whole batch (`postgres_batch.py`): updates of existing runs that
leave the current run alone, and first runs of fresh workflow ids. Anything else (replacing a
closed current run, a create without a current-run change) goes one by one, each transition in
its own savepoint: a failed precondition is a guarded statement that touched no row, not an
error, and rolls back that transition only. A batch that names one workflow twice, or whose
one statement hits stored history or an existing run id (a caller's bug: a unique violation
that aborts the statement), is written entirely the savepoint way, which reports outcomes
exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, LiteralString

import asyncpg

from engine.persistence.group_commit import Outcome
from engine.persistence.postgres_batch import Split, batch_statement, split_batch
from engine.persistence.records import (
    CurrentRun,
    ExecutionKey,
    ExecutionRow,
    HistoryBatch,
    NamespaceConflict,
    NamespaceRecord,
    ScheduleConflict,
    ScheduleRow,
    Transition,
)
from engine.persistence.statements import (
    DELETE_RUN,
    DELETE_RUN_VISIBILITY,
    DELETE_SCHEDULE,
    DELETE_SEARCH_ATTRIBUTE,
    INSERT_NAMESPACE,
    INSERT_SCHEDULE,
    INSERT_SEARCH_ATTRIBUTE,
    LIST_NAMESPACES,
    RENAME_SEARCH_ATTRIBUTE,
    SELECT_BATCHES_AFTER,
    SELECT_BATCHES_FIRST,
    SELECT_CURRENT,
    SELECT_EXECUTION,
    SELECT_EXPIRED,
    SELECT_HISTORY,
    SELECT_RUNNING_AFTER,
    SELECT_RUNNING_FIRST,
    SELECT_SCHEDULES_AFTER,
    SELECT_SCHEDULES_FIRST,
    SELECT_SEARCH_ATTRIBUTES,
    UPDATE_NAMESPACE,
    UPDATE_SCHEDULE,
    UPSERT_BATCH,
    Guard,
    current_from_row,
    execution_from_row,
    failure,
    history_from_row,
    key_params,
    namespace_from_row,
    namespace_params,
    namespace_query,
    numbered,
    plan,
    postgres,
)

Connection = Any  # asyncpg.Connection (asyncpg ships no type information)


async def write_batch(conn: Connection, transitions: Sequence[Transition]) -> list[Outcome]:
    """Apply `transitions` in one transaction; one outcome each (None = written).

    Raises the driver's error if the transaction as a whole failed (nothing was written).
    """
    split = split_batch(transitions)
    if split is not None and (split.simple or split.creates):
        try:
            return await _write_split(conn, transitions, split)
        except asyncpg.UniqueViolationError:
            pass  # stored events or an existing run id (a bug): nothing was written; find it one by one
    outcomes: list[Outcome] = [None] * len(transitions)
    async with conn.transaction():
        await _write_with_savepoints(conn, transitions, range(len(transitions)), outcomes)
    return outcomes


async def _write_split(conn: Connection, transitions: Sequence[Transition], split: Split) -> list[Outcome]:
    """Simple updates and new workflows with one statement (its own transaction: one round
    trip); anything else one by one, with that statement, in one transaction."""
    outcomes: list[Outcome] = [None] * len(transitions)
    simple = [transitions[i] for i in split.simple]
    creates = [transitions[i] for i in split.creates]
    sql, params = batch_statement(simple, creates)
    if split.rest:
        async with conn.transaction():
            rows = await conn.fetch(sql, *params)
            await _write_with_savepoints(conn, transitions, split.rest, outcomes)
    else:
        rows = await conn.fetch(sql, *params)
    kinds: dict[str, dict[tuple[str, str], Any]] = {"updated": {}, "created": {}, "run": {}, "current": {}}
    for row in rows:
        kinds[row[0]][(row[1], row[2])] = row
    for i, t in zip(split.simple, simple, strict=True):
        row = kinds["updated"].get((t.key.namespace_id, t.key.workflow_id))
        if row is None or row[3] != t.key.run_id:
            outcomes[i] = failure(Guard.EXECUTION, t, None)
    for i, t in zip(split.creates, creates, strict=True):
        workflow = (t.key.namespace_id, t.key.workflow_id)
        if workflow in kinds["created"]:
            continue
        if workflow in kinds["run"]:
            outcomes[i] = failure(Guard.EXECUTION, t, None)  # the run id is taken: as the savepoint path reports it
            continue
        before = kinds["current"].get(workflow)
        if before is None:  # inserted by another engine after this statement's snapshot was taken
            outcomes[i] = failure(Guard.CURRENT, t, await get_current_run(conn, *workflow))
        else:
            outcomes[i] = failure(Guard.CURRENT, t, current_from_row((*workflow, *before[3:])))
    return outcomes


class _Refused(Exception):
    def __init__(self, guard: Guard) -> None:
        self.guard = guard


async def _write_with_savepoints(
    conn: Connection, transitions: Sequence[Transition], positions: Sequence[int], outcomes: list[Outcome]
) -> None:
    """Write `transitions[i]` for each i in `positions`, each in its own savepoint (a nested
    transaction); sets `outcomes[i]` of those refused by a precondition. The caller holds the
    transaction."""
    for i in positions:
        t = transitions[i]
        try:
            async with conn.transaction():
                for step in plan(t):
                    status = await conn.execute(postgres(step.sql), *step.params)
                    if step.guard is not None and _rowcount(status) == 0:
                        raise _Refused(step.guard)
        except _Refused as refused:
            current = None
            if refused.guard is Guard.CURRENT:
                current = await get_current_run(conn, t.key.namespace_id, t.key.workflow_id)
            outcomes[i] = failure(refused.guard, t, current)


def _rowcount(status: str) -> int:
    """Rows a statement touched, from its command tag ("UPDATE 1", "INSERT 0 1")."""
    return int(status.rsplit(" ", 1)[-1])


async def create_namespace(conn: Connection, record: NamespaceRecord) -> None:
    if _rowcount(await conn.execute(postgres(INSERT_NAMESPACE), *namespace_params(record))) == 0:
        raise NamespaceConflict(f"namespace {record.name!r} (id {record.id}) already exists")


async def update_namespace(conn: Connection, record: NamespaceRecord, expected_version: int) -> None:
    params = (record.state, record.data, expected_version + 1, record.id, expected_version)
    if _rowcount(await conn.execute(postgres(UPDATE_NAMESPACE), *params)) == 0:
        raise NamespaceConflict(f"namespace {record.name!r} is not at version {expected_version}")


async def get_namespace(conn: Connection, name: str | None, id: str | None) -> NamespaceRecord | None:
    sql, params = namespace_query(name, id)
    row = await _fetchone(conn, sql, params)
    return namespace_from_row(row) if row is not None else None


async def list_namespaces(conn: Connection, after_name: str, limit: int) -> list[NamespaceRecord]:
    return [namespace_from_row(row) for row in await conn.fetch(postgres(LIST_NAMESPACES), after_name, limit)]


async def get_current_run(conn: Connection, namespace_id: str, workflow_id: str) -> CurrentRun | None:
    row = await _fetchone(conn, SELECT_CURRENT, (namespace_id, workflow_id))
    return current_from_row(row) if row is not None else None


async def get_execution(conn: Connection, key: ExecutionKey) -> ExecutionRow | None:
    row = await _fetchone(conn, SELECT_EXECUTION, key_params(key))
    return execution_from_row(row) if row is not None else None


async def read_history(conn: Connection, key: ExecutionKey, from_event_id: int) -> list[HistoryBatch]:
    rows = await conn.fetch(postgres(SELECT_HISTORY), *key_params(key), from_event_id)
    return [history_from_row(row) for row in rows]


async def list_running_executions(conn: Connection, after: ExecutionKey | None, limit: int) -> list[ExecutionRow]:
    if after is None:
        rows = await conn.fetch(postgres(SELECT_RUNNING_FIRST), limit)
    else:
        rows = await conn.fetch(postgres(SELECT_RUNNING_AFTER), *key_params(after), limit)
    return [execution_from_row(row) for row in rows]


async def _fetchone(conn: Connection, sql: LiteralString, params: tuple[Any, ...]) -> Any:
    return await conn.fetchrow(postgres(sql), *params)


async def query_rows(conn: Connection, sql: LiteralString, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await conn.fetch(numbered(sql), *params)]


async def search_attributes(conn: Connection) -> list[tuple[str, str, str, int]]:
    return [(row[0], row[1], row[2], int(row[3])) for row in await conn.fetch(SELECT_SEARCH_ATTRIBUTES)]


async def add_search_attributes(conn: Connection, namespace_id: str, attributes: Mapping[str, tuple[str, int]]) -> None:
    rows = [(namespace_id, name, field, t) for name, (field, t) in attributes.items()]
    async with conn.transaction():
        await conn.executemany(postgres(INSERT_SEARCH_ATTRIBUTE), rows)


async def remove_search_attributes(conn: Connection, namespace_id: str, names: Sequence[str]) -> None:
    async with conn.transaction():
        await conn.executemany(postgres(DELETE_SEARCH_ATTRIBUTE), [(namespace_id, name) for name in names])


async def rename_search_attribute(conn: Connection, namespace_id: str, old_name: str, new_name: str) -> bool:
    return _rowcount(await conn.execute(postgres(RENAME_SEARCH_ATTRIBUTE), new_name, namespace_id, old_name)) > 0


async def delete_closed_runs(conn: Connection, namespace_id: str, closed_before: int, limit: int) -> list[ExecutionKey]:
    rows = await conn.fetch(postgres(SELECT_EXPIRED), namespace_id, closed_before, limit)
    keys = [ExecutionKey(namespace_id, row[0], row[1]) for row in rows]
    if keys:
        await _delete_runs(conn, keys)
    return keys


async def create_schedule(conn: Connection, row: ScheduleRow) -> None:
    status = await conn.execute(postgres(INSERT_SCHEDULE), row.namespace_id, row.schedule_id, row.data)
    if _rowcount(status) == 0:
        raise ScheduleConflict(f"schedule {row.schedule_id!r} already exists")


async def update_schedule(conn: Connection, row: ScheduleRow, expected_version: int) -> None:
    params = (row.data, row.namespace_id, row.schedule_id, expected_version)
    if _rowcount(await conn.execute(postgres(UPDATE_SCHEDULE), *params)) == 0:
        raise ScheduleConflict(f"schedule {row.schedule_id!r} is not at version {expected_version}")


async def delete_schedule(conn: Connection, namespace_id: str, schedule_id: str) -> bool:
    return _rowcount(await conn.execute(postgres(DELETE_SCHEDULE), namespace_id, schedule_id)) > 0


async def list_schedules(conn: Connection, after: tuple[str, str] | None, limit: int) -> list[ScheduleRow]:
    if after is None:
        rows = await conn.fetch(postgres(SELECT_SCHEDULES_FIRST), limit)
    else:
        rows = await conn.fetch(postgres(SELECT_SCHEDULES_AFTER), *after, limit)
    return [ScheduleRow(row[0], row[1], bytes(row[2]), int(row[3])) for row in rows]


async def save_batch(conn: Connection, namespace_id: str, job_id: str, data: bytes) -> None:
    await conn.execute(postgres(UPSERT_BATCH), namespace_id, job_id, data)


async def list_batches(conn: Connection, after: tuple[str, str] | None, limit: int) -> list[tuple[str, str, bytes]]:
    if after is None:
        rows = await conn.fetch(postgres(SELECT_BATCHES_FIRST), limit)
    else:
        rows = await conn.fetch(postgres(SELECT_BATCHES_AFTER), *after, limit)
    return [(row[0], row[1], bytes(row[2])) for row in rows]


async def delete_run(conn: Connection, key: ExecutionKey) -> None:
    await _delete_runs(conn, [key])


async def _delete_runs(conn: Connection, keys: Sequence[ExecutionKey]) -> None:
    """Every row of these closed runs (state, history, current row, visibility), one transaction."""
    async with conn.transaction():
        for sql in DELETE_RUN:
            await conn.executemany(postgres(sql), [key_params(key) for key in keys])
        for sql in DELETE_RUN_VISIBILITY:
            await conn.executemany(postgres(sql), [(key.namespace_id, key.run_id) for key in keys])
