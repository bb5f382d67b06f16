"""The documents the control plane sends the engine admin API (docs/engine-admin-api.md).

``namespace_document`` is what ``PutNamespace`` takes for one namespace; ``access_document``
is what ``SyncAccountAccess`` takes for one account: every principal with its account-admin
flag and namespace grants, and every API key by digest. Both are built from the database as it
is now, so sending one again is always safe.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from accounts.models import Account, ApiKey, Membership, NamespaceGrant, ServiceAccount
from accounts.permissions import ADMIN_ROLES
from namespaces.models import Namespace


def namespace_document(namespace: Namespace) -> dict[str, Any]:
    mtls = (
        {"ca_bundle_pem": namespace.ca_bundle_pem, "filters": list(namespace.cert_filters)}
        if namespace.mtls_enabled
        else None
    )
    return {
        "namespace": namespace.namespace_id,
        "account_id": namespace.account.account_id,
        "retention_days": namespace.retention_days,
        "description": "",
        "search_attributes": dict(namespace.search_attributes),
        "api_key_auth": namespace.api_key_auth,
        "mtls": mtls,
    }


def _timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC, whole seconds (rounded down: a key never outlives its expiry)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def access_document(account_id: str) -> dict[str, Any]:
    """Everything the engine needs to authorise the account's callers. A deleted account's
    document is empty, so that its keys stop working."""
    empty: dict[str, Any] = {"account_id": account_id, "principals": [], "api_keys": []}
    account = Account.objects.filter(account_id=account_id).first()
    if account is None:
        return empty
    member_grants: dict[int, dict[str, str]] = {}
    sa_grants: dict[int, dict[str, str]] = {}
    for grant in NamespaceGrant.objects.filter(account=account).order_by("namespace"):
        if grant.membership_id is not None:
            member_grants.setdefault(grant.membership_id, {})[grant.namespace] = grant.permission
        elif grant.service_account_id is not None:
            sa_grants.setdefault(grant.service_account_id, {})[grant.namespace] = grant.permission
    principals: list[dict[str, Any]] = []
    active_user: dict[str, bool] = {}
    for member in Membership.objects.filter(account=account).select_related("user").order_by("pk"):
        active_user[member.public_id] = member.user.is_active
        principals.append(
            {
                "principal_id": member.public_id,
                "kind": "user",
                "name": member.user.email,
                "account_admin": member.role in ADMIN_ROLES,
                "grants": member_grants.get(member.pk, {}),
            }
        )
    for sa in ServiceAccount.objects.filter(account=account).order_by("pk"):
        principals.append(
            {
                "principal_id": sa.public_id,
                "kind": "service_account",
                "name": sa.name,
                "account_admin": sa.role in ADMIN_ROLES,
                "grants": sa_grants.get(sa.pk, {}),
            }
        )
    api_keys: list[dict[str, Any]] = []
    keys = ApiKey.objects.filter(account=account).select_related("owner_membership", "owner_service_account")
    for key in keys.order_by("pk"):
        if key.owner_membership is not None:
            owner = key.owner_membership.public_id
            # A deactivated user's keys stop working, as they do on the control plane's own APIs.
            disabled = key.disabled or not active_user.get(owner, False)
        else:
            assert key.owner_service_account is not None
            owner = key.owner_service_account.public_id
            disabled = key.disabled
        api_keys.append(
            {
                "key_id": key.key_id,
                "principal_id": owner,
                "digest": key.digest,
                "expires_at": _timestamp(key.expires_at),
                "disabled": disabled,
            }
        )
    return {"account_id": account_id, "principals": principals, "api_keys": api_keys}
