"""Each namespace's custom search attributes, kept in memory and written through to the store.

Read on every start, upsert and list query, so it answers from memory; loaded once at start-up.
Add and remove follow OperatorService's rules (Temporal Cloud's per-type limits, reserved names).
Each attribute has an alias (its name) and a stable stored field (engine.visibility.aliases).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine.persistence.store import Store
from engine.visibility.aliases import EMPTY, CustomAttributes, custom_attributes, renamed, with_added, without
from engine.visibility.attributes import CUSTOM_LIMITS, CUSTOM_NAME, RESERVED_NAMES, SaType


class SearchAttributeError(ValueError):
    """A request to add or remove custom search attributes that breaks a rule."""


class AlreadyExists(SearchAttributeError):
    pass


class NotDefined(SearchAttributeError):
    pass


class SearchAttributeRegistry:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._types: dict[str, CustomAttributes] = {}

    async def load(self) -> None:
        rows: dict[str, list[tuple[str, str, SaType]]] = {}
        for namespace_id, name, field, sa_type in await self.store.search_attributes():
            rows.setdefault(namespace_id, []).append((name, field, SaType(sa_type)))
        self._types = {namespace_id: custom_attributes(items) for namespace_id, items in rows.items()}

    def forget(self, namespace_id: str) -> None:
        """A purged namespace's attributes (its rows are gone with it)."""
        self._types.pop(namespace_id, None)

    def types(self, namespace_id: str) -> CustomAttributes:
        """The namespace's attributes: a mapping alias → type that also translates names."""
        return self._types.get(namespace_id, EMPTY)

    async def add(self, namespace_id: str, namespace: str, wanted: Mapping[str, SaType]) -> None:
        """Define `wanted` (name → type). A name already defined with the same type is fine
        (adding is idempotent); with another type, or a reserved name, it is refused, and so is
        going past a per-type limit. All or nothing."""
        new = self.check(namespace_id, namespace, wanted)
        if not new:
            return
        current = self.types(namespace_id)
        added: dict[str, tuple[str, SaType]] = {}
        for name, sa_type in new.items():
            field = with_added(current, added).new_field(name)
            added[name] = (field, sa_type)
        await self.store.add_search_attributes(namespace_id, {n: (f, int(t)) for n, (f, t) in added.items()})
        self._types[namespace_id] = with_added(current, added)

    def check(self, namespace_id: str, namespace: str, wanted: Mapping[str, SaType]) -> dict[str, SaType]:
        """What `add` would define (the names not yet defined), or the `SearchAttributeError` it
        would raise; changes nothing. `namespace_id` may be one not created yet."""
        current = dict(self.types(namespace_id))
        new: dict[str, SaType] = {}
        for name, sa_type in wanted.items():
            if not CUSTOM_NAME.match(name):
                raise SearchAttributeError(
                    f"search attribute name {name!r} is invalid: 1-64 characters of letters, digits, space and .,:-_/"
                )
            if name in RESERVED_NAMES or name.startswith("Temporal"):
                raise SearchAttributeError(f"Search attribute {name} is reserved by system.")
            existing = current.get(name)
            if existing is not None:
                if existing is not sa_type:
                    raise AlreadyExists(
                        f"Search attribute {name} already exists in namespace {namespace} with type"
                        f" {existing.label}, not {sa_type.label}."
                    )
                continue
            new[name] = sa_type
        for sa_type, limit in CUSTOM_LIMITS.items():
            count = sum(1 for t in current.values() if t is sa_type) + sum(1 for t in new.values() if t is sa_type)
            if count > limit:
                raise SearchAttributeError(
                    f"Unable to create search attributes: namespace {namespace} may have at most {limit}"
                    f" {sa_type.label} search attributes."
                )
        return new

    async def remove(self, namespace_id: str, namespace: str, names: Sequence[str]) -> None:
        current = dict(self.types(namespace_id))
        for name in names:
            if name in RESERVED_NAMES or name.startswith("Temporal"):
                raise SearchAttributeError(f"Unable to remove non-custom search attributes: {name}.")
            if name not in current:
                raise NotDefined(f"Search attribute {name} doesn't exist in namespace {namespace}.")
        await self.store.remove_search_attributes(namespace_id, list(dict.fromkeys(names)))
        self._types[namespace_id] = without(self.types(namespace_id), names)

    async def rename(
        self, namespace_id: str, namespace: str, old_name: str, new_name: str, *, sa_type: SaType | None = None
    ) -> bool:
        """Rename custom attribute `old_name` to `new_name`: its alias changes, its stored field
        stays, so every run is found and described by the new name only. Idempotent: `old_name`
        gone and `new_name` defined (with `sa_type`, when given) is success with nothing done
        (False). `NotDefined` if neither is there, `AlreadyExists` if both are,
        `SearchAttributeError` for an invalid or reserved name."""
        for name in (old_name, new_name):
            if not CUSTOM_NAME.match(name):
                raise SearchAttributeError(
                    f"search attribute name {name!r} is invalid: 1-64 characters of letters, digits, space and .,:-_/"
                )
            if name in RESERVED_NAMES or name.startswith("Temporal"):
                raise SearchAttributeError(f"Search attribute {name} is reserved by system.")
        if old_name == new_name:
            raise SearchAttributeError(f"Search attribute {old_name} cannot be renamed to itself.")
        current = dict(self.types(namespace_id))
        old_type, new_type = current.get(old_name), current.get(new_name)
        if old_type is None:
            if new_type is not None and sa_type in (None, new_type):
                return False  # renamed already
            raise NotDefined(f"Search attribute {old_name} doesn't exist in namespace {namespace}.")
        if new_type is not None:
            raise AlreadyExists(f"Search attribute {new_name} already exists in namespace {namespace}.")
        if sa_type is not None and old_type is not sa_type:
            raise SearchAttributeError(
                f"Search attribute {old_name} in namespace {namespace} has type {old_type.label}, not {sa_type.label}."
            )
        if not await self.store.rename_search_attribute(namespace_id, old_name, new_name):
            raise NotDefined(f"Search attribute {old_name} doesn't exist in namespace {namespace}.")
        self._types[namespace_id] = renamed(self.types(namespace_id), old_name, new_name)
        return True
