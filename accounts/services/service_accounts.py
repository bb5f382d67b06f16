"""Service accounts: machine identities with an account role and namespace permissions."""

from __future__ import annotations

from collections.abc import Mapping

from accounts.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied
from accounts.models import NamespaceGrant, NamespacePermission, Role, ServiceAccount
from accounts.permissions import (
    SERVICE_ACCOUNT_ROLES,
    Action,
    can,
    can_manage_service_account,
    has_namespace_permission,
    require_grant_role,
)
from accounts.principal import Principal
from accounts.services.common import access_changed, bump_version, check_version, namespace_name
from accounts.services.members import clean_namespace_accesses, parse_permission, replace_grants
from audit.services import audited

MAX_NAME = 200
MAX_DESCRIPTION = 1000


def _clean_text(name: str, description: str) -> tuple[str, str]:
    name = name.strip()
    if not name:
        raise InvalidInput("a service account needs a name")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"a service account name has at most {MAX_NAME} characters")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"a description has at most {MAX_DESCRIPTION} characters")
    return name, description.strip()


def _check_role(principal: Principal, role: Role) -> None:
    if role not in SERVICE_ACCOUNT_ROLES:
        raise InvalidInput(f"a service account cannot have the role {role.label}")
    require_grant_role(principal, role)


def _name_taken(principal: Principal, name: str, exclude: int | None = None) -> None:
    others = ServiceAccount.objects.filter(account=principal.account, name__iexact=name)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if others.exists():
        raise AlreadyExists(f"a service account named {name!r} already exists")


def do_create_service_account(
    principal: Principal,
    *,
    name: str,
    description: str = "",
    role: Role = Role.READ_ONLY,
    namespace_accesses: Mapping[str, str] | None = None,
    namespace_scope: str = "",
    scoped_permission: str = "",
) -> ServiceAccount:
    """An account-wide service account (admins), or with ``namespace_scope`` a namespace-scoped
    one (role Read-Only and exactly one permission on that namespace; its Admins may create it)."""
    with audited(principal, "CreateServiceAccount", target_type="service_account") as entry:
        name, description = _clean_text(name, description)
        entry["details"] = {"name": name, "role": role.value}
        if namespace_scope:
            scope = namespace_name(principal.account.account_id, namespace_scope)
            permission = parse_permission(scoped_permission or NamespacePermission.READ)
            if not (
                can(principal, Action.MANAGE_SERVICE_ACCOUNTS)
                or has_namespace_permission(principal, scope, NamespacePermission.ADMIN)
            ):
                raise PermissionDenied(f"you need Namespace Admin on {scope!r} to create a service account for it")
            if role != Role.READ_ONLY or namespace_accesses:
                raise InvalidInput("a namespace-scoped service account has role Read-Only and one namespace permission")
            accesses = {scope: permission}
            entry["details"].update(namespace_scope=scope)
        else:
            if not can(principal, Action.MANAGE_SERVICE_ACCOUNTS):
                raise PermissionDenied(f"your role ({principal.role.label}) may not create service accounts")
            _check_role(principal, role)
            scope = ""
            accesses = clean_namespace_accesses(principal, namespace_accesses or {})
        entry["details"]["namespace_accesses"] = {k: v.value for k, v in accesses.items()}
        _name_taken(principal, name)
        sa = ServiceAccount.objects.create(
            account=principal.account,
            name=name,
            description=description,
            role=role,
            namespace_scope=scope,
            created_by=principal.user,
        )
        replace_grants(service_account=sa, accesses=accesses)
        entry["target_id"] = sa.public_id
        access_changed(principal.account)
    return sa


def _lock(principal: Principal, service_account_id: str) -> ServiceAccount:
    sa = (
        ServiceAccount.objects.select_for_update()
        .filter(account=principal.account, public_id=service_account_id)
        .first()
    )
    if sa is None:
        raise NotFound(f"service account {service_account_id!r} not found")
    if not can_manage_service_account(principal, sa):
        raise PermissionDenied(f"your role ({principal.role.label}) may not change service accounts")
    return sa


def do_update_service_account(
    principal: Principal,
    *,
    service_account_id: str,
    name: str | None = None,
    description: str | None = None,
    role: Role | None = None,
    namespace_accesses: Mapping[str, str] | None = None,
    resource_version: str | None = None,
) -> ServiceAccount:
    with audited(principal, "UpdateServiceAccount", target_type="service_account", target_id=service_account_id) as e:
        sa = _lock(principal, service_account_id)
        check_version(sa, resource_version, "service account")
        details: dict[str, object] = {}
        new_name, new_description = _clean_text(
            sa.name if name is None else name, sa.description if description is None else description
        )
        if new_name != sa.name:
            _name_taken(principal, new_name, exclude=sa.pk)
            details["name"] = {"from": sa.name, "to": new_name}
            sa.name = new_name
        if new_description != sa.description:
            details["description"] = new_description
            sa.description = new_description
        if role is not None and role != sa.role:
            if sa.namespace_scope:
                raise InvalidInput("a namespace-scoped service account keeps the role Read-Only")
            _check_role(principal, role)
            require_grant_role(principal, Role(sa.role))
            details["role"] = {"from": sa.role, "to": role.value}
            sa.role = role
        if namespace_accesses is not None:
            accesses = clean_namespace_accesses(principal, namespace_accesses)
            if sa.namespace_scope and (set(accesses) != {sa.namespace_scope}):
                raise InvalidInput(f"a namespace-scoped service account has access to {sa.namespace_scope!r} only")
            replace_grants(service_account=sa, accesses=accesses)
            details["namespace_accesses"] = {k: v.value for k, v in accesses.items()}
        e["details"] = details
        sa.save()
        bump_version(sa)
        access_changed(principal.account)
    return sa


def do_set_service_account_namespace_access(
    principal: Principal,
    *,
    service_account_id: str,
    namespace: str,
    permission: str | None,
    resource_version: str | None = None,
) -> ServiceAccount:
    with audited(
        principal, "SetServiceAccountNamespaceAccess", target_type="service_account", target_id=service_account_id
    ) as entry:
        name = namespace_name(principal.account.account_id, namespace)
        sa = (
            ServiceAccount.objects.select_for_update()
            .filter(account=principal.account, public_id=service_account_id)
            .first()
        )
        if sa is None:
            raise NotFound(f"service account {service_account_id!r} not found")
        if not (
            can(principal, Action.MANAGE_SERVICE_ACCOUNTS)
            or has_namespace_permission(principal, name, NamespacePermission.ADMIN)
        ):
            raise PermissionDenied(f"you need Namespace Admin on {name!r} to change who may use it")
        check_version(sa, resource_version, "service account")
        if sa.namespace_scope and name != sa.namespace_scope:
            raise InvalidInput(f"a namespace-scoped service account has access to {sa.namespace_scope!r} only")
        entry["details"] = {"name": sa.name, "namespace": name, "permission": permission or "none"}
        if permission is None:
            if sa.namespace_scope:
                raise InvalidInput("a namespace-scoped service account keeps its one permission; delete it instead")
            NamespaceGrant.objects.filter(service_account=sa, namespace=name).delete()
        else:
            NamespaceGrant.objects.update_or_create(
                service_account=sa,
                namespace=name,
                defaults={"permission": parse_permission(permission), "account": principal.account},
            )
        bump_version(sa)
        access_changed(principal.account)
    return sa


def do_delete_service_account(
    principal: Principal, *, service_account_id: str, resource_version: str | None = None
) -> None:
    """Delete a service account and, with it, all of its API keys."""
    with audited(principal, "DeleteServiceAccount", target_type="service_account", target_id=service_account_id) as e:
        sa = _lock(principal, service_account_id)
        check_version(sa, resource_version, "service account")
        e["details"] = {"name": sa.name, "api_keys_deleted": list(sa.api_keys.values_list("key_id", flat=True))}
        sa.delete()
        access_changed(principal.account)
