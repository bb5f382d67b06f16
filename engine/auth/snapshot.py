"""The access snapshot every tenant call is checked against: immutable, built from one
`Store.load_access()` read and swapped whole, so a check never touches the store and never sees
half of a sync."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.auth.permissions import Permission
from engine.persistence.access_records import AccessState, PrincipalRow


@dataclass(frozen=True, slots=True)
class NamespaceAccess:
    id: str
    name: str  # the namespace id tenants use: "<name>.<account id>"
    short_name: str  # the part before the first '.', what grants name
    account_id: str
    api_key_auth: bool
    # mTLS (engine/auth/mtls.py): the accepted client CA bundle (None: mTLS is off) and the
    # certificate filters, each a mapping of filter field to pattern
    mtls_ca_pem: str | None = None
    mtls_filters: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PrincipalAccess:
    principal_id: str
    account_id: str
    kind: str
    name: str
    account_admin: bool
    grants: Mapping[str, Permission]  # by namespace short name

    def permission_on(self, namespace: NamespaceAccess) -> Permission | None:
        """Account admins are Admin on every namespace of their account; others have their grant
        on the namespace's short name. Another account's namespace: nothing."""
        if namespace.account_id != self.account_id:
            return None
        if self.account_admin:
            return Permission.ADMIN
        return self.grants.get(namespace.short_name)


@dataclass(frozen=True, slots=True)
class KeyAccess:
    key_id: str
    digest: str  # hex HMAC-SHA256 of the whole token under the pepper
    expires_at: int | None  # ns since the epoch
    disabled: bool
    principal: PrincipalAccess | None  # None: the key names a principal the account no longer has


@dataclass(frozen=True)
class AccessSnapshot:
    version: int = -1  # -1: nothing loaded yet (no store version is negative)
    namespaces: Mapping[str, NamespaceAccess] = field(default_factory=dict)  # by name
    namespaces_by_id: Mapping[str, NamespaceAccess] = field(default_factory=dict)
    keys: Mapping[str, KeyAccess] = field(default_factory=dict)  # by key id

    @classmethod
    def from_state(cls, state: AccessState) -> AccessSnapshot:
        namespaces = {
            row.name: NamespaceAccess(
                row.namespace_id,
                row.name,
                row.name.split(".", 1)[0],
                row.account_id,
                row.api_key_auth,
                row.mtls_ca_bundle_pem,
                _filters(row.mtls_filters),
            )
            for row in state.namespaces
        }
        principals = {row.principal_id: _principal(row) for row in state.principals}
        keys = {
            row.key_id: KeyAccess(
                row.key_id, row.digest, row.expires_at, row.disabled, principals.get(row.principal_id)
            )
            for row in state.api_keys
        }
        return cls(
            version=state.version,
            namespaces=namespaces,
            namespaces_by_id={ns.id: ns for ns in namespaces.values()},
            keys=keys,
        )


def _filters(text: str) -> tuple[Mapping[str, str], ...]:
    """The stored JSON list of filter objects; only validated values are stored, so anything
    else is dropped (a filter that is not an object would match nothing useful)."""
    try:
        items = json.loads(text or "[]")
    except ValueError:
        return ()
    if not isinstance(items, list):
        return ()
    return tuple(
        {key: value for key, value in item.items() if isinstance(value, str) and value}
        for item in items
        if isinstance(item, dict)
    )


def _principal(row: PrincipalRow) -> PrincipalAccess:
    grants: dict[str, Permission] = {}
    for namespace, permission in row.grants:
        try:
            grants[namespace] = Permission.parse(permission)
        except ValueError:  # only validated values are stored; an unknown one grants nothing
            continue
    return PrincipalAccess(row.principal_id, row.account_id, row.kind, row.name, row.account_admin, grants)
