"""What the engine stores of tenant access, as the control plane provisions it
(docs/engine-admin-api.md): per-namespace auth settings, principals with their grants, API keys.

The store keeps these rows and a single `access_version` that every change bumps in the same
transaction, so an engine process can tell cheaply whether its in-memory snapshot is stale.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.persistence.records import StoreConflict


@dataclass(frozen=True)
class NamespaceAuth:
    """A namespace's auth settings. `mtls_ca_bundle_pem` None: mTLS is off."""

    namespace_id: str
    account_id: str
    api_key_auth: bool
    mtls_ca_bundle_pem: str | None = None
    mtls_filters: str = "[]"  # a JSON list of certificate filter objects


@dataclass(frozen=True)
class NamespaceAccessRow:
    """A live (not deleted) namespace with auth settings, as an access snapshot needs it."""

    namespace_id: str
    name: str
    account_id: str
    api_key_auth: bool
    mtls_ca_bundle_pem: str | None
    mtls_filters: str


@dataclass(frozen=True)
class PrincipalRow:
    """A user or service account of an account. `grants`: (namespace short name, permission)."""

    principal_id: str
    account_id: str
    kind: str
    name: str
    account_admin: bool
    grants: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ApiKeyRow:
    """An API key: only its HMAC digest is known. `expires_at` in ns since the epoch, or None."""

    key_id: str
    principal_id: str
    digest: str
    expires_at: int | None
    disabled: bool


@dataclass(frozen=True)
class AccessState:
    """Everything tenant calls are checked against, read in one consistent snapshot."""

    version: int
    namespaces: tuple[NamespaceAccessRow, ...]
    principals: tuple[PrincipalRow, ...]
    api_keys: tuple[ApiKeyRow, ...]


class AccessConflict(StoreConflict):
    """A principal or key id of the account being replaced belongs to another account."""
