"""A bound List Filter evaluated in Python over one candidate's values.

For listings too small to need SQL (a namespace's schedules, held in memory); the store's SQL
(`engine.visibility.sql`) is tested against it. Semantics are those `bind` documents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.visibility.attributes import Indexed, text_tokens
from engine.visibility.bind import AllOf, AnyOf, Bound, Test


@dataclass
class Candidate:
    """System values by column name (None: absent); custom values by stored name (Bool as
    0/1, Datetime as ns, Text as its original string, KeywordList as its list)."""

    columns: Mapping[str, Any]
    attributes: Mapping[str, Sequence[Indexed]] = field(default_factory=dict)


def matches(node: Bound | None, candidate: Candidate) -> bool:
    if node is None:
        return True
    if isinstance(node, AllOf):
        return all(matches(item, candidate) for item in node.items)
    if isinstance(node, AnyOf):
        return any(matches(item, candidate) for item in node.items)
    positive = _positive(node, candidate)
    return not positive if node.negated else positive


def _values(test: Test, candidate: Candidate) -> list[Any]:
    attribute = test.attribute
    if attribute.column is not None:
        value = candidate.columns.get(attribute.column)
        return [] if value is None else [value]
    return list(candidate.attributes.get(attribute.key, ()))


def _positive(test: Test, candidate: Candidate) -> bool:
    values = _values(test, candidate)
    op, args = test.op, test.values
    if op == "exists":
        return bool(values)
    if op == "eq":
        return any(v == args[0] for v in values)
    if op == "gt":
        return any(v > args[0] for v in values)
    if op == "ge":
        return any(v >= args[0] for v in values)
    if op == "lt":
        return any(v < args[0] for v in values)
    if op == "le":
        return any(v <= args[0] for v in values)
    if op == "in":
        return any(v in args for v in values)
    if op == "between":
        return any(args[0] <= v <= args[1] for v in values)
    if op == "prefix":
        return any(str(v).startswith(str(args[0])) for v in values)
    words = list(args)  # phrase
    return any(_contains(text_tokens(str(v)), words) for v in values)


def _contains(tokens: list[str], words: list[Any]) -> bool:
    n = len(words)
    return any(tokens[i : i + n] == words for i in range(len(tokens) - n + 1))
