"""SQLite bodies of the namespace and execution methods: plain functions of a connection.

Each transition of a batch sits in its own savepoint inside one `BEGIN IMMEDIATE`
transaction; a step that guards a precondition and touches no row rolls back to that savepoint
only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from engine.persistence.group_commit import Outcome
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
    is_new_workflow,
    key_params,
    namespace_from_row,
    namespace_params,
    namespace_query,
    plan,
)


def write_batch(conn: sqlite3.Connection, transitions: Sequence[Transition]) -> list[Outcome]:
    """Apply `transitions` in one transaction; one outcome each (None = written).

    Savepoints cost two statements per transition, so only transitions that replace a current
    run get one. For the others only the first step is expected to miss (the execution's
    version, or for a fresh workflow id its current-run row: the id is taken), and a miss there
    changed nothing; should a later guard miss (a bug elsewhere), the whole batch is rolled back
    and written again with a savepoint per transition.
    """
    try:
        return _write(conn, transitions, always_savepoint=False)
    except _LaterGuardMissed:
        return _write(conn, transitions, always_savepoint=True)


class _LaterGuardMissed(Exception):
    """A guard after a transition's first step touched no row, outside a savepoint."""


def _write(conn: sqlite3.Connection, transitions: Sequence[Transition], *, always_savepoint: bool) -> list[Outcome]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        outcomes = [_apply_one(conn, t, always_savepoint) for t in transitions]
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


def _apply_one(conn: sqlite3.Connection, t: Transition, always_savepoint: bool) -> Outcome:
    if always_savepoint:
        return _apply_in_savepoint(conn, t)
    if t.current is None:
        return _apply(conn, t)
    if is_new_workflow(t):
        return _apply_new_workflow(conn, t)
    return _apply_in_savepoint(conn, t)


def _apply_new_workflow(conn: sqlite3.Connection, t: Transition) -> Outcome:
    """A fresh workflow id's first run, current-run row first: when that insert misses (the id is
    taken, the everyday conflict) nothing was changed, so no savepoint is needed."""
    k = t.key
    steps = plan(t)
    current = next(step for step in steps if step.guard is Guard.CURRENT)
    if conn.execute(current.sql, current.params).rowcount == 0:
        if conn.execute(SELECT_EXECUTION, key_params(k)).fetchone() is not None:
            return failure(Guard.EXECUTION, t, None)  # reported first, as the savepoint path does
        return failure(Guard.CURRENT, t, get_current_run(conn, k.namespace_id, k.workflow_id))
    for step in steps:
        if step is not current and conn.execute(step.sql, step.params).rowcount == 0 and step.guard is not None:
            raise _LaterGuardMissed
    return None


def _apply(conn: sqlite3.Connection, t: Transition) -> Outcome:
    for index, step in enumerate(plan(t)):
        if conn.execute(step.sql, step.params).rowcount == 0 and step.guard is not None:
            if index:
                raise _LaterGuardMissed
            return failure(step.guard, t, None)  # the first step missed: nothing was changed
    return None


def _apply_in_savepoint(conn: sqlite3.Connection, t: Transition) -> Outcome:
    conn.execute("SAVEPOINT tr")
    for step in plan(t):
        if conn.execute(step.sql, step.params).rowcount == 0 and step.guard is not None:
            conn.execute("ROLLBACK TO tr")
            conn.execute("RELEASE tr")
            current = None
            if step.guard is Guard.CURRENT:
                current = get_current_run(conn, t.key.namespace_id, t.key.workflow_id)
            return failure(step.guard, t, current)
    conn.execute("RELEASE tr")
    return None


def create_namespace(conn: sqlite3.Connection, record: NamespaceRecord) -> None:
    if conn.execute(INSERT_NAMESPACE, namespace_params(record)).rowcount == 0:
        raise NamespaceConflict(f"namespace {record.name!r} (id {record.id}) already exists")


def update_namespace(conn: sqlite3.Connection, record: NamespaceRecord, expected_version: int) -> None:
    params = (record.state, record.data, expected_version + 1, record.id, expected_version)
    if conn.execute(UPDATE_NAMESPACE, params).rowcount == 0:
        raise NamespaceConflict(f"namespace {record.name!r} is not at version {expected_version}")


def get_namespace(conn: sqlite3.Connection, name: str | None, id: str | None) -> NamespaceRecord | None:
    sql, params = namespace_query(name, id)
    row = conn.execute(sql, params).fetchone()
    return namespace_from_row(row) if row is not None else None


def list_namespaces(conn: sqlite3.Connection, after_name: str, limit: int) -> list[NamespaceRecord]:
    return [namespace_from_row(row) for row in conn.execute(LIST_NAMESPACES, (after_name, limit))]


def get_current_run(conn: sqlite3.Connection, namespace_id: str, workflow_id: str) -> CurrentRun | None:
    row = conn.execute(SELECT_CURRENT, (namespace_id, workflow_id)).fetchone()
    return current_from_row(row) if row is not None else None


def get_execution(conn: sqlite3.Connection, key: ExecutionKey) -> ExecutionRow | None:
    row = conn.execute(SELECT_EXECUTION, key_params(key)).fetchone()
    return execution_from_row(row) if row is not None else None


def read_history(conn: sqlite3.Connection, key: ExecutionKey, from_event_id: int) -> list[HistoryBatch]:
    return [history_from_row(row) for row in conn.execute(SELECT_HISTORY, (*key_params(key), from_event_id))]


def list_running_executions(conn: sqlite3.Connection, after: ExecutionKey | None, limit: int) -> list[ExecutionRow]:
    if after is None:
        cursor = conn.execute(SELECT_RUNNING_FIRST, (limit,))
    else:
        cursor = conn.execute(SELECT_RUNNING_AFTER, (*key_params(after), limit))
    return [execution_from_row(row) for row in cursor]


def query_rows(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in conn.execute(sql, params)]


def search_attributes(conn: sqlite3.Connection) -> list[tuple[str, str, str, int]]:
    return [(row[0], row[1], row[2], int(row[3])) for row in conn.execute(SELECT_SEARCH_ATTRIBUTES)]


def add_search_attributes(
    conn: sqlite3.Connection, namespace_id: str, attributes: Mapping[str, tuple[str, int]]
) -> None:
    with conn:
        rows = [(namespace_id, name, field, t) for name, (field, t) in attributes.items()]
        conn.executemany(INSERT_SEARCH_ATTRIBUTE, rows)


def remove_search_attributes(conn: sqlite3.Connection, namespace_id: str, names: Sequence[str]) -> None:
    with conn:
        conn.executemany(DELETE_SEARCH_ATTRIBUTE, [(namespace_id, name) for name in names])


def rename_search_attribute(conn: sqlite3.Connection, namespace_id: str, old_name: str, new_name: str) -> bool:
    with conn:
        return conn.execute(RENAME_SEARCH_ATTRIBUTE, (new_name, namespace_id, old_name)).rowcount > 0


def delete_closed_runs(
    conn: sqlite3.Connection, namespace_id: str, closed_before: int, limit: int
) -> list[ExecutionKey]:
    """Delete up to `limit` runs of the namespace that closed before `closed_before` (ns), with
    their history and visibility rows, in one transaction; returns their keys."""
    rows = conn.execute(SELECT_EXPIRED, (namespace_id, closed_before, limit)).fetchall()
    keys = [ExecutionKey(namespace_id, row[0], row[1]) for row in rows]
    if keys:
        _delete_runs(conn, keys)
    return keys


def create_schedule(conn: sqlite3.Connection, row: ScheduleRow) -> None:
    with conn:
        if conn.execute(INSERT_SCHEDULE, (row.namespace_id, row.schedule_id, row.data)).rowcount == 0:
            raise ScheduleConflict(f"schedule {row.schedule_id!r} already exists")


def update_schedule(conn: sqlite3.Connection, row: ScheduleRow, expected_version: int) -> None:
    with conn:
        params = (row.data, row.namespace_id, row.schedule_id, expected_version)
        if conn.execute(UPDATE_SCHEDULE, params).rowcount == 0:
            raise ScheduleConflict(f"schedule {row.schedule_id!r} is not at version {expected_version}")


def delete_schedule(conn: sqlite3.Connection, namespace_id: str, schedule_id: str) -> bool:
    with conn:
        return bool(conn.execute(DELETE_SCHEDULE, (namespace_id, schedule_id)).rowcount)


def list_schedules(conn: sqlite3.Connection, after: tuple[str, str] | None, limit: int) -> list[ScheduleRow]:
    cursor = (
        conn.execute(SELECT_SCHEDULES_FIRST, (limit,))
        if after is None
        else conn.execute(SELECT_SCHEDULES_AFTER, (*after, limit))
    )
    return [ScheduleRow(row[0], row[1], bytes(row[2]), int(row[3])) for row in cursor]


def save_batch(conn: sqlite3.Connection, namespace_id: str, job_id: str, data: bytes) -> None:
    with conn:
        conn.execute(UPSERT_BATCH, (namespace_id, job_id, data))


def list_batches(conn: sqlite3.Connection, after: tuple[str, str] | None, limit: int) -> list[tuple[str, str, bytes]]:
    cursor = (
        conn.execute(SELECT_BATCHES_FIRST, (limit,))
        if after is None
        else conn.execute(SELECT_BATCHES_AFTER, (*after, limit))
    )
    return [(row[0], row[1], bytes(row[2])) for row in cursor]


def delete_run(conn: sqlite3.Connection, key: ExecutionKey) -> None:
    _delete_runs(conn, [key])


def _delete_runs(conn: sqlite3.Connection, keys: Sequence[ExecutionKey]) -> None:
    """Every row of these closed runs (state, history, current row, visibility), one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for key in keys:
            for sql in DELETE_RUN:
                conn.execute(sql, key_params(key))
            for sql in DELETE_RUN_VISIBILITY:
                conn.execute(sql, (key.namespace_id, key.run_id))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
