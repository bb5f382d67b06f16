"""A namespace's custom search attributes: the name users see (alias) and the field the engine stores.

Runs keep their search attributes keyed by field — in their mutable state, their visibility row,
the index rows and schedules — while requests and answers use aliases (Temporal Cloud's model).
Renaming an attribute changes only its alias: one row, and every stored run is found by the new
name at once. A new attribute's field is its own name unless an attribute renamed away from that
name still holds it; then a suffix makes it unique (`~` never appears in a valid alias).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from temporalio.api.common.v1 import SearchAttributes

from engine.visibility.attributes import SaType


@dataclass(frozen=True)
class CustomAttribute:
    alias: str
    field: str
    type: SaType


class CustomAttributes(Mapping[str, SaType]):
    """alias → type, with the alias ↔ field translation. Names that are not custom attributes
    (predefined ones, attributes since removed) pass through both ways unchanged."""

    def __init__(self, attributes: Iterable[CustomAttribute] = ()) -> None:
        self.attributes: dict[str, CustomAttribute] = {a.alias: a for a in attributes}
        self._alias_of = {a.field: a.alias for a in self.attributes.values()}
        # field → type: what the index rows of a run's stored attributes are built with
        self.by_field: dict[str, SaType] = {a.field: a.type for a in self.attributes.values()}
        self.identity = all(a.alias == a.field for a in self.attributes.values())

    def __getitem__(self, alias: str) -> SaType:
        return self.attributes[alias].type

    def __iter__(self) -> Iterator[str]:
        return iter(self.attributes)

    def __len__(self) -> int:
        return len(self.attributes)

    def field_of(self, alias: str) -> str:
        attribute = self.attributes.get(alias)
        return attribute.field if attribute is not None else alias

    def new_field(self, alias: str) -> str:
        """The field a new attribute named `alias` gets: unused by any attribute of the namespace."""
        if alias not in self.by_field:
            return alias
        n = 2
        while f"{alias}~{n}" in self.by_field:
            n += 1
        return f"{alias}~{n}"

    def to_fields(self, search_attributes: SearchAttributes) -> SearchAttributes:
        """Request names → stored names. Returns the same message when nothing is renamed."""
        if self.identity:
            return search_attributes
        result = SearchAttributes()
        for name, payload in search_attributes.indexed_fields.items():
            result.indexed_fields[self.field_of(name)].CopyFrom(payload)
        return result

    def to_aliases(self, search_attributes: SearchAttributes) -> SearchAttributes:
        """Stored names → the names users see now. A stored value of a removed attribute keeps its
        stored name unless a current attribute answers by that name."""
        if self.identity:
            return search_attributes
        result = SearchAttributes()
        orphans = []
        for name, payload in search_attributes.indexed_fields.items():
            alias = self._alias_of.get(name)
            if alias is not None:
                result.indexed_fields[alias].CopyFrom(payload)
            else:
                orphans.append((name, payload))
        for name, payload in orphans:
            if name not in self.attributes:
                result.indexed_fields[name].CopyFrom(payload)
        return result


def custom_attributes(rows: Iterable[tuple[str, str, SaType]]) -> CustomAttributes:
    """From (alias, field, type) rows."""
    return CustomAttributes(CustomAttribute(alias, field, sa_type) for alias, field, sa_type in rows)


def renamed(attributes: CustomAttributes, old: str, new: str) -> CustomAttributes:
    return CustomAttributes(
        CustomAttribute(new, a.field, a.type) if a.alias == old else a for a in attributes.attributes.values()
    )


def without(attributes: CustomAttributes, aliases: Iterable[str]) -> CustomAttributes:
    gone = set(aliases)
    return CustomAttributes(a for a in attributes.attributes.values() if a.alias not in gone)


def with_added(attributes: CustomAttributes, added: Mapping[str, tuple[str, SaType]]) -> CustomAttributes:
    """`added`: alias → (field, type)."""
    new = [CustomAttribute(alias, field, sa_type) for alias, (field, sa_type) in added.items()]
    return CustomAttributes([*attributes.attributes.values(), *new])


EMPTY = CustomAttributes()
