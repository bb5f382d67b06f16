"""Binding: a parsed List Filter checked against a namespace's search attributes.

Every name is resolved (system, predefined or the namespace's custom attributes), every operator
checked against the attribute's type and every literal converted to the value the store indexes
(`engine.visibility.attributes.Indexed`). The result is a small tree of `Test`s that both the
SQL compiler and the reference evaluator in the tests read.

Semantics (as Temporal's Elasticsearch-backed visibility, which Temporal Cloud's follows): a
positive test is false for a run that lacks the attribute; `!=`, `NOT IN`, `NOT BETWEEN` and
`NOT STARTS_WITH` are the negation of their positive test (so a run without the attribute
matches them); on a KeywordList a test holds when any of its values passes; on Text `=` is a
case-insensitive phrase match of the value's words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from engine.visibility.aliases import CustomAttributes
from engine.visibility.attributes import (
    INT64_MAX,
    INT64_MIN,
    NANOS,
    PREDEFINED_ATTRIBUTES,
    STATUS_NAMES,
    SYSTEM_ATTRIBUTES,
    Attribute,
    Indexed,
    SaType,
    parse_datetime,
    text_tokens,
)
from engine.visibility.query import (
    And,
    Between,
    Comparison,
    InList,
    IsNull,
    Literal,
    Name,
    Node,
    Or,
    Query,
    QueryError,
    StartsWith,
)

# Operators each type accepts (beyond IS [NOT] NULL, which all accept).
_RANGE = {"=", "!=", ">", ">=", "<", "<=", "in", "between"}
_ALLOWED: dict[SaType, set[str]] = {
    SaType.KEYWORD: _RANGE | {"starts_with"},
    SaType.INT: _RANGE,
    SaType.DOUBLE: _RANGE,
    SaType.DATETIME: _RANGE,
    SaType.BOOL: {"=", "!=", "in"},
    SaType.KEYWORD_LIST: {"=", "!=", "in"},
    SaType.TEXT: {"=", "!="},
}
_STATUS_BY_NAME = {name.lower(): value for value, name in STATUS_NAMES.items()}
_STATUS_BY_NAME.update({f"workflow_execution_status_{name.lower()}": value for value, name in STATUS_NAMES.items()})
_STATUS_BY_NAME["workflow_execution_status_continued_as_new"] = 6
_STATUS_BY_NAME["workflow_execution_status_timed_out"] = 7


@dataclass(frozen=True)
class Test:
    """One bound predicate. `op` is one of: eq, gt, ge, lt, le (one value), in (values),
    between (low, high), prefix (one string), phrase (Text: its words), exists (no value).
    `negated` inverts the whole test."""

    attribute: Attribute
    op: str
    values: tuple[Indexed, ...]
    negated: bool = False


@dataclass(frozen=True)
class AllOf:
    items: tuple[Bound, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Bound, ...]


Bound = Test | AllOf | AnyOf


@dataclass(frozen=True)
class Sort:
    attribute: Attribute
    descending: bool


@dataclass(frozen=True)
class BoundQuery:
    where: Bound | None
    order_by: tuple[Sort, ...]
    group_by: tuple[Attribute, ...]


MAX_SORT_KEYS = 8
_COMPARISON_OPS = {"=": "eq", ">": "gt", ">=": "ge", "<": "lt", "<=": "le"}


def bind(query: Query, custom: Mapping[str, SaType]) -> BoundQuery:
    """Check `query` against the namespace's custom attributes (name → type); `QueryError` names
    the offending attribute or value and its position."""
    where = _bind_node(query.where, custom) if query.where is not None else None
    if len(query.order_by) > MAX_SORT_KEYS:
        extra = query.order_by[MAX_SORT_KEYS].name
        raise QueryError(
            f"invalid query: at most {MAX_SORT_KEYS} ORDER BY keys; {extra.text!r} at position {extra.position}"
        )
    order = tuple(Sort(_sortable(key.name, custom), key.descending) for key in query.order_by)
    group = tuple(_groupable(name, custom) for name in query.group_by)
    return BoundQuery(where, order, group)


def resolve(name: Name, custom: Mapping[str, SaType]) -> Attribute:
    attribute = SYSTEM_ATTRIBUTES.get(name.text) or PREDEFINED_ATTRIBUTES.get(name.text)
    if attribute is not None:
        return attribute
    sa_type = custom.get(name.text)
    if sa_type is None:
        raise QueryError(f"invalid query: unknown search attribute {name.text!r} at position {name.position}")
    field = custom.field_of(name.text) if isinstance(custom, CustomAttributes) else name.text
    return Attribute(name.text, sa_type, field=field if field != name.text else "")


def _bind_node(node: Node, custom: Mapping[str, SaType]) -> Bound:
    if isinstance(node, And):
        return AllOf(tuple(_bind_node(item, custom) for item in node.items))
    if isinstance(node, Or):
        return AnyOf(tuple(_bind_node(item, custom) for item in node.items))
    attribute = resolve(node.name, custom)
    if isinstance(node, IsNull):
        return Test(attribute, "exists", (), negated=not node.negated)
    if isinstance(node, Comparison):
        _check(attribute, node.operator, node.name)
        if node.operator in ("=", "!="):
            negated = node.operator == "!="
            if attribute.type is SaType.TEXT:
                return Test(attribute, "phrase", _phrase(attribute, node.value), negated)
            return Test(attribute, "eq", (_value(attribute, node.value),), negated)
        return Test(attribute, _COMPARISON_OPS[node.operator], (_value(attribute, node.value),))
    if isinstance(node, InList):
        _check(attribute, "in", node.name)
        values = tuple(dict.fromkeys(_value(attribute, v) for v in node.values))
        return Test(attribute, "in", values, node.negated)
    if isinstance(node, Between):
        _check(attribute, "between", node.name)
        return Test(attribute, "between", (_value(attribute, node.low), _value(attribute, node.high)), node.negated)
    assert isinstance(node, StartsWith)
    _check(attribute, "starts_with", node.name)
    prefix = node.prefix.value
    if not isinstance(prefix, str):
        raise QueryError(f"invalid query: STARTS_WITH needs a string at position {node.prefix.position}")
    return Test(attribute, "prefix", (prefix,), node.negated)


def _check(attribute: Attribute, operator: str, name: Name) -> None:
    if operator not in _ALLOWED[attribute.type]:
        shown = operator.upper()
        raise QueryError(
            f"invalid query: operator {shown} is not supported for {attribute.type.label} search attribute"
            f" {attribute.name!r} at position {name.position}"
        )


def _sortable(name: Name, custom: Mapping[str, SaType]) -> Attribute:
    attribute = resolve(name, custom)
    if attribute.type in (SaType.TEXT, SaType.KEYWORD_LIST):
        raise QueryError(
            f"invalid query: cannot ORDER BY {attribute.type.label} search attribute {attribute.name!r}"
            f" at position {name.position}"
        )
    return attribute


def _groupable(name: Name, custom: Mapping[str, SaType]) -> Attribute:
    attribute = resolve(name, custom)
    if attribute.name != "ExecutionStatus":
        raise QueryError(
            f"invalid query: GROUP BY is only supported for ExecutionStatus, not {attribute.name!r}"
            f" at position {name.position}"
        )
    return attribute


def _phrase(attribute: Attribute, literal: Literal) -> tuple[str, ...]:
    if not isinstance(literal.value, str):
        raise _bad_value(attribute, literal)
    return tuple(text_tokens(literal.value))


def _value(attribute: Attribute, literal: Literal) -> Indexed:
    """The indexed form of a literal for this attribute (see attributes.Indexed)."""
    value = literal.value
    kind = attribute.type
    if attribute.name == "ExecutionStatus":
        return _status(attribute, literal)
    if attribute.name == "ExecutionDuration":
        return _duration(attribute, literal)
    if kind in (SaType.KEYWORD, SaType.KEYWORD_LIST, SaType.TEXT):
        if not isinstance(value, str):
            raise _bad_value(attribute, literal)
        return value
    if kind is SaType.BOOL:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return int(value.lower() == "true")
        raise _bad_value(attribute, literal)
    if kind is SaType.INT:
        number = _int(value)
        if number is None:
            raise _bad_value(attribute, literal)
        return number
    if kind is SaType.DOUBLE:
        if isinstance(value, bool):
            raise _bad_value(attribute, literal)
        try:
            return float(value)
        except ValueError:
            raise _bad_value(attribute, literal) from None
    # Datetime: an RFC 3339 string, or nanoseconds since the epoch
    if isinstance(value, str):
        try:
            return parse_datetime(value)
        except ValueError:
            raise _bad_value(attribute, literal) from None
    number = _int(value)
    if number is None:
        raise _bad_value(attribute, literal)
    return number


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        number = int(value)
    else:
        return None
    return number if INT64_MIN <= number <= INT64_MAX else None


def _status(attribute: Attribute, literal: Literal) -> int:
    value = literal.value
    if isinstance(value, str):
        status = _STATUS_BY_NAME.get(value.lower())
        if status is not None:
            return status
    elif isinstance(value, int) and not isinstance(value, bool) and value in STATUS_NAMES:
        return value
    raise QueryError(
        f"invalid query: invalid ExecutionStatus value {literal.value!r} at position {literal.position}"
        f" (expected one of {', '.join(STATUS_NAMES.values())})"
    )


_DURATION_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": NANOS, "m": 60 * NANOS, "h": 3600 * NANOS}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)")


def _duration(attribute: Attribute, literal: Literal) -> int:
    """ExecutionDuration: nanoseconds, a Go-style duration ("1h30m", "90s", "1.5h", "2d") or
    "HH:MM:SS"."""
    value = literal.value
    number = _int(value)
    if number is not None:
        return number
    if isinstance(value, str):
        text = value.strip()
        clock = re.fullmatch(r"(\d+):([0-5]\d):([0-5]\d)", text)
        if clock:
            hours, minutes, seconds = (int(part) for part in clock.groups())
            return ((hours * 60 + minutes) * 60 + seconds) * NANOS
        if text and _DURATION_PART.sub("", text) == "":
            total = 0.0
            for amount, unit in _DURATION_PART.findall(text):
                scale = 86400 * NANOS if unit == "d" else _DURATION_UNITS[unit]
                total += float(amount) * scale
            return int(total)
    raise QueryError(
        f"invalid query: invalid ExecutionDuration value {literal.value!r} at position {literal.position}"
        " (expected nanoseconds, a duration such as '1h30m', or 'HH:MM:SS')"
    )


def _bad_value(attribute: Attribute, literal: Literal) -> QueryError:
    return QueryError(
        f"invalid query: invalid value {literal.value!r} for {attribute.type.label} search attribute"
        f" {attribute.name!r} at position {literal.position}"
    )
