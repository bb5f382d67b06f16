"""What a run's visibility row and indexed search attributes are, from its mutable state.

`validate` checks search attributes given at start or upserted by a workflow against the
namespace's custom attributes (and the predefined ones); `attribute_rows` turns a run's current
search attributes into the rows the store indexes; `visibility_row` builds the whole row.
"""

from __future__ import annotations

from collections.abc import Mapping

from temporalio.api.common.v1 import SearchAttributes

from engine.persistence.records import AttributeRow
from engine.visibility.attributes import (
    MAX_KEYS,
    MAX_TOTAL_BYTES,
    MAX_VALUE_BYTES,
    NANOS,
    PREDEFINED_ATTRIBUTES,
    SYSTEM_ATTRIBUTES,
    Attribute,
    AttributeValueError,
    SaType,
    decode_values,
    indexed_text,
    is_null_payload,
)


def attribute_of(name: str, custom: Mapping[str, SaType]) -> Attribute | None:
    """A settable attribute of that name: predefined, or one of the namespace's custom ones."""
    predefined = PREDEFINED_ATTRIBUTES.get(name)
    if predefined is not None:
        return predefined
    sa_type = custom.get(name)
    return Attribute(name, sa_type) if sa_type is not None else None


def validate(search_attributes: SearchAttributes, custom: Mapping[str, SaType], namespace: str) -> None:
    """`AttributeValueError` with Temporal's kind of message unless every field is a settable
    attribute with a value of its type and within the size limits."""
    total = 0
    if len(search_attributes.indexed_fields) > MAX_KEYS:
        raise AttributeValueError(
            f"number of search attributes {len(search_attributes.indexed_fields)} exceeds limit {MAX_KEYS}"
        )
    for name, payload in search_attributes.indexed_fields.items():
        if name in SYSTEM_ATTRIBUTES:
            raise AttributeValueError(f"{name} attribute can't be set in SearchAttributes")
        attribute = attribute_of(name, custom)
        if attribute is None:
            raise AttributeValueError(f"Namespace {namespace} has no mapping defined for search attribute {name}")
        size = len(payload.data) + sum(len(k) + len(v) for k, v in payload.metadata.items())
        if size > MAX_VALUE_BYTES:
            raise AttributeValueError(f"search attribute {name} value size {size} exceeds size limit {MAX_VALUE_BYTES}")
        total += size + len(name)
        if not is_null_payload(payload):
            decode_values(attribute, payload)
    if total > MAX_TOTAL_BYTES:
        raise AttributeValueError(f"total size of search attributes {total} exceeds size limit {MAX_TOTAL_BYTES}")


def merge(current: bytes, upserted: SearchAttributes) -> SearchAttributes:
    """A run's search attributes after an upsert: null or empty values remove their attribute."""
    merged = SearchAttributes.FromString(current) if current else SearchAttributes()
    for name, payload in upserted.indexed_fields.items():
        if is_null_payload(payload):
            merged.indexed_fields.pop(name, None)
        else:
            merged.indexed_fields[name].CopyFrom(payload)
    return merged


def attribute_rows(search_attributes: bytes, custom: Mapping[str, SaType]) -> tuple[AttributeRow, ...]:
    """The indexed rows of a run's current search attributes. An attribute the namespace no
    longer defines, or a value that no longer fits its type, is kept but not indexed."""
    if not search_attributes:
        return ()
    rows: list[AttributeRow] = []
    for name, payload in sorted(SearchAttributes.FromString(search_attributes).indexed_fields.items()):
        attribute = attribute_of(name, custom)
        if attribute is None or is_null_payload(payload):
            continue
        try:
            values = decode_values(attribute, payload)
        except AttributeValueError:
            continue
        for value in dict.fromkeys(values):
            rows.append(_row(attribute, value))
    return tuple(rows)


def _row(attribute: Attribute, value: str | int | float) -> AttributeRow:
    kind = attribute.type
    if kind is SaType.TEXT:
        return AttributeRow(attribute.name, text_value=indexed_text(str(value)))
    if kind in (SaType.KEYWORD, SaType.KEYWORD_LIST):
        return AttributeRow(attribute.name, text_value=str(value))
    if kind is SaType.DOUBLE:
        return AttributeRow(attribute.name, double_value=float(value))
    return AttributeRow(attribute.name, int_value=int(value))


def nanos(seconds: float) -> int:
    return round(seconds * NANOS)
