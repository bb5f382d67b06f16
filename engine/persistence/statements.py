"""SQL shared by both backends, and how a `Transition` becomes statements.

Every statement is written so that a failed precondition is not a database error but a statement
that touched no row (`UPDATE … WHERE db_version = ?`, `INSERT … ON CONFLICT DO NOTHING`): the
backend reads each step's row count and, when a step that guards a precondition touched nothing,
rolls back to that transition's savepoint. Nothing else of the batch is disturbed, and on
PostgreSQL a whole batch can be pipelined without a round trip per statement.

The text uses SQLite's `?` placeholders; `postgres()` converts it. Both dialects accept the same
syntax here (row values, `ON CONFLICT DO NOTHING`, booleans as `running`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any, LiteralString

from engine.errors import StoreError
from engine.persistence.records import (
    CurrentRun,
    CurrentRunConflict,
    ExecutionConflict,
    ExecutionKey,
    ExecutionRow,
    HistoryBatch,
    NamespaceRecord,
    Transition,
    VisibilityRow,
)


class Guard(Enum):
    """What it means when a step touches no row."""

    EXECUTION = "execution"
    CURRENT = "current"
    HISTORY = "history"


@dataclass(frozen=True)
class Step:
    sql: LiteralString
    params: tuple[Any, ...]
    guard: Guard | None  # None: touching no row is fine


INSERT_EXECUTION: LiteralString = (
    "INSERT INTO executions (namespace_id, workflow_id, run_id, state, next_event_id, db_version, running)"
    " VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT DO NOTHING"
)
UPDATE_EXECUTION: LiteralString = (
    "UPDATE executions SET state = ?, next_event_id = ?, db_version = db_version + 1, running = ?"
    " WHERE namespace_id = ? AND workflow_id = ? AND run_id = ? AND db_version = ?"
)
INSERT_CURRENT: LiteralString = (
    "INSERT INTO current_executions (namespace_id, workflow_id, run_id, running, start_request_id, status)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
REPLACE_CURRENT: LiteralString = (
    "UPDATE current_executions SET run_id = ?, running = ?, start_request_id = ?, status = ?"
    " WHERE namespace_id = ? AND workflow_id = ? AND run_id = ?"
)
UPDATE_CURRENT_STATUS: LiteralString = (
    "UPDATE current_executions SET running = ?, status = ? WHERE namespace_id = ? AND workflow_id = ? AND run_id = ?"
)
INSERT_HISTORY: LiteralString = (
    "INSERT INTO history_batches (namespace_id, workflow_id, run_id, first_event_id, last_event_id, data)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
UPSERT_VISIBILITY: LiteralString = (
    "INSERT INTO executions_visibility (namespace_id, run_id, workflow_id, workflow_type, status, start_time,"
    " execution_time, close_time, execution_duration, task_queue, history_length, history_size_bytes,"
    " state_transition_count, parent_workflow_id, parent_run_id, root_workflow_id, root_run_id, memo,"
    " search_attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (namespace_id, run_id) DO UPDATE SET status = excluded.status, close_time = excluded.close_time,"
    " execution_duration = excluded.execution_duration, history_length = excluded.history_length,"
    " history_size_bytes = excluded.history_size_bytes, state_transition_count = excluded.state_transition_count,"
    " memo = excluded.memo, search_attributes = excluded.search_attributes"
)
DELETE_ATTRIBUTES: LiteralString = "DELETE FROM visibility_attributes WHERE namespace_id = ? AND run_id = ?"
INSERT_ATTRIBUTE: LiteralString = (
    "INSERT INTO visibility_attributes (namespace_id, run_id, name, text_value, int_value, double_value)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)

SELECT_CURRENT: LiteralString = (
    "SELECT namespace_id, workflow_id, run_id, running, start_request_id, status"
    " FROM current_executions WHERE namespace_id = ? AND workflow_id = ?"
)
SELECT_EXECUTION: LiteralString = (
    "SELECT namespace_id, workflow_id, run_id, state, next_event_id, db_version, running"
    " FROM executions WHERE namespace_id = ? AND workflow_id = ? AND run_id = ?"
)
SELECT_HISTORY: LiteralString = (
    "SELECT first_event_id, last_event_id, data FROM history_batches"
    " WHERE namespace_id = ? AND workflow_id = ? AND run_id = ? AND last_event_id >= ?"
    " ORDER BY first_event_id"
)
SELECT_RUNNING_FIRST: LiteralString = (
    "SELECT namespace_id, workflow_id, run_id, state, next_event_id, db_version, running FROM executions WHERE running"
    " ORDER BY namespace_id, workflow_id, run_id LIMIT ?"
)
SELECT_RUNNING_AFTER: LiteralString = (
    "SELECT namespace_id, workflow_id, run_id, state, next_event_id, db_version, running FROM executions WHERE running"
    " AND (namespace_id, workflow_id, run_id) > (?, ?, ?)"
    " ORDER BY namespace_id, workflow_id, run_id LIMIT ?"
)

INSERT_NAMESPACE: LiteralString = (
    "INSERT INTO namespaces (id, name, state, data, version) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
UPDATE_NAMESPACE: LiteralString = "UPDATE namespaces SET state = ?, data = ?, version = ? WHERE id = ? AND version = ?"
SELECT_NAMESPACE_BY_NAME: LiteralString = "SELECT id, name, state, data, version FROM namespaces WHERE name = ?"
SELECT_NAMESPACE_BY_ID: LiteralString = "SELECT id, name, state, data, version FROM namespaces WHERE id = ?"
SELECT_NAMESPACE_BY_BOTH: LiteralString = (
    "SELECT id, name, state, data, version FROM namespaces WHERE name = ? AND id = ?"
)
LIST_NAMESPACES: LiteralString = (
    "SELECT id, name, state, data, version FROM namespaces WHERE name > ? ORDER BY name LIMIT ?"
)

SELECT_SEARCH_ATTRIBUTES: LiteralString = (
    "SELECT namespace_id, name, field, type FROM search_attributes ORDER BY namespace_id, name"
)
INSERT_SEARCH_ATTRIBUTE: LiteralString = (
    "INSERT INTO search_attributes (namespace_id, name, field, type) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
DELETE_SEARCH_ATTRIBUTE: LiteralString = "DELETE FROM search_attributes WHERE namespace_id = ? AND name = ?"
RENAME_SEARCH_ATTRIBUTE: LiteralString = "UPDATE search_attributes SET name = ? WHERE namespace_id = ? AND name = ?"

# Retention: closed runs of a namespace that closed before a time, oldest first, and their rows.
SELECT_EXPIRED: LiteralString = (
    "SELECT workflow_id, run_id FROM executions_visibility WHERE namespace_id = ? AND close_time < ?"
    " ORDER BY close_time LIMIT ?"
)
DELETE_RUN: tuple[LiteralString, ...] = (
    "DELETE FROM history_batches WHERE namespace_id = ? AND workflow_id = ? AND run_id = ?",
    "DELETE FROM executions WHERE namespace_id = ? AND workflow_id = ? AND run_id = ? AND NOT running",
    "DELETE FROM current_executions WHERE namespace_id = ? AND workflow_id = ? AND run_id = ? AND NOT running",
)
DELETE_RUN_VISIBILITY: tuple[LiteralString, ...] = (
    "DELETE FROM visibility_attributes WHERE namespace_id = ? AND run_id = ?",
    "DELETE FROM executions_visibility WHERE namespace_id = ? AND run_id = ?",
)

INSERT_SCHEDULE: LiteralString = (
    "INSERT INTO schedules (namespace_id, schedule_id, data, version) VALUES (?, ?, ?, 1) ON CONFLICT DO NOTHING"
)
UPDATE_SCHEDULE: LiteralString = (
    "UPDATE schedules SET data = ?, version = version + 1 WHERE namespace_id = ? AND schedule_id = ? AND version = ?"
)
DELETE_SCHEDULE: LiteralString = "DELETE FROM schedules WHERE namespace_id = ? AND schedule_id = ?"
SELECT_SCHEDULES_FIRST: LiteralString = (
    "SELECT namespace_id, schedule_id, data, version FROM schedules ORDER BY namespace_id, schedule_id LIMIT ?"
)
SELECT_SCHEDULES_AFTER: LiteralString = (
    "SELECT namespace_id, schedule_id, data, version FROM schedules WHERE (namespace_id, schedule_id) > (?, ?)"
    " ORDER BY namespace_id, schedule_id LIMIT ?"
)

UPSERT_BATCH: LiteralString = (
    "INSERT INTO batch_operations (namespace_id, job_id, data) VALUES (?, ?, ?)"
    " ON CONFLICT (namespace_id, job_id) DO UPDATE SET data = excluded.data"
)
SELECT_BATCHES_FIRST: LiteralString = (
    "SELECT namespace_id, job_id, data FROM batch_operations ORDER BY namespace_id, job_id LIMIT ?"
)
SELECT_BATCHES_AFTER: LiteralString = (
    "SELECT namespace_id, job_id, data FROM batch_operations WHERE (namespace_id, job_id) > (?, ?)"
    " ORDER BY namespace_id, job_id LIMIT ?"
)


def numbered(sql: LiteralString) -> LiteralString:
    """`?` placeholders → `$1, $2, …`; uncached, for statements built per request."""
    parts = sql.split("?")
    out = parts[0]
    for n, part in enumerate(parts[1:], start=1):
        out += f"${n}" + part
    return out


@cache
def postgres(sql: LiteralString) -> LiteralString:
    """The same statement with PostgreSQL's numbered placeholders ($1, $2, …) instead of `?`
    (none of our SQL contains a literal '?'); cached, for the fixed statements."""
    return numbered(sql)


def is_simple(t: Transition) -> bool:
    """An update of an existing run that does not move the current-run pointer (nor replace
    its indexed search attributes)."""
    return t.expected_db_version > 0 and t.current is None and not replaces_attributes(t) and not t.linked


def is_new_workflow(t: Transition) -> bool:
    """The first run of a workflow id that has no current run (as far as the caller knows),
    without indexed search attributes."""
    c = t.current
    return (
        t.expected_db_version == 0
        and c is not None
        and c.expected_run_id is None
        and t.current_status is None
        and not replaces_attributes(t)
        and not t.linked
    )


def replaces_attributes(t: Transition) -> bool:
    return t.visibility is not None and t.visibility.attributes is not None


def plan(t: Transition) -> list[Step]:
    """The statements of one transition, in order: mutable state, current run, history."""
    k = t.key
    steps: list[Step] = []
    if t.expected_db_version == 0:
        params: tuple[Any, ...] = (*key_params(k), t.state, t.next_event_id, t.running)
        steps.append(Step(INSERT_EXECUTION, params, Guard.EXECUTION))
    else:
        params = (t.state, t.next_event_id, t.running, *key_params(k), t.expected_db_version)
        steps.append(Step(UPDATE_EXECUTION, params, Guard.EXECUTION))
    if (c := t.current) is not None:
        if c.expected_run_id is None:
            params = (k.namespace_id, k.workflow_id, c.run_id, c.running, c.start_request_id, c.status)
            steps.append(Step(INSERT_CURRENT, params, Guard.CURRENT))
        else:
            params = (c.run_id, c.running, c.start_request_id, c.status, k.namespace_id, k.workflow_id)
            steps.append(Step(REPLACE_CURRENT, (*params, c.expected_run_id), Guard.CURRENT))
    if t.current_status is not None:
        running, status = t.current_status
        steps.append(Step(UPDATE_CURRENT_STATUS, (running, status, *key_params(k)), None))
    if (h := t.history) is not None:
        params = (*key_params(k), h.first_event_id, h.last_event_id, h.data)
        steps.append(Step(INSERT_HISTORY, params, Guard.HISTORY))
    if (v := t.visibility) is not None:
        steps.append(Step(UPSERT_VISIBILITY, visibility_params(k, v), None))
        if v.attributes is not None:
            steps.append(Step(DELETE_ATTRIBUTES, (k.namespace_id, k.run_id), None))
            for a in v.attributes:
                params = (k.namespace_id, k.run_id, a.name, a.text_value, a.int_value, a.double_value)
                steps.append(Step(INSERT_ATTRIBUTE, params, None))
    for other in t.linked:  # after this run's current-run change: theirs then names another run
        steps.extend(plan(other))
    return steps


def visibility_params(k: ExecutionKey, v: VisibilityRow) -> tuple[Any, ...]:
    """`UPSERT_VISIBILITY`'s parameters, in its column order."""
    return (
        k.namespace_id,
        k.run_id,
        k.workflow_id,
        v.workflow_type,
        v.status,
        v.start_time,
        v.execution_time,
        v.close_time,
        v.execution_duration,
        v.task_queue,
        v.history_length,
        v.history_size_bytes,
        v.state_transition_count,
        v.parent_workflow_id,
        v.parent_run_id,
        v.root_workflow_id,
        v.root_run_id,
        v.memo,
        v.search_attributes,
    )


def failure(guard: Guard, t: Transition, current: CurrentRun | None) -> BaseException:
    """The exception for a transition whose `guard` step touched no row.

    `current` is the current-run row as it was before this transition (read after rolling back
    to its savepoint); only a `CurrentRunConflict` uses it.
    """
    k = t.key
    if guard is Guard.EXECUTION:
        if t.expected_db_version == 0:
            return ExecutionConflict(f"execution {k.workflow_id}/{k.run_id} already exists")
        return ExecutionConflict(f"execution {k.workflow_id}/{k.run_id} is not at db_version {t.expected_db_version}")
    if guard is Guard.CURRENT:
        return CurrentRunConflict(current)
    # The row's version matched, yet events were already stored: a caller numbered events wrongly.
    first = t.history.first_event_id if t.history else 0
    return StoreError(f"history of {k.workflow_id}/{k.run_id} already has a batch starting at event {first}")


def namespace_from_row(row: Sequence[Any]) -> NamespaceRecord:
    return NamespaceRecord(id=row[0], name=row[1], state=int(row[2]), data=bytes(row[3]), version=int(row[4]))


def namespace_params(record: NamespaceRecord) -> tuple[Any, ...]:
    return (record.id, record.name, record.state, record.data, record.version)


def current_from_row(row: Sequence[Any]) -> CurrentRun:
    return CurrentRun(
        namespace_id=row[0],
        workflow_id=row[1],
        run_id=row[2],
        running=bool(row[3]),
        start_request_id=row[4],
        status=int(row[5]),
    )


def execution_from_row(row: Sequence[Any]) -> ExecutionRow:
    return ExecutionRow(
        key=ExecutionKey(row[0], row[1], row[2]),
        state=bytes(row[3]),
        next_event_id=int(row[4]),
        db_version=int(row[5]),
        running=bool(row[6]),
    )


def history_from_row(row: Sequence[Any]) -> HistoryBatch:
    return HistoryBatch(first_event_id=int(row[0]), last_event_id=int(row[1]), data=bytes(row[2]))


def key_params(key: ExecutionKey) -> tuple[str, str, str]:
    return (key.namespace_id, key.workflow_id, key.run_id)


def namespace_query(name: str | None, id: str | None) -> tuple[LiteralString, tuple[str, ...]]:
    """The lookup for `get_namespace`: by name, by id, or by both (both must match)."""
    if name is not None and id is not None:
        return SELECT_NAMESPACE_BY_BOTH, (name, id)
    if name is not None:
        return SELECT_NAMESPACE_BY_NAME, (name,)
    if id is not None:
        return SELECT_NAMESPACE_BY_ID, (id,)
    raise ValueError("get_namespace needs a name or an id")
