"""One statement for the common transitions of a PostgreSQL group-commit batch.

Most transitions update a run that already exists and leave the current-run row alone (or only
set its status), and most of the rest start a fresh workflow id. Written one by one they cost a
savepoint and 2–4 statements each, and the driver's work per statement costs far more CPU than
PostgreSQL spends executing it. `BATCH_WRITE` applies all of them with one statement whose
parameters are column arrays (see its comment for how each kind is guarded).

The inserts have no ON CONFLICT clause where a conflict would be a caller's bug (history
overlapping stored events, a run id already taken): the whole statement then fails with a
unique violation, nothing is written, and the caller redoes the batch through the savepoint
path, which reports that transition alone. No client round trip is needed to check first.

This is only sound when no two transitions of the batch touch the same (namespace, workflow
id): then they are independent and the order they apply in does not matter. `split_batch`
refuses (returns None) otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, LiteralString

from engine.persistence.records import Transition
from engine.persistence.statements import is_new_workflow, is_simple, visibility_params

_COLUMNS = (
    "namespace_id, workflow_id, run_id, state, next_event_id, expected_db_version, running,"
    " first_event_id, last_event_id, events, current_running, current_status"
)
_TYPES = ("text", "text", "text", "bytea", "int8", "int8", "bool", "int8", "int8", "bytea", "bool", "int4")

_CREATE_COLUMNS = (
    "namespace_id, workflow_id, run_id, state, next_event_id, running,"
    " current_running, start_request_id, status, first_event_id, last_event_id, events"
)
_CREATE_TYPES = ("text", "text", "text", "bytea", "int8", "bool", "bool", "text", "int4", "int8", "int8", "bytea")

# Visibility rows of both kinds (`is_create` says which): inserted for the new workflows that got
# their current-run row, upserted for the updates that matched (a run created before visibility
# existed gets its row then).
_VIS_COLUMNS = (
    "namespace_id, workflow_id, run_id, is_create, workflow_type, status, start_time, execution_time,"
    " close_time, execution_duration, task_queue, history_length, history_size_bytes, state_transition_count,"
    " parent_workflow_id, parent_run_id, root_workflow_id, root_run_id, memo, search_attributes"
)
_VIS_TYPES = (
    *("text", "text", "text", "bool", "text", "int4", "int8", "int8", "int8", "int8", "text", "int8", "int8"),
    *("int8", "text", "text", "text", "text", "bytea", "bytea"),
)
_VIS_INSERT = """
    INSERT INTO executions_visibility (namespace_id, run_id, workflow_id, workflow_type, status, start_time,
        execution_time, close_time, execution_duration, task_queue, history_length, history_size_bytes,
        state_transition_count, parent_workflow_id, parent_run_id, root_workflow_id, root_run_id, memo,
        search_attributes)
    SELECT vv.namespace_id, vv.run_id, vv.workflow_id, vv.workflow_type, vv.status, vv.start_time,
        vv.execution_time, vv.close_time, vv.execution_duration, vv.task_queue, vv.history_length,
        vv.history_size_bytes, vv.state_transition_count, vv.parent_workflow_id, vv.parent_run_id,
        vv.root_workflow_id, vv.root_run_id, vv.memo, vv.search_attributes"""

# One statement for both kinds (an empty array for a kind the batch lacks): one round trip and
# its own transaction. Data-modifying CTEs all see the snapshot taken before the statement, so
# the two kinds must not touch the same workflow (`split_batch` makes sure of it).
#
# Updates (`u*`): executions where `db_version` still matches; their history and current-run
# status only for the rows the update returned.
# New workflows (`c*`): the current-run row first, ON CONFLICT DO NOTHING; the execution row and
# history only for the ids it was inserted for. `existing` is the current row as it was before,
# for the conflict; `run_exists` finds a run id already taken (reported first, as the savepoint
# path does). No ON CONFLICT on executions or history: an overlap (a caller's bug) fails the
# statement, and the batch is redone through savepoints.
_BATCH = """
WITH uv({u_columns}) AS (SELECT * FROM {u_source}),
updated AS (
    UPDATE executions AS e
    SET state = uv.state, next_event_id = uv.next_event_id, db_version = e.db_version + 1, running = uv.running
    FROM uv
    WHERE e.namespace_id = uv.namespace_id AND e.workflow_id = uv.workflow_id AND e.run_id = uv.run_id
        AND e.db_version = uv.expected_db_version
    RETURNING e.namespace_id, e.workflow_id, e.run_id,
        uv.first_event_id, uv.last_event_id, uv.events, uv.current_running, uv.current_status
), u_history AS (
    INSERT INTO history_batches (namespace_id, workflow_id, run_id, first_event_id, last_event_id, data)
    SELECT namespace_id, workflow_id, run_id, first_event_id, last_event_id, events
    FROM updated WHERE first_event_id IS NOT NULL
), u_status AS (
    UPDATE current_executions AS c SET running = u.current_running, status = u.current_status
    FROM updated AS u
    WHERE u.current_status IS NOT NULL
        AND c.namespace_id = u.namespace_id AND c.workflow_id = u.workflow_id AND c.run_id = u.run_id
), cv({c_columns}) AS (SELECT * FROM {c_source}),
run_exists AS (
    SELECT e.namespace_id, e.workflow_id FROM executions AS e JOIN cv USING (namespace_id, workflow_id, run_id)
), existing AS (
    SELECT c.namespace_id, c.workflow_id, c.run_id, c.running, c.start_request_id, c.status
    FROM current_executions AS c JOIN cv USING (namespace_id, workflow_id)
), c_current AS (
    INSERT INTO current_executions (namespace_id, workflow_id, run_id, running, start_request_id, status)
    SELECT namespace_id, workflow_id, run_id, current_running, start_request_id, status FROM cv
    WHERE (namespace_id, workflow_id) NOT IN (SELECT namespace_id, workflow_id FROM run_exists)
    ON CONFLICT DO NOTHING
    RETURNING namespace_id, workflow_id
), c_execution AS (
    INSERT INTO executions (namespace_id, workflow_id, run_id, state, next_event_id, db_version, running)
    SELECT cv.namespace_id, cv.workflow_id, cv.run_id, cv.state, cv.next_event_id, 1, cv.running
    FROM cv JOIN c_current USING (namespace_id, workflow_id)
), c_history AS (
    INSERT INTO history_batches (namespace_id, workflow_id, run_id, first_event_id, last_event_id, data)
    SELECT cv.namespace_id, cv.workflow_id, cv.run_id, cv.first_event_id, cv.last_event_id, cv.events
    FROM cv JOIN c_current USING (namespace_id, workflow_id) WHERE cv.first_event_id IS NOT NULL
), vv({v_columns}) AS (SELECT * FROM {v_source}),
v_created AS ({v_insert}
    FROM vv JOIN c_current USING (namespace_id, workflow_id) WHERE vv.is_create
), v_updated AS ({v_insert}
    FROM vv JOIN updated USING (namespace_id, workflow_id, run_id) WHERE NOT vv.is_create
    ON CONFLICT (namespace_id, run_id) DO UPDATE SET status = excluded.status, close_time = excluded.close_time,
        execution_duration = excluded.execution_duration, history_length = excluded.history_length,
        history_size_bytes = excluded.history_size_bytes, state_transition_count = excluded.state_transition_count,
        memo = excluded.memo, search_attributes = excluded.search_attributes
)
SELECT 'updated', namespace_id, workflow_id, run_id, NULL::bool, NULL::text, NULL::int4 FROM updated
UNION ALL
SELECT 'created', namespace_id, workflow_id, NULL::text, NULL::bool, NULL::text, NULL::int4 FROM c_current
UNION ALL
SELECT 'run', namespace_id, workflow_id, NULL::text, NULL::bool, NULL::text, NULL::int4 FROM run_exists
UNION ALL
SELECT 'current', namespace_id, workflow_id, run_id, running, start_request_id, status FROM existing
"""


def _unnest(types: tuple[str, ...], first: int) -> str:
    return "unnest(" + ", ".join(f"${n}::{t}[]" for n, t in enumerate(types, start=first)) + ")"


# Column arrays (asyncpg encodes them in C): one statement text whatever the batch holds.
BATCH_WRITE: LiteralString = _BATCH.format(
    u_columns=_COLUMNS,
    u_source=_unnest(_TYPES, 1),
    c_columns=_CREATE_COLUMNS,
    c_source=_unnest(_CREATE_TYPES, len(_TYPES) + 1),
    v_columns=_VIS_COLUMNS,
    v_source=_unnest(_VIS_TYPES, len(_TYPES) + len(_CREATE_TYPES) + 1),
    v_insert=_VIS_INSERT,
)
CREATE_ROWS_MAX = 256


@dataclass(frozen=True)
class Split:
    """Positions in the batch: `simple` go through `SIMPLE_UPDATES`, `creates` through `_CREATE`,
    `rest` through savepoints."""

    simple: list[int]
    rest: list[int]
    creates: list[int] = field(default_factory=list)


def split_batch(transitions: Sequence[Transition]) -> Split | None:
    """Partition the batch, or None when two transitions share a workflow id (order would matter)."""
    seen: set[tuple[str, str]] = set()
    simple: list[int] = []
    creates: list[int] = []
    rest: list[int] = []
    for i, t in enumerate(transitions):
        workflow = (t.key.namespace_id, t.key.workflow_id)
        if workflow in seen:
            return None
        seen.add(workflow)
        if is_simple(t):
            simple.append(i)
        elif is_new_workflow(t) and len(creates) < CREATE_ROWS_MAX:
            creates.append(i)
        else:
            rest.append(i)
    return Split(simple, rest, creates)


def simple_rows(transitions: Sequence[Transition]) -> list[tuple[Any, ...]]:
    """One row per transition, in `_COLUMNS` order; NULL history / status where it has none."""
    rows = []
    for t in transitions:
        k, h, s = t.key, t.history, t.current_status
        rows.append(
            (
                k.namespace_id,
                k.workflow_id,
                k.run_id,
                t.state,
                t.next_event_id,
                t.expected_db_version,
                t.running,
                None if h is None else h.first_event_id,
                None if h is None else h.last_event_id,
                None if h is None else h.data,
                None if s is None else s[0],
                None if s is None else s[1],
            )
        )
    return rows


def batch_statement(
    simple: Sequence[Transition], creates: Sequence[Transition]
) -> tuple[LiteralString, tuple[Any, ...]]:
    """`BATCH_WRITE` and its parameters for these simple updates and new workflows."""
    create_rows = []
    for t in creates:
        k, h, c = t.key, t.history, t.current
        assert c is not None
        create_rows.append(
            (k.namespace_id, k.workflow_id, k.run_id, t.state, t.next_event_id, t.running)
            + (c.running, c.start_request_id, c.status)
            + ((None, None, None) if h is None else (h.first_event_id, h.last_event_id, h.data))
        )
    vis_rows = [_visibility_row(t, False) for t in simple if t.visibility is not None]
    vis_rows += [_visibility_row(t, True) for t in creates if t.visibility is not None]
    return BATCH_WRITE, (
        *_columns(simple_rows(simple), len(_TYPES)),
        *_columns(create_rows, len(_CREATE_TYPES)),
        *_columns(vis_rows, len(_VIS_TYPES)),
    )


def _visibility_row(t: Transition, is_create: bool) -> tuple[Any, ...]:
    """A row in `_VIS_COLUMNS` order (`visibility_params` has the run id second, the workflow id third)."""
    assert t.visibility is not None
    namespace_id, run_id, workflow_id, *rest = visibility_params(t.key, t.visibility)
    return (namespace_id, workflow_id, run_id, is_create, *rest)


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]
