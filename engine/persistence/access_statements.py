"""SQL of the access tables (migration 5), shared by both backends (`?` placeholders; the
PostgreSQL module converts them with `statements.postgres`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from engine.persistence.access_records import ApiKeyRow, NamespaceAccessRow, NamespaceAuth, PrincipalRow

# temporal.api.enums.v1.NamespaceState.NAMESPACE_STATE_DELETED: a deleted namespace grants nothing
NAMESPACE_STATE_DELETED = 3

UPSERT_NAMESPACE_AUTH: LiteralString = (
    "INSERT INTO namespace_auth (namespace_id, account_id, api_key_auth, mtls_ca_bundle_pem, mtls_filters)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace_id) DO UPDATE SET account_id = excluded.account_id,"
    " api_key_auth = excluded.api_key_auth, mtls_ca_bundle_pem = excluded.mtls_ca_bundle_pem,"
    " mtls_filters = excluded.mtls_filters"
)
SELECT_NAMESPACE_AUTH: LiteralString = (
    "SELECT namespace_id, account_id, api_key_auth, mtls_ca_bundle_pem, mtls_filters FROM namespace_auth"
    " WHERE namespace_id = ?"
)
DELETE_NAMESPACE_AUTH: LiteralString = "DELETE FROM namespace_auth WHERE namespace_id = ?"
BUMP_ACCESS_VERSION: LiteralString = "UPDATE access_version SET version = version + 1 WHERE singleton = 1"
SELECT_ACCESS_VERSION: LiteralString = "SELECT version FROM access_version WHERE singleton = 1"

DELETE_ACCOUNT_GRANTS: LiteralString = (
    "DELETE FROM principal_grants WHERE principal_id IN (SELECT principal_id FROM principals WHERE account_id = ?)"
)
DELETE_ACCOUNT_PRINCIPALS: LiteralString = "DELETE FROM principals WHERE account_id = ?"
DELETE_ACCOUNT_KEYS: LiteralString = "DELETE FROM api_keys WHERE account_id = ?"
INSERT_PRINCIPAL: LiteralString = (
    "INSERT INTO principals (principal_id, account_id, kind, name, account_admin) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT DO NOTHING"
)
INSERT_GRANT: LiteralString = "INSERT INTO principal_grants (principal_id, namespace, permission) VALUES (?, ?, ?)"
INSERT_KEY: LiteralString = (
    "INSERT INTO api_keys (key_id, account_id, principal_id, digest, expires_at, disabled)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
SELECT_ACCOUNT_PRINCIPAL_IDS: LiteralString = "SELECT principal_id FROM principals WHERE account_id = ?"
SELECT_ACCOUNT_KEY_IDS: LiteralString = "SELECT key_id FROM api_keys WHERE account_id = ?"

MARK_NAMESPACE_DELETED: LiteralString = (
    "UPDATE namespaces SET name = ?, state = ?, data = ?, version = ? WHERE id = ? AND version = ?"
)
PURGE_NAMESPACE: tuple[LiteralString, ...] = (
    "DELETE FROM namespace_auth WHERE namespace_id = ?",
    "DELETE FROM search_attributes WHERE namespace_id = ?",
    "DELETE FROM schedules WHERE namespace_id = ?",
    "DELETE FROM batch_operations WHERE namespace_id = ?",
    "DELETE FROM namespaces WHERE id = ?",
)

SELECT_ACCESS_NAMESPACES: LiteralString = (
    "SELECT n.id, n.name, a.account_id, a.api_key_auth, a.mtls_ca_bundle_pem, a.mtls_filters"
    " FROM namespace_auth a JOIN namespaces n ON n.id = a.namespace_id WHERE n.state <> ? ORDER BY n.name"
)
SELECT_PRINCIPALS: LiteralString = (
    "SELECT principal_id, account_id, kind, name, account_admin FROM principals ORDER BY principal_id"
)
SELECT_GRANTS: LiteralString = (
    "SELECT principal_id, namespace, permission FROM principal_grants ORDER BY principal_id, namespace"
)
SELECT_KEYS: LiteralString = "SELECT key_id, principal_id, digest, expires_at, disabled FROM api_keys ORDER BY key_id"


def namespace_auth_params(auth: NamespaceAuth) -> tuple[Any, ...]:
    return (auth.namespace_id, auth.account_id, auth.api_key_auth, auth.mtls_ca_bundle_pem, auth.mtls_filters)


def namespace_auth_from_row(row: Sequence[Any]) -> NamespaceAuth:
    return NamespaceAuth(row[0], row[1], bool(row[2]), row[3], row[4])


def principal_params(account_id: str, p: PrincipalRow) -> tuple[Any, ...]:
    return (p.principal_id, account_id, p.kind, p.name, p.account_admin)


def grant_params(principals: Sequence[PrincipalRow]) -> list[tuple[str, str, str]]:
    return [(p.principal_id, namespace, permission) for p in principals for namespace, permission in p.grants]


def key_params(account_id: str, k: ApiKeyRow) -> tuple[Any, ...]:
    return (k.key_id, account_id, k.principal_id, k.digest, k.expires_at, k.disabled)


def access_namespace_from_row(row: Sequence[Any]) -> NamespaceAccessRow:
    return NamespaceAccessRow(row[0], row[1], row[2], bool(row[3]), row[4], row[5])


def principals_from_rows(rows: Sequence[Sequence[Any]], grants: Sequence[Sequence[Any]]) -> tuple[PrincipalRow, ...]:
    by_principal: dict[str, list[tuple[str, str]]] = {}
    for principal_id, namespace, permission in grants:
        by_principal.setdefault(principal_id, []).append((namespace, permission))
    return tuple(
        PrincipalRow(row[0], row[1], row[2], row[3], bool(row[4]), tuple(by_principal.get(row[0], ()))) for row in rows
    )


def key_from_row(row: Sequence[Any]) -> ApiKeyRow:
    return ApiKeyRow(row[0], row[1], row[2], None if row[3] is None else int(row[3]), bool(row[4]))


def missing_ids(wanted: Sequence[str], present: Sequence[Sequence[Any]]) -> list[str]:
    """The wanted ids an account's rows do not hold after an insert that skipped conflicts:
    ids another account holds."""
    have = {row[0] for row in present}
    return [i for i in wanted if i not in have]
