"""Rows as the REST API shows them: snake_case, public ids, RFC 3339 UTC times, versions as
strings. The output serializers (``serializers.py``) describe exactly these dicts."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from accounts.api.fields import rfc3339
from accounts.models import Account, ApiKey, AsyncOperation, Invitation, Membership, ServiceAccount
from accounts.principal import Principal
from accounts.selectors import member_get, service_account_get
from audit.models import AuditEntry


def _times(obj: Any) -> dict[str, str | None]:
    return {"created_time": rfc3339(obj.created_at), "last_modified_time": rfc3339(obj.updated_at)}


def account(row: Account) -> dict[str, Any]:
    return {
        "id": row.account_id,
        "resource_version": str(row.resource_version),
        "name": row.name,
        "api_key_creation_enabled": row.api_key_creation_enabled,
        "audit_retention_days": row.audit_retention_days,
        "state": "active",
        **_times(row),
    }


def _grants(owner: Membership | ServiceAccount) -> dict[str, str]:
    """Namespace → permission; uses ``prefetch_related("grants")`` when a list has it."""
    return {g.namespace: g.permission for g in sorted(owner.grants.all(), key=lambda g: g.namespace)}


def member(row: Membership) -> dict[str, Any]:
    return {
        "id": row.public_id,
        "resource_version": str(row.resource_version),
        "email": row.user.email,
        "role": row.role,
        "namespace_accesses": _grants(row),
        "state": "active",
        "invitation": None,
        **_times(row),
    }


def invitation(row: Invitation) -> dict[str, Any]:
    """A pending invitation is a user in state ``pending`` (``expired`` once its link lapsed)."""
    return {
        "id": row.public_id,
        "resource_version": str(row.resource_version),
        "email": row.email,
        "role": row.role,
        "namespace_accesses": dict(sorted(row.namespace_accesses.items())),
        "state": "pending" if row.expires_at > timezone.now() else "expired",
        "invitation": {"created_time": rfc3339(row.sent_at), "expired_time": rfc3339(row.expires_at)},
        **_times(row),
    }


def user(row: Membership | Invitation) -> dict[str, Any]:
    return member(row) if isinstance(row, Membership) else invitation(row)


def service_account(row: ServiceAccount) -> dict[str, Any]:
    grants = _grants(row)
    scoped = (
        {"namespace": row.namespace_scope, "permission": grants.get(row.namespace_scope, "")}
        if row.namespace_scope
        else None
    )
    return {
        "id": row.public_id,
        "resource_version": str(row.resource_version),
        "name": row.name,
        "description": row.description,
        "role": row.role,
        "namespace_accesses": grants,
        "namespace_scoped_access": scoped,
        "state": "active",
        **_times(row),
    }


def api_key_state(row: ApiKey) -> str:
    if row.expires_at <= timezone.now():
        return "expired"
    return "disabled" if row.disabled else "active"


def api_key(row: ApiKey) -> dict[str, Any]:
    if row.owner_membership is not None:
        owner_type, owner_id = "user", row.owner_membership.public_id
    else:
        assert row.owner_service_account is not None
        owner_type, owner_id = "service_account", row.owner_service_account.public_id
    return {
        "id": row.key_id,
        "resource_version": str(row.resource_version),
        "owner_type": owner_type,
        "owner_id": owner_id,
        "display_name": row.display_name,
        "description": row.description,
        "expiry_time": rfc3339(row.expires_at),
        "disabled": row.disabled,
        "state": api_key_state(row),
        "last_used_time": rfc3339(row.last_used_at),
        **_times(row),
    }


def async_operation(row: AsyncOperation) -> dict[str, Any]:
    return {
        "id": row.operation_id,
        "state": row.state,
        "check_duration": "0s",  # Sundial's account changes finish inside the request
        "operation_type": row.operation_type,
        "operation_input": row.input,
        "failure_reason": row.failure_reason,
        "started_time": rfc3339(row.started_at),
        "finished_time": rfc3339(row.finished_at),
    }


def audit_entry(row: AuditEntry) -> dict[str, Any]:
    return {
        "log_id": row.log_id,
        "seq": row.seq,
        "emit_time": rfc3339(row.emitted_at),
        "operation": row.operation,
        "status": row.status,
        "error": row.error,
        "principal": {
            "type": row.principal_type,
            "id": row.principal_id,
            "name": row.principal_name,
            "api_key_id": row.api_key_id,
        },
        "target": {"type": row.target_type, "id": row.target_id},
        "details": row.details,
        "client_ip": row.client_ip,
        "async_operation_id": row.async_operation_id,
    }


def identity(principal: Principal) -> dict[str, Any]:
    """Who the key belongs to, in which account, and the key itself (Cloud Ops GetCurrentIdentity)."""
    as_user = member_get(principal=principal, member_id=principal.public_id) if principal.kind == "user" else None
    as_sa = (
        service_account_get(principal=principal, service_account_id=principal.public_id)
        if principal.kind == "service_account"
        else None
    )
    return {
        "account": account(Account.objects.get(pk=principal.account.pk)),
        "principal": {"type": principal.kind, "id": principal.public_id, "name": principal.name},
        "user": member(as_user) if as_user is not None else None,
        "service_account": service_account(as_sa) if as_sa is not None else None,
        "principal_api_key": api_key(principal.api_key) if principal.api_key is not None else None,
    }
