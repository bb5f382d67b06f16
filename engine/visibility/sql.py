"""A bound List Filter → one parameterised SELECT over the visibility tables.

The SQL text is assembled only from the fixed fragments below; every value of the query is a
parameter (`?`; the PostgreSQL store numbers them). Both stores run the same text.

System attributes are columns of `executions_visibility v`; custom and predefined ones are
rows of `visibility_attributes`, reached through `v.run_id IN (SELECT a.run_id … WHERE
a.name = ? AND <value test>)`, which the `(namespace_id, name, <value>)` indexes serve. A
positive test is never NULL (a missing
attribute makes it false), so `NOT` is exact two-valued negation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, LiteralString

from engine.visibility.attributes import SaType
from engine.visibility.bind import AllOf, AnyOf, Bound, BoundQuery, Test

# The default order: open runs first, then by close time, newest first; then start time; run id.
OPEN = 9223372036854775807
_ORDER_KEY: LiteralString = "COALESCE(v.close_time, 9223372036854775807)"  # OPEN

COLUMNS: LiteralString = (
    "v.run_id, v.workflow_id, v.workflow_type, v.status, v.start_time, v.execution_time, v.close_time,"
    " v.execution_duration, v.task_queue, v.history_length, v.history_size_bytes, v.state_transition_count,"
    " v.parent_workflow_id, v.parent_run_id, v.root_workflow_id, v.root_run_id, v.memo, v.search_attributes"
)

_SYSTEM_COLUMNS: dict[str, LiteralString] = {
    "workflow_id": "v.workflow_id",
    "run_id": "v.run_id",
    "workflow_type": "v.workflow_type",
    "status": "v.status",
    "start_time": "v.start_time",
    "execution_time": "v.execution_time",
    "close_time": "v.close_time",
    "execution_duration": "v.execution_duration",
    "task_queue": "v.task_queue",
    "history_length": "v.history_length",
    "history_size_bytes": "v.history_size_bytes",
    "state_transition_count": "v.state_transition_count",
    "parent_workflow_id": "v.parent_workflow_id",
    "parent_run_id": "v.parent_run_id",
    "root_workflow_id": "v.root_workflow_id",
    "root_run_id": "v.root_run_id",
}

_VALUE_COLUMNS: dict[SaType, LiteralString] = {
    SaType.KEYWORD: "a.text_value",
    SaType.KEYWORD_LIST: "a.text_value",
    SaType.TEXT: "a.text_value",
    SaType.INT: "a.int_value",
    SaType.DATETIME: "a.int_value",
    SaType.BOOL: "a.int_value",
    SaType.DOUBLE: "a.double_value",
}

# The runs with a value of one attribute: not correlated with the outer row, so both databases
# evaluate it once (from the (namespace_id, name, value) indexes) and semi-join on run id.
_ATTRIBUTE_RUNS: LiteralString = (
    "v.run_id IN (SELECT a.run_id FROM visibility_attributes a WHERE a.namespace_id = ? AND a.name = ?"
)

_COMPARATORS: dict[str, LiteralString] = {"eq": " = ?", "gt": " > ?", "ge": " >= ?", "lt": " < ?", "le": " <= ?"}


@dataclass(frozen=True)
class Statement:
    sql: LiteralString
    params: tuple[Any, ...]


@dataclass(frozen=True)
class Keyset:
    """Where the previous page of the default order ended."""

    order_key: int
    start_time: int
    run_id: str


def list_statement(namespace_id: str, query: BoundQuery, *, limit: int, after: Keyset | None, offset: int) -> Statement:
    """The rows of one page: the default order continues after `after`; a query with its own
    ORDER BY pages by `offset`. Each row is `COLUMNS` plus the default order key."""
    params: list[Any] = []
    sql: LiteralString = "SELECT " + COLUMNS + ", " + _ORDER_KEY + " FROM executions_visibility v"  # noqa: S608 (fixed fragments; values are parameters)
    # custom sort keys: one joined aggregate each (a correlated subquery per row can be planned
    # as a scan per row), with its parameters ahead of the WHERE clause's
    keys: list[LiteralString] = []
    for n, sort in enumerate(query.order_by):
        if sort.attribute.column is not None:
            keys.append(_SYSTEM_COLUMNS[sort.attribute.column])
            continue
        alias = _SORT_ALIASES[n]
        sql += (
            " LEFT JOIN (SELECT a.run_id, MIN(" + _VALUE_COLUMNS[sort.attribute.type] + ") AS k"  # noqa: S608 (fixed fragments)
            " FROM visibility_attributes a WHERE a.namespace_id = ? AND a.name = ? GROUP BY a.run_id) "
            + alias
            + " ON "
            + alias
            + ".run_id = v.run_id"
        )
        params += [namespace_id, sort.attribute.key]
        keys.append(alias + ".k")
    sql += " WHERE v.namespace_id = ?"
    params.append(namespace_id)
    if query.where is not None:
        sql += " AND " + _node(query.where, params, namespace_id)
    if query.order_by:
        order: list[LiteralString] = []
        for key, sort in zip(keys, query.order_by, strict=True):
            direction: LiteralString = " DESC" if sort.descending else " ASC"
            # missing values last in either direction (as Elasticsearch sorts them)
            order.append(key + " IS NULL, " + key + direction)
        sql += " ORDER BY " + ", ".join(order) + ", " + _ORDER_KEY + " DESC, v.start_time DESC, v.run_id"
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
        return Statement(sql, tuple(params))
    if after is not None:
        sql += (
            " AND (" + _ORDER_KEY + " < ? OR (" + _ORDER_KEY + " = ? AND (v.start_time < ?"
            " OR (v.start_time = ? AND v.run_id > ?))))"
        )
        params += [after.order_key, after.order_key, after.start_time, after.start_time, after.run_id]
    sql += " ORDER BY " + _ORDER_KEY + " DESC, v.start_time DESC, v.run_id LIMIT ?"
    params.append(limit)
    return Statement(sql, tuple(params))


_SORT_ALIASES: tuple[LiteralString, ...] = ("s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7")


def count_statement(namespace_id: str, query: BoundQuery) -> Statement:
    """`SELECT COUNT(*)`, or `SELECT status, COUNT(*) … GROUP BY status` for a grouped count."""
    params: list[Any] = [namespace_id]
    grouped = bool(query.group_by)
    sql: LiteralString = "SELECT v.status, COUNT(*)" if grouped else "SELECT COUNT(*)"
    sql += " FROM executions_visibility v WHERE v.namespace_id = ?"
    if query.where is not None:
        sql += " AND " + _node(query.where, params, namespace_id)
    if grouped:
        sql += " GROUP BY v.status ORDER BY v.status"
    return Statement(sql, tuple(params))


def _node(node: Bound, params: list[Any], namespace_id: str) -> LiteralString:
    if isinstance(node, AllOf):
        return "(" + " AND ".join(_node(item, params, namespace_id) for item in node.items) + ")"
    if isinstance(node, AnyOf):
        return "(" + " OR ".join(_node(item, params, namespace_id) for item in node.items) + ")"
    positive = _positive(node, params, namespace_id)
    return "NOT " + positive if node.negated else positive


def _positive(test: Test, params: list[Any], namespace_id: str) -> LiteralString:
    """The test without its negation, never NULL."""
    attribute = test.attribute
    if attribute.column is not None:
        column = _SYSTEM_COLUMNS[attribute.column]
        if test.op == "exists":
            return "(" + column + " IS NOT NULL)" if attribute.nullable else "(1 = 1)"
        condition = _condition(column, test, params)
        return "(" + column + " IS NOT NULL AND " + condition + ")" if attribute.nullable else "(" + condition + ")"
    params += [namespace_id, attribute.key]
    if test.op == "exists":
        return "(" + _ATTRIBUTE_RUNS + "))"
    condition = _condition(_VALUE_COLUMNS[attribute.type], test, params)
    return "(" + _ATTRIBUTE_RUNS + " AND " + condition + "))"


def _condition(column: LiteralString, test: Test, params: list[Any]) -> LiteralString:
    op, values = test.op, test.values
    if op in _COMPARATORS:
        params.append(values[0])
        return column + _COMPARATORS[op]
    if op == "in":
        params.extend(values)
        return column + " IN (" + ", ".join("?" for _ in values) + ")"
    if op == "between":
        params.extend(values)
        return column + " BETWEEN ? AND ?"
    if op == "prefix":
        prefix = str(values[0])
        params.extend([prefix, len(prefix), prefix])
        return column + " >= ? AND substr(" + column + ", 1, ?) = ?"
    assert op == "phrase"
    params.append("% " + " ".join(_escape_like(str(word)) for word in values) + " %")
    return column + " LIKE ? ESCAPE '\\'"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
