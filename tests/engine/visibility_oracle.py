"""A plain-Python evaluation of bound List Filters over in-memory records: the reference the
store's SQL is compared with. It shares the parser, the binder (what a query *means*) and the
Python evaluator (`engine.visibility.evaluate`, which the engine uses for schedules) with the
engine, and nothing of the SQL compiler or the store; the listing order is its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cmp_to_key
from typing import Any

from engine.visibility.attributes import Indexed
from engine.visibility.bind import Bound, BoundQuery
from engine.visibility.evaluate import Candidate
from engine.visibility.evaluate import matches as evaluate_one

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
    return evaluate_one(node, Candidate(record.columns, record.attributes))


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
