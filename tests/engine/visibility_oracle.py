"""A plain-Python evaluation of bound List Filters over in-memory records: the reference the
store's SQL is compared with. It shares the parser and binder (what a query *means*) with the
engine and nothing of the SQL compiler or the store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cmp_to_key
from typing import Any

from engine.visibility.attributes import Indexed, text_tokens
from engine.visibility.bind import AllOf, AnyOf, Bound, BoundQuery, Test

OPEN = 2**63 - 1


@dataclass
class Record:
    """One run as the test knows it: system columns by column name, custom values by name (Text
    as its original string, KeywordList as its list)."""

    columns: dict[str, Any]
    attributes: dict[str, list[Indexed]] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return str(self.columns["run_id"])


def matches(node: Bound | None, record: Record) -> bool:
    if node is None:
        return True
    if isinstance(node, AllOf):
        return all(matches(item, record) for item in node.items)
    if isinstance(node, AnyOf):
        return any(matches(item, record) for item in node.items)
    positive = _positive(node, record)
    return not positive if node.negated else positive


def _values(test: Test, record: Record) -> list[Indexed]:
    attribute = test.attribute
    if attribute.column is not None:
        value = record.columns.get(attribute.column)
        return [] if value is None else [value]
    return list(record.attributes.get(attribute.name, []))


def _positive(test: Test, record: Record) -> bool:
    values = _values(test, record)
    op, args = test.op, test.values
    if op == "exists":
        return bool(values)
    if op == "eq":
        return any(v == args[0] for v in values)
    if op == "gt":
        return any(v > args[0] for v in values)  # type: ignore[operator]
    if op == "ge":
        return any(v >= args[0] for v in values)  # type: ignore[operator]
    if op == "lt":
        return any(v < args[0] for v in values)  # type: ignore[operator]
    if op == "le":
        return any(v <= args[0] for v in values)  # type: ignore[operator]
    if op == "in":
        return any(v in args for v in values)
    if op == "between":
        return any(args[0] <= v <= args[1] for v in values)  # type: ignore[operator]
    if op == "prefix":
        return any(str(v).startswith(str(args[0])) for v in values)
    assert op == "phrase"
    words = list(args)
    return any(_contains(text_tokens(str(v)), words) for v in values)


def _contains(tokens: list[str], words: list[Any]) -> bool:
    n = len(words)
    return any(tokens[i : i + n] == words for i in range(len(tokens) - n + 1))


def evaluate(query: BoundQuery, records: Sequence[Record]) -> list[str]:
    """Run ids of the matching records in the order the listing promises."""
    selected = [r for r in records if matches(query.where, r)]

    def compare(a: Record, b: Record) -> int:
        return _compare(query, a, b)

    return [r.run_id for r in sorted(selected, key=cmp_to_key(compare))]


def _default_key(record: Record) -> tuple[int, int]:
    close = record.columns.get("close_time")
    return (OPEN if close is None else int(close), int(record.columns["start_time"]))


def _compare(query: BoundQuery, a: Record, b: Record) -> int:
    for sort in query.order_by:
        va, vb = _sort_value(sort.attribute, a), _sort_value(sort.attribute, b)
        if (va is None) != (vb is None):
            return 1 if va is None else -1  # missing values last, either direction
        if va is not None and vb is not None and va != vb:
            less = va < vb
            return (1 if less else -1) if sort.descending else (-1 if less else 1)
    ka, kb = _default_key(a), _default_key(b)
    if ka != kb:
        return -1 if ka > kb else 1  # newest first
    return -1 if a.run_id < b.run_id else (1 if a.run_id > b.run_id else 0)


def _sort_value(attribute: Any, record: Record) -> Any:
    if attribute.column is not None:
        return record.columns.get(attribute.column)
    values = record.attributes.get(attribute.name)
    return min(values) if values else None
