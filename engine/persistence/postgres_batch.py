"""One statement for the common transitions of a PostgreSQL group-commit batch.

Most transitions update a run that already exists and leave the current-run row alone (or only
set its status). Written one by one they cost a savepoint and 2–4 statements each, and the
driver's per-statement work costs far more CPU than PostgreSQL spends executing them.
`SIMPLE_UPDATES` applies all of them with one statement whose parameters are column arrays:

* the execution rows are updated where `db_version` still matches, as `UPDATE_EXECUTION` does;
  a transition whose row is not returned failed its precondition and wrote nothing else;
* the history batches and current-run statuses of the updated rows only are written by
  data-modifying CTEs fed from the update's RETURNING, so they stand or fall with it.

The history insert has no ON CONFLICT clause on purpose: a batch overlapping stored events (a
caller's bug, never a precondition) makes the whole statement fail with a unique violation, the
transaction is rolled back by the server, and the caller redoes the batch through the savepoint
path, which reports that transition alone. No client round trip is needed to check for it first.

New workflows (a fresh id, the common start) likewise go together through `CREATE_RUNS`.

This is only sound when no two transitions of the batch touch the same (namespace, workflow id):
then they are independent and the order they apply in does not matter. `split_batch` refuses
(returns None) otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, LiteralString

from engine.persistence.records import Transition

_COLUMNS = (
    "namespace_id, workflow_id, run_id, state, next_event_id, expected_db_version, running,"
    " first_event_id, last_event_id, events, current_running, current_status"
)
_TYPES = ("text", "text", "text", "bytea", "int8", "int8", "bool", "int8", "int8", "bytea", "bool", "int4")

_STATEMENT = """
WITH updated AS (
    UPDATE executions AS e
    SET state = v.state, next_event_id = v.next_event_id, db_version = e.db_version + 1, running = v.running
    FROM {source} AS v({columns})
    WHERE e.namespace_id = v.namespace_id AND e.workflow_id = v.workflow_id AND e.run_id = v.run_id
        AND e.db_version = v.expected_db_version
    RETURNING e.namespace_id, e.workflow_id, e.run_id,
        v.first_event_id, v.last_event_id, v.events, v.current_running, v.current_status
), history AS (
    INSERT INTO history_batches (namespace_id, workflow_id, run_id, first_event_id, last_event_id, data)
    SELECT namespace_id, workflow_id, run_id, first_event_id, last_event_id, events
    FROM updated WHERE first_event_id IS NOT NULL
), status AS (
    UPDATE current_executions AS c SET running = u.current_running, status = u.current_status
    FROM updated AS u
    WHERE u.current_status IS NOT NULL
        AND c.namespace_id = u.namespace_id AND c.workflow_id = u.workflow_id AND c.run_id = u.run_id
)
SELECT namespace_id, workflow_id, run_id FROM updated
"""


def _unnest(types: tuple[str, ...]) -> str:
    return "unnest(" + ", ".join(f"${n}::{t}[]" for n, t in enumerate(types, start=1)) + ")"


# Column arrays (asyncpg encodes them in C): one statement text whatever the batch size.
SIMPLE_UPDATES: LiteralString = _STATEMENT.format(source=_unnest(_TYPES), columns=_COLUMNS)


# New runs of workflow ids with no current run (the common start): the current-run row first,
# ON CONFLICT DO NOTHING; the execution row and history only for the ids it was inserted for.
# `existing` reads the statement's snapshot: the current row as it was before, for the conflict.
# No ON CONFLICT on executions or history: an existing run id (never for fresh UUIDs) fails the
# statement, and the batch is redone through savepoints.
_CREATE_TYPES = ("text", "text", "text", "bytea", "int8", "bool", "bool", "text", "int4", "int8", "int8", "bytea")
_CREATE_COLUMNS = (
    "namespace_id, workflow_id, run_id, state, next_event_id, running,"
    " current_running, start_request_id, status, first_event_id, last_event_id, events"
)
_CREATE = """
WITH v({columns}) AS (SELECT * FROM {source}),
run_exists AS (
    SELECT e.namespace_id, e.workflow_id FROM executions AS e JOIN v USING (namespace_id, workflow_id, run_id)
), existing AS (
    SELECT c.namespace_id, c.workflow_id, c.run_id, c.running, c.start_request_id, c.status
    FROM current_executions AS c JOIN v USING (namespace_id, workflow_id)
), cur AS (
    INSERT INTO current_executions (namespace_id, workflow_id, run_id, running, start_request_id, status)
    SELECT namespace_id, workflow_id, run_id, current_running, start_request_id, status FROM v
    WHERE (namespace_id, workflow_id) NOT IN (SELECT namespace_id, workflow_id FROM run_exists)
    ON CONFLICT DO NOTHING
    RETURNING namespace_id, workflow_id
), execution AS (
    INSERT INTO executions (namespace_id, workflow_id, run_id, state, next_event_id, db_version, running)
    SELECT v.namespace_id, v.workflow_id, v.run_id, v.state, v.next_event_id, 1, v.running
    FROM v JOIN cur USING (namespace_id, workflow_id)
), history AS (
    INSERT INTO history_batches (namespace_id, workflow_id, run_id, first_event_id, last_event_id, data)
    SELECT v.namespace_id, v.workflow_id, v.run_id, v.first_event_id, v.last_event_id, v.events
    FROM v JOIN cur USING (namespace_id, workflow_id) WHERE v.first_event_id IS NOT NULL
)
SELECT 'created', namespace_id, workflow_id, NULL::text, NULL::bool, NULL::text, NULL::int4 FROM cur
UNION ALL
SELECT 'run', namespace_id, workflow_id, NULL::text, NULL::bool, NULL::text, NULL::int4 FROM run_exists
UNION ALL
SELECT 'current', namespace_id, workflow_id, run_id, running, start_request_id, status FROM existing
"""
CREATE_RUNS: LiteralString = _CREATE.format(columns=_CREATE_COLUMNS, source=_unnest(_CREATE_TYPES))
CREATE_ROWS_MAX = 256


def create_statement(transitions: Sequence[Transition]) -> tuple[LiteralString, tuple[Any, ...]]:
    """The statement and parameters creating `transitions` (all new runs, distinct workflows)."""
    rows = []
    for t in transitions:
        k, h, c = t.key, t.history, t.current
        assert c is not None
        rows.append(
            (k.namespace_id, k.workflow_id, k.run_id, t.state, t.next_event_id, t.running)
            + (c.running, c.start_request_id, c.status)
            + ((None, None, None) if h is None else (h.first_event_id, h.last_event_id, h.data))
        )
    return CREATE_RUNS, tuple(list(column) for column in zip(*rows, strict=True))


@dataclass(frozen=True)
class Split:
    """Positions in the batch: `simple` go through `SIMPLE_UPDATES`, `creates` through `_CREATE`,
    `rest` through savepoints."""

    simple: list[int]
    rest: list[int]
    creates: list[int] = field(default_factory=list)


def is_simple(t: Transition) -> bool:
    """An update of an existing run that does not move the current-run pointer."""
    return t.expected_db_version > 0 and t.current is None


def is_new_workflow(t: Transition) -> bool:
    """The first run of a workflow id that has no current run (as far as the caller knows)."""
    c = t.current
    return t.expected_db_version == 0 and c is not None and c.expected_run_id is None and t.current_status is None


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


def simple_statement(transitions: Sequence[Transition]) -> tuple[LiteralString, tuple[Any, ...]]:
    """The statement and parameters writing `transitions` (all simple, distinct workflows)."""
    rows = simple_rows(transitions)
    return SIMPLE_UPDATES, tuple(list(column) for column in zip(*rows, strict=True))
